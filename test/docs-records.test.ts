/**
 * The committed run records (docs/records/*.json) still show what the docs' sentences say about
 * them. The generated prose prints each record's numbers; the words around them judge ("exact",
 * "bit-identical", "nearly tight", "as predicted", "more pixels buy it back"), and those judgements
 * are held here at the thresholds the words imply. A full run (not --quick) is what the docs quote,
 * so this is where the full runs are checked; test/experiments.test.ts asserts the same relations on
 * quick runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunRecord } from '../src/experiments/record.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const record = (name: string): RunRecord => JSON.parse(readFileSync(path.join(root, 'docs', 'records', `${name}.json`), 'utf8')) as RunRecord;
const claims = (name: string): Record<string, number> => {
  const r = record(name);
  assert.equal(r.quick, false, `${name}: the docs quote a full run`);
  return r.claims as Record<string, number>;
};
/** float32 rounding of values up to ~1e3: what the docs call exact. */
const EXACT = 1e-6;

test('large-images: streamed = whole-image bit for bit, cv2.Sobel to float32 rounding, memory in tens of MB whatever the size', () => {
  const c = claims('large-images');
  assert.equal(c.worstStreamVsWhole, 0);
  assert.ok(c.worstVsReference < EXACT);
  const growth = record('large-images').table.map((r) => Number(r['peak RSS growth MB']));
  assert.ok(Math.max(...growth) < 100, `peak growth ${growth}`);
});

test('edges: the matching mode is exact everywhere, a wrong one is off at the ring and exact inside; auto always picks an equivalent mode', () => {
  const c = claims('edges');
  assert.ok(c.matchedMaxError < EXACT);
  assert.ok(c.smallestMismatchError > 0.3 && c.largestMismatchError >= c.smallestMismatchError);
  for (const r of record('edges').table) if (typeof r['interior err'] === 'number') assert.ok(r['interior err'] < EXACT);
  assert.equal(c.autoEquivalent, c.autoTotal);
});

test('fully-convolutional: equal to cv2.Sobel at every size, shifts commute exactly', () => {
  const c = claims('fully-convolutional');
  assert.ok(c.worstRelativeError < EXACT);
  assert.equal(c.worstShiftError, 0);
  assert.equal(c.denseParams, 64 ** 4 + 64 ** 2);
});

test('model-size: snapped = int8 taps + a float32 scale, bit-exact; separable to float32 rounding; 1x1 off by most of the peak', () => {
  const c = claims('model-size');
  assert.equal(c.snappedTaps, 9);
  assert.equal(c.snappedBytes, c.snappedTaps + 4);
  assert.equal(c.snappedMaxError, 0);
  assert.ok(c.separableMaxError < EXACT);
  assert.equal(c.fullBytes, 4 * c.fullParams);
  assert.ok(c.k1RelativeError > 0.5);
});

test('training-complete: the bound holds and is nearly tight at the gap thresholds, the distance goes as the root of the gap, the 8-bit floor is as predicted', () => {
  const r = record('training-complete'), c = claims('training-complete');
  assert.equal(r.claims.f32ExactAgrees, true, 'the optimum computed here is trainFilter\'s');
  assert.equal(r.claims.u8ExactAgrees, true);
  for (const k of ['f32', 'u8']) assert.ok(c[`${k}WorstBoundRatio`]! <= 1 + 1e-9, `${k}: |w - w*| <= sqrt(excess / lambda_min)`);
  for (const g of [1e-3, 1e-6, 1e-9]) assert.ok(c[`f32Gap${g}BoundRatio`]! >= 0.8, `nearly tight at ${g}`);
  // sqrt law: a 1000x smaller gap, ~31.6x closer (within a factor 3)
  for (const [a, b] of [[1e-3, 1e-6], [1e-6, 1e-9]]) {
    const ratio = c[`f32Gap${a}Distance`]! / c[`f32Gap${b}Distance`]!;
    assert.ok(ratio > Math.sqrt(1000) / 3 && ratio < Math.sqrt(1000) * 3, `distance ratio ${ratio}`);
  }
  assert.equal(r.claims.f32DefaultStop, 'converged');
  assert.ok(c.f32DefaultDistance < 1e-4);
  if (r.claims.f32PlateauStop !== 'plateau') assert.ok(c.f32PlateauSteps > c.f32DefaultSteps);
  // 8-bit: the residual is the rounding noise, the truth sits at the predicted floor, 1e-12 is far below it and never fires
  assert.ok(Math.abs(c.u8ResidualOverRounding - 1) < 0.1, `residual / (1/12) = ${c.u8ResidualOverRounding}`);
  assert.ok(c.u8TruthOverFloor > 0.3 && c.u8TruthOverFloor < 3, `truth / floor = ${c.u8TruthOverFloor}`);
  assert.ok(c.tolerance * c.u8MeanSquare < c.u8Floor / 100);
  assert.notEqual(r.claims.u8DefaultStop, 'converged');
  if (c.u8DoneStep < 0) assert.ok(c.u8BestFloorShare > 1);
  assert.ok(c.u8DefaultTrueError > c.u8ExactTrueError, 'the exact solve is closer to the truth than the descent');
});

test('random-kernels: exact with the right size every time; the limits warn; noise in proportion, 4x the pixels ~halve it', () => {
  const r = record('random-kernels'), c = claims('random-kernels');
  assert.equal(c.supportRight, c.total);
  assert.ok(c.worstRecovered < EXACT);
  assert.equal(r.claims.tooSmallWarned, true);
  assert.ok(c.tooSmallRel > 0.05);
  const tenfold = c.noise10 / c.noise1;
  assert.ok(tenfold > 5 && tenfold < 20, `sigma 10 / sigma 1 = ${tenfold}`);
  const more = c.noise1 / c.noise1Big, predicted = Math.sqrt(c.morePixels);
  assert.ok(more > predicted / 1.5 && more < predicted * 1.5, `${c.morePixels}x the pixels: ${more}x less, predicted ${predicted}`);
  assert.equal(r.claims.medianWarned, true);
  assert.equal(r.claims.vignetteWarned, true);
});

test('saturation: the plain fit bends and hints clamp auto, the censored clamp is exact; quantisation moves taps in proportion to the step', () => {
  const r = record('saturation'), c = claims('saturation');
  assert.equal(r.claims.sobelPlainHint, true);
  assert.ok(c.sobelPlainTapError > 0.3 && c.sobelPlainR2 < 0.9);
  assert.ok(c.sobelClampTapError < EXACT);
  assert.equal(c.sobelClampWithin1, 1);
  assert.equal(r.claims.sobelScaledClampClamped, false);
  assert.equal(c.sobelScaledPlainWithin1, 1);
  assert.ok(c.sobelScaledSaturated < 1e-3);
  const steps = Object.keys(c).map((k) => /^quant([\d.]+)$/.exec(k)?.[1]).filter((q): q is string => !!q && Number(q) > 0);
  for (const q of steps) assert.ok(c[`quant${q}`]! / Number(q) > 1e-4 && c[`quant${q}`]! / Number(q) < 1e-3, `step ${q}`);
  assert.equal(r.claims.quant1Warned, false);
  // "float targets rounded to a step of (the smallest warned) or more ... warn"
  const warned = steps.filter((q) => q !== '1' && r.claims[`quant${q}Warned`] === true).map(Number);
  for (const q of steps.map(Number)) if (q !== 1 && q >= Math.min(...warned)) assert.equal(r.claims[`quant${q}Warned`], true, `step ${q}`);
});

test('conditioning: the unexcited kinds are flagged and fail elsewhere; low rank and noisy stripes are fine', () => {
  const r = record('conditioning'), c = claims('conditioning');
  for (const k of ['flat', 'vertical', 'horizontal', 'diagonal', 'smooth']) {
    assert.equal(r.claims[`${k}Identifiable`], false, k);
    assert.equal(r.claims[`${k}Warned`], true, k);
    assert.ok(c[`${k}ProbeError`]! > 0.05, k);
  }
  for (const k of ['textured', 'lowRank', 'lowRankSmooth', 'verticalNoisy']) {
    assert.equal(r.claims[`${k}Identifiable`], true, k);
    assert.ok(c[`${k}TapError`]! < 1e-4, k);
  }
  assert.ok(c.lowRankSmoothCond < c.threshold && c.lowRankSmoothCond > c.threshold / 100, 'close to the threshold');
});

test('deeper: Sobel is one kernel (exact linear fit, the deep net far below); the curve stages win on a kernel with a curve', () => {
  const r = record('deeper');
  assert.equal(r.quick, false);
  const sobel = r.table.find((row) => row.structure === 'one kernel')!;
  assert.ok(Number(sobel['linear PSNR dB']) > 150 && Number(sobel['deep PSNR dB']) < Number(sobel['linear PSNR dB']) - 50);
});

test('kernel-support (any-filter.md): every random kernel exact with its size found, every named kernel with its size and zero taps', () => {
  const c = claims('kernel-support');
  assert.equal(c.autoRight, c.autoTotal);
  assert.equal(c.namedRight, c.namedTotal);
  assert.ok(c.worstFixed < EXACT && c.worstAuto < EXACT);
});

test('diagnosis (any-filter.md): the linear filter is quiet (float or u8), each other filter is significant and named for its cause', () => {
  const r = record('diagnosis');
  assert.equal(r.quick, false);
  const says = (k: string): string => String(r.claims[`${k}Says`]);
  for (const k of ['gaussianF32', 'gaussianU8']) {
    assert.equal(r.claims[`${k}Significant`], false, k);
    assert.equal(says(k), 'nothing', k);
  }
  const cause: Record<string, RegExp> = { median: /nonlinear neighbourhood/, bilateral: /nonlinear neighbourhood/, normalised: /image to image/, vignetted: /not shift-invariant/, gamma: /curve of the linear output/ };
  for (const [k, re] of Object.entries(cause)) {
    assert.equal(r.claims[`${k}Significant`], true, k);
    assert.match(says(k), re, k);
  }
});

test('forms (any-filter.md): Sobel and the Gaussian are rank 1 and snap exactly; the Laplacian is rank 2; a random kernel is full rank and does not snap', () => {
  const r = record('forms'), c = claims('forms');
  for (const k of ['Sobeldx3', 'Sobeldx5', 'Gaussian5']) {
    assert.equal(c[`${k}Rank`], 1, k);
    assert.equal(c[`${k}SnappedError`], 0, k);
  }
  assert.equal(c.Laplacianksize1Rank, 2);
  assert.equal(c.random5x5Rank, 5);
  assert.equal(r.claims.random5x5Snapped, false);
});

test('jpeg (any-filter.md): grey and 4:4:4 targets warned, the estimate within a factor of three of the real error, the bias far above the standard errors; 4:2:0 falls short', () => {
  const c = claims('jpeg');
  assert.equal(c.warned, c.cases);
  assert.ok(c.estimateOverRealMin > 1 / 3 && c.estimateOverRealMax < 3);
  assert.ok(c.biasOverSeMin > 3, `bias / standard error ${c.biasOverSeMin}`);
  assert.ok(c.maxOverRmsMin > 1);
  assert.ok(c.subsampledShortMin > 1, 'with 4:2:0 the real error exceeds the estimate');
});

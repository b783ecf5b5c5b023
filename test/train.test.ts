/**
 * Tests for the trainer (src/train/), the Gram statistics (src/kernels/gram.ts), the model file
 * (src/nn/model.ts) and apply (src/nn/apply.ts), against independent references:
 *  - the fast Gram equals the per-pixel reference; the exact solver equals a brute-force
 *    normal-equations solve written out in this file;
 *  - Sobel dx/dy (targets from the reference filters, applyFilter) are recovered to 1e-4 by the
 *    exact solver and by Adam, with held-out PSNR >= 80 dB and the border detected;
 *  - random kernels are recovered; each of the five border modes is detected;
 *  - a model trained on one size equals the reference filter on other sizes, down to 1x1;
 *  - model files round-trip exactly, bad ones are refused; same seed gives the same bytes.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { KernelLearnError } from '../src/errors.js';
import { BORDER_MODES, borderInterpolate, type BorderMode } from '../src/filters/border.js';
import { filterKernel } from '../src/filters/kernels.js';
import { applyFilter } from '../src/filters/ops.js';
import type { FilterSpec } from '../src/filters/spec.js';
import { createImage, type Image } from '../src/image.js';
import type { ImagePair } from '../src/data/pairs.js';
import { syntheticImage, syntheticImages } from '../src/data/synthetic.js';
import { gramStats, gramStatsReference, subGram } from '../src/kernels/gram.js';
import { createRng } from '../src/random.js';
import { applyModel } from '../src/nn/apply.js';
import { KERNEL_LEARN_VERSION, formatFloat32, parseModel, serializeModel, type Model } from '../src/nn/model.js';
import { nestWeights, type Conv2dSpec } from '../src/nn/network.js';
import { lossFromStats, solveExact } from '../src/train/exact.js';
import { trainFilter, type TrainOptions } from '../src/train/index.js';
import { matchKnownFilters } from '../src/train/match.js';

// ---------------------------------------------------------------------------------------------
// helpers

const SOBEL_DX: FilterSpec = { op: 'sobel', dx: 1, dy: 0, ksize: 3 };
const SOBEL_DY: FilterSpec = { op: 'sobel', dx: 0, dy: 1, ksize: 3 };

function pairsFor(images: Image[], spec: FilterSpec): ImagePair[] {
  return images.map((input, i) => ({ stem: `img${i}`, input, target: applyFilter(input, spec) }));
}

function conv0(model: Model): Conv2dSpec {
  const l = model.layers[0];
  assert.equal(l.type, 'conv2d');
  return l as Conv2dSpec;
}

/** Max abs difference between the model's (0, 0) kernel and `truth` (centred, zero-padded). */
function kernelError(model: Model, truth: { kh: number; kw: number; data: ArrayLike<number> }, o = 0, i = 0): number {
  const conv = conv0(model);
  const [kh, kw] = conv.kernelSize;
  const h = Math.max(kh, truth.kh), w = Math.max(kw, truth.kw);
  let e = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const my = y - ((h - kh) >> 1), mx = x - ((w - kw) >> 1);
      const ty = y - ((h - truth.kh) >> 1), tx = x - ((w - truth.kw) >> 1);
      const m = my >= 0 && my < kh && mx >= 0 && mx < kw ? conv.weights[o][i][my][mx] : 0;
      const t = ty >= 0 && ty < truth.kh && tx >= 0 && tx < truth.kw ? truth.data[ty * truth.kw + tx] : 0;
      e = Math.max(e, Math.abs(m - t));
    }
  }
  return e;
}

/** Independent reference correlation (float64 sums, float32 result) with any border mode, wrap included. */
function correlateReference(image: Image, k: number[][], border: BorderMode): Image {
  const { width: W, height: H } = image;
  const kh = k.length, kw = k[0].length;
  const out = createImage(W, H, image.channels, 'f32');
  for (let c = 0; c < image.channels; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const yy = borderInterpolate(y + i - (kh >> 1), H, border);
            const xx = borderInterpolate(x + j - (kw >> 1), W, border);
            if (yy >= 0 && xx >= 0) s += k[i][j] * image.data[(c * H + yy) * W + xx];
          }
        }
        out.data[(c * H + y) * W + x] = s;
      }
    }
  }
  return out;
}

function randomKernel(size: number, seed: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: size }, () => Array.from({ length: size }, () => Math.round((2 * rng() - 1) * 1e4) / 1e4));
}

const base = (over: Partial<TrainOptions> = {}): TrainOptions => ({ arch: 'linear', ksize: 3, solver: 'exact', border: 'auto', seed: 1, ...over });

const sobelImages = syntheticImages(4, { width: 192, height: 160, seed: 7 });

// ---------------------------------------------------------------------------------------------
// Gram statistics and the exact solver

test('gram: the fast statistics equal the per-pixel reference (channels, sizes, bias, f64, small pairs)', () => {
  const rng = createRng(3);
  const img = (w: number, h: number, c: number, depth: 'f32' | 'f64' = 'f32'): Image => {
    const im = createImage(w, h, c, depth);
    for (let i = 0; i < im.data.length; i++) im.data[i] = Math.round(rng() * 255) + (depth === 'f64' ? rng() : 0);
    return im;
  };
  const cases: { cin: number; cout: number; kh: number; kw: number; bias: boolean; depth?: 'f64' }[] = [
    { cin: 1, cout: 1, kh: 3, kw: 3, bias: true },
    { cin: 1, cout: 1, kh: 1, kw: 1, bias: false },
    { cin: 2, cout: 3, kh: 3, kw: 5, bias: true },
    { cin: 3, cout: 1, kh: 5, kw: 3, bias: false, depth: 'f64' },
    { cin: 1, cout: 2, kh: 7, kw: 7, bias: true },
  ];
  for (const c of cases) {
    const pairs = [
      { input: img(23, 17, c.cin, c.depth), target: img(23, 17, c.cout) },
      { input: img(9, 31, c.cin, c.depth), target: img(9, 31, c.cout) },
      { input: img(4, 4, c.cin, c.depth), target: img(4, 4, c.cout) }, // smaller than most kernels: no valid pixels
    ];
    const fast = gramStats(pairs, c.kh, c.kw, c.bias);
    const ref = gramStatsReference(pairs, c.kh, c.kw, c.bias);
    assert.equal(fast.n, ref.n);
    assert.equal(fast.p, ref.p);
    const close = (a: Float64Array, b: Float64Array, what: string): void => {
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-12 * Math.max(1, Math.abs(b[i])), `${what}[${i}] ${a[i]} vs ${b[i]} (${JSON.stringify(c)})`);
    };
    close(fast.xtx, ref.xtx, 'xtx');
    close(fast.xty, ref.xty, 'xty');
    close(fast.yty, ref.yty, 'yty');
  }
});

test('gram: a centred sub-block is the smaller kernel on the same pixels', () => {
  const input = syntheticImage({ width: 40, height: 30, seed: 1 });
  const target = applyFilter(input, SOBEL_DX);
  const big = gramStats([{ input, target }], 7, 7, true);
  const sub = subGram(big, 3, 3);
  // The same pixels as a 3x3 Gram of the image cropped by 2 on each side.
  const crop = (im: Image): Image => {
    const out = createImage(im.width - 4, im.height - 4, 1, 'f32');
    for (let y = 0; y < out.height; y++) for (let x = 0; x < out.width; x++) out.data[y * out.width + x] = im.data[(y + 2) * im.width + x + 2];
    return out;
  };
  const ref = gramStatsReference([{ input: crop(input), target: crop(target) }], 3, 3, true);
  assert.equal(sub.n, ref.n);
  for (let i = 0; i < ref.xtx.length; i++) assert.ok(Math.abs(sub.xtx[i] - ref.xtx[i]) <= 1e-9 * Math.abs(ref.xtx[i]) + 1e-9);
  for (let i = 0; i < ref.xty.length; i++) assert.ok(Math.abs(sub.xty[i] - ref.xty[i]) <= 1e-9 * Math.abs(ref.xty[i]) + 1e-9);
});

/** Gaussian elimination with partial pivoting on the raw normal equations (no scaling, no ridge). */
function solveDense(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[piv][c])) piv = r;
    [m[c], m[piv]] = [m[piv], m[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  return m.map((row, i) => row[n] / row[i]);
}

test('exact: equals a brute-force normal-equations solve on a small noisy problem', () => {
  const rng = createRng(11);
  const W = 12, H = 10;
  const input = createImage(W, H, 1, 'f32');
  const target = createImage(W, H, 2, 'f32');
  for (let i = 0; i < input.data.length; i++) input.data[i] = rng() * 10;
  for (let i = 0; i < target.data.length; i++) target.data[i] = rng() * 5 - 2;
  // Rows of X and y written out directly.
  const X: number[][] = [];
  const Y: number[][] = [];
  for (let y = 0; y + 3 <= H; y++) {
    for (let x = 0; x + 3 <= W; x++) {
      const row: number[] = [];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) row.push(input.data[(y + i) * W + x + j]);
      row.push(1);
      X.push(row);
      Y.push([0, 1].map((o) => target.data[o * W * H + (y + 1) * W + x + 1]));
    }
  }
  const sol = solveExact(gramStats([{ input, target }], 3, 3, true));
  let lossSum = 0;
  for (let o = 0; o < 2; o++) {
    const xtx = Array.from({ length: 10 }, (_, a) => Array.from({ length: 10 }, (_, b) => X.reduce((s, r) => s + r[a] * r[b], 0)));
    const xty = Array.from({ length: 10 }, (_, a) => X.reduce((s, r, n) => s + r[a] * Y[n][o], 0));
    const w = solveDense(xtx, xty);
    for (let f = 0; f < 9; f++) assert.ok(Math.abs(sol.coef[o][f] - w[f]) < 1e-7 * (1 + Math.abs(w[f])), `out ${o} tap ${f}: ${sol.coef[o][f]} vs ${w[f]}`);
    assert.ok(Math.abs(sol.coef[o][9] - w[9]) < 1e-7 * (1 + Math.abs(w[9])));
    assert.deepEqual(nestWeights(sol.coef, 2, 1, 3, 3)[o][0][1], [w[3], w[4], w[5]].map((_, j) => sol.coef[o][3 + j]));
    lossSum += X.reduce((s, r, n) => s + (r.reduce((t, v, f) => t + v * w[f], 0) - Y[n][o]) ** 2, 0) / X.length;
  }
  assert.ok(Math.abs(sol.loss - lossSum / 2) < 1e-9 * lossSum, `loss ${sol.loss} vs ${lossSum / 2}`);
  assert.ok(sol.conditionNumber > 1 && sol.conditionNumber < 1e4, `condition ${sol.conditionNumber}`);
});

test('exact: a flat image gives an infinite or huge condition number and still a finite answer', () => {
  const input = createImage(20, 20, 1, 'f32');
  input.data.fill(7);
  const target = applyFilter(input, SOBEL_DX);
  const sol = solveExact(gramStats([{ input, target }], 3, 3, true));
  assert.ok(sol.conditionNumber > 1e8);
  for (const c of sol.coef) for (const v of c) assert.ok(Number.isFinite(v));
  const r = trainFilter([{ stem: 'flat', input, target }], base());
  assert.ok(r.warnings.some((w) => w.includes('too flat')), r.warnings.join('; '));
});

// ---------------------------------------------------------------------------------------------
// Sobel

for (const [name, spec] of [['dx', SOBEL_DX], ['dy', SOBEL_DY]] as const) {
  test(`exact: Sobel ${name} (ksize 3, f32 targets, reflect101) to 1e-4, held-out PSNR >= 80 dB, border reflect101`, (t) => {
    const r = trainFilter(pairsFor(sobelImages, spec), base());
    const err = kernelError(r.model, filterKernel(spec));
    t.diagnostic(`exact ${name}: ${r.trainMs.toFixed(0)} ms, max abs error ${err.toExponential(2)}, PSNR ${r.model.metrics.validation.psnr?.toFixed(1)} dB`);
    assert.ok(err <= 1e-4, `max abs error ${err}`);
    assert.ok(Math.abs(conv0(r.model).bias![0]) <= 1e-4);
    assert.ok((r.model.metrics.validation.psnr ?? Infinity) >= 80);
    assert.ok(r.model.metrics.validation.r2 > 0.999999);
    assert.equal(r.model.border, 'reflect101');
    assert.equal(r.model.training.validation.kind, 'pairs');
    assert.deepEqual(r.warnings, []);
    assert.equal(matchKnownFilters(r.model)[0].name, `sobel dx=${spec.dx} dy=${spec.dy} ksize=3`);
    assert.ok(matchKnownFilters(r.model)[0].maxAbsError <= 1e-4);
  });
}

test('adam: Sobel dx to 1e-4 (stopping on the gap to the exact optimum)', (t) => {
  const r = trainFilter(pairsFor(sobelImages, SOBEL_DX), base({ solver: 'adam' }));
  const err = kernelError(r.model, filterKernel(SOBEL_DX));
  t.diagnostic(`adam: ${r.steps} steps in ${r.trainMs.toFixed(0)} ms (${r.stopReason}), max abs error ${err.toExponential(2)}`);
  assert.ok(err <= 1e-4, `max abs error ${err}`);
  assert.match(r.stopReason, /gap to exact optimum/);
  assert.equal(r.model.border, 'reflect101');
  assert.ok((r.model.metrics.validation.psnr ?? Infinity) >= 80);
  assert.ok(r.history.length > 2 && r.history.every((h) => h.valLoss !== undefined));
  assert.ok(r.exactLoss !== undefined && r.exactLoss < 1e-6);
});

test('sgd: Sobel dy converges (looser: 1e-3)', (t) => {
  const r = trainFilter(pairsFor(sobelImages, SOBEL_DY), base({ solver: 'sgd' }));
  const err = kernelError(r.model, filterKernel(SOBEL_DY));
  t.diagnostic(`sgd: ${r.steps} steps in ${r.trainMs.toFixed(0)} ms (${r.stopReason}), max abs error ${err.toExponential(2)}`);
  assert.ok(err <= 1e-3, `max abs error ${err}`);
});

test('adam: the max-steps cap and the plateau rule report their reasons', () => {
  const pairs = pairsFor(sobelImages.slice(0, 2), SOBEL_DX);
  const capped = trainFilter(pairs, base({ solver: 'adam', maxSteps: 30 }));
  assert.equal(capped.steps, 30);
  assert.equal(capped.stopReason, 'max steps (30)');
  // Noisy targets: no kernel reaches the exact optimum's loss on the crops, so the plateau stops it.
  const rng = createRng(5);
  const noisy = pairs.map((p) => {
    const target = createImage(p.target.width, p.target.height, 1, 'f32');
    for (let i = 0; i < target.data.length; i++) target.data[i] = p.target.data[i] + 40 * (rng() - 0.5);
    return { ...p, target };
  });
  const plateau = trainFilter(noisy, base({ solver: 'adam', patience: 4, maxSteps: 20000 }));
  assert.equal(plateau.stopReason, 'validation plateau (patience 4)');
  assert.ok(plateau.steps < 20000);
});

test('determinism: the same seed gives byte-identical models (adam); another seed another split/init', () => {
  const pairs = pairsFor(syntheticImages(3, { width: 96, height: 80, seed: 2 }), SOBEL_DX);
  const a = serializeModel(trainFilter(pairs, base({ solver: 'adam', maxSteps: 200 })).model);
  const b = serializeModel(trainFilter(pairs, base({ solver: 'adam', maxSteps: 200 })).model);
  assert.equal(a, b);
  const c = serializeModel(trainFilter(pairs, base({ solver: 'adam', maxSteps: 200, seed: 2 })).model);
  assert.notEqual(a, c);
});

// ---------------------------------------------------------------------------------------------
// Any kernel, any border

test('exact: random 3x3 and 5x5 kernels are recovered (and ksize auto finds their size)', () => {
  const images = syntheticImages(3, { width: 128, height: 96, seed: 21 });
  for (const size of [3, 5]) {
    const kernel = randomKernel(size, 100 + size);
    const pairs = pairsFor(images, { op: 'kernel', kernel });
    const truth = { kh: size, kw: size, data: kernel.flat() };
    const fixed = trainFilter(pairs, base({ ksize: size }));
    assert.ok(kernelError(fixed.model, truth) <= 1e-4, `${size}x${size}: ${kernelError(fixed.model, truth)}`);
    const auto = trainFilter(pairs, base({ ksize: 'auto' }));
    assert.deepEqual(conv0(auto.model).kernelSize, [size, size]);
    assert.equal(auto.model.training.kernelSizeChoice?.chosen, size);
    assert.ok(kernelError(auto.model, truth) <= 1e-4);
  }
});

test('border auto: each of the five modes is detected when the targets used it (5x5 kernel)', () => {
  const images = syntheticImages(2, { width: 48, height: 40, seed: 4 });
  const kernel = randomKernel(5, 77);
  for (const border of BORDER_MODES) {
    const pairs = images.map((input, i) => ({ stem: `b${i}`, input, target: correlateReference(input, kernel, border) }));
    const r = trainFilter(pairs, base({ ksize: 5 }));
    assert.equal(r.model.border, border, JSON.stringify(r.model.training.borderChoice));
    assert.ok((r.model.metrics.validation.psnr ?? Infinity) >= 80, `${border}: PSNR ${r.model.metrics.validation.psnr}`);
  }
});

test('border auto: a 3x3 kernel cannot tell reflect from replicate (identical 1-pixel borders); reflect101 wins ties', () => {
  const images = syntheticImages(2, { width: 48, height: 40, seed: 4 });
  const pairs = images.map((input, i) => ({ stem: `b${i}`, input, target: correlateReference(input, randomKernel(3, 5), 'replicate') }));
  const r = trainFilter(pairs, base());
  const c = r.model.training.borderChoice!;
  const mse = (m: BorderMode): number => c.candidates.find((x) => x.border === m)!.mse;
  assert.equal(mse('reflect'), mse('replicate'));
  assert.ok(['reflect', 'replicate'].includes(r.model.border));
  // A 1x1 kernel has no border pixels: every mode ties, and reflect101 is chosen.
  const one = trainFilter(pairs.map((p) => ({ ...p, target: p.input })), base({ ksize: 1 }));
  assert.equal(one.model.border, 'reflect101');
});

test('colour: per-channel Sobel on RGB is learned as a shared kernel with zero cross-channel taps', () => {
  const images = syntheticImages(3, { width: 96, height: 64, channels: 3, seed: 8 });
  const r = trainFilter(pairsFor(images, SOBEL_DX), base());
  assert.equal(r.model.inputChannels, 3);
  assert.equal(r.model.outputChannels, 3);
  for (let c = 0; c < 3; c++) assert.ok(kernelError(r.model, filterKernel(SOBEL_DX), c, c) <= 1e-4);
  const best = matchKnownFilters(r.model)[0];
  assert.equal(best.name, 'sobel dx=1 dy=0 ksize=3');
  assert.ok(best.maxAbsError <= 1e-4);
});

test('warnings: a nonlinear filter (|Sobel| saturated to u8) is flagged', () => {
  const pairs = pairsFor(sobelImages.slice(0, 2), { ...SOBEL_DX, depth: 'u8' });
  const r = trainFilter(pairs, base());
  assert.ok(r.model.metrics.validation.r2 < 0.99);
  assert.ok(r.warnings.some((w) => w.includes('does not look like a linear shift-invariant')), r.warnings.join('; '));
});

test('errors: size and channel mismatches name the pair; bad options are usage errors', () => {
  const a = syntheticImage({ width: 20, height: 20, seed: 1 });
  // A target of another size that no crop, growth or shift of its input's filtered image explains.
  const b = syntheticImage({ width: 21, height: 20, seed: 9 });
  assert.throws(() => trainFilter([{ stem: 'cat', input: a, target: b }], base()), (e: unknown) => e instanceof KernelLearnError && /cat: no alignment explains the targets \(21x20 for a 20x20 input/.test(e.message));
  assert.throws(() => trainFilter([{ stem: 'cat', input: a, target: b }], base({ align: 'off' })), (e: unknown) => e instanceof KernelLearnError && /cat: the input is 20x20 but the target is 21x20/.test(e.message));
  const rgb = syntheticImage({ width: 20, height: 20, channels: 3, seed: 1 });
  assert.throws(
    () => trainFilter([{ stem: 'grey', input: a, target: a }, { stem: 'colour', input: rgb, target: applyFilter(rgb, SOBEL_DX) }], base()),
    (e: unknown) => e instanceof KernelLearnError && /colour/.test(e.message),
  );
  assert.throws(() => trainFilter([], base()), KernelLearnError);
  assert.throws(() => trainFilter([{ stem: 'a', input: a, target: a }], base({ ksize: 32 })), (e: unknown) => e instanceof KernelLearnError && e.exitCode === 2);
  assert.throws(() => trainFilter([{ stem: 'a', input: a, target: a }], base({ ksize: [3, 0] })), (e: unknown) => e instanceof KernelLearnError && e.exitCode === 2);
  const tiny = syntheticImage({ width: 2, height: 2, seed: 1 });
  assert.throws(() => trainFilter([{ stem: 't', input: tiny, target: tiny }], base()), /too small/);
});

test('one image: validation is a held-out band, reported as such', () => {
  const input = syntheticImage({ width: 64, height: 100, seed: 9 });
  const r = trainFilter([{ stem: 'only', input, target: applyFilter(input, SOBEL_DX) }], base());
  assert.equal(r.model.training.validation.kind, 'band');
  assert.equal(r.model.training.validation.pixels, 64 * 20);
  assert.ok(kernelError(r.model, filterKernel(SOBEL_DX)) <= 1e-4);
  assert.ok((r.model.metrics.validation.psnr ?? Infinity) >= 80);
});

test('mixed sizes: a 1x1 pair, a 200x5 strip and a 64x64 image train with every solver', () => {
  const images = [syntheticImage({ width: 1, height: 1, seed: 5 }), syntheticImage({ width: 200, height: 5, seed: 4 }), syntheticImage({ width: 64, height: 64, seed: 3 })];
  const pairs = pairsFor(images, SOBEL_DX);
  for (const solver of ['exact', 'adam', 'sgd'] as const) {
    const events: number[] = [];
    const r = trainFilter(pairs, base({ solver, ksize: 'auto', onProgress: (e) => events.push(e.step / e.maxSteps) }));
    assert.deepEqual(conv0(r.model).kernelSize, [3, 3]);
    assert.equal(r.model.training.validation.pixels, 1000, 'the strip validates, not the 1x1 pair');
    assert.ok(kernelError(r.model, filterKernel(SOBEL_DX)) <= 1e-3, `${solver}: ${kernelError(r.model, filterKernel(SOBEL_DX))}`);
    assert.ok(events.length > 0 && events.every((f) => f > 0 && f <= 1));
    assert.deepEqual(r.warnings.filter((w) => !w.includes('largest tried')), []);
  }
  // One image too small to cut a band: trained and judged on itself, with a warning.
  const small = syntheticImage({ width: 5, height: 5, seed: 6 });
  const smallPairs = [{ stem: 's', input: small, target: applyFilter(small, SOBEL_DX) }];
  const r = trainFilter(smallPairs, base({ bias: false })); // 9 valid pixels, 9 taps: just determined
  assert.equal(r.model.training.validation.kind, 'none');
  assert.ok(r.warnings.some((w) => w.includes('no held-out data')));
  assert.ok(kernelError(r.model, filterKernel(SOBEL_DX)) <= 1e-4);
  assert.equal(conv0(r.model).bias, null);
  // With a bias there are 10 unknowns for 9 pixels: not identifiable, and the warning says so.
  const under = trainFilter(smallPairs, base());
  assert.ok(under.warnings.some((w) => w.includes('too flat to identify a 3x3 kernel')), under.warnings.join('; '));
});

// ---------------------------------------------------------------------------------------------
// Apply at any size

test('apply: trained on crops of one size, equals the reference filter on other sizes down to 1x1', () => {
  const model = trainFilter(pairsFor(syntheticImages(3, { width: 64, height: 64, seed: 12 }), SOBEL_DX), base()).model;
  for (const [w, h] of [[1, 1], [1, 5], [5, 1], [2, 3], [17, 13], [64, 48], [331, 217]]) {
    const input = syntheticImage({ width: w, height: h, seed: w * 1000 + h });
    const want = applyFilter(input, SOBEL_DX);
    const got = applyModel(model, input);
    assert.equal(got.width, w);
    assert.equal(got.height, h);
    assert.equal(got.depth, 'f32');
    let peak = 1, err = 0;
    for (let i = 0; i < want.data.length; i++) {
      peak = Math.max(peak, Math.abs(want.data[i]));
      err = Math.max(err, Math.abs(got.data[i] - want.data[i]));
    }
    assert.ok(err <= 1e-4 * peak, `${w}x${h}: max abs error ${err} (peak ${peak})`);
  }
  // A grey model filters a colour image channel by channel (as OpenCV does); other mismatches are errors.
  assert.equal(applyModel(model, syntheticImage({ width: 4, height: 4, channels: 3 })).channels, 3);
  const rgbModel: Model = { ...model, inputChannels: 3, layers: [{ ...conv0(model), inChannels: 3, weights: [[0, 1, 2].map(() => conv0(model).weights[0][0])] }] };
  assert.throws(() => applyModel(rgbModel, syntheticImage({ width: 4, height: 4, channels: 1 })), KernelLearnError);
});

// ---------------------------------------------------------------------------------------------
// The model file

test('model JSON: round trip is exact, serialisation is stable, float32 weights print briefly', () => {
  const model = trainFilter(pairsFor(sobelImages.slice(0, 2), SOBEL_DX), base({ ksize: 'auto' })).model;
  const text = serializeModel(model);
  const back = parseModel(text, 'm.json');
  assert.deepEqual(back, model);
  assert.equal(serializeModel(back), text);
  assert.match(text, /\n {12}\[-?[\d.e+-]+, -?[\d.e+-]+, -?[\d.e+-]+\],?\n/, 'a kernel row prints on one line');
  assert.equal(formatFloat32(Math.fround(0.1)), '0.1');
  assert.equal(formatFloat32(-2), '-2');
  assert.equal(formatFloat32(-0), '0');
  assert.ok(!/\d{10}/.test(text.slice(text.indexOf('"weights"'), text.indexOf('"training"'))), 'no long float64 expansions of float32 weights');
  assert.equal(model.createdBy, `kernel-learn ${KERNEL_LEARN_VERSION}`);
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(KERNEL_LEARN_VERSION, pkg.version);
  const rng = createRng(1);
  for (let i = 0; i < 2000; i++) {
    const v = Math.fround((rng() - 0.5) * 10 ** Math.floor(rng() * 20 - 10));
    assert.equal(Math.fround(Number(formatFloat32(v))), v);
  }
});

test('model JSON: parseModel rejects broken and foreign files with the file name and the problem', () => {
  const model = trainFilter(pairsFor(sobelImages.slice(0, 2), SOBEL_DX), base()).model;
  const good = JSON.parse(serializeModel(model)) as Record<string, unknown>;
  const mutate = (f: (m: any) => void): string => {
    const m = JSON.parse(JSON.stringify(good));
    f(m);
    return JSON.stringify(m);
  };
  const cases: [string, string, RegExp][] = [
    ['{ not json', 'invalid JSON', /invalid JSON/],
    [mutate((m) => { m.format = 'onnx'; }), 'format', /not a kernel-learn model/],
    [mutate((m) => { m.version = 4; }), 'version', /version 4 is not supported.*upgrade/],
    [mutate((m) => { m.layers[0].dilation = 2; }), 'dilation in version 1', /layers\[0\]\.dilation needs format version 3/],
    [mutate((m) => { m.version = 3; m.layers[0].dilation = 0; }), 'dilation 0', /layers\[0\]\.dilation must be an integer >= 1/],
    [mutate((m) => { m.border = 'mirror'; }), 'border', /unknown border/],
    [mutate((m) => { m.layers[0].weights[0][0][1].pop(); }), 'row length', /weights\[0\]\[0\]\[1\] has 2 entries, expected 3/],
    [mutate((m) => { m.layers[0].weights[0][0][0][0] = 'x'; }), 'non-number', /must be a finite number/],
    [mutate((m) => { m.layers[0].bias = [0, 0]; }), 'bias length', /bias has 2 entries/],
    [mutate((m) => { m.layers[0].inChannels = 3; }), 'channels', /takes 3 channels but receives 1/],
    [mutate((m) => { m.layers.push({ type: 'softmax' }); }), 'layer type', /unknown layer type/],
    [mutate((m) => { m.layers = []; }), 'no layers', /layers is empty/],
    [mutate((m) => { delete m.metrics; }), 'metrics', /metrics must be an object/],
    [mutate((m) => { m.outputChannels = 2; }), 'output channels', /outputChannels is 2/],
  ];
  for (const [text, what, re] of cases) {
    assert.throws(
      () => parseModel(text, 'bad.json'),
      (e: unknown) => e instanceof KernelLearnError && e.message.startsWith('bad.json: ') && re.test(e.message) && !e.message.includes('\n'),
      what,
    );
  }
});

test('match: scaled and larger-frame kernels are named with their scale', () => {
  const model = trainFilter(pairsFor(sobelImages.slice(0, 2), { ...SOBEL_DX, scale: 0.125 }), base({ ksize: 5 })).model;
  const best = matchKnownFilters(model)[0];
  assert.equal(best.name, 'sobel dx=1 dy=0 ksize=3 x0.125');
  assert.ok(best.maxAbsError <= 1e-5);
});

test('exact: validation MSE from the statistics equals the MSE of the predictions on the valid region', () => {
  const [a, b] = pairsFor(syntheticImages(2, { width: 50, height: 40, seed: 31 }), { op: 'gaussian', ksize: 5 });
  const sol = solveExact(gramStats([a], 3, 3, true));
  const st = gramStats([b], 3, 3, true);
  let s = 0, n = 0;
  for (let y = 1; y < 39; y++) {
    for (let x = 1; x < 49; x++) {
      let p = sol.coef[0][9];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) p += sol.coef[0][i * 3 + j] * b.input.data[(y + i - 1) * 50 + x + j - 1];
      s += (p - b.target.data[y * 50 + x]) ** 2;
      n++;
    }
  }
  assert.ok(Math.abs(lossFromStats(st, sol.coef) - s / n) <= 1e-9 * (s / n));
});

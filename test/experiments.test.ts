/**
 * The experiments behind docs/answers.md (issue 8), each run with --quick in-process, asserting the
 * claims the doc makes so that the doc cannot claim what the code no longer shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPERIMENTS, findExperiment, markdownTable } from '../src/experiments/index.js';

async function claims(name: string): Promise<Record<string, number | boolean | string>> {
  const exp = findExperiment(name);
  assert.ok(exp, `experiment ${name} is registered`);
  const r = await exp.run({ quick: true });
  assert.ok(r.table.length > 0);
  const md = markdownTable(r.table);
  assert.match(md, /^\| .* \|\n\| --- /);
  return r.claims;
}

test('every experiment has a name, a question and a unique name', () => {
  const names = EXPERIMENTS.map((e) => e.name);
  assert.equal(new Set(names).size, names.length);
  for (const e of EXPERIMENTS) assert.ok(e.question.length > 10, e.name);
});

test('fully-convolutional: trained on 64x64, exact (<= 1e-6 of the peak) on 1x1, 7x13, 211x173 and larger; shifts commute; dense needs 16.8M', async () => {
  const c = await claims('fully-convolutional');
  assert.equal(c.sizes, 4);
  assert.ok((c.worstRelativeError as number) <= 1e-6, `worst relative error ${c.worstRelativeError}`);
  assert.equal(c.worstShiftError, 0, 'a shift commutes exactly');
  assert.equal(c.convParams, 10);
  assert.equal(c.denseParams, 64 ** 4 + 64 ** 2);
});

test('model-size: 10 params full, 7 separable, snapped exact; a 1x1 kernel cannot represent Sobel', async () => {
  const c = await claims('model-size');
  assert.equal(c.fullParams, 10);
  assert.equal(c.separableParams, 7);
  assert.ok((c.separableMaxError as number) < 1e-4);
  assert.equal(c.snappedPresent, true);
  assert.equal(c.snappedMaxError, 0);
  assert.equal(c.snappedBytes, (c.snappedTaps as number) + 4, 'int8 taps and a float32 scale');
  assert.ok((c.k1RelativeError as number) > 0.5, `1x1 error ${c.k1RelativeError}`);
});

test('edges: the matching border mode is exact, a wrong one is off by >= 30% at the border; auto always picks an equivalent mode', async () => {
  const c = await claims('edges');
  assert.ok((c.matchedMaxError as number) < 1e-6);
  assert.ok((c.smallestMismatchError as number) >= 0.3);
  assert.equal(c.autoEquivalent, c.autoTotal);
  assert.ok((c.autoExact as number) >= 0.75 * (c.autoTotal as number));
});

test('training-complete: the gap bounds the taps, trainFilter converges on float targets and stops on its plateau on 8-bit ones, whose floor is the rounding', async () => {
  const c = await claims('training-complete');
  for (const k of ['f32', 'u8']) {
    assert.equal(c[`${k}ExactAgrees`], true, k);
    assert.ok((c[`${k}WorstBoundRatio`] as number) <= 1 + 1e-9, `${k}: |w - w*| <= sqrt(excess / lambda_min)`);
  }
  assert.ok((c['f32Gap0.001BoundRatio'] as number) >= 0.8, 'nearly tight');
  assert.equal(c.f32DefaultStop, 'converged');
  assert.ok((c.f32DefaultDistance as number) < 1e-4);
  assert.notEqual(c.u8DefaultStop, 'converged');
  assert.ok(Math.abs((c.u8ResidualOverRounding as number) - 1) < 0.15, `residual / (1/12) = ${c.u8ResidualOverRounding}`);
  assert.ok((c.u8TruthOverFloor as number) > 0.2 && (c.u8TruthOverFloor as number) < 5, `truth / floor = ${c.u8TruthOverFloor}`);
});

test('random-kernels: random 3..7 kernels recovered to 1e-6 with the right support, noise in proportion and bought back by pixels; the limits (small model, noise, median, vignetting) warn', async () => {
  const c = await claims('random-kernels');
  assert.equal(c.supportRight, c.total);
  assert.ok((c.worstRecovered as number) < 1e-6);
  assert.ok((c.tooSmallRel as number) > 0.05);
  assert.equal(c.tooSmallWarned, true);
  const tenfold = (c.noise10 as number) / (c.noise1 as number), more = (c.noise1 as number) / (c.noise1Big as number);
  assert.ok(tenfold > 5 && tenfold < 20, `noise in proportion: sigma 10 / sigma 1 = ${tenfold}`);
  assert.ok(more > Math.sqrt(c.morePixels as number) / 1.5, `more pixels buy it back: ${more}x`);
  assert.ok((c.noise1 as number) < 0.01);
  assert.equal(c.medianWarned, true);
  assert.equal(c.vignetteWarned, true, 'a vignetted kernel is named not shift-invariant');
  assert.ok((c.vignetteRel as number) > 0.01, `vignetting leaves ${c.vignetteRel} of the peak`);
});

test('deeper: on photographs, Sobel is one kernel (the exact fit > 150 dB, the deep net below it); a curve after a blur is caught by the curve stages (> linear + 20 dB)', async () => {
  const c = await claims('deeper');
  assert.ok((c.sobelLinear as number) > 150, `linear Sobel PSNR ${c.sobelLinear}`);
  assert.ok((c.sobelDeep as number) < (c.sobelLinear as number) - 50, `deep Sobel PSNR ${c.sobelDeep}`);
  assert.ok((c.gammaBlurCurves as number) > (c.gammaBlurLinear as number) + 20, `${c.gammaBlurCurves} vs ${c.gammaBlurLinear}`);
  assert.ok((c.deepParams as number) > (c.linearParams as number));
});

test('large-images: the streamed apply equals the whole-image apply bit for bit and cv2.Sobel to 1e-6, from 1x1 to prime sizes', async () => {
  const c = await claims('large-images');
  assert.equal(c.worstStreamVsWhole, 0);
  assert.ok((c.worstVsReference as number) < 1e-6);
});

test('optimisations: the fast, SIMD and threaded loops equal their references bit for bit, SIMD beats the JavaScript loop; the exact solve beats Adam and SGD to 1e-3', async () => {
  const c = await claims('optimisations');
  assert.equal(c.fastDiff, 0);
  assert.equal(c.simdDiff, 0);
  assert.equal(c.threadsDiff, 0);
  assert.ok((c.simdSpeedup as number) > (c.fastSpeedup as number), `SIMD ${c.simdSpeedup}x vs JavaScript ${c.fastSpeedup}x the reference`);
  assert.ok((c.exactKernelError as number) < 1e-6);
  assert.ok((c.exactMs as number) < (c.adamMs as number), `exact ${c.exactMs} ms vs adam ${c.adamMs} ms`);
  assert.ok((c.exactMs as number) < (c.sgdMs as number), `exact ${c.exactMs} ms vs sgd ${c.sgdMs} ms`);
});

test('batch-crop: on exact targets SGD with 16 crops reaches 1e-3 and ~1e-7, SGD with one crop does not converge at the default rate; on noisy targets larger batches end closer', async () => {
  const c = await claims('batch-crop');
  // Adam's step count hardly depends on the crop size (its steps are normalised), so pixels per step set the time.
  const adam = ['B1C32', 'B16C32', 'B4C8', 'B4C64'].map((k) => c[`adam${k}Steps1e2`] as number);
  assert.ok(Math.max(...adam) <= 1.5 * Math.min(...adam), `adam steps to 1e-2: ${adam}`);
  assert.ok((c.adamB4C8MsPerStep as number) < (c.adamB4C64MsPerStep as number));
  assert.ok((c.adamB16C32Final as number) < 1e-3 && (c.adamB4C8Final as number) < 1e-3);
  assert.ok((c.sgdB16C32Steps1e3 as number) < Infinity);
  assert.ok((c.sgdB16C32Final as number) < 1e-5, `sgd b16 ${c.sgdB16C32Final}`);
  assert.ok((c.sgdB1C32Final as number) > 0.05, `sgd b1 ${c.sgdB1C32Final}`);
  assert.ok((c.noisyadamB16C32Final as number) < (c.noisyadamB1C32Final as number));
  assert.ok((c.noisysgdB16C32Final as number) < (c.noisysgdB1C32Final as number));
});

test('frameworks: TF.js in Node has only the cpu backend; with PyTorch present, bf16 costs > 0.1% of the peak, channels_last is exact, torch.compile needs 2.0', async () => {
  const c = await claims('frameworks');
  assert.ok((c.oursOneMs as number) > 0);
  assert.equal(c.tfjsBackends, 'cpu');
  assert.ok((c.tfjsConvMs as number) > (c.oursOneMs as number), `tfjs ${c.tfjsConvMs} ms vs ours ${c.oursOneMs} ms`);
  if (c.torchMeasured) {
    for (const k of ['one', 'sixteen']) assert.ok((c[`${k}Bf16RelError`] as number) > 1e-3 && (c[`${k}Bf16RelError`] as number) < 1e-2, k);
    assert.equal(c.oneChannelsLastRelError, 0);
    assert.equal(c.torchHasCompile, false); // Debian's torch 1.13; a torch >= 2 would have it (then update the doc)
  }
});

test('depth-width: on Sobel the linear fit is exact and every stack is > 50 dB worse; on the gradient magnitude a stack beats the linear fit by > 10 dB; on median and bilateral none beats it', async () => {
  const c = await claims('depth-width');
  for (const d of [1, 2]) {
    assert.ok((c[`sobelLinear${d}`] as number) > 150);
    for (const w of [4, 8]) assert.ok((c[`sobelD${d}W${w}`] as number) < (c[`sobelLinear${d}`] as number) - 50);
  }
  for (const d of [1, 2]) for (const w of [4, 8]) assert.ok((c[`magnitudeD${d}W${w}`] as number) > (c[`magnitudeLinear${d}`] as number) + 5, `magnitude ${d} ${w}`);
  assert.ok((c.magnitudeD1W8 as number) > (c.magnitudeD1W4 as number), 'width helps at one relu layer');
  for (const w of [4, 8]) assert.ok((c[`magnitudeD2W${w}`] as number) - (c[`magnitudeD1W${w}`] as number) < 2, 'more depth does not help in this budget');
  const bestDeep = Math.max(...[1, 2].flatMap((d) => [4, 8].map((w) => c[`magnitudeD${d}W${w}`] as number)));
  assert.ok(bestDeep > (c.magnitudeLinear1 as number) + 10, `${bestDeep} vs ${c.magnitudeLinear1}`);
  // Median and bilateral: at this budget no stack beats the linear fit of the same receptive field.
  for (const t of ['median', 'bilateral'])
    for (const d of [1, 2]) for (const w of [4, 8]) assert.ok((c[`${t}D${d}W${w}`] as number) < (c[`${t}Linear${d}`] as number), `${t} depth ${d} width ${w}`);
});

test('saturation: u8-saturated Sobel is wrong fitted plainly (warning suggests clamp auto) and exact with the censored clamp; quantisation error grows with the step', async () => {
  const c = await claims('saturation');
  assert.ok((c.sobelSaturated as number) > 0.3);
  assert.ok((c.sobelPlainTapError as number) > 0.3);
  assert.ok((c.sobelPlainR2 as number) < 0.9);
  assert.equal(c.sobelPlainHint, true);
  assert.equal(c.sobelClampClamped, true);
  assert.ok((c.sobelClampTapError as number) < 1e-6);
  assert.equal(c.sobelClampWithin1, 1);
  assert.ok((c.sobelPlainWithin1 as number) < 0.8);
  assert.ok((c.sobelScaledSaturated as number) < 1e-3); // below SATURATION_SHARE: clamp auto keeps the plain fit
  assert.equal(c.sobelScaledClampClamped, false);
  assert.equal(c.sobelScaledPlainWithin1, 1);
  assert.ok((c.quant0 as number) < 1e-6);
  for (const q of [0.01, 1, 16]) assert.ok((c[`quant${q}`] as number) / q > 1e-4 && (c[`quant${q}`] as number) / q < 1e-3, `step ${q}`);
  assert.equal(c.quant1Warned, false);
  assert.equal(c.quant16Warned, true);
  assert.equal(c['quant0.01Warned'], true);
  assert.ok((c.quant1 as number) < 2e-3);
  const r = (c.quant16 as number) / (c.quant1 as number);
  assert.ok(r > 4 && r < 64, `step 16 / step 1 error ratio ${r}`);
});

test('conditioning: flat, one-orientation and smooth images are flagged not identifiable and their kernels fail on textured images; textured, rank-1 noise and noisy stripes are fine', async () => {
  const c = await claims('conditioning');
  for (const k of ['flat', 'vertical', 'horizontal', 'diagonal', 'smooth']) {
    assert.equal(c[`${k}Identifiable`], false, k);
    assert.equal(c[`${k}Warned`], true, k);
    assert.ok((c[`${k}ProbeError`] as number) > 0.05, `${k}: ${c[`${k}ProbeError`]}`);
  }
  assert.ok((c.verticalOwnError as number) < 1e-4, 'stripes reproduce their own targets');
  assert.equal(c.lowRankSmoothIdentifiable, true);
  assert.ok((c.lowRankSmoothCond as number) > 1e6 && (c.lowRankSmoothTapError as number) < 1e-4);
  assert.ok((c.lowRankCond as number) < 100);
  for (const k of ['textured', 'lowRank', 'verticalNoisy']) {
    assert.equal(c[`${k}Identifiable`], true, k);
    assert.equal(c[`${k}Warned`], false, k);
    assert.ok((c[`${k}TapError`] as number) < 1e-4, `${k}: ${c[`${k}TapError`]}`);
  }
});

test('kernel-support: random kernels exact at their size and with auto, the size found; named kernels with their size and zero taps', async () => {
  const c = await claims('kernel-support');
  assert.equal(c.autoRight, c.autoTotal);
  assert.equal(c.namedRight, c.namedTotal);
  assert.ok((c.worstFixed as number) < 1e-6 && (c.worstAuto as number) < 1e-6);
});

test('diagnosis: a linear filter is quiet; median, bilateral, per-image gain, vignetting and gamma are each named', async () => {
  const c = await claims('diagnosis');
  for (const k of ['gaussianF32', 'gaussianU8']) assert.equal(c[`${k}Says`], 'nothing', k);
  const cause: Record<string, RegExp> = { median: /nonlinear neighbourhood/, bilateral: /nonlinear neighbourhood/, normalised: /image to image/, vignetted: /not shift-invariant/, gamma: /curve of the linear output/ };
  for (const [k, re] of Object.entries(cause)) assert.match(String(c[`${k}Says`]), re, k);
});

test('forms: Sobel and the Gaussian are rank 1 and snap exactly', async () => {
  const c = await claims('forms');
  for (const k of ['Sobeldx3', 'Sobeldx5', 'Gaussian5']) {
    assert.equal(c[`${k}Rank`], 1, k);
    assert.equal(c[`${k}SnappedError`], 0, k);
  }
});

test('jpeg: JPEG targets of photographs are warned, the estimate within a factor of three, the bias above the standard errors', async () => {
  const c = await claims('jpeg');
  assert.equal(c.warned, c.cases);
  assert.ok((c.estimateOverRealMin as number) > 1 / 3 && (c.estimateOverRealMax as number) < 3);
  assert.ok((c.biasOverSeMin as number) > 3);
});

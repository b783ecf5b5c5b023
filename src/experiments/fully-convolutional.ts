/**
 * Q3 (and the size half of Q1): the model is one convolution, so it applies to any size. Train on
 * 64x64 images, apply to 1x1, 7x13, prime-sized 211x173 and 1000x997 images and compare with the
 * reference cv2.Sobel; check translation equivariance; count what a dense layer would need.
 */
import { syntheticImage } from '../data/synthetic.js';
import { applyFilter } from '../filters/ops.js';
import { applyModel } from '../nn/apply.js';
import { defineExperiment, type Row } from './types.js';
import { SOBEL_DX, maxAbs, maxAbsDiff, ms, trainSobelOnCrops } from './util.js';
import { cropImage } from '../image.js';

export const experiment = defineExperiment('fully-convolutional', 'Q3: is the architecture fully convolutional, and what does that buy (any size, translation equivariance)?', async ({ quick }) => {
  const model = trainSobelOnCrops();
  const sizes: [number, number][] = [[1, 1], [7, 13], [211, 173], quick ? [500, 499] : [1000, 997]];
  const table: Row[] = [];
  let worstRel = 0;
  for (const [w, h] of sizes) {
    const img = syntheticImage({ width: w, height: h, seed: 7 });
    const ref = applyFilter(img, SOBEL_DX);
    const t0 = performance.now();
    const out = applyModel(model, img);
    const t = ms(t0);
    const err = maxAbsDiff(out, ref);
    const rel = err / Math.max(1, maxAbs(ref));
    worstRel = Math.max(worstRel, rel);
    table.push({ test: `apply to ${w}x${h}`, 'max abs error': err, 'relative to max target': rel, 'apply ms': t });
  }
  // Translation equivariance: shift the input by (dx, dy), the output shifts by the same (away from the border).
  const big = syntheticImage({ width: 211, height: 173, seed: 11 });
  const outBig = applyModel(model, big);
  let worstShift = 0;
  for (const [dx, dy] of [[5, 3], [1, 0], [17, 29]] as [number, number][]) {
    const w = 211 - dx - 20, h = 173 - dy - 20;
    const shifted = applyModel(model, cropImage(big, dx, dy, w, h));
    // compare the interior (1 pixel in from the crop's edges, where the border rule is not used)
    const a = cropImage(shifted, 1, 1, w - 2, h - 2);
    const b = cropImage(outBig, dx + 1, dy + 1, w - 2, h - 2);
    const d = maxAbsDiff(a, b);
    worstShift = Math.max(worstShift, d);
    table.push({ test: `shift input by (${dx},${dy})`, 'max abs error': d, 'relative to max target': d / Math.max(1, maxAbs(b)), 'apply ms': null });
  }
  const convParams = 3 * 3 + 1;
  const denseParams = 64 * 64 * 64 * 64 + 64 * 64;
  table.push({ test: 'params: this model (3x3 conv + bias)', 'max abs error': null, 'relative to max target': null, 'apply ms': null, params: convParams });
  table.push({ test: 'params: a dense 64x64 -> 64x64 layer', 'max abs error': null, 'relative to max target': null, 'apply ms': null, params: denseParams });
  return {
    table,
    claims: { worstRelativeError: worstRel, worstShiftError: worstShift, convParams, denseParams, sizes: sizes.length },
    notes: [
      'Trained on four 64x64 synthetic images (exact solver, border auto); every other size is applied with the same 10 numbers.',
      `A dense layer is tied to one size (a 64x64 input has ${denseParams.toLocaleString('en-US')} weights and cannot take a 7x13 or 1000x997 image) and has no notion of a shift; the convolution has ${convParams}.`,
    ],
  };
});

/**
 * Extra credit, limits: saturated and quantised targets. (a) cv2.Sobel to CV_8U saturates (negative
 * responses become 0, large ones 255): fitted plainly, and with clamp auto (conv + clamp, censored
 * loss); kernel error and the share of held-out pixels reproduced within one grey level. (b) Targets
 * rounded to a step q (q = 1 is 8- or 16-bit integer output): the kernel's error against q.
 */
import type { ImagePair } from '../data/pairs.js';
import { syntheticImages } from '../data/synthetic.js';
import { saturateCast } from '../filters/depth.js';
import { applyFilter } from '../filters/ops.js';
import type { FilterSpec } from '../filters/spec.js';
import type { Image } from '../image.js';
import { applyModel } from '../nn/apply.js';
import type { Conv2dSpec } from '../nn/network.js';
import { createRng } from '../random.js';
import { trainFilter } from '../train/index.js';
import { defineExperiment, type Row } from './types.js';

const conv = (layers: { type: string }[]): Conv2dSpec => layers.find((l) => l.type === 'conv2d') as Conv2dSpec;
const tapError = (layer: Conv2dSpec, truth: number[][]): number => Math.max(...truth.flatMap((row, i) => row.map((t, j) => Math.abs(layer.weights[0]![0]![i]![j]! - t))));

/** Share of interior pixels (1 from the border) where round(prediction) is within 1 of the target. */
function withinOne(pred: Image, target: Image): number {
  let ok = 0, n = 0;
  for (let y = 1; y < target.height - 1; y++)
    for (let x = 1; x < target.width - 1; x++) {
      const i = y * target.width + x;
      if (Math.abs(saturateCast(pred.data[i]!, 'u8') - target.data[i]!) <= 1) ok++;
      n++;
    }
  return ok / n;
}

/** R² of the model's output against the target over interior pixels of a held-out image: 1 - SSE / SST. */
function heldOutR2(pred: Image, target: Image): number {
  let sum = 0, n = 0;
  for (let y = 1; y < target.height - 1; y++) for (let x = 1; x < target.width - 1; x++) (sum += target.data[y * target.width + x]!), n++;
  const mean = sum / n;
  let sse = 0, sst = 0;
  for (let y = 1; y < target.height - 1; y++)
    for (let x = 1; x < target.width - 1; x++) {
      const i = y * target.width + x;
      sse += (pred.data[i]! - target.data[i]!) ** 2;
      sst += (target.data[i]! - mean) ** 2;
    }
  return 1 - sse / sst;
}

function saturatedShare(t: Image[]): number {
  let s = 0, n = 0;
  for (const im of t) for (const v of im.data) { if (v <= 0 || v >= 255) s++; n++; }
  return s / n;
}

export const experiment = defineExperiment('saturation', 'Extra credit, limits: saturated 8-bit targets (with and without the clamp + censored loss) and quantised targets (kernel error vs rounding step).', async ({ quick }) => {
  const size = quick ? 64 : 128;
  const images = syntheticImages(5, { width: size, height: size, seed: 21 });
  const train = images.slice(0, 4), test = images[4]!;
  const table: Row[] = [];
  const claims: Record<string, number | boolean> = {};
  const SOBEL = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]];
  // (a) Saturation.
  const cases: [string, string, FilterSpec, number[][]][] = [
    ['cv2.Sobel dx to CV_8U', 'sobel', { op: 'sobel', dx: 1, dy: 0, ksize: 3, depth: 'u8' }, SOBEL],
    ['cv2.Sobel dx, scale 0.25, delta 128, to CV_8U', 'sobelScaled', { op: 'sobel', dx: 1, dy: 0, ksize: 3, depth: 'u8', scale: 0.25, delta: 128 }, SOBEL.map((r) => r.map((v) => 0.25 * v))],
  ];
  for (const [label, key, spec, truth] of cases) {
    const pairs: ImagePair[] = train.map((input, i) => ({ stem: `i${i}`, input, target: applyFilter(input, spec) }));
    const testTarget = applyFilter(test, spec);
    const share = saturatedShare(pairs.map((p) => p.target));
    for (const clamp of ['off', 'auto'] as const) {
      const fit = trainFilter(pairs, { arch: 'linear', ksize: 3, solver: 'exact', border: 'reflect101', seed: 0, clamp });
      const clamped = fit.model.layers.some((l) => l.type === 'clamp');
      const err = tapError(conv(fit.model.layers), truth);
      const pred = applyModel(fit.model, test);
      const within = withinOne(pred, testTarget), r2 = heldOutR2(pred, testTarget);
      const hint = fit.warnings.some((w) => w.includes('clamp auto'));
      table.push({
        targets: label, 'pixels at 0 or 255': `${(100 * share).toFixed(1)}%`, fit: clamp === 'auto' ? (clamped ? 'conv + clamp[0, 255], censored loss' : 'clamp auto (not saturated: plain)') : 'plain least squares',
        'max abs tap error': err, 'held-out pixels within 1 level': `${(100 * within).toFixed(1)}%`, 'R² (held-out)': r2, warning: fit.warnings.length === 0 ? 'none' : hint ? 'suggests --clamp auto' : 'yes', ms: Math.round(fit.trainMs),
      });
      const k = `${key}${clamp === 'auto' ? 'Clamp' : 'Plain'}`;
      claims[`${k}TapError`] = err;
      claims[`${k}Within1`] = within;
      claims[`${k}R2`] = r2;
      claims[`${k}Hint`] = hint;
      claims[`${k}Clamped`] = clamped;
    }
    claims[`${key}Saturated`] = share;
  }
  // (b) Quantisation: a random 3x3 blur-like kernel (non-integer taps, outputs in 0..255), float targets rounded to a step q.
  const rng = createRng(8);
  const raw = Array.from({ length: 3 }, () => Array.from({ length: 3 }, () => 0.2 + rng()));
  const sum = raw.flat().reduce((a, b) => a + b, 0);
  const kernel = raw.map((r) => r.map((v) => Math.round((v / sum) * 1e4) / 1e4));
  const exactTargets = train.map((input) => applyFilter(input, { op: 'kernel', kernel }));
  let pixels = 0;
  for (const t of exactTargets) pixels += (t.width - 2) * (t.height - 2);
  const steps = quick ? [0, 0.01, 1, 16] : [0, 0.001, 0.01, 0.1, 1, 4, 16];
  claims.quantPixels = pixels;
  for (const q of steps) {
    const pairs: ImagePair[] = train.map((input, i) => {
      const t = exactTargets[i]!;
      return { stem: `i${i}`, input, target: q === 0 ? t : { ...t, depth: q === 1 ? 'u8' : 'f32', data: Float32Array.from(t.data, (v) => q * Math.round(v / q)) } };
    });
    const fit = trainFilter(pairs, { arch: 'linear', ksize: 3, solver: 'exact', border: 'reflect101', seed: 0 });
    const err = tapError(conv(fit.model.layers), kernel);
    table.push({
      targets: q === 0 ? 'random 3x3 blur, float targets' : `random 3x3 blur, rounded to step ${q}${q === 1 ? ' (u8 targets)' : ' (f32 targets)'}`, 'pixels at 0 or 255': null, fit: 'plain least squares',
      'max abs tap error': err, 'tap error / step': q === 0 ? null : err / q, 'held-out pixels within 1 level': null, 'R² (held-out)': null, warning: fit.warnings.length === 0 ? 'none' : 'yes', ms: Math.round(fit.trainMs),
    });
    claims[`quant${q}`] = err;
    claims[`quant${q}Warned`] = fit.warnings.length > 0;
  }
  return {
    table,
    claims,
    notes: [
      `4 synthetic u8 ${size}x${size} training images (one of them validates inside trainFilter), a 5th held out; 3x3 exact fits. "within 1 level": the model's held-out output rounded to u8 against the target, interior pixels.`,
      `Saturation: a plain fit treats 0 and 255 as true values, so the kernel bends toward them; clamp auto fits conv + clamp with a censored loss (saturated pixels constrain only the side they lie on). Quantisation: rounding to a step q adds noise of variance q^2/12, uncorrelated with the input, and a least-squares kernel moves linearly with the noise in its targets: the tap error is proportional to q and falls as 1 / sqrt(pixels) (${pixels} valid training pixels here). The tool knows the rounding of integer targets (u8: step 1) and stays quiet; float targets rounded to another step leave a residual above float rounding, so it warns (the residual diagnosis: targets noisy or not a kernel).`,
    ],
  };
});

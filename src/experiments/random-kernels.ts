/**
 * Extra credit: any kernel-based filter. Random kernels of size 3..9 over seeds, learned with
 * --ksize auto, and the recovered error; then the limits, each shown: a kernel larger than the
 * model's (7x7 data, 3x3 model), noisy targets, a filter that is no kernel at all (median), and
 * one that is not shift-invariant (a kernel whose gain falls off towards the corners: vignetting).
 */
import type { ImagePair } from '../data/pairs.js';
import { syntheticImages } from '../data/synthetic.js';
import { applyFilter } from '../filters/ops.js';
import type { Image } from '../image.js';
import type { Conv2dSpec } from '../nn/network.js';
import { createRng, normal } from '../random.js';
import { trainFilter } from '../train/index.js';
import { defineExperiment, type Row } from './types.js';
import { maxAbs } from './util.js';

export function randomKernel(size: number, seed: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: size }, () => Array.from({ length: size }, () => Math.round((2 * rng() - 1) * 1e4) / 1e4));
}

/** Largest |learned tap - true tap| (the learned kernel centred in / cropped to the true one's size; taps outside count fully). */
function tapError(layer: Conv2dSpec, truth: number[][]): number {
  const k = layer.weights[0]![0]!;
  const kh = k.length, th = truth.length;
  const off = (kh - th) / 2;
  let e = 0;
  for (let i = 0; i < Math.max(kh, th); i++)
    for (let j = 0; j < Math.max(kh, th); j++) {
      const li = off >= 0 ? i : i + off, lj = off >= 0 ? j : j + off; // index into learned
      const ti = off >= 0 ? i - off : i, tj = off >= 0 ? j - off : j; // index into truth
      const l = li >= 0 && li < kh && lj >= 0 && lj < kh ? k[li]![lj]! : 0;
      const t = ti >= 0 && ti < th && tj >= 0 && tj < th ? truth[ti]![tj]! : 0;
      e = Math.max(e, Math.abs(l - t));
    }
  return e;
}

export function median3x3(img: Image): Image {
  const W = img.width, H = img.height, out = new Float32Array(W * H), v: number[] = [];
  const at = (y: number, x: number): number => img.data[Math.min(H - 1, Math.max(0, y)) * W + Math.min(W - 1, Math.max(0, x))]!;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      v.length = 0;
      for (let i = -1; i <= 1; i++) for (let j = -1; j <= 1; j++) v.push(at(y + i, x + j));
      v.sort((a, b) => a - b);
      out[y * W + x] = v[4]!;
    }
  return { ...img, data: out };
}

/** The noise row with more data: this many times the images (of the same kind and size). */
const MORE_PIXELS = 4;

/** Vignetting: the gain falls as 1 - VIGNETTE r² (r² = 2 in the corners). */
const VIGNETTE = 0.15;

const conv = (layers: { type: string }[]): Conv2dSpec => layers.find((l) => l.type === 'conv2d') as Conv2dSpec;

export const experiment = defineExperiment('random-kernels', 'Extra credit: learn any kernel filter (random kernels by size and seed), and the limits of that.', async ({ quick }) => {
  const sizes = quick ? [3, 5, 7] : [3, 5, 7, 9];
  const seeds = quick ? 2 : 5;
  const imgSize = quick ? 64 : 128;
  const images = syntheticImages(4, { width: imgSize, height: imgSize, seed: 9 });
  const table: Row[] = [];
  let worstRecovered = 0, supportRight = 0, total = 0;
  for (const size of sizes) {
    let worst = 0, right = 0, ms = 0;
    for (let s = 0; s < seeds; s++) {
      const kernel = randomKernel(size, 1000 * size + s);
      const pairs: ImagePair[] = images.map((input, i) => ({ stem: `i${i}`, input, target: applyFilter(input, { op: 'kernel', kernel }) }));
      const fit = trainFilter(pairs, { arch: 'linear', ksize: 'auto', solver: 'exact', border: 'reflect101', seed: s });
      ms += fit.trainMs;
      if (fit.kernelSize[0] === size) right++;
      worst = Math.max(worst, tapError(conv(fit.model.layers), kernel));
    }
    worstRecovered = Math.max(worstRecovered, worst);
    supportRight += right;
    total += seeds;
    table.push({ case: `random ${size}x${size} kernels, ${seeds} seeds, --ksize auto`, 'support found': `${right}/${seeds}`, 'max abs tap error': worst, 'held-out rel. error': null, warning: '', 'ms per fit': Math.round(ms / seeds) });
  }
  // Limits.
  const limits: Record<string, number> = {};
  const k7 = randomKernel(7, 77);
  const p7: ImagePair[] = images.map((input, i) => ({ stem: `i${i}`, input, target: applyFilter(input, { op: 'kernel', kernel: k7 }) }));
  const small = trainFilter(p7, { arch: 'linear', ksize: 3, solver: 'exact', border: 'reflect101', seed: 0 });
  const peak7 = Math.max(...p7.map((p) => maxAbs(p.target)));
  limits.tooSmallRel = small.forms.find((f) => f.form === 'full')!.maxAbsError / peak7;
  table.push({ case: 'limit: 7x7 kernel, 3x3 model', 'support found': '3 (forced)', 'max abs tap error': tapError(conv(small.model.layers), k7), 'held-out rel. error': limits.tooSmallRel, warning: small.warnings.length > 0 ? 'yes' : 'no', 'ms per fit': Math.round(small.trainMs) });
  const k5 = randomKernel(5, 55);
  for (const sigma of quick ? [1, 10] : [0.1, 1, 10]) {
    const rng = createRng(31);
    const pn: ImagePair[] = images.map((input, i) => {
      const t = applyFilter(input, { op: 'kernel', kernel: k5 });
      const data = Float32Array.from(t.data, (v) => v + sigma * normal(rng));
      return { stem: `i${i}`, input, target: { ...t, data } };
    });
    const fit = trainFilter(pn, { arch: 'linear', ksize: 5, solver: 'exact', border: 'reflect101', seed: 0 });
    const e = tapError(conv(fit.model.layers), k5);
    limits[`noise${sigma}`] = e;
    table.push({ case: `limit: 5x5 kernel, target noise sigma ${sigma}`, 'support found': '5 (given)', 'max abs tap error': e, 'held-out rel. error': null, warning: fit.warnings.length > 0 ? 'yes' : 'no', 'ms per fit': Math.round(fit.trainMs) });
  }
  // More pixels buy the noise back: the same noise (sigma 1) on MORE_PIXELS times as many images of the same kind.
  {
    const big = syntheticImages(MORE_PIXELS * images.length, { width: imgSize, height: imgSize, seed: 9 });
    const rng = createRng(31);
    const pn: ImagePair[] = big.map((input, i) => {
      const t = applyFilter(input, { op: 'kernel', kernel: k5 });
      return { stem: `i${i}`, input, target: { ...t, data: Float32Array.from(t.data, (v) => v + normal(rng)) } };
    });
    const fit = trainFilter(pn, { arch: 'linear', ksize: 5, solver: 'exact', border: 'reflect101', seed: 0 });
    limits.noise1Big = tapError(conv(fit.model.layers), k5);
    table.push({ case: `limit: 5x5 kernel, target noise sigma 1, ${MORE_PIXELS}x the pixels (${big.length} images)`, 'support found': '5 (given)', 'max abs tap error': limits.noise1Big, 'held-out rel. error': null, warning: fit.warnings.length > 0 ? 'yes' : 'no', 'ms per fit': Math.round(fit.trainMs) });
  }
  const pm: ImagePair[] = images.map((input, i) => ({ stem: `i${i}`, input, target: median3x3(input) }));
  const med = trainFilter(pm, { arch: 'linear', ksize: 3, solver: 'exact', border: 'replicate', seed: 0 });
  const peakM = Math.max(...pm.map((p) => maxAbs(p.target)));
  const medRel = med.forms.find((f) => f.form === 'full')!.maxAbsError / peakM;
  table.push({ case: 'limit: 3x3 median (not a kernel)', 'support found': '3 (given)', 'max abs tap error': null, 'held-out rel. error': medRel, warning: med.warnings.length > 0 ? 'yes' : 'no', 'ms per fit': Math.round(med.trainMs) });
  // Not shift-invariant: a 3x3 kernel whose output gain falls to 1 - 2 * VIGNETTE at the corners (vignetting).
  const k3 = randomKernel(3, 33);
  const pv: ImagePair[] = images.map((input, i) => {
    const t = applyFilter(input, { op: 'kernel', kernel: k3 });
    const data = Float32Array.from(t.data, (v, j) => {
      const x = j % t.width, y = Math.floor(j / t.width) % t.height;
      const u = (2 * x) / (t.width - 1) - 1, w = (2 * y) / (t.height - 1) - 1;
      return v * (1 - VIGNETTE * (u * u + w * w));
    });
    return { stem: `i${i}`, input, target: { ...t, data } };
  });
  const vig = trainFilter(pv, { arch: 'linear', ksize: 3, solver: 'exact', border: 'reflect101', seed: 0 });
  const peakV = Math.max(...pv.map((p) => maxAbs(p.target)));
  const vigRel = vig.forms.find((f) => f.form === 'full')!.maxAbsError / peakV;
  const vigWarned = vig.warnings.some((w) => /not shift-invariant/.test(w));
  table.push({ case: 'limit: 3x3 kernel x vignetting gain (not shift-invariant)', 'support found': '3 (given)', 'max abs tap error': tapError(conv(vig.model.layers), k3), 'held-out rel. error': vigRel, warning: vigWarned ? 'yes' : 'no', 'ms per fit': Math.round(vig.trainMs) });
  return {
    table,
    claims: {
      worstRecovered, supportRight, total, tooSmallRel: limits.tooSmallRel!, tooSmallWarned: small.warnings.length > 0,
      noise1: limits.noise1!, noise10: limits.noise10!, noise1Big: limits.noise1Big!, morePixels: MORE_PIXELS, sizes: sizes.join(','), seeds, medianWarned: med.warnings.length > 0, medianRel: medRel,
      vignetteWarned: vigWarned, vignetteRel: vigRel, vignetteCornerGain: 1 - 2 * VIGNETTE,
    },
    notes: [
      `Random kernels: taps uniform in [-1, 1] (4 decimals), applied by filter2D to 4 synthetic ${imgSize}x${imgSize} images; exact solver; --ksize auto searches up to 15x15.`,
      'Limits: a model smaller than the filter leaves a large error (the best 3x3 approximation, and a warning); noise in targets moves the taps by about sigma / (sqrt(pixels) x input std), so more pixels buy accuracy; a median is not linear, so the best kernel is far off and trainFilter warns instead of claiming a kernel; a gain that varies across the image (vignetting) is not one kernel either: the fit is an average kernel, off by the gain change, and the warning says the filter is not shift-invariant.',
    ],
  };
});

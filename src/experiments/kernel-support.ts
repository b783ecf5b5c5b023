/**
 * docs/any-filter.md, "Arbitrary kernels and --ksize auto": random kernels from 3x3 to 15x15 fitted
 * at their size and with --ksize auto (is the size found, how exact are the taps), and named
 * kernels (Gaussian, box, Laplacian, sharpen, emboss, motion blur, a user 3x5) with the size auto
 * chose, the taps it found to be zero within noise, and the window Gram's condition number.
 */
import type { ImagePair } from '../data/pairs.js';
import { syntheticImages } from '../data/synthetic.js';
import { filterKernel } from '../filters/kernels.js';
import { applyFilter } from '../filters/ops.js';
import type { FilterSpec } from '../filters/spec.js';
import type { Image } from '../image.js';
import type { Conv2dSpec } from '../nn/network.js';
import { trainFilter, type TrainResult } from '../train/index.js';
import { randomKernel } from './random-kernels.js';
import { defineExperiment, type Row } from './types.js';

const pairsFor = (images: Image[], spec: FilterSpec): ImagePair[] => images.map((input, i) => ({ stem: `img${i}`, input, target: applyFilter(input, spec) }));
const fit = (pairs: ImagePair[], ksize: number | 'auto'): TrainResult => trainFilter(pairs, { arch: 'linear', ksize, solver: 'exact', border: 'reflect101', seed: 1 });
const conv0 = (r: TrainResult): Conv2dSpec => r.model.layers[0] as Conv2dSpec;

/** Largest |learned - true| tap, both kernels centred and zero-padded to the larger size. */
function kernelError(r: TrainResult, rows: number[][]): number {
  const w = conv0(r).weights[0]![0]!;
  const kh = w.length, kw = w[0]!.length, th = rows.length, tw = rows[0]!.length;
  const h = Math.max(kh, th), ww = Math.max(kw, tw);
  let e = 0;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < ww; x++) {
      const my = y - ((h - kh) >> 1), mx = x - ((ww - kw) >> 1), ty = y - ((h - th) >> 1), tx = x - ((ww - tw) >> 1);
      const m = my >= 0 && my < kh && mx >= 0 && mx < kw ? w[my]![mx]! : 0;
      const t = ty >= 0 && ty < th && tx >= 0 && tx < tw ? rows[ty]![tx]! : 0;
      e = Math.max(e, Math.abs(m - t));
    }
  return e;
}

const rowsOf = (spec: FilterSpec): number[][] => {
  if (spec.op === 'kernel') return spec.kernel!;
  const k = filterKernel(spec);
  return Array.from({ length: k.kh }, (_, y) => Array.from(k.data.slice(y * k.kw, (y + 1) * k.kw)));
};

const MOTION = [Array.from({ length: 7 }, () => 1 / 7)];
/** Named kernels: the size they need and how many of their taps are zero (what auto and zeroTaps should find). */
const NAMED: { name: string; spec: FilterSpec; size: number; zeros: number; note?: string }[] = [
  { name: 'Gaussian 5', spec: { op: 'gaussian', ksize: 5 }, size: 5, zeros: 0 },
  { name: 'Gaussian 7, sigma 1.5', spec: { op: 'gaussian', ksize: 7, sigma: 1.5 }, size: 7, zeros: 0 },
  { name: 'box 5', spec: { op: 'box', ksize: 5 }, size: 5, zeros: 0 },
  { name: 'Laplacian ksize 1', spec: { op: 'laplacian', ksize: 1 }, size: 3, zeros: 4, note: 'corners' },
  { name: 'Laplacian ksize 5', spec: { op: 'laplacian', ksize: 5 }, size: 5, zeros: 4 },
  { name: 'sharpen', spec: { op: 'kernel', kernel: [[0, -1, 0], [-1, 5, -1], [0, -1, 0]] }, size: 3, zeros: 4 },
  { name: 'emboss', spec: { op: 'kernel', kernel: [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]] }, size: 3, zeros: 2 },
  { name: 'motion blur 1x7', spec: { op: 'kernel', kernel: MOTION }, size: 7, zeros: 42, note: 'all but the middle row' },
  { name: 'user 3x5', spec: { op: 'kernel', kernel: [[0.5, -1, 2, -1, 0.5], [1, 0, -3, 0, 1], [0.25, 0.5, 1, 0.5, 0.25]] }, size: 5, zeros: 12, note: 'top and bottom rows' },
];

export const experiment = defineExperiment('kernel-support', 'Any filter: random kernels up to 15x15 and named kernels, their size found by --ksize auto, their zero taps, the taps\' error.', async ({ quick }) => {
  const small = syntheticImages(2, { width: 96, height: 80, seed: 51 });
  const large = syntheticImages(2, { width: 128, height: 96, seed: 52 });
  const sizes = quick ? [3, 5, 11] : [3, 5, 7, 9, 11, 13, 15];
  const table: Row[] = [];
  const claims: Record<string, number | boolean | string> = {};
  let worstFixed = 0, worstAuto = 0, autoRight = 0, autoTotal = 0;
  const conds: number[] = [];
  for (const size of sizes) {
    const seeds = size <= 9 ? (quick ? 2 : 10) : quick ? 1 : 3;
    const images = size <= 9 ? small : large;
    let fixedErr = 0, autoErr = 0, right = 0, ms = 0;
    for (let s = 0; s < seeds; s++) {
      const kernel = randomKernel(size, 1000 * size + s);
      const pairs = pairsFor(images, { op: 'kernel', kernel });
      fixedErr = Math.max(fixedErr, kernelError(fit(pairs, size), kernel));
      const auto = fit(pairs, 'auto');
      ms += auto.trainMs;
      if (conv0(auto).kernelSize[0] === size) right++;
      autoErr = Math.max(autoErr, kernelError(auto, kernel));
      conds.push(auto.model.training.conditionNumber ?? NaN);
    }
    table.push({ kernel: `random ${size}x${size}`, seeds, 'size chosen by auto': `${right}/${seeds} ${size}x${size}`, 'zero taps': null, 'condition number': null, 'max abs tap error, fixed size': fixedErr, 'max abs tap error, auto': autoErr, 'held-out PSNR dB': null, 'ms per auto fit': Math.round(ms / seeds) });
    worstFixed = Math.max(worstFixed, fixedErr);
    worstAuto = Math.max(worstAuto, autoErr);
    autoRight += right;
    autoTotal += seeds;
  }
  let namedRight = 0;
  for (const n of quick ? NAMED.slice(0, 4) : NAMED) {
    const r = fit(pairsFor(small, n.spec), 'auto');
    const size = conv0(r).kernelSize[0]!, zeros = r.zeroTaps.count, taps = conv0(r).kernelSize[0]! * conv0(r).kernelSize[1]!;
    if (size === n.size && zeros === n.zeros) namedRight++;
    table.push({ kernel: n.name, seeds: null, 'size chosen by auto': `${size}x${size}`, 'zero taps': `${zeros}/${taps}${n.note ? ` (${n.note})` : ''}`, 'condition number': r.model.training.conditionNumber ?? null, 'max abs tap error, fixed size': null, 'max abs tap error, auto': kernelError(r, rowsOf(n.spec)), 'held-out PSNR dB': r.forms.find((f) => f.form === 'full')?.psnr ?? null, 'ms per auto fit': Math.round(r.trainMs) });
  }
  Object.assign(claims, { worstFixed, worstAuto, autoRight, autoTotal, namedRight, namedTotal: quick ? 4 : NAMED.length, condMin: Math.min(...conds), condMax: Math.max(...conds), sizes: sizes.join(',') });
  return {
    table,
    claims,
    notes: [
      `Float32 targets of two synthetic 96x80 images (11x11 and larger: two 128x96), exact solver; random taps uniform in [-1, 1] (4 decimals). "fixed size": fitted at the kernel's size; "auto": --ksize auto, which fits every odd size up to 9 (up to 31 while the images give 20 valid pixels per unknown) and keeps the smallest within the noise floor of the best. Named kernels: auto size; zero taps: |w| <= 4 se + 1e-6 max|w|; condition number of the window Gram at the chosen size; held-out PSNR of the full form.`,
    ],
  };
});

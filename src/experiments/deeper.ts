/**
 * Q7 on photographs: what does depth buy, filter by filter? Three models of each filter, trained on
 * five photographs (test/fixtures/photos) and judged on a sixth that none of them saw:
 *
 *   linear  one convolution, the exact least-squares fit, as large as the deep net's receptive field
 *   curves  y = g(k * f(x) + b) with piecewise-linear curves f, g (--arch curves)
 *   deep    --arch deep: a small context-aggregation network (dilated 3x3 convs, identity start, Adam)
 *
 * on filters of three kinds: one kernel (Sobel dx: linear is exact), a kernel with a curve or a clamp
 * after it (gamma after a blur, a sigmoid after Sobel, an unsharp mask clipped to 0..255: what the
 * curve stages represent), and filters with no such structure (a bilateral filter, a median, erosion,
 * dilation). Reported: held-out PSNR (peak 255, over the pixels at least the receptive radius from
 * the border, so no border guess enters), parameters, training time.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { ImagePair } from '../data/pairs.js';
import { bilateralFilter } from '../filters/bilateral.js';
import { applyFilter } from '../filters/ops.js';
import { cropImage, type Image } from '../image.js';
import { readImage } from '../io/index.js';
import { applyModel } from '../nn/apply.js';
import type { Model } from '../nn/model.js';
import { trainFilter, type TrainOptions, type TrainResult } from '../train/index.js';
import { median3x3 } from './random-kernels.js';
import { defineExperiment, type Row } from './types.js';
import { packageRoot, SOBEL_DX } from './util.js';

/** A reference filter of the table, and what structure a model could exploit. */
interface Filter { name: string; key: string; kind: 'one kernel' | 'kernel, then a curve' | 'no structure'; apply(img: Image): Image }

const f32 = (img: Image, f: (v: number, i: number) => number): Image => ({ ...img, depth: 'f32', data: Float32Array.from(img.data, f) });
const blur = (img: Image): Image => applyFilter(img, { op: 'gaussian', ksize: 5, sigma: 1.5 });

/** The 3x3 window's min (erosion) or max (dilation), over the pixels inside the image (cv2.erode/dilate's default border). */
function morphology(img: Image, pick: (a: number, b: number) => number): Image {
  const W = img.width, H = img.height, out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = img.data[y * W + x]!;
      for (let i = Math.max(0, y - 1); i <= Math.min(H - 1, y + 1); i++)
        for (let j = Math.max(0, x - 1); j <= Math.min(W - 1, x + 1); j++) v = pick(v, img.data[i * W + j]!);
      out[y * W + x] = v;
    }
  }
  return { ...img, depth: 'f32', data: out };
}

export const FILTERS: Filter[] = [
  { name: 'Sobel dx', key: 'sobel', kind: 'one kernel', apply: (im) => applyFilter(im, SOBEL_DX) },
  { name: 'gamma 1/2.2 after a Gaussian blur (5x5, sigma 1.5)', key: 'gammaBlur', kind: 'kernel, then a curve', apply: (im) => f32(blur(im), (v) => 255 * Math.pow(Math.max(0, v) / 255, 1 / 2.2)) },
  { name: 'sigmoid after Sobel dx: 255 / (1 + exp(-Gx / 64))', key: 'sigmoidSobel', kind: 'kernel, then a curve', apply: (im) => f32(applyFilter(im, SOBEL_DX), (v) => 255 / (1 + Math.exp(-v / 64))) },
  { name: 'unsharp mask x + 1.5 (x - blur), clipped to 0..255', key: 'unsharp', kind: 'kernel, then a curve', apply: (im) => { const b = blur(im); return f32(im, (v, i) => Math.min(255, Math.max(0, v + 1.5 * (v - b.data[i]!)))); } },
  { name: 'bilateral (d 5, sigmaColor 20, sigmaSpace 1.5)', key: 'bilateral', kind: 'no structure', apply: (im) => bilateralFilter(im, { d: 5, sigmaColor: 20, sigmaSpace: 1.5 }) },
  { name: '3x3 median', key: 'median', kind: 'no structure', apply: (im) => f32(median3x3(im), (v) => v) },
  { name: '3x3 erosion (min)', key: 'erosion', kind: 'no structure', apply: (im) => morphology(im, Math.min) },
  { name: '3x3 dilation (max)', key: 'dilation', kind: 'no structure', apply: (im) => morphology(im, Math.max) },
];

/** The grey photographs of test/fixtures/photos (a repository checkout's; not in the npm package), sorted by name. */
export async function photographs(): Promise<Image[]> {
  const dir = path.join(packageRoot(), 'test', 'fixtures', 'photos');
  if (!existsSync(dir)) throw new Error(`experiment deeper needs the photographs of a kernel-learn checkout (${dir})`);
  return Promise.all(readdirSync(dir).filter((f) => f.endsWith('.png')).sort().map((f) => readImage(path.join(dir, f))));
}

/** PSNR (peak 255) of `pred` against `target` over the pixels at least `m` from the border. */
function interiorPsnr(pred: Image, target: Image, m: number): number {
  let s = 0, n = 0;
  for (let y = m; y < target.height - m; y++) {
    for (let x = m; x < target.width - m; x++) {
      const d = pred.data[y * target.width + x]! - target.data[y * target.width + x]!;
      s += d * d;
      n++;
    }
  }
  return s === 0 ? Infinity : 10 * Math.log10((255 * 255) / (s / n));
}

/** Every number the model stores: conv weights and biases, and the numbers of any other layer (curve knots). */
export function modelParams(model: Model): number {
  let n = 0;
  const count = (v: unknown): void => {
    if (typeof v === 'number') n++;
    else if (Array.isArray(v)) v.forEach(count);
  };
  for (const l of model.layers) {
    if (l.type === 'conv2d') count([l.weights, l.bias ?? []]);
    else for (const [k, v] of Object.entries(l)) if (Array.isArray(v) && k !== 'kernelSize') count(v);
  }
  return n;
}

interface Budget { crop: number | null; steps: number; deep: NonNullable<TrainOptions['deep']>; filters: Filter[] }

/**
 * The full run: the photographs whole, a CAN of depth 3 (dilations 1, 2, 1: a 9x9 receptive field)
 * and width 16, at most 600 Adam steps: about two minutes a filter on 2 shared cores, so the record
 * stays cheap to redo. The quick run (the tests') checks the plumbing, not the answer.
 */
const FULL: Budget = { crop: null, steps: 600, deep: { depth: 3, width: 16 }, filters: FILTERS };
const QUICK: Budget = { crop: 48, steps: 30, deep: { depth: 2, width: 4 }, filters: FILTERS.filter((f) => ['sobel', 'gammaBlur'].includes(f.key)) };

/** PSNR as a table cell: a number, or 'inf' where the prediction is exact (JSON has no Infinity). */
const psnrCell = (p: number): number | string => (Number.isFinite(p) ? p : 'inf');

/** One filter's row: the three models trained on `train`, judged on `test`. */
function filterRow(f: Filter, train: Image[], test: Image, b: Budget, claims: Record<string, number | boolean | string>): Row {
  const pairs: ImagePair[] = train.map((input, i) => ({ stem: `photo${i}`, input, target: f.apply(input) }));
  const target = f.apply(test);
  const base = { solver: 'exact', border: 'reflect101', seed: 0 } as const;
  const deep = trainFilter(pairs, { ...base, arch: 'deep', ksize: 3, solver: 'adam', maxSteps: b.steps, deep: b.deep });
  const rf = deep.kernelSize[0], margin = rf >> 1;
  const linear = trainFilter(pairs, { ...base, arch: 'linear', ksize: rf });
  const curves = trainFilter(pairs, { ...base, arch: 'curves', ksize: rf });
  const psnr = (r: TrainResult): number => interiorPsnr(applyModel(r.model, test), target, margin);
  const cells = { linear, curves, deep };
  const row: Row = { filter: f.name, structure: f.kind };
  for (const [arch, r] of Object.entries(cells)) row[`${arch} PSNR dB`] = psnrCell(psnr(r));
  for (const [arch, r] of Object.entries(cells)) row[`${arch} params`] = modelParams(r.model);
  for (const [arch, r] of Object.entries(cells)) row[`${arch} s`] = r.trainMs / 1000;
  row['deep steps'] = deep.steps;
  for (const [arch, r] of Object.entries(cells)) claims[`${f.key}${arch[0].toUpperCase()}${arch.slice(1)}`] = psnr(r);
  claims.receptiveField = rf;
  claims.deepParams = modelParams(deep.model);
  claims.linearParams = modelParams(linear.model);
  return row;
}

export const experiment = defineExperiment('deeper', 'Q7: what does depth buy? On photographs: one exact convolution vs curve stages vs a small CNN (--arch deep), for filters with and without structure: held-out PSNR, parameters, training time.', async ({ quick }) => {
  const b = quick ? QUICK : FULL;
  const photos = (await photographs()).map((p) => (b.crop ? cropImage(p, (p.width - b.crop) >> 1, (p.height - b.crop) >> 1, b.crop, b.crop) : p));
  const train = photos.slice(0, -1), test = photos[photos.length - 1]!;
  const claims: Record<string, number | boolean | string> = {};
  const table = b.filters.map((f) => filterRow(f, train, test, b, claims));
  const { depth = 4, width = 16 } = b.deep;
  return {
    table,
    claims,
    notes: [
      `${train.length} grey photographs${b.crop ? ` (centre ${b.crop}x${b.crop} crops)` : ''} train every model (trainFilter holds one out for validation), the ${photos.length}th is the test image: PSNR (peak 255) over its pixels at least ${Number(claims.receptiveField) >> 1} from the border.`,
      `deep: --arch deep --depth ${depth} --width ${width} (a ${Number(claims.receptiveField)}x${Number(claims.receptiveField)} receptive field), Adam for at most ${b.steps} steps; linear: the exact fit of a ${Number(claims.receptiveField)}x${Number(claims.receptiveField)} kernel; curves: --arch curves (y = g(k * f(x) + b)) with that kernel size.`,
    ],
  };
});

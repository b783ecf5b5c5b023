/**
 * docs/any-filter.md, "Is it a linear shift-invariant kernel?": a 5x5 fit of filters that are and
 * are not one kernel, with the residual diagnosis trainFilter reports (the residual's power against
 * the targets' rounding, and the shares a per-image gain, a spatial gain or a curve of the output
 * explain) and what its warning names.
 */
import type { ImagePair } from '../data/pairs.js';
import { syntheticImages } from '../data/synthetic.js';
import { bilateralFilter } from '../filters/bilateral.js';
import { applyFilter } from '../filters/ops.js';
import type { FilterSpec } from '../filters/spec.js';
import { createImage, type Image } from '../image.js';
import { trainFilter } from '../train/index.js';
import { median3x3 } from './random-kernels.js';
import { defineExperiment, type Row } from './types.js';

/** A float32 image made by f(value, x, y) of `img`. */
function mapImage(img: Image, f: (v: number, x: number, y: number) => number): Image {
  const out = createImage(img.width, img.height, 1, 'f32');
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) out.data[y * img.width + x] = f(img.data[y * img.width + x]!, x, y);
  return out;
}

/** Each image standardised on its own (mean 0, std 1): a gain and offset that change from image to image. */
function normalised(t: Image): Image {
  let m = 0, s = 0;
  for (const v of t.data) (m += v), (s += v * v);
  m /= t.data.length;
  const sd = Math.sqrt(s / t.data.length - m * m);
  return mapImage(t, (v) => (v - m) / sd);
}

/** Vignetting: the gain falls as 1 - VIGNETTE r² towards the corners. */
const VIGNETTE = 0.3;
const vignetted = (t: Image): Image => mapImage(t, (v, x, y) => {
  const u = (2 * x) / (t.width - 1) - 1, w = (2 * y) / (t.height - 1) - 1;
  return v * (1 - VIGNETTE * (u * u + w * w));
});

/** What the warning names, in a few words (the cause trainFilter's residual diagnosis picked). */
function named(warnings: string[]): string {
  const causes: [RegExp, string][] = [
    [/change from image to image/, 'gain/offset change from image to image'],
    [/not shift-invariant/, 'not shift-invariant (vignetting or shading)'],
    [/curve of the linear output/, 'a curve of the linear output (gamma, clipping, abs)'],
    [/nonlinear neighbourhood filter/, 'nonlinear neighbourhood filter (median, bilateral...)'],
  ];
  const found = causes.filter(([re]) => warnings.some((w) => re.test(w))).map(([, label]) => label);
  return found.length > 0 ? found.join('; ') : warnings.length > 0 ? 'another warning' : 'nothing';
}

export const experiment = defineExperiment('diagnosis', 'Any filter: is it a linear shift-invariant kernel? The residual diagnosis of a 5x5 fit, and what the warning names.', async ({ quick }) => {
  const images = syntheticImages(4, quick ? { width: 64, height: 56, seed: 61 } : { width: 96, height: 80, seed: 61 });
  const GAUSS: FilterSpec = { op: 'gaussian', ksize: 5 };
  const gauss = images.map((im) => applyFilter(im, GAUSS));
  const cases: [string, string, Image[]][] = [
    ['gaussianF32', 'Gaussian 5, f32', gauss],
    ['gaussianU8', 'Gaussian 5, u8 (OpenCV\'s fixed-point)', images.map((im) => applyFilter(im, { ...GAUSS, depth: 'u8' }))],
    ['median', 'median 3x3', images.map(median3x3)],
    ['bilateral', 'bilateral d 5, sigmaColor 20, sigmaSpace 1.5, f32', images.map((im) => bilateralFilter(im, { d: 5, sigmaColor: 20, sigmaSpace: 1.5 }))],
    ['normalised', 'per-image normalised Gaussian', gauss.map(normalised)],
    ['vignetted', `vignetted Gaussian (x (1 - ${VIGNETTE} r²))`, gauss.map(vignetted)],
    ['gamma', 'gamma 1/2.2 after the Gaussian', gauss.map((t) => mapImage(t, (v) => 255 * Math.pow(Math.max(0, v) / 255, 1 / 2.2)))],
  ];
  const table: Row[] = [];
  const claims: Record<string, number | boolean | string> = {};
  for (const [key, label, targets] of cases) {
    const pairs: ImagePair[] = images.map((input, i) => ({ stem: `d${i}`, input, target: targets[i]! }));
    const r = trainFilter(pairs, { arch: 'linear', ksize: 5, solver: 'exact', border: 'reflect101', seed: 1 });
    const d = r.diagnostics, says = named(r.warnings);
    table.push({ targets: label, 'R²': r.model.metrics.validation.r2, 'residual / rounding (power)': d.excess, 'per-image': d.perImage, spatial: d.spatial, curve: d.pointwise, 'warning says': says });
    Object.assign(claims, { [`${key}Significant`]: d.significant, [`${key}Says`]: says, [`${key}Excess`]: d.excess, [`${key}R2`]: r.model.metrics.validation.r2 });
  }
  return {
    table,
    claims,
    notes: [
      `Four synthetic ${quick ? '64x56' : '96x80'} images, 5x5 exact fits (one image validates: R² is the validation image's). "residual / rounding": the residual's power over what the targets' rounding explains (step^2/12 + 1e-11 mean(y^2)); above 10 the residual is significant and the shares (of the residual's sum of squares) explained by a per-image gain and offset, a smooth spatial gain and a cubic curve of the prediction name the cause (0 when not significant).`,
    ],
  };
});

/**
 * Is the filter a linear shift-invariant (LSI) kernel at all? After the fit, the residual
 * r = target - model(input) over the interior pixels of every pair (whose whole window lies inside
 * the image, so border modes play no part) is compared with the noise a perfect fit leaves (the
 * rounding of the targets), and then asked what explains it:
 *
 *   floor   = step^2 / 12 + 1e-11 * mean(y^2)   (step 1 for integer targets, 0 for float: the
 *             float32 rounding of targets and weights stays far below the relative term)
 *   excess  = mean(r^2) / floor; the residual is significant when excess > 10.
 *
 * When it is, three small least-squares fits of r say what kind of filter it is (each a share of
 * the residual's sum of squares, 0..1; a share above 0.5 names the cause; on large sets every k-th
 * row, EXPLAINED_PIXELS):
 *   - perImage:  r ~ a_i * yhat + b_i per image (a gain and offset that change between images:
 *                per-image normalisation, auto exposure);
 *   - spatial:   r ~ (1, u, v, u^2, v^2, uv) x (1, yhat), u, v the pixel's position in [-1, 1]
 *                (a gain or offset that varies smoothly across the image: vignetting, shading;
 *                the filter is not shift-invariant);
 *   - pointwise: r ~ 1, t, t^2, t^3 with t = standardised yhat (the output is a curve of a
 *                linear filter: gamma, clipping, abs).
 * When none does, the residual is a nonlinear neighbourhood operation (median, bilateral,
 * morphology) or noise in the targets, and the warning says so; unless the targets look
 * JPEG-compressed (compression.ts, checked whether or not the residual is significant: at high
 * quality JPEG leaves less than 10x the rounding and still biases the kernel), which has its own
 * warning.
 */

import { solveGaussian } from '../kernels/linalg.js';
import { applyModel } from '../nn/apply.js';
import type { Network } from '../nn/network.js';
import type { Image } from '../image.js';
import { checkCompression, NOT_CHECKED, type CompressionCheck } from './compression.js';
import { residualStats, type Predict } from './evaluate.js';
import type { Region } from './regions.js';

export interface ResidualDiagnostics {
  /** RMS of the residual over the interior pixels of every pair. */
  residualRms: number;
  /** RMS the targets' rounding alone would leave (sqrt(floor)). */
  floorRms: number;
  /** mean(r^2) / floor. */
  excess: number;
  significant: boolean;
  /** Shares of the residual's sum of squares explained by each structure (see above); 0 when not significant. */
  perImage: number;
  spatial: number;
  pointwise: number;
  /** Do the targets look JPEG-compressed, and how far does that move the taps? (compression.ts) */
  compression: CompressionCheck;
}

/**
 * Pixels (times channels) the explanatory fits take about at most: beyond, every k-th row. A
 * share is the fit's explained sum of squares over the residual's, and with 2^16 pixels a
 * 12-parameter fit's share of pure noise is ~12 / 2^16 = 2e-4, far below the 0.5 that names a
 * cause; on all the pixels of six 512^2 photographs this pass (~100 multiply-adds a pixel) was
 * half a second of a curve stage's judgement.
 */
const EXPLAINED_PIXELS = 2 ** 16;

/** Residual power over the rounding's above which the JPEG check runs (compression.ts). */
const COMPRESSION_EXCESS = 1.5;

/** Accumulates normal equations of features against r; `explained` is the SSE reduction. */
class Ls {
  readonly ata: Float64Array;
  readonly atr: Float64Array;
  constructor(readonly n: number) {
    this.ata = new Float64Array(n * n);
    this.atr = new Float64Array(n);
  }
  add(f: ArrayLike<number>, r: number): void {
    const { n, ata, atr } = this;
    // The upper triangle only (mirrored in explained): each entry the same sum of the same products.
    for (let a = 0; a < n; a++) {
      const fa = f[a];
      atr[a] += fa * r;
      for (let b = a; b < n; b++) ata[a * n + b] += fa * f[b];
    }
  }
  /** sum r^2 - min sum (r - f.x)^2 = x . atr at the optimum (with a tiny relative ridge). */
  explained(): number {
    const { n, ata, atr } = this;
    const reg = Float64Array.from(ata);
    for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) reg[a * n + b] = reg[b * n + a];
    for (let a = 0; a < n; a++) reg[a * n + a] += 1e-12 * ata[a * n + a] + 1e-300;
    const x = solveGaussian(reg, atr, n);
    let s = 0;
    for (let a = 0; a < n; a++) s += x[a] * atr[a];
    return Math.max(0, s);
  }
}

/**
 * `regions` are whole pairs or bands (every pixel of the region's interior counts); `kh`, `kw`
 * the model's receptive field; `targetStep` the targets' quantisation step (0 for float).
 */
export function diagnoseResidual(model: Network, regions: Region[], kh: number, kw: number, targetStep: number, predict: Predict = applyModel): ResidualDiagnostics {
  const cout = model.outputChannels;
  const ay = kh >> 1, ax = kw >> 1;
  // Pass 1: residual power, target power, prediction moments (for t), over the interiors.
  const { n, sse: r2, y2, p1, p2 } = residualStats(model, regions, predict, 'model', { kh, kw });
  const none: ResidualDiagnostics = { residualRms: 0, floorRms: 0, excess: 0, significant: false, perImage: 0, spatial: 0, pointwise: 0, compression: NOT_CHECKED };
  if (n === 0) return none;
  const mse = r2 / n;
  const floor = (targetStep * targetStep) / 12 + 1e-11 * (y2 / n);
  const excess = floor > 0 ? mse / floor : mse > 0 ? Infinity : 0;
  // JPEG at quality 95 leaves 3 to 8x the rounding: checked well below `significant`.
  const compression = excess > COMPRESSION_EXCESS ? checkCompression(regions, kh, kw, targetStep) : NOT_CHECKED;
  const out: ResidualDiagnostics = { ...none, residualRms: Math.sqrt(mse), floorRms: Math.sqrt(floor), excess, significant: excess > 10, compression };
  if (!out.significant) return out;

  // Pass 2: the three explanatory fits, on every rowStep-th row of large sets (see EXPLAINED_PIXELS).
  const rowStep = Math.max(1, Math.floor(n / EXPLAINED_PIXELS));
  const fits = explanatoryFits(regions.map((r) => predict(model, r.pair.input)), cout, regions, kh, kw, rowStep, p1 / n, p2 / n);
  // Regions of one pair (a band split) share the image: per-image fits need two images or more.
  const distinct = new Set(regions.map((r) => r.pair)).size;
  // Every row: the pass-1 sum (the same pixels, summed in the same order as fits.sse).
  const total = rowStep === 1 ? r2 : fits.sse;
  out.perImage = distinct >= 2 ? fits.perImage.reduce((s, l) => s + l.explained(), 0) / total : 0;
  out.spatial = fits.spatial.explained() / total;
  out.pointwise = fits.pointwise.explained() / total;
  return out;
}

/**
 * The normal equations of the three explanatory fits (see the header) over the interior pixels
 * (whole window inside the image) of every rowStep-th row, the model's `cout` outputs; `mean` and `meanSquare` the
 * predictions' (t is the standardised prediction). Returns them and the residual's sum of squares
 * over those pixels.
 */
function explanatoryFits(preds: Image[], cout: number, regions: Region[], kh: number, kw: number, rowStep: number, mean: number, meanSquare: number): { perImage: Ls[]; spatial: Ls; pointwise: Ls; sse: number } {
  const ay = kh >> 1, ax = kw >> 1;
  const ps = Math.sqrt(Math.max(meanSquare - mean * mean, 0)) || 1;
  const perImage = regions.map(() => new Ls(2));
  const spatial = new Ls(12);
  const pointwise = new Ls(4);
  const fi = new Float64Array(2), fs = new Float64Array(12), fp = new Float64Array(4);
  let sse = 0;
  regions.forEach((reg, ri) => {
    const { target } = reg.pair;
    const W = target.width, H = target.height;
    const y0 = Math.max(reg.y0, ay), y1 = Math.min(reg.y1, H - (kh - 1 - ay)), x0 = Math.max(reg.x0, ax), x1 = Math.min(reg.x1, W - (kw - 1 - ax));
    const pred = preds[ri].data;
    for (let c = 0; c < cout; c++) {
      for (let y = y0; y < y1; y += rowStep) {
        const v = H > 1 ? (2 * y) / (H - 1) - 1 : 0;
        const o = (c * H + y) * W;
        for (let x = x0; x < x1; x++) {
          const u = W > 1 ? (2 * x) / (W - 1) - 1 : 0;
          const p = pred[o + x];
          const r = target.data[o + x] - p;
          sse += r * r;
          const t = (p - mean) / ps;
          fi[0] = t;
          fi[1] = 1;
          perImage[ri].add(fi, r);
          // The quadratic surface in (u, v), then the same times t.
          fs[0] = 1; fs[1] = u; fs[2] = v; fs[3] = u * u; fs[4] = v * v; fs[5] = u * v;
          for (let j = 0; j < 6; j++) fs[6 + j] = fs[j] * t;
          spatial.add(fs, r);
          fp[0] = 1;
          fp[1] = t;
          fp[2] = t * t;
          fp[3] = t * t * t;
          pointwise.add(fp, r);
        }
      }
    }
  });
  return { perImage, spatial, pointwise, sse };
}

const pct = (x: number): string => `${Math.round(100 * Math.min(1, x))}%`;

/** The warnings a significant residual earns (none when it is not significant). */
export function residualWarnings(d: ResidualDiagnostics, r2: number, size: string, model = `a linear shift-invariant ${size} kernel`): string[] {
  if (!d.significant) return [];
  const w: string[] = [];
  const head = `the targets are not ${model} of the inputs: the residual RMS ${d.residualRms.toPrecision(3)} is ${Math.sqrt(d.excess).toPrecision(3)}x what the targets' rounding explains (validation R² ${r2.toFixed(6)})`;
  const causes: string[] = [];
  if (d.perImage > 0.5) causes.push(`a gain and offset that change from image to image explain ${pct(d.perImage)} of it (per-image normalisation or exposure?)`);
  if (d.spatial > 0.5) causes.push(`a gain that varies smoothly across the image explains ${pct(d.spatial)} of it: the filter is not shift-invariant (vignetting or shading?)`);
  if (d.pointwise > 0.5) causes.push(`a curve of the linear output explains ${pct(d.pointwise)} of it (gamma, clipping or abs after the kernel? --arch auto tries curve, clamp and abs stages)`);
  // JPEG's residual is none of these either; compressionWarnings says what it is.
  if (causes.length === 0 && !d.compression.jpeg) {
    causes.push(
      `neither a per-image gain (${pct(d.perImage)}), a spatial gain (${pct(d.spatial)}) nor a curve of the output (${pct(d.pointwise)}) explains it: a nonlinear neighbourhood filter (median, bilateral, morphology), a kernel larger than ${size}, or noisy targets?`,
    );
  }
  for (const c of causes) w.push(`${head}; ${c}`);
  return w;
}

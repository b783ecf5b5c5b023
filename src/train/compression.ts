/**
 * Lossy compression of the targets: were they saved as JPEG? Then the kernel is biased, not just
 * noisier, and the standard errors (uncertainty.ts) do not say by how much.
 *
 * Why it shows. JPEG codes each 8x8 block of the image, counted from the file's top-left pixel, on
 * its own: DCT, quantise (coarsely at high frequencies, where most coefficients become 0), inverse
 * DCT, round. So the map from a filter's output to the decoded target depends on the pixel's place
 * in its block (y mod 8, x mod 8): it is not shift-invariant. A linear shift-invariant filter has
 * the same kernel at every pixel, however noisy, rounded or nonlinear the rest is. So:
 *
 *   fit a probe kernel (the fitted size, 5x5 for larger ones) at each of the 64 places in the block,
 *   separately in two halves of the pixels (the left and right half of each image or band);
 *   gridCorrelation = how alike the places' kernels differ from their mean in the two halves
 *   (agreement below): noise, rounding and a nonlinear filter's misfit make each half's
 *   differences their own (~0, either sign), JPEG makes them the same (0.3 to 0.85 measured).
 * JPEG when gridCorrelation >= 0.25. The halves are far apart in the image, so content that is
 * alike at nearby places does not make them agree. Measured (branch report, docs/any-filter.md):
 * JPEG at quality 50 to 95 of Gaussian and box filters on the test photographs, 157x117 synthetic
 * images and RGB ones, 0.29 to 0.85 (all warned but RGB with 4:2:0 chroma at quality 95, 0.22);
 * without JPEG (median, bilateral, gamma, per-image gain, vignetting, noise, saturation, a kernel
 * fitted too small: 64 runs on random crops of the photographs, 130 on synthetic images) -0.19 to
 * 0.21 on photographs, one 0.47 on synthetic 256x256 images, whose value noise is built on cells
 * of 2, 4 and 8 pixels from the corner (content that repeats on JPEG's own grid; see below). The
 * corpus of real libraries' outputs: OpenCV's own JPEG (quality 90) 0.56, the 54 others not warned.
 *
 * How big the bias is. The kernel fitted to all the pixels is about the average of the places'
 * kernels, which JPEG moved each its own way; the mean product of the two halves' differences
 * (noise averages out of it) is the square of that spread per tap: `tapBias`, RMS over taps.
 * Against the true kernel it was 0.6 to 2.2 times the real RMS error (grey and 4:4:4 colour), the
 * largest tap error 2 to 4 times the RMS.
 *
 * Colour JPEGs that subsample chroma (4:2:0, sharp's default) also blur the colour, mostly
 * shift-invariantly: no test can tell that part from the filter, and the estimate falls short
 * (box 3x3 of synthetic RGB images: estimated ~1e-2, real 3e-2 to 6e-2 RMS); the warning says so
 * for colour targets.
 *
 * Not seen: JPEGs cropped after compression by other than a multiple of 8 (the grid is no longer
 * at the file's corner); quality 95 of a box blur is found only with enough pixels (half of the
 * runs on 6 crops of ~127x97). Seen, wrongly, as JPEG: a nonlinear filter of content that itself
 * repeats every 8 pixels on the same grid (its map does change with the place in that period).
 */

import { gramStatsByClass, type GramStats } from '../kernels/gram.js';
import { solveExact } from './exact.js';
import { residualFloor, statsMeanSquare } from './noise.js';
import type { Region } from './regions.js';

export interface CompressionCheck {
  /** Whether the check ran: a residual above the targets' rounding (here and for the caller) and enough pixels per group. */
  checked: boolean;
  /** [kh, kw] of the probe kernel fitted per place ([0, 0] when not checked). */
  probe: [number, number];
  /** How alike the two halves' per-place kernels deviate from their mean (see the header): ~0 for a shift-invariant map. */
  gridCorrelation: number;
  /** The targets look JPEG-compressed (gridCorrelation >= GRID_CORRELATION). */
  jpeg: boolean;
  /** Estimated bias per tap, RMS over taps, of a kernel fitted to these targets (0 unless jpeg). */
  tapBias: number;
}

export const GRID_CORRELATION = 0.25;
/**
 * Multiply-adds the pass of 128 Grams may take, ~0.1 s, unless the groups need more pixels than
 * that (colour 5x5: a few times that): pixels beyond are sampled by bands of 8 rows. Without JPEG the
 * correlation's noise does not depend on the pixel count (1 / sqrt of the ~63 p deviations), while
 * JPEG's part of the deviations grows against the noise with it.
 */
const WORK = 2 ** 27;
/** Pixels each group (a place in the block, in one half) needs per unknown of the probe kernel. */
const PIXELS_PER_UNKNOWN = 10;
const PLACES = 64;

export const NOT_CHECKED: CompressionCheck = { checked: false, probe: [0, 0], gridCorrelation: 0, jpeg: false, tapBias: 0 };

/**
 * The check over the interiors of `regions` (whole pairs or bands; the block grid is counted from
 * each image's corner), for a fitted kh x kw kernel; `targetStep` as in diagnostics.ts. Only for
 * fits that leave more than the targets' rounding (diagnostics.ts decides), and only when the
 * probe's own fit does too: targets that a kernel gives exactly leave nothing to judge by,
 * however far a descent stopped from them.
 */
export function checkCompression(regions: Region[], kh: number, kw: number, targetStep: number): CompressionCheck {
  if (regions.length === 0) return NOT_CHECKED;
  const key = `${kh}x${kw}|${targetStep}`;
  const hit = memo.get(regions[0])?.find((m) => m.key === key && m.regions.length === regions.length && m.regions.every((r, i) => r === regions[i]));
  if (hit) return hit.check;
  const check = runCheck(regions, kh, kw, targetStep);
  memo.set(regions[0], [...(memo.get(regions[0]) ?? []), { regions, key, check }]);
  return check;
}

/**
 * The checks done, by their first region: --arch auto judges every stage on the same regions
 * (the check depends only on the data, not on the stage's fit).
 */
const memo = new WeakMap<Region, { regions: Region[]; key: string; check: CompressionCheck }[]>();

function runCheck(regions: Region[], kh: number, kw: number, targetStep: number): CompressionCheck {
  const cin = regions[0].pair.input.channels;
  const cout = regions[0].pair.target.channels;
  // Never a probe smaller than the fit (up to 5x5): its misfit would be a residual of its own.
  const probe: [number, number] = [Math.min(kh, 5), Math.min(kw, 5)];
  const p = cin * probe[0] * probe[1] + 1;
  const anchors = regions.reduce((s, r) => s + interiorArea(r, probe), 0);
  const needed = 2 * PLACES * PIXELS_PER_UNKNOWN * p;
  if (anchors < needed) return NOT_CHECKED;
  const budget = Math.max(needed, Math.floor(WORK / (p * p / 2 + cout * p)));
  const fits = placeFits(regions, probe, Math.max(1, Math.floor(anchors / budget)));
  if (!(fits.pooledMse > 1.5 * residualFloor(fits.meanSquare, targetStep))) return NOT_CHECKED;
  const { correlation, crossSpread } = agreement(fits.coefs, fits.metric, p - 1);
  const jpeg = correlation >= GRID_CORRELATION;
  return { checked: true, probe, gridCorrelation: correlation, jpeg, tapBias: jpeg ? Math.sqrt(Math.max(0, crossSpread)) : 0 };
}

/** Anchors of a region whose kh x kw window lies inside its image. */
function interiorArea(r: Region, [kh, kw]: [number, number]): number {
  const { y0, y1, x0, x1 } = interior(r, kh, kw);
  return Math.max(0, y1 - y0) * Math.max(0, x1 - x0);
}

/** The rows and columns of `r` whose kh x kw window lies inside the image. */
function interior(r: Region, kh: number, kw: number): { y0: number; y1: number; x0: number; x1: number } {
  const { width: W, height: H } = r.pair.target;
  const ay = kh >> 1, ax = kw >> 1;
  return { y0: Math.max(r.y0, ay), y1: Math.min(r.y1, H - (kh - 1 - ay)), x0: Math.max(r.x0, ax), x1: Math.min(r.x1, W - (kw - 1 - ax)) };
}

interface PlaceFits {
  /** Per group (half * 64 + place), per output: the probe's coefficients (taps, then bias). */
  coefs: Float64Array[][];
  /** X^T X / n of all the sampled windows: the metric in which coefficient differences are output differences. */
  metric: GramStats;
  /** MSE of one kernel for all the sampled pixels (all outputs), and their targets' mean square. */
  pooledMse: number;
  meanSquare: number;
}

/**
 * The probe kernel fitted at each place of the 8x8 block in each half of the pixels (the left and
 * the right half of each region: far apart, so nearby content does not make the halves agree),
 * and to all of them. Bands of 8 rows are sampled (every `stride`-th), so every place keeps its
 * share.
 */
function placeFits(regions: Region[], [kh, kw]: [number, number], stride: number): PlaceFits {
  const pairs = [...new Set(regions.map((r) => r.pair))];
  const labels = pairs.map((p) => new Uint8Array(p.target.width * p.target.height));
  regions.forEach((r, ri) => {
    const label = labels[pairs.indexOf(r.pair)];
    const W = r.pair.target.width;
    const { y0, y1, x0, x1 } = interior(r, kh, kw);
    const mid = (x0 + x1) >> 1;
    for (let y = y0; y < y1; y++) {
      if (((y >> 3) + ri) % stride !== 0) continue;
      for (let x = x0; x < x1; x++) label[y * W + x] = 1 + (x < mid ? 0 : PLACES) + (y & 7) * 8 + (x & 7);
    }
  });
  const stats = gramStatsByClass(pairs, kh, kw, true, labels, 2 * PLACES);
  const pooled = sumStats(stats);
  return {
    coefs: stats.map((st) => solveExact(st, { condition: false }).coef),
    metric: pooled,
    pooledMse: solveExact(pooled, { condition: false }).loss,
    meanSquare: statsMeanSquare(pooled),
  };
}

/** The statistics of all groups together. */
function sumStats(stats: GramStats[]): GramStats {
  const [first] = stats;
  const sum: GramStats = { ...first, xtx: new Float64Array(first.xtx.length), xty: new Float64Array(first.xty.length), yty: new Float64Array(first.yty.length), n: 0 };
  for (const st of stats) {
    for (let a = 0; a < st.xtx.length; a++) sum.xtx[a] += st.xtx[a];
    for (let a = 0; a < st.xty.length; a++) sum.xty[a] += st.xty[a];
    for (let a = 0; a < st.yty.length; a++) sum.yty[a] += st.yty[a];
    sum.n += st.n;
  }
  return sum;
}

/**
 * How the two halves' per-place kernels agree. d_h,g = the kernel at place g in half h minus the
 * mean over places of half h; noise makes the two halves' d independent, JPEG makes them alike.
 *   correlation = sum_g d_A,g' M d_B,g / sqrt(sum_g d_A,g' M d_A,g * sum_g d_B,g' M d_B,g), with M =
 *                 X^T X / n: each difference counts by how much it changes the output, which is
 *                 also what whitens the fits' noise (its covariance is ~ M^-1 / n_g);
 *   crossSpread = the mean over places and taps of d_A * d_B: the noise averages out of it, what
 *                 is left is the square of how far the places' kernels really differ.
 */
function agreement(coefs: Float64Array[][], metric: GramStats, taps: number): { correlation: number; crossSpread: number } {
  const { p, n, xtx } = metric;
  const cout = coefs[0].length;
  const deviations = (half: number, o: number): Float64Array[] => {
    const group = coefs.slice(half * PLACES, (half + 1) * PLACES).map((c) => c[o]);
    const mean = new Float64Array(p);
    for (const c of group) for (let f = 0; f < p; f++) mean[f] += c[f] / PLACES;
    return group.map((c) => c.map((v, f) => v - mean[f]));
  };
  const inner = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) s += a[i] * xtx[i * p + j] * b[j];
    return s / n;
  };
  let ab = 0, aa = 0, bb = 0, cross = 0;
  for (let o = 0; o < cout; o++) {
    const da = deviations(0, o), db = deviations(1, o);
    for (let g = 0; g < PLACES; g++) {
      ab += inner(da[g], db[g]);
      aa += inner(da[g], da[g]);
      bb += inner(db[g], db[g]);
      for (let f = 0; f < taps; f++) cross += da[g][f] * db[g][f];
    }
  }
  return { correlation: aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0, crossSpread: cross / (PLACES * taps * cout) };
}

const fmt = (v: number): string => v.toPrecision(2);

/**
 * The warning for JPEG-like targets (none otherwise): how the check saw it, how far the taps are
 * likely off, and against that the largest tap and the standard errors (RMS over taps; undefined
 * when the fit has none), so the user sees what the error means.
 */
export function compressionWarnings(c: CompressionCheck, fit: { maxTap: number; seRms?: number; colour: boolean }): string[] {
  if (!c.jpeg) return [];
  const se = fit.seRms === undefined ? '' : `, ${c.tapBias > 2 * fit.seRms ? 'far more than' : 'beside'} what their standard errors say (${fmt(fit.seRms)})`;
  const chroma = fit.colour ? ', more if the colour was subsampled (4:2:0)' : '';
  return [
    `the targets look JPEG-compressed: the kernel from inputs to targets changes with the pixel's place in JPEG's 8x8 blocks ` +
      `(the kernels fitted at each place differ alike in two halves of the images: correlation ${fmt(c.gridCorrelation)}); ` +
      `JPEG low-passes what it keeps, so the kernel is biased, not just noisier: its taps are likely off by about ${fmt(c.tapBias)}${chroma} ` +
      `(RMS over taps, the largest tap is ${fmt(fit.maxTap)})${se}; targets saved without loss (PNG, TIFF, .npy) give the exact kernel`,
  ];
}

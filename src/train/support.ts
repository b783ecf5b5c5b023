/**
 * The kernel's support: which size to fit (--ksize auto) and which taps of the fitted kernel are
 * zero within noise.
 *
 * Size. Every odd size k up to a limit is fitted exactly on the SAME pixels (the centred
 * sub-blocks of one Gram of the largest size, so the valid region is the largest kernel's), and
 * each fit is judged on held-out data (validation Gram; the training Gram when nothing is held
 * out). The smallest k with
 *
 *     mse_k <= 1.01 * min_j mse_j + floor,   floor = max(1e-12 * mean(y^2), 2 * step^2 / 12)
 *
 * is kept: larger kernels only win by explaining structure the smaller one misses. The 1% covers
 * sampling noise between nested fits on the same pixels; `floor` is the noise a perfect fit still
 * leaves: the rounding of float32 targets (an exact fit of any size reaches ~1e-15 of the mean
 * square), or twice the quantisation noise of integer targets (step 1 for u8/u16/s16), so a tail
 * of taps that changes the targets by less than their own rounding is not worth a bigger kernel.
 *
 * Limit (autoKsizeLimit): every odd size up to 9 the images hold (as before), and beyond that up
 * to AUTO_KSIZE_MAX = 15 while the training images still give at least 20 valid pixels per
 * unknown (20 * (cin * k^2 + 1)): enough that the largest fit is well determined, so its
 * validation MSE is a fair yardstick for the smaller ones.
 *
 * Zero taps. A tap is zero within noise when |w| <= 4 * se + 1e-6 * max |w| (se: its standard
 * error from the residual and the Gram, exact.ts coefStdErrors; the relative term is the float32
 * rounding floor of an exact fit). For a kernel of the chosen size, zero taps show its real
 * shape: a 3x3 Laplacian (ksize 1) has zero corners, a horizontal motion blur zero rows.
 */

import type { GramStats } from '../kernels/gram.js';
import { subGram } from '../kernels/gram.js';
import { KernelLearnError } from '../errors.js';
import { excessLoss, solveExact } from './exact.js';
import { noiseFloor, statsMeanSquare } from './noise.js';

/** Largest kernel --ksize auto tries when the images are big enough (see autoKsizeLimit). */
export const AUTO_KSIZE_MAX = 15;
/** Sizes up to this are always tried when the images hold them. */
export const AUTO_KSIZE_ALWAYS = 9;
/** Valid training pixels needed per unknown for sizes above AUTO_KSIZE_ALWAYS. */
export const AUTO_PIXELS_PER_UNKNOWN = 20;

/**
 * The largest odd size --ksize auto fits, from the image sizes (w x h each) and channel count.
 * `share` is the fraction of pixels that train (the rest validate).
 */
export function autoKsizeLimit(sizes: { width: number; height: number }[], cin: number, bias: boolean, share: number): number {
  const largestSide = Math.max(...sizes.map((s) => Math.min(s.width, s.height)));
  let best = 1;
  for (let k = 1; k <= AUTO_KSIZE_MAX; k += 2) {
    if (k > largestSide) break;
    if (k <= AUTO_KSIZE_ALWAYS) {
      best = k;
      continue;
    }
    let valid = 0;
    for (const s of sizes) valid += Math.max(0, s.width - k + 1) * Math.max(0, s.height - k + 1);
    if (valid * share >= AUTO_PIXELS_PER_UNKNOWN * (cin * k * k + (bias ? 1 : 0))) best = k;
  }
  return best;
}

export interface KernelSizeChoice {
  k: number;
  candidates: { ksize: number; mse: number }[];
  /** The noise allowance `floor` of the rule above. */
  floor: number;
}

export function chooseKernelSize(train: GramStats, val: GramStats | null, targetStep: number): KernelSizeChoice {
  const judge = val && val.n > 0 ? val : train;
  // Held-out MSE of each candidate as (the judge's own optimum's MSE) + (the excess over it):
  // the excess is a quadratic form in the small difference of the coefficients, so it does not
  // cancel the way y'y - 2 w'X'y + w'X'Xw does (that loses ~1e-11 of the mean square on u8 data).
  const judgeOpt = solveExact(judge, { condition: false });
  const candidates: { ksize: number; mse: number }[] = [];
  for (let k = 1; k <= train.kh; k += 2) {
    const sol = solveExact(subGram(train, k, k), { condition: false });
    const embedded = sol.coef.map((c) => embedCoef(c, k, train));
    candidates.push({ ksize: k, mse: judgeOpt.loss + excessLoss(judge, embedded, judgeOpt.coef) });
  }
  return smallestAdequate(candidates, statsMeanSquare(judge), targetStep);
}

/** The rule above: the smallest size whose held-out MSE is within 1.01 x best + the noise floor. */
export function smallestAdequate(candidates: { ksize: number; mse: number }[], meanSquare: number, targetStep: number): KernelSizeChoice {
  const best = Math.min(...candidates.map((c) => c.mse));
  const floor = noiseFloor(meanSquare, targetStep);
  return { k: candidates.find((c) => c.mse <= 1.01 * best + floor)!.ksize, candidates, floor };
}

/**
 * --ksize auto for the fits that have no shared Gram matrix (clamp, abs, magnitude): held-out
 * loss of a fit at each odd size up to maxK, stopping at the first size the data is too small
 * for (a KernelLearnError from the fit), then the same rule as chooseKernelSize.
 */
export function chooseSizeByLoss(maxK: number, heldOutLoss: (k: number) => number, meanSquare: number, targetStep: number): KernelSizeChoice {
  const candidates: { ksize: number; mse: number }[] = [];
  for (let k = 1; k <= maxK; k += 2) {
    try {
      candidates.push({ ksize: k, mse: heldOutLoss(k) });
    } catch (e) {
      if (!(e instanceof KernelLearnError) || k === 1) throw e;
      break; // too few (unsaturated) pixels for this size and larger ones
    }
  }
  return smallestAdequate(candidates, meanSquare, targetStep);
}

/** Coefficients of a centred k x k kernel (taps, then bias) placed in the frame of `big`'s features. */
function embedCoef(c: Float64Array, k: number, big: GramStats): Float64Array {
  const out = new Float64Array(big.p);
  const off = (big.kh - k) >> 1;
  const offx = (big.kw - k) >> 1;
  for (let ci = 0; ci < big.cin; ci++) {
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) out[ci * big.kh * big.kw + (i + off) * big.kw + j + offx] = c[(ci * k + i) * k + j];
  }
  if (big.bias) out[big.p - 1] = c[c.length - 1];
  return out;
}

export interface ZeroTaps {
  /** Number of taps (over every out/in channel pair) that are zero within noise. */
  count: number;
  /** Of how many taps. */
  of: number;
  /** [out, in, y, x] of each zero tap (y, x from the kernel's top-left). */
  taps: [number, number, number, number][];
  /** Per kernel (one grid for cin = cout = 1): 1 where the tap is zero within noise. */
  mask: number[][][][];
}

/** The taps of `coef` ([cout][cin*kh*kw (+bias)]) that are zero within noise (rule above). */
export function findZeroTaps(coef: ArrayLike<number>[], se: ArrayLike<number>[], cin: number, kh: number, kw: number): ZeroTaps {
  const taps: [number, number, number, number][] = [];
  const mask: number[][][][] = [];
  const per = cin * kh * kw;
  for (let o = 0; o < coef.length; o++) {
    let maxAbs = 0;
    for (let f = 0; f < per; f++) maxAbs = Math.max(maxAbs, Math.abs(coef[o][f]));
    const mo: number[][][] = [];
    for (let c = 0; c < cin; c++) {
      const grid: number[][] = [];
      for (let y = 0; y < kh; y++) {
        const row: number[] = [];
        for (let x = 0; x < kw; x++) {
          const f = (c * kh + y) * kw + x;
          const zero = Math.abs(coef[o][f]) <= 4 * se[o][f] + 1e-6 * maxAbs;
          row.push(zero ? 1 : 0);
          if (zero) taps.push([o, c, y, x]);
        }
        grid.push(row);
      }
      mo.push(grid);
    }
    mask.push(mo);
  }
  return { count: taps.length, of: coef.length * per, taps, mask };
}

/**
 * The kernel's support: which size to fit (--ksize auto) and which taps of the fitted kernel are
 * zero within noise.
 *
 * Size. Every odd size k up to a limit is fitted exactly on the SAME pixels (the centred
 * sub-blocks of one Gram of the largest size, so the valid region is the largest kernel's), and
 * each fit is judged on held-out data (validation Gram; the training Gram when nothing is held
 * out). The smallest k with
 *
 *     mse_k <= 1.01 * min_j mse_j + floor,   floor = max(1e-12 * mean(y^2), 0.1 * step^2 / 12)
 *
 * is kept: larger kernels only win by explaining structure the smaller one misses. The 1% covers
 * sampling noise between nested fits on the same pixels; `floor` (noise.ts sizeFloor) is the
 * noise a perfect fit still leaves: the rounding of float32 targets (an exact fit of any size
 * reaches ~1e-15 of the mean square), or for integer targets a tenth of their rounding noise
 * step^2 / 12 (step 1 for u8/u16/s16). Integer targets never fit better than step^2 / 12, and
 * nested fits on the same pixels differ by far less than that, so a size keeps growing while
 * its held-out error is clearly above that floor (an 8-bit blur with long tails: 9x9 at 1.0 of
 * the floor is taken over 7x7 at 1.5), and stops where a bigger kernel only shaves the rounding.
 *
 * Limit (autoKsizeLimit): every odd size up to 9 the images hold, and beyond that up to
 * KSIZE_MAX = 31 while the training images still give at least 20 valid pixels per unknown
 * (20 * (cin * k^2 + 1)): enough that the largest fit is well determined, so its validation MSE
 * is a fair yardstick for the smaller ones. The Gram of the largest size costs most (31x31 on six
 * 512x512 images: ~1.3 s), so the sizes grow in stages (AUTO_KSIZE_STAGES): the next stage's Gram
 * is computed only when the largest size of this one is the size chosen. The chosen size is then
 * fitted again on all training pixels, unless the largest size's valid region already holds 90% of
 * them (a 31x31 Gram's region on 512x512 images holds 98% of a 25x25 one's).
 *
 * Zero taps. A tap is zero within noise when |w| <= 4 * se + 1e-6 * max |w| (se: its standard
 * error from the residual and the Gram, exact.ts coefStdErrors; the relative term is the float32
 * rounding floor of an exact fit). For a kernel of the chosen size, zero taps show its real
 * shape: a 3x3 Laplacian (ksize 1) has zero corners, a horizontal motion blur zero rows.
 */

import type { GramStats } from '../kernels/gram.js';
import { subGram, subKernelOffset } from '../kernels/gram.js';
import { KernelLearnError } from '../errors.js';
import { excessLoss, solveExact } from './exact.js';
import { KSIZE_MAX } from './limits.js';
import { sizeFloor, statsMeanSquare } from './noise.js';

export { KSIZE_MAX };
/** Largest kernel --ksize auto tries when the images are big enough (see autoKsizeLimit). */
export const AUTO_KSIZE_MAX = KSIZE_MAX;
/** The largest sizes of the Grams --ksize auto computes in turn (see the header). */
export const AUTO_KSIZE_STAGES: readonly number[] = [9, 17, 31];
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
  for (let k = 1; k <= KSIZE_MAX; k += 2) {
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
  const floor = sizeFloor(meanSquare, targetStep);
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
export function embedCoef(c: Float64Array, k: number, big: Pick<GramStats, 'cin' | 'kh' | 'kw' | 'p' | 'bias'>): Float64Array {
  const out = new Float64Array(big.p);
  const off = subKernelOffset(big.kh, k);
  const offx = subKernelOffset(big.kw, k);
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

/** The tight box of a kernel's taps that are not zero within noise, and where its anchor sits. */
export interface Support {
  /** [kh, kw] of the fitted kernel. */
  kernel: [number, number];
  /** Rows [top, top + height) and columns [left, left + width) of the kernel hold every non-zero tap (over all channels). */
  box: { top: number; left: number; height: number; width: number };
  /** The box's anchor (top + (height >> 1), left + (width >> 1)) minus the kernel's: [dy, dx], 0 for a centred box. */
  offset: [number, number];
}

/** The support of a fitted kernel from its zero-tap mask (findZeroTaps); the whole kernel when every tap is zero. */
export function tightSupport(zero: ZeroTaps, kh: number, kw: number): Support {
  let top = kh, bottom = -1, left = kw, right = -1;
  for (const grids of zero.mask) {
    for (const grid of grids) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          if (grid[y][x]) continue;
          top = Math.min(top, y);
          bottom = Math.max(bottom, y);
          left = Math.min(left, x);
          right = Math.max(right, x);
        }
      }
    }
  }
  if (bottom < 0) [top, bottom, left, right] = [0, kh - 1, 0, kw - 1];
  const height = bottom - top + 1, width = right - left + 1;
  return { kernel: [kh, kw], box: { top, left, height, width }, offset: [top + (height >> 1) - (kh >> 1), left + (width >> 1) - (kw >> 1)] };
}

/**
 * How large a kernel a filter that reaches past the largest size tried needs: the largest |tap| on
 * each ring (Chebyshev radius r from the centre) of the outer half of the kernel, fitted as
 * log m(r) = a + b r (taps of smooth filters fall off exponentially or faster), extrapolated to
 * where it reaches the noise (4 x the median standard error, the zero-tap rule). Null when the
 * rings do not fall off (not a compact kernel).
 */
export function neededSize(coef: ArrayLike<number>[], se: ArrayLike<number>[], cin: number, k: number): number | null {
  const c = k >> 1;
  const ring = new Float64Array(c + 1);
  const errors: number[] = [];
  for (let o = 0; o < coef.length; o++) {
    for (let ch = 0; ch < cin; ch++) {
      for (let y = 0; y < k; y++) {
        for (let x = 0; x < k; x++) {
          const t = (ch * k + y) * k + x;
          const r = Math.max(Math.abs(y - c), Math.abs(x - c));
          ring[r] = Math.max(ring[r], Math.abs(coef[o][t]));
          errors.push(se[o][t]);
        }
      }
    }
  }
  errors.sort((a, b) => a - b);
  const noise = Math.max(4 * errors[errors.length >> 1], 1e-6 * Math.max(...ring));
  const pts: [number, number][] = [];
  for (let r = c >> 1; r <= c; r++) if (ring[r] > 0) pts.push([r, Math.log(ring[r])]);
  if (pts.length < 3) return null;
  const mr = pts.reduce((s, p) => s + p[0], 0) / pts.length;
  const ml = pts.reduce((s, p) => s + p[1], 0) / pts.length;
  let sxy = 0, sxx = 0;
  for (const [r, l] of pts) { sxy += (r - mr) * (l - ml); sxx += (r - mr) ** 2; }
  const b = sxy / sxx;
  if (!(b < 0)) return null;
  const rStar = Math.ceil(mr + (Math.log(noise) - ml) / b);
  return 2 * Math.max(rStar, c + 1) + 1;
}

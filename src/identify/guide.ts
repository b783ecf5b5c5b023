/**
 * The cheap guides of a search: the learned kernel (trainFilter's exact least-squares fit), what
 * its shape says about the family (low-pass or not, symmetric or not), and small kernels fitted on
 * the unsaturated samples only, snapped to the integers over a common denominator that a person
 * would type (the free-kernel calls: cv2.filter2D, scipy.ndimage.correlate, ImageFilter.Kernel).
 */
import type { ImagePair } from '../data/pairs.js';
import { KernelLearnError } from '../errors.js';
import { type Kernel2D } from '../filters/kernels.js';
import { cholesky, choleskySolve } from '../kernels/linalg.js';
import { trainFilter } from '../train/index.js';
import { type Range } from './numbers.js';
import { type Comparison, type PixelSet } from './score.js';

export interface Guide {
  /** trainFilter's kernel ({arch: 'linear', ksize: 'auto', solver: 'exact'}), channel 0 to 0. */
  kernel: Kernel2D;
  bias: number;
  /** The fit's held-out R^2: the shape below is worth trusting only when this is high. */
  r2: number;
  /** sum / sum |k|: 1 for a blur, about 0 for a derivative or a Laplacian. */
  dc: number;
  /** Correlation of the kernel with its left-right (parityX) and up-down (parityY) mirror: 1 even, -1 odd. */
  parityX: number;
  parityY: number;
  /** For a low-pass kernel: the standard deviation of its weights along x, a first guess at a sigma. */
  spread: number;
}

/** The learned kernel and its shape; null when the pairs leave it undetermined (trainFilter refuses). */
export function learnGuide(pairs: ImagePair[]): Guide | null {
  const channels = pairs[0].input.channels;
  let result;
  // trainFilter refuses pairs it cannot fit (too flat, too small) with a KernelLearnError: then there is no guide, and nothing is ruled out.
  try {
    // The border mode does not change the kernel (the fit sees whole windows only): skip its search.
    result = trainFilter(pairs, { arch: 'linear', ksize: 'auto', solver: 'exact', border: 'reflect101', seed: 0, ...(channels > 1 ? { channels: 'shared' } : {}) });
  } catch (err) {
    if (err instanceof KernelLearnError) return null;
    throw err;
  }
  const conv = result.model.layers[0];
  if (conv.type !== 'conv2d') return null;
  const [kh, kw] = conv.kernelSize;
  const kernel: Kernel2D = { kh, kw, data: Float64Array.from(conv.weights[0][0].flat()) };
  return { kernel, bias: conv.bias ? conv.bias[0] : 0, r2: result.model.metrics.validation.r2, ...shapeOf(kernel) };
}

function shapeOf(k: Kernel2D): Pick<Guide, 'dc' | 'parityX' | 'parityY' | 'spread'> {
  const { kh, kw, data } = k;
  let sum = 0, abs = 0, sq = 0, mx = 0, my = 0, m2 = 0;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const v = data[i * kw + j];
      sum += v;
      abs += Math.abs(v);
      sq += v * v;
      mx += v * data[i * kw + (kw - 1 - j)];
      my += v * data[(kh - 1 - i) * kw + j];
      m2 += v * (j - (kw - 1) / 2) ** 2;
    }
  }
  return { dc: abs > 0 ? sum / abs : 0, parityX: sq > 0 ? mx / sq : 1, parityY: sq > 0 ? my / sq : 1, spread: sum > 0 && m2 > 0 ? Math.sqrt(m2 / sum) : 1 };
}

/**
 * What a family's kernel looks like, to skip the fits the learned kernel rules out and to narrow
 * the others. A blur is nearly linear (its learned fit explains the targets: R^2 >= 0.9) and its
 * kernel low-pass (even both ways, most weight positive); a sharpen is even but may clip (so a
 * poor fit does not rule it out); a derivative's kernel sums to about 0, which a trusted fit
 * with most of its weight in its sum rules out; 'any' is never ruled out.
 */
export type Expect = 'lowpass' | 'even' | 'derivative' | 'any';

/** R^2 above which the learned kernel's shape is trusted. */
export const TRUSTED_R2 = 0.9;

export function guideAllows(guide: Guide | null, expect: Expect, width?: number, parity?: readonly [number, number]): boolean {
  // The learned support is at most the true one plus noise (8-bit rounding hides faint tails, never adds taps).
  if (guide && width !== undefined && guide.r2 >= TRUSTED_R2 && width < guide.kernel.kh - 2) return false;
  // A clear symmetry survives even a poor fit (a Sobel clipped at 0 still learns an odd kernel, measured): no R^2 needed.
  if (guide && parity && (guide.parityX * parity[0] < -0.5 || guide.parityY * parity[1] < -0.5)) return false;
  if (!guide || expect === 'any') return true;
  const even = guide.parityX > 0.5 && guide.parityY > 0.5;
  const trusted = guide.r2 >= TRUSTED_R2;
  switch (expect) {
    case 'lowpass':
      return trusted && even && guide.dc > 0.5;
    case 'even':
      return !trusted || even;
    case 'derivative':
      return !trusted || Math.abs(guide.dc) < 0.3;
  }
}

/**
 * The range worth searching for a width (sigma, radius) given a trusted learned kernel. A blur:
 * within 2.5 times the kernel's spread either way (a sampled Gaussian's spread is its sigma; a box
 * of radius r has sqrt(r (r + 1) / 3)). A sharpen: sigma at most half the learned kernel's width
 * (its visible support is about 6 sigma). The upper end stays open when the learned kernel filled
 * the largest size the learner tries, since it is then cut short.
 */
export function narrowRange(guide: Guide | null, expect: Expect, range: Range, largestLearned = 15): Range {
  if (!guide || expect === 'any' || !(guide.r2 >= TRUSTED_R2)) return range;
  const open = guide.kernel.kh >= largestLearned;
  const min = expect === 'lowpass' ? Math.max(range.min, guide.spread / 2.5) : range.min;
  const max = open ? range.max : Math.min(range.max, expect === 'lowpass' ? guide.spread * 2.5 : Math.max(2, guide.kernel.kh / 2));
  return min < max ? { ...range, min, max } : range;
}

// ---------------------------------------------------------------------------------------------
// Small kernels on unsaturated samples

/**
 * The least-squares n x n kernel and bias over the set's compared samples whose target is not
 * at an integer depth's limits (a clipped sample says only "at least" or "at most": it would bend
 * the fit). Null when the inputs are too flat to determine it.
 */
export function fitSmallKernel(set: PixelSet, n: number, cmp: Comparison): { kernel: Kernel2D; bias: number } | null {
  const r = n >> 1;
  const p = n * n + 1;
  const a = new Float64Array(p * p);
  const b = new Float64Array(p);
  const v = new Float64Array(p);
  v[p - 1] = 1;
  const margin = Math.max(set.margin, r);
  for (let k = 0; k < set.inputs.length; k++) {
    const { width: w, height: h, channels } = set.inputs[k];
    const x = set.inputs[k].data;
    const t = set.targets[k].data;
    for (let c = 0; c < channels; c++) {
      for (let y = margin; y < h - margin; y++) {
        for (let xx = margin; xx < w - margin; xx++) {
          const tv = t[(c * h + y) * w + xx];
          if (cmp.range && (tv <= cmp.range.lo || tv >= cmp.range.hi)) continue;
          for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) v[i * n + j] = x[(c * h + y + i - r) * w + xx + j - r];
          for (let i = 0; i < p; i++) {
            const vi = v[i];
            b[i] += vi * tv;
            for (let j = 0; j <= i; j++) a[i * p + j] += vi * v[j];
          }
        }
      }
    }
  }
  for (let i = 0; i < p; i++) for (let j = 0; j < i; j++) a[j * p + i] = a[i * p + j];
  const l = cholesky(a, p);
  if (!l) return null;
  const sol = choleskySolve(l, p, b);
  return { kernel: { kh: n, kw: n, data: sol.subarray(0, n * n) }, bias: sol[p - 1] };
}

/** The denominators a person uses for a kernel's weights (1/16 for a binomial, 1/9 for a box, ...). */
const DENOMINATORS = [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 16, 20, 24, 25, 32, 36, 48, 50, 64, 100, 128, 256];

/**
 * The kernel as integers over the smallest common denominator that fits every weight within a
 * tenth of a step (and keeps the integers below 1000), its zero outer rings removed; null when no
 * denominator does (a kernel no one typed, such as a random one). Verified afterwards by
 * re-filtering, which is the proof: this only proposes.
 */
export function snapKernel(k: Kernel2D): { weights: number[][]; denominator: number } | null {
  let largest = 0;
  for (const v of k.data) largest = Math.max(largest, Math.abs(v));
  if (!(largest > 0)) return null;
  for (const d of DENOMINATORS) {
    if (largest * d > 1000) break;
    if (k.data.every((v) => Math.abs(v * d - Math.round(v * d)) <= 0.1)) {
      let rows = Array.from({ length: k.kh }, (_, i) => Array.from(k.data.subarray(i * k.kw, (i + 1) * k.kw), (v) => Math.round(v * d) + 0));
      while (rows.length >= 3 && rows[0].length >= 3 && ringIsZero(rows)) rows = rows.slice(1, -1).map((r) => r.slice(1, -1));
      if (rows.flat().every((v) => v === 0)) return null;
      return { weights: rows, denominator: d };
    }
  }
  return null;
}

function ringIsZero(rows: number[][]): boolean {
  const last = rows.length - 1;
  return rows[0].every((v) => v === 0) && rows[last].every((v) => v === 0) && rows.every((r) => r[0] === 0 && r[r.length - 1] === 0);
}

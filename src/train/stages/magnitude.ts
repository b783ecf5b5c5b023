/**
 * Gradient-magnitude targets (y = sqrt(gx^2 + gy^2), then saturated for integer targets): a conv
 * with two outputs, then a magnitude layer (then a clamp). The pair of kernels is found up to a
 * rotation and reported in a canonical form (canonicalPair):
 *
 *  - up to LIFTED_KSIZE_MAX (5x5), by the lifted least squares (lifted.ts) as the top two
 *    eigenvectors of M;
 *  - larger (--ksize 7), from the 5x5 fit embedded in the window, by angle rounds on one Gram
 *    (angleRounds): given the kernels a and b, each pixel's angle phi = atan2(b.x, a.x); given the angles, a and
 *    b are the linear least squares of y cos(phi) and y sin(phi), on the same X^T X. Each round
 *    lowers sum (|(a, b).x| - y)^2 (it minimises sum (a.x - y cos phi)^2 + (b.x - y sin phi)^2 over
 *    each block in turn, and its minimum over phi is that loss); the rounds stop when the kernels
 *    move less than ANGLE_TOLERANCE of their largest tap. X^T X is of the pixels in use (below
 *    the upper limit, or predicted below it: the censored rule of clamp.ts), updated by the pixels
 *    that change, and X^T [y cos phi, y sin phi] is one sweep of lag sums (gram.ts crossStats).
 *
 * The fit has no linear standard errors (none are claimed: zero taps need them), and two conv
 * outputs make one output pixel, so the border is judged by running the network.
 */

import type { Pixels } from '../../image.js';
import { crossStats, gramStats, type GramPair, type GramStats } from '../../kernels/gram.js';
import { gramStatsMasked, updateMasked, type Selection } from '../../kernels/gram-masked.js';
import { meanOverAnchors, responsesAtAnchors } from '../../kernels/windows.js';
import { solveGaussian } from '../../kernels/linalg.js';
import { solveExact } from '../exact.js';
import { clampLayer } from './clamp.js';
import { ABS_AUTO_KSIZE_MAX, LIFTED_KSIZE_MAX, liftedStageChecks, startKernels } from './lifted.js';
import { sizeByLoss, type OutputStage } from './stage.js';

const WHAT = 'a magnitude stage';
/** The angle rounds stop when no tap moves more than this share of the largest one. */
export const ANGLE_TOLERANCE = 1e-9;
/** At most this many angle rounds. */
const ANGLE_ROUNDS_MAX = 100;
/** Rounds the acceleration mixes (angleRounds). */
const ANDERSON_DEPTH = 3;

export const MAGNITUDE: OutputStage = {
  name: 'linear+magnitude',
  linearErrors: false,
  convOutputs: () => 2,
  ...liftedStageChecks(WHAT, () => `${WHAT} is fitted for one target channel, without --abs`),
  fit(data, wanted, auto) {
    const { bias } = data;
    const hi = data.limits ? data.limits.hi : Infinity;
    const fits = new Map<number, MagnitudeFit>();
    const fitOf = (k: number): MagnitudeFit => {
      let f = fits.get(k);
      if (!f) fits.set(k, (f = fitMagnitude(data.train, k, bias, hi, () => fitOf(LIFTED_KSIZE_MAX).coef)));
      return f;
    };
    const { size, sizeChoice } = sizeByLoss(data, wanted, auto, ABS_AUTO_KSIZE_MAX, ({ kh: kk }, judge) => magnitudeLoss(judge, fitOf(kk), kk, bias, hi));
    const k = size.kh;
    const fit = fitOf(k);
    // The window statistics still say how well the images condition the kernels.
    const stats = gramStats(data.train, k, k, bias);
    const solution = { ...solveExact(stats), coef: [...fit.coef], loss: magnitudeLoss(data.train, fit, k, bias, hi) };
    const reason = k > LIFTED_KSIZE_MAX ? `the ${LIFTED_KSIZE_MAX}x${LIFTED_KSIZE_MAX} fit, then ${fit.rounds} angle rounds (magnitude)` : 'exact lifted least squares (magnitude: top-2 eigenvectors)';
    return { size, solution, stats, valStats: null, reason, sizeChoice, warnings: [] };
  },
  outputLayers: (limits) => [{ type: 'magnitude', groupSize: 2 }, ...(limits ? [clampLayer(limits)] : [])],
  responseMap: () => null,
};

/** Mean of (min(hypot(a.x + ba, b.x + bb), hi) - y)^2 over the valid pixels. */
function magnitudeLoss(pairs: GramPair[], fit: MagnitudeFit, k: number, bias: boolean, hi: number): number {
  return meanOverAnchors(pairs, fit.coef, k, k, bias, (r, y) => {
    const d = Math.min(Math.hypot(r[0], r[1]), hi) - y;
    return d * d;
  });
}

export interface MagnitudeFit {
  /** The two kernels' coefficients (taps, then bias), canonical (see canonicalPair). */
  coef: [Float64Array, Float64Array];
  /** Angle rounds (0 for the lifted fit). */
  rounds: number;
}

/**
 * Gradient-magnitude targets y = sqrt((a.x + ba)^2 + (b.x + bb)^2), see the header; `fitMax` gives
 * the LIFTED_KSIZE_MAX fit a larger pair starts from.
 */
export function fitMagnitude(pairs: GramPair[], k: number, bias: boolean, hi: number, fitMax: () => Float64Array[]): MagnitudeFit {
  const [a, b] = startKernels(pairs, k, bias, hi, 2, fitMax);
  const cin = pairs[0].input.channels;
  if (k <= LIFTED_KSIZE_MAX) return { coef: canonicalPair(a, b, k, cin), rounds: 0 };
  const refined = angleRounds(pairs, k, bias, hi, a, b);
  return { coef: canonicalPair(refined.coef[0], refined.coef[1], k, cin), rounds: refined.rounds };
}

/**
 * The angle rounds of the header from the pair (a, b) at size k. The rounds converge linearly (each
 * takes 0.3-0.7 of the remaining distance on photographs), so they are accelerated (Anderson): the
 * next pair mixes the last ANDERSON_DEPTH rounds' results so as to cancel their steps' trend. A mixed
 * pair that raises the loss is dropped for the plain round's result, which never raises it.
 */
function angleRounds(pairs: GramPair[], k: number, bias: boolean, hi: number, a: Float64Array, b: Float64Array): { coef: Float64Array[]; rounds: number } {
  const p = a.length;
  let x: Float64Array = Float64Array.from([...a, ...b]);
  let g: Float64Array = x;
  let use: Selection | null = null;
  let gram: GramStats | null = null;
  let last: { g: Float64Array; loss: number } | null = null;
  const mix = anderson(ANDERSON_DEPTH);
  let rounds = 0;
  while (rounds < ANGLE_ROUNDS_MAX) {
    const next = angleTargets(pairs, [x.subarray(0, p), x.subarray(p)], k, bias, hi);
    if (last && next.loss > last.loss) {
      // Uphill: back to the last plain round's result (accepted whatever its loss: it is a round's own).
      x = last.g;
      last = null;
      mix.reset();
      continue;
    }
    gram = gram && use ? updateMasked(gram, use, next.use) : gramStatsMasked(pairs, k, k, bias, next.use.masks);
    use = next.use;
    const [ga, gb] = solveExact(crossStats(next.targets, gram), { condition: false }).coef;
    g = Float64Array.from([...ga, ...gb]);
    rounds++;
    let moved = 0, largest = 0;
    for (let t = 0; t < 2 * p; t++) {
      moved = Math.max(moved, Math.abs(g[t] - x[t]));
      largest = Math.max(largest, Math.abs(g[t]));
    }
    if (moved <= ANGLE_TOLERANCE * largest) break;
    last = { g, loss: next.loss };
    x = mix.next(x, g);
  }
  return { coef: [g.slice(0, p), g.slice(p)], rounds };
}

/**
 * Anderson acceleration of a fixed-point iteration x <- G(x) (type II, the last `depth` steps):
 * next(x, G(x)) = G(x) - sum_j gamma_j (G(x_j+1) - G(x_j)), gamma the least squares that best
 * cancels the residual G(x) - x by the residuals' differences.
 */
function anderson(depth: number): { next(x: Float64Array, gx: Float64Array): Float64Array; reset(): void } {
  let xs: Float64Array[] = [], gs: Float64Array[] = [];
  return {
    reset() {
      xs = [];
      gs = [];
    },
    next(x, gx) {
      xs.push(x);
      gs.push(gx);
      if (xs.length > depth + 1) { xs.shift(); gs.shift(); }
      const m = xs.length - 1, n = x.length;
      if (m === 0) return gx;
      const f = xs.map((xi, i) => xi.map((v, t) => gs[i][t] - v));
      const dF = Array.from({ length: m }, (_, j) => f[j + 1].map((v, t) => v - f[j][t]));
      const A = new Float64Array(m * m), rhs = new Float64Array(m);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < m; j++) for (let t = 0; t < n; t++) A[i * m + j] += dF[i][t] * dF[j][t];
        for (let t = 0; t < n; t++) rhs[i] += dF[i][t] * f[m][t];
      }
      let trace = 0;
      for (let i = 0; i < m; i++) trace += A[i * m + i];
      if (!(trace > 0)) return gx;
      for (let i = 0; i < m; i++) A[i * m + i] += 1e-12 * trace;
      const gamma = solveGaussian(A, rhs, m);
      const out = Float64Array.from(gx);
      for (let j = 0; j < m; j++) for (let t = 0; t < n; t++) out[t] -= gamma[j] * (gs[j + 1][t] - gs[j][t]);
      return out;
    },
  };
}

/**
 * Each valid pixel's angle under the pair: the targets y cos(phi) and y sin(phi) (two channels,
 * 0 where the pixel is not in use), the pixels in use (below hi, or predicted below it) and the
 * loss the rounds lower, sum over them of (|(a, b).x| - y)^2.
 */
function angleTargets(pairs: GramPair[], coef: Float64Array[], k: number, bias: boolean, hi: number): { targets: GramPair[]; use: Selection; loss: number } {
  const use: Selection = { pairs, masks: [] };
  let loss = 0;
  const targets = pairs.map((pair) => {
    const { input, target } = pair;
    const plane = input.width * input.height;
    const uv = new Float64Array(2 * plane), m = new Uint8Array(plane);
    const [ra, rb] = coef.map((c) => responsesAtAnchors(pair, c, k, k, bias));
    loss += anglePlane(ra, rb, target.data, input.width, input.height, k, hi, uv, m);
    use.masks.push(m);
    return { input, target: { ...target, channels: 2, data: uv } };
  });
  return { targets, use, loss };
}

/** angleTargets for one pair (responses ra, rb of the two kernels): fills uv and m, returns the loss. */
function anglePlane(ra: Float64Array, rb: Float64Array, y: Pixels, W: number, H: number, k: number, hi: number, uv: Float64Array, m: Uint8Array): number {
  const plane = W * H;
  let loss = 0;
  for (let r = k >> 1; r + k - (k >> 1) <= H; r++) {
    for (let at = r * W + (k >> 1), end = at + W - k + 1; at < end; at++) {
      const a = ra[at], b = rb[at], t = y[at];
      const len = Math.sqrt(a * a + b * b); // (Math.hypot is several times slower)
      if (!(t < hi || len < hi)) continue;
      m[at] = 1;
      loss += (len - t) * (len - t);
      const s = len > 0 ? t / len : 0;
      uv[at] = len > 0 ? a * s : t;
      uv[plane + at] = b * s;
    }
  }
  return loss;
}

/**
 * The canonical form of a pair found up to a rotation (any rotation of (a, b) gives the same
 * magnitude): rotated so that a has the largest projection on the horizontal ramp (tap weight =
 * column - centre: a is "the x derivative") and b none, b's projection on the vertical ramp made
 * positive. Sobel magnitude comes out as (Sobel dx, Sobel dy).
 */
export function canonicalPair(a0: Float64Array, b0: Float64Array, k: number, cin: number): [Float64Array, Float64Array] {
  let a = a0, b = b0;
  let ax = 0, bx = 0;
  for (let c = 0; c < cin; c++) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const t = (c * k + i) * k + j;
        ax += a[t] * (j - (k >> 1));
        bx += b[t] * (j - (k >> 1));
      }
    }
  }
  const theta = Math.atan2(bx, ax);
  const cs = Math.cos(theta), sn = Math.sin(theta);
  const ra = a.map((v, t) => cs * v + sn * b[t]);
  const rb = a.map((v, t) => -sn * v + cs * b[t]);
  a = ra;
  b = rb;
  let by = 0;
  for (let c = 0; c < cin; c++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) by += b[(c * k + i) * k + j] * (i - (k >> 1));
  if (by < 0) b = b.map((v) => -v);
  // Round-off in the rotation: taps ~1e-16 of the largest are zero.
  let big = 0;
  for (const v of [...a, ...b]) big = Math.max(big, Math.abs(v));
  for (const arr of [a, b]) for (let t = 0; t < arr.length; t++) if (Math.abs(arr[t]) < 1e-12 * big) arr[t] = 0;
  return [a, b];
}

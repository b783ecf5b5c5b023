/**
 * Gradient-magnitude targets (y = sqrt(gx^2 + gy^2), then saturated for integer targets): a conv
 * with two outputs, then a magnitude layer (then a clamp). The pair of kernels comes from the
 * lifted least squares (lifted.ts) as the top two eigenvectors of M, found up to a rotation and
 * reported in a canonical form (fitMagnitude).
 *
 * The fit has no linear standard errors (none are claimed: zero taps need them), and two conv
 * outputs make one output pixel, so the border is judged by running the network.
 */

import { gramStats, type GramPair } from '../../kernels/gram.js';
import { meanOverAnchors } from '../../kernels/windows.js';
import { symmetricEigen } from '../../kernels/linalg.js';
import { solveExact } from '../exact.js';
import { clampLayer } from './clamp.js';
import { ABS_AUTO_KSIZE_MAX, liftedMoment, liftedStageChecks, unstandardise } from './lifted.js';
import { sizeByLoss, type OutputStage } from './stage.js';

const WHAT = 'a magnitude stage';

export const MAGNITUDE: OutputStage = {
  name: 'linear+magnitude',
  linearErrors: false,
  convOutputs: () => 2,
  ...liftedStageChecks(WHAT, () => `${WHAT} is fitted for one target channel, without --abs`),
  fit(data, wanted, auto) {
    const { bias } = data;
    const hi = data.limits ? data.limits.hi : Infinity;
    const { size, sizeChoice } = sizeByLoss(data, wanted, auto, ABS_AUTO_KSIZE_MAX, ({ kh: kk }, judge) => magnitudeLoss(judge, fitMagnitude(data.train, kk, bias, hi), kk, bias, hi));
    const k = size.kh;
    const fit = fitMagnitude(data.train, k, bias, hi);
    // The window statistics still say how well the images condition the kernels.
    const stats = gramStats(data.train, k, k, bias);
    const solution = { ...solveExact(stats), coef: [...fit.coef], loss: magnitudeLoss(data.train, fit, k, bias, hi) };
    return { size, solution, stats, valStats: null, reason: 'exact lifted least squares (magnitude: top-2 eigenvectors)', sizeChoice, warnings: [] };
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
  /** The two kernels' coefficients (taps, then bias), canonical (see fitMagnitude). */
  coef: [Float64Array, Float64Array];
  /** The two eigenvalues used and the largest discarded one (standardised units): a third near the second means not a 2-kernel magnitude. */
  eigenvalues: number[];
}

/**
 * Gradient-magnitude targets y = sqrt((a.x + ba)^2 + (b.x + bb)^2): y^2 = z' (A A') z with A the
 * two kernels as columns, so the lifted least squares gives the rank-2 matrix A A', and its top
 * two eigenvectors the pair up to a rotation (any rotation of (a, b) gives the same magnitude).
 * Canonical form: rotated so that a has the largest projection on the horizontal ramp (tap
 * weight = column - centre: a is "the x derivative") and b none, b's projection on the vertical
 * ramp made positive. Sobel magnitude comes out as (Sobel dx, Sobel dy).
 */
export function fitMagnitude(pairs: GramPair[], k: number, bias: boolean, hi: number): MagnitudeFit {
  const { M, q, nt, mean, scale } = liftedMoment(pairs, k, bias, hi);
  const eig = symmetricEigen(M, q);
  let a = unstandardise(eig[0].value, eig[0].vector, nt, bias, mean, scale);
  let b = unstandardise(eig[1].value, eig[1].vector, nt, bias, mean, scale);
  const cin = pairs[0].input.channels;
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
  return { coef: [a, b], eigenvalues: eig.slice(0, 3).map((e) => e.value) };
}

/**
 * Absolute-value targets (cv2.convertScaleAbs of a Sobel: y = saturate(|k * x + b|)): the model is
 * conv, then abs (then a clamp for integer targets). The kernel is found up to its sign:
 *
 *  1. Lift: y^2 = (k.x + b)^2 = z' M z with z = (x, 1) and M = [k; b][k; b]', which is LINEAR in
 *     the entries of M. Least squares of y^2 on the products z_a z_b (a <= b; standardised taps)
 *     over a deterministic sample of unsaturated pixels gives M; its top eigenvector times
 *     sqrt(eigenvalue) gives [k; b] up to sign. (q (q + 1) / 2 unknowns for q = k^2 + 1: 55 for
 *     3x3, 351 for 5x5; sizes above 7 are refused.)
 *  2. Refine: with the signs s = sign(k.x + b) of the current fit, s * y = k.x + b is linear again:
 *     least squares on the pixels below the upper limit (and on saturated ones whose prediction
 *     is below it, the censored rule of censored.ts), signs re-taken until they are stable.
 *  3. Canonical sign: the largest tap (the first in weight order among equals) is positive.
 */

import { gramStatsMasked, type GramPair, type GramStats } from '../../kernels/gram.js';
import { forEachValidWindow, meanOverAnchors } from '../../kernels/windows.js';
import { symmetricEigen } from '../../kernels/linalg.js';
import { solveExact, type ExactSolution } from '../exact.js';
import { clampLayer, clampTo } from './clamp.js';
import { ABS_AUTO_KSIZE_MAX, liftedMoment, liftedStageChecks, unstandardise } from './lifted.js';
import { sizeByLoss, type OutputStage } from './stage.js';

const WHAT = 'an abs output stage';

export const ABS: OutputStage = {
  name: 'linear+abs',
  linearErrors: true,
  convOutputs: () => 1,
  ...liftedStageChecks(WHAT, (cout) => `${WHAT} is fitted for one output channel; the targets have ${cout}`),
  fit(data, wanted, auto) {
    const hi = data.limits ? data.limits.hi : Infinity;
    const { size, sizeChoice } = sizeByLoss(data, wanted, auto, ABS_AUTO_KSIZE_MAX, ({ kh: k }, judge) => absLoss(judge, fitAbs(data.train, k, data.bias, hi).solution.coef[0], k, data.bias, hi));
    const fit = fitAbs(data.train, size.kh, data.bias, hi);
    return { size, solution: fit.solution, stats: fit.stats, valStats: null, reason: `exact lifted least squares, then ${fit.rounds} sign rounds (abs)`, sizeChoice, warnings: [] };
  },
  outputLayers: (limits) => [{ type: 'abs' }, ...(limits ? [clampLayer(limits)] : [])],
  responseMap(limits) {
    const clamp = clampTo(limits);
    return (v) => clamp(Math.abs(v));
  },
};

/** Mean of (min(|k.x + b|, hi) - y)^2 over the valid pixels (one output channel). */
function absLoss(pairs: GramPair[], coef: ArrayLike<number>, k: number, bias: boolean, hi: number): number {
  return meanOverAnchors(pairs, [coef], k, k, bias, (r, y) => {
    const d = Math.min(Math.abs(r[0]), hi) - y;
    return d * d;
  });
}

export interface AbsFit {
  solution: ExactSolution;
  stats: GramStats;
  rounds: number;
}

/** Fits y = min(|k.x + b|, hi) (hi = Infinity for float targets), one output channel. See the header. */
export function fitAbs(pairs: GramPair[], k: number, bias: boolean, hi: number): AbsFit {
  const { M, q, nt, mean, scale } = liftedMoment(pairs, k, bias, hi);
  const { value, vector } = symmetricEigen(M, q)[0];
  let coef = unstandardise(value, vector, nt, bias, mean, scale);

  // 2. Sign refinement: signed targets, censored at hi.
  const signed = pairs.map(({ input, target }) => ({ input, target: { ...target, data: new Float64Array(target.data.length) } }));
  let masks: Uint8Array[] = pairs.map(({ target }) => new Uint8Array(target.data.length));
  let solution: ExactSolution | null = null;
  let stats: GramStats | null = null;
  let rounds = 0;
  for (; rounds < 30; rounds++) {
    let changed = rounds === 0;
    const nextMasks = pairs.map(({ target }) => new Uint8Array(target.data.length));
    const c = coef;
    forEachValidWindow(pairs, k, k, (pi, at, win) => {
      let s = bias ? c[nt] : 0;
      for (let t = 0; t < nt; t++) s += c[t] * win[t];
      const y = pairs[pi].target.data[at];
      const sign = s < 0 ? -1 : 1;
      const use = y < hi || Math.abs(s) < hi ? 1 : 0;
      nextMasks[pi][at] = use;
      const v = sign * y;
      if (signed[pi].target.data[at] !== v || masks[pi][at] !== use) changed = true;
      signed[pi].target.data[at] = v;
    });
    if (!changed) break;
    masks = nextMasks;
    stats = gramStatsMasked(signed, k, k, bias, masks);
    solution = solveExact(stats, { condition: false });
    coef = Float64Array.from(solution.coef[0]);
  }
  // 3. Canonical sign.
  let big = 0;
  for (let t = 1; t < nt; t++) if (Math.abs(coef[t]) > Math.abs(coef[big]) * (1 + 1e-6)) big = t;
  if (coef[big] < 0) {
    for (const pair of signed) for (let i = 0; i < pair.target.data.length; i++) pair.target.data[i] = -pair.target.data[i];
  }
  stats = gramStatsMasked(signed, k, k, bias, masks);
  solution = solveExact(stats);
  return { solution, stats, rounds };
}

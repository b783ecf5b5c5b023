/**
 * Absolute-value targets (cv2.convertScaleAbs of a Sobel: y = saturate(|k * x + b|)): the model is
 * conv, then abs (then a clamp for integer targets). The kernel is found up to its sign:
 *
 *  1. Start: the lifted least squares (lifted.ts: y^2 = (k.x + b)^2 is linear in the entries of
 *     M = [k; b][k; b]'; its top eigenvector times sqrt(eigenvalue) gives [k; b] up to sign) at
 *     sizes up to 5x5; a larger kernel starts from the stage's 5x5 fit embedded in its window.
 *  2. Refine: with the signs s = sign(k.x + b) of the current fit, s * y = k.x + b is linear again:
 *     least squares on the pixels below the upper limit (and on saturated ones whose prediction
 *     is below it, the censored rule of clamp.ts), signs re-taken until they are stable. A sign
 *     changes a target, not X, so a round after the first one updates the Gram by the pixels whose
 *     sign or use changed (kernels/gram-masked.ts updateMasked), not over all pixels.
 *  3. Canonical sign: the largest tap (the first in weight order among equals) is positive.
 *
 * With --ksize auto each size up to ABS_AUTO_KSIZE_MAX is fitted so and judged by its held-out
 * loss; the chosen size's fit is kept.
 */

import type { GramPair, GramStats } from '../../kernels/gram.js';
import { gramStatsMasked, updateMasked, type Selection } from '../../kernels/gram-masked.js';
import { meanOverAnchors, responsesAtAnchors } from '../../kernels/windows.js';
import { solveExact, type ExactSolution } from '../exact.js';
import { clampLayer, clampTo } from './clamp.js';
import { ABS_AUTO_KSIZE_MAX, LIFTED_KSIZE_MAX, liftedStageChecks, startKernels } from './lifted.js';
import { sizeByLoss, type OutputStage } from './stage.js';

const WHAT = 'an abs output stage';

export const ABS: OutputStage = {
  name: 'linear+abs',
  linearErrors: true,
  convOutputs: () => 1,
  ...liftedStageChecks(WHAT, (cout) => `${WHAT} is fitted for one output channel; the targets have ${cout}`),
  fit(data, wanted, auto) {
    const hi = data.limits ? data.limits.hi : Infinity;
    const fits = new Map<number, AbsFit>();
    const fitOf = (k: number): AbsFit => {
      let f = fits.get(k);
      if (!f) fits.set(k, (f = fitAbs(data.train, k, data.bias, hi, () => fitOf(LIFTED_KSIZE_MAX).solution.coef[0])));
      return f;
    };
    const { size, sizeChoice } = sizeByLoss(data, wanted, auto, ABS_AUTO_KSIZE_MAX, ({ kh: k }, judge) => absLoss(judge, fitOf(k).solution.coef[0], k, data.bias, hi));
    const fit = fitOf(size.kh);
    const start = size.kh > LIFTED_KSIZE_MAX ? `the ${LIFTED_KSIZE_MAX}x${LIFTED_KSIZE_MAX} fit` : 'exact lifted least squares';
    return { size, solution: fit.solution, stats: fit.stats, valStats: null, reason: `${start}, then ${fit.rounds} sign rounds (abs)`, sizeChoice, warnings: [] };
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

/**
 * Fits y = min(|k.x + b|, hi) (hi = Infinity for float targets), one output channel, see the
 * header; `fitMax` gives the coefficients of the fit a larger kernel starts from (lifted.ts startKernels).
 */
export function fitAbs(pairs: GramPair[], k: number, bias: boolean, hi: number, fitMax: () => Float64Array): AbsFit {
  let coef = startKernels(pairs, k, bias, hi, 1, () => [fitMax()])[0];
  let signs: Selection | null = null;
  let stats: GramStats | null = null;
  let solution: ExactSolution | null = null;
  let rounds = 0;
  for (; rounds < 30; rounds++) {
    const next = signedTargets(pairs, coef, k, bias, hi, signs);
    if (!next) break;
    stats = stats && signs ? updateMasked(stats, signs, next) : gramStatsMasked(next.pairs, k, k, bias, next.masks);
    signs = next;
    solution = solveExact(stats, { condition: false });
    coef = solution.coef[0];
  }
  // 3. Canonical sign: flipping every signed target negates X^T y, and so the solution, exactly.
  const nt = coef.length - (bias ? 1 : 0);
  let big = 0;
  for (let t = 1; t < nt; t++) if (Math.abs(coef[t]) > Math.abs(coef[big]) * (1 + 1e-6)) big = t;
  if (coef[big] < 0) stats = { ...stats!, xty: stats!.xty.map((v) => -v) };
  return { solution: solveExact(stats!), stats: stats!, rounds };
}

/**
 * The signed targets s * y of a kernel (s = sign(k.x + b), y at the valid anchors; 0 elsewhere) and
 * the pixels in use (below hi, or predicted below it); null when they are `prev` again.
 */
function signedTargets(pairs: GramPair[], coef: Float64Array, k: number, bias: boolean, hi: number, prev: Selection | null): Selection | null {
  let changed = prev === null;
  const next: Selection = { pairs: [], masks: [] };
  pairs.forEach((pair, pi) => {
    const { input, target } = pair;
    const W = input.width, y = target.data;
    const pred = responsesAtAnchors(pair, coef, k, k, bias);
    const z = new Float64Array(y.length), use = new Uint8Array(y.length);
    for (let r = k >> 1; r + k - (k >> 1) <= input.height; r++) {
      for (let at = r * W + (k >> 1), end = at + W - k + 1; at < end; at++) {
        const s = pred[at];
        z[at] = s < 0 ? -y[at] : y[at];
        use[at] = y[at] < hi || Math.abs(s) < hi ? 1 : 0;
        if (prev && (prev.pairs[pi].target.data[at] !== z[at] || prev.masks[pi][at] !== use[at])) changed = true;
      }
    }
    next.pairs.push({ input, target: { ...target, data: z } });
    next.masks.push(use);
  });
  return changed ? next : null;
}

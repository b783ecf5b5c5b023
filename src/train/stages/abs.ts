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
 *     sign or use changed (kernels/gram-masked.ts updateMasked), not over all pixels. Signs that
 *     keep changing without lowering the loss by 0.1% (SIGN_PATIENCE) stop at the best round's fit.
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

/** At most this many sign rounds at one size. */
const SIGN_ROUNDS_MAX = 30;
/**
 * Rounds without progress (the training loss lowered by SIGN_TOLERANCE of it) after which the sign
 * rounds stop, at the best round's fit. On |k * x| targets the signs settle in a few rounds (and the
 * rounds stop there, before this rule). On others (a magnitude, tried by --arch auto) the rounds
 * creep down, 0.1% of the loss a round and less (measured on six 512^2 photographs: 3x3 from 2793
 * to 2060 in 30 rounds, the last 20 worth 0.1%), and ran to SIGN_ROUNDS_MAX: ~6 s of CPU.
 */
const SIGN_PATIENCE = 2;
const SIGN_TOLERANCE = 1e-3;

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
  let best: { stats: GramStats; loss: number; round: number } | null = null;
  let rounds = 0;
  for (; rounds < SIGN_ROUNDS_MAX; rounds++) {
    const next = signedTargets(pairs, coef, k, bias, hi, signs);
    if (!next) break;
    stats = stats && signs ? updateMasked(stats, signs, next) : gramStatsMasked(next.pairs, k, k, bias, next.masks);
    signs = next;
    const solution = solveExact(stats, { condition: false });
    coef = solution.coef[0];
    if (!best || solution.loss < best.loss) {
      // A round counts as progress when it lowers the loss by SIGN_TOLERANCE of it.
      const progress: boolean = !best || solution.loss < best.loss * (1 - SIGN_TOLERANCE);
      best = { stats, loss: solution.loss, round: progress || !best ? rounds : best.round };
    }
    if (rounds - best.round >= SIGN_PATIENCE) break;
  }
  // Rounds stopped for lack of progress (targets that are not |k * x|): the best round's fit.
  if (best && best.stats !== stats) stats = best.stats;
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
    const pred = responsesAtAnchors(pair, coef, k, k, bias);
    const z = new Float64Array(target.data.length), use = new Uint8Array(target.data.length);
    const moved = signPlane(pred, target.data, input.width, input.height, k, hi, z, use, prev ? prev.pairs[pi].target.data : null, prev ? prev.masks[pi] : null);
    changed ||= moved;
    next.pairs.push({ input, target: { ...target, data: z } });
    next.masks.push(use);
  });
  return changed ? next : null;
}

/** signedTargets for one pair's plane: fills z and use at the valid anchors; whether they differ from z0, use0 (null: none before). */
function signPlane(
  pred: Float64Array, y: ArrayLike<number>, W: number, H: number, k: number, hi: number, z: Float64Array, use: Uint8Array, z0: ArrayLike<number> | null, use0: Uint8Array | null,
): boolean {
  let changed = false;
  for (let r = k >> 1; r + k - (k >> 1) <= H; r++) {
    for (let at = r * W + (k >> 1), end = at + W - k + 1; at < end; at++) {
      const s = pred[at], t = y[at];
      const v = s < 0 ? -t : t;
      const u = t < hi || Math.abs(s) < hi ? 1 : 0;
      z[at] = v;
      use[at] = u;
      if (z0 && (z0[at] !== v || use0![at] !== u)) changed = true;
    }
  }
  return changed;
}

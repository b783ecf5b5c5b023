/**
 * Saturated integer targets (cv2.Sobel to CV_8U: negatives become 0, values over 255 become 255):
 * the target is clamp(round(k * x), lo, hi), not linear in the kernel. A clamped model
 * (conv, then a clamp layer) fitted with the censored squared loss
 *
 *   sum over unsaturated pixels of (yhat - y)^2
 *   + sum over pixels at lo of max(0, yhat - lo)^2 + sum over pixels at hi of max(0, hi - yhat)^2
 *
 * recovers k exactly: a saturated pixel only says the linear response is beyond the limit, and
 * costs nothing while the prediction agrees. The loss is a piecewise quadratic; we minimise it by
 * active sets: least squares on the unsaturated pixels plus the saturated pixels whose prediction
 * is on the wrong side (their target is the limit itself), re-selected until the set is stable
 * (typically 2-4 rounds). Each round is one masked Gram (src/kernels/gram.ts) and one exact solve.
 */

import type { GramPair, GramStats } from '../kernels/gram.js';
import { gramStatsMasked } from '../kernels/gram.js';
import { KernelLearnError } from '../errors.js';
import { solveExact, type ExactSolution } from './exact.js';

/** Share of target values (valid region of a k x k kernel) at lo or hi. */
export function saturatedShare(pairs: GramPair[], lo: number, hi: number): number {
  let n = 0, sat = 0;
  for (const { target } of pairs) {
    for (let i = 0; i < target.data.length; i++) {
      const v = target.data[i];
      n++;
      if (v <= lo || v >= hi) sat++;
    }
  }
  return n > 0 ? sat / n : 0;
}

/** Linear predictions (float64) at the anchors of the valid region; NaN elsewhere. Output channel 0. */
function predict(pair: GramPair, coef: Float64Array, k: number, bias: boolean): Float64Array {
  const { input } = pair;
  const { width: W, height: H, channels: cin } = input;
  const plane = W * H;
  const out = new Float64Array(plane).fill(NaN);
  const per = k * k;
  const a = k >> 1;
  for (let y = 0; y + k <= H; y++) {
    for (let x = 0; x + k <= W; x++) {
      let s = bias ? coef[cin * per] : 0;
      for (let c = 0; c < cin; c++) {
        for (let i = 0; i < k; i++) {
          const row = c * plane + (y + i) * W + x;
          const w = (c * k + i) * k;
          for (let j = 0; j < k; j++) s += coef[w + j] * input.data[row + j];
        }
      }
      out[(y + a) * W + x + a] = s;
    }
  }
  return out;
}

export interface CensoredFit {
  solution: ExactSolution;
  /** The Gram of the final active set (unsaturated pixels and violated limits). */
  stats: GramStats;
  rounds: number;
  /** The censored loss of the solution on `judge` pairs (mean over valid pixels). */
  loss: (pairs: GramPair[]) => number;
}

/** Censored least squares (one output channel), see the header. */
export function fitCensored(pairs: GramPair[], k: number, bias: boolean, lo: number, hi: number, withCondition = true): CensoredFit {
  let masks = pairs.map(({ target }) => {
    const m = new Uint8Array(target.data.length);
    for (let i = 0; i < m.length; i++) m[i] = target.data[i] > lo && target.data[i] < hi ? 1 : 0;
    return m;
  });
  const first = gramStatsMasked(pairs, k, k, bias, masks);
  if (first.n < first.p) {
    throw new KernelLearnError(`too few unsaturated target pixels (${first.n}) to fit a ${k}x${k} kernel to saturated targets; use more or larger images`);
  }
  let solution = solveExact(first, { condition: false });
  let rounds = 1;
  for (; rounds < 30; rounds++) {
    let changed = false;
    const next = pairs.map((pair, pi) => {
      const pred = predict(pair, solution.coef[0], k, bias);
      const t = pair.target.data;
      const m = new Uint8Array(t.length);
      for (let i = 0; i < m.length; i++) {
        const v = t[i];
        m[i] = v > lo && v < hi ? 1 : v <= lo ? (pred[i] > lo ? 1 : 0) : pred[i] < hi ? 1 : 0;
        if (m[i] !== masks[pi][i]) changed = true;
      }
      return m;
    });
    if (!changed) break;
    masks = next;
    solution = solveExact(gramStatsMasked(pairs, k, k, bias, masks), { condition: false });
  }
  const stats = gramStatsMasked(pairs, k, k, bias, masks);
  if (withCondition) solution = solveExact(stats);
  const coef = solution.coef[0];
  const loss = (judge: GramPair[]): number => {
    let s = 0, n = 0;
    for (const pair of judge) {
      const pred = predict(pair, coef, k, bias);
      const t = pair.target.data;
      for (let i = 0; i < t.length; i++) {
        const p = pred[i];
        if (Number.isNaN(p)) continue;
        const v = t[i];
        const d = v > lo && v < hi ? p - v : v <= lo ? Math.max(0, p - lo) : Math.max(0, hi - p);
        s += d * d;
        n++;
      }
    }
    return n > 0 ? s / n : 0;
  };
  return { solution, stats, rounds, loss };
}

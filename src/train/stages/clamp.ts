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
 * (typically 2-4 rounds). The first round is one masked Gram (src/kernels/gram-masked.ts: WebAssembly
 * SIMD); each later one subtracts the outer products of the pixels that left the set and adds
 * those of the pixels that joined it (updateMasked: a few per cent of them), then one exact solve.
 * With --ksize auto every size up to CENSORED_KSIZE_MAX is fitted this way and judged by its
 * held-out censored loss (stage.ts sizeByLoss); the chosen size's fit is kept, not refitted.
 *
 * The stage is chosen (--clamp auto, and --arch auto) when at least SATURATION_SHARE of the
 * training targets sit at the limits of their integer depth; otherwise the plain linear fit stands.
 */

import { KernelLearnError } from '../../errors.js';
import type { Image } from '../../image.js';
import type { GramPair, GramStats } from '../../kernels/gram.js';
import { gramStatsMasked, updateMasked, type Selection } from '../../kernels/gram-masked.js';
import { meanOverAnchors, responsesAtAnchors } from '../../kernels/windows.js';
import { solveExact, type ExactSolution } from '../exact.js';
import { sizeByLoss, sizeLabel, type KernelSize, type OutputStage, type Range } from './stage.js';

/** Share of target pixels at an integer depth's limits from which the targets count as saturated. */
export const SATURATION_SHARE = 1e-3;
/** Largest kernel --ksize auto tries for saturated targets (each candidate is a censored fit). */
export const CENSORED_KSIZE_MAX = 7;

export const CLAMP: OutputStage = {
  name: 'linear+clamp',
  exactOnly: 'saturated targets are fitted by the exact censored solver',
  linearErrors: true,
  convOutputs: (cout) => cout,
  worthTrying: (f) => f.limits !== null && f.cout === 1 && f.saturation >= SATURATION_SHARE,
  check: () => undefined,
  fit(data, wanted, auto) {
    const { lo, hi } = data.limits!;
    const fits = new Map<string, CensoredFit>();
    const fitOf = (size: KernelSize): CensoredFit => {
      let f = fits.get(sizeLabel(size));
      if (!f) fits.set(sizeLabel(size), (f = fitCensored(data.train, size, data.bias, lo, hi)));
      return f;
    };
    const { size, sizeChoice } = sizeByLoss(data, wanted, auto, CENSORED_KSIZE_MAX, (k, judge) => fitOf(k).loss(judge));
    const fit = fitOf(size);
    // The same coefficients, with the condition number of the final active set.
    const solution = solveExact(fit.stats);
    return { size, solution, stats: fit.stats, valStats: null, reason: `exact censored least squares (${fit.rounds} active-set rounds)`, sizeChoice, warnings: [] };
  },
  outputLayers: (limits) => [clampLayer(limits!)],
  responseMap: (limits) => clampTo(limits),
};

/** The clamp layer of an integer range. */
export function clampLayer({ lo, hi }: Range): { type: 'clamp'; min: number; max: number } {
  return { type: 'clamp', min: lo, max: hi };
}

/** Clamping to the range (the identity for float targets). */
export function clampTo(limits: Range | null): (v: number) => number {
  return limits ? (v) => Math.min(limits.hi, Math.max(limits.lo, v)) : (v) => v;
}

/** Share of the images' values at lo or hi (at or beyond the limits). */
export function saturatedShare(images: Image[], lo: number, hi: number): number {
  let n = 0, sat = 0;
  for (const { data } of images) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      n++;
      if (v <= lo || v >= hi) sat++;
    }
  }
  return n > 0 ? sat / n : 0;
}

export interface CensoredFit {
  /** The solution, without its condition number (solveExact(stats) gives it). */
  solution: ExactSolution;
  /** The Gram of the final active set (unsaturated pixels and violated limits). */
  stats: GramStats;
  rounds: number;
  /** The censored loss of the solution on `judge` pairs (mean over valid pixels). */
  loss: (pairs: GramPair[]) => number;
}

/** Censored least squares (one output channel), see the header. */
export function fitCensored(pairs: GramPair[], { kh, kw }: KernelSize, bias: boolean, lo: number, hi: number): CensoredFit {
  let active: Selection = { pairs, masks: pairs.map(({ target }) => unsaturated(target.data, lo, hi)) };
  let stats = gramStatsMasked(pairs, kh, kw, bias, active.masks);
  if (stats.n < stats.p) {
    throw new KernelLearnError(`too few unsaturated target pixels (${stats.n}) to fit a ${kh}x${kw} kernel to saturated targets; use more or larger images`);
  }
  let solution = solveExact(stats, { condition: false });
  let rounds = 1;
  for (; rounds < 30; rounds++) {
    const next = activeSet(pairs, solution.coef[0], kh, kw, bias, lo, hi, active.masks);
    if (!next) break;
    stats = updateMasked(stats, active, (active = { pairs, masks: next }));
    solution = solveExact(stats, { condition: false });
  }
  const coef = solution.coef[0];
  const loss = (judge: GramPair[]): number =>
    meanOverAnchors(judge, [coef], kh, kw, bias, (r, v) => {
      const p = r[0];
      const d = v > lo && v < hi ? p - v : v <= lo ? Math.max(0, p - lo) : Math.max(0, hi - p);
      return d * d;
    });
  return { solution, stats, rounds, loss };
}

/** 1 where lo < v < hi. */
function unsaturated(t: ArrayLike<number>, lo: number, hi: number): Uint8Array {
  const m = new Uint8Array(t.length);
  for (let i = 0; i < m.length; i++) m[i] = t[i] > lo && t[i] < hi ? 1 : 0;
  return m;
}

/**
 * The active set of a kernel: the unsaturated pixels, and the saturated ones whose prediction is on
 * the wrong side of their limit; null when it is `masks` again.
 */
function activeSet(pairs: GramPair[], coef: Float64Array, kh: number, kw: number, bias: boolean, lo: number, hi: number, masks: Uint8Array[]): Uint8Array[] | null {
  let changed = false;
  const next = pairs.map((pair, pi) => {
    const pred = responsesAtAnchors(pair, coef, kh, kw, bias);
    const m = new Uint8Array(pair.target.data.length);
    if (activePlane(pred, pair.target.data, pair.input.width, pair.input.height, kh, kw, lo, hi, m, masks[pi])) changed = true;
    return m;
  });
  return changed ? next : null;
}

/** activeSet for one pair's plane, at its valid anchors (the masks are read nowhere else): fills m; whether it differs from m0. */
function activePlane(pred: Float64Array, t: ArrayLike<number>, W: number, H: number, kh: number, kw: number, lo: number, hi: number, m: Uint8Array, m0: Uint8Array): boolean {
  let changed = false;
  for (let y = kh >> 1; y + kh - (kh >> 1) <= H; y++) {
    for (let i = y * W + (kw >> 1), end = i + W - kw + 1; i < end; i++) {
      const v = t[i];
      const u = v > lo && v < hi ? 1 : v <= lo ? (pred[i] > lo ? 1 : 0) : pred[i] < hi ? 1 : 0;
      m[i] = u;
      if (u !== m0[i]) changed = true;
    }
  }
  return changed;
}

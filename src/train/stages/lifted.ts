/**
 * The lifted least squares shared by the abs and magnitude stages: y^2 is a quadratic form
 * z' M z of the window z = (x, 1), LINEAR in the entries of M, so least squares of y^2 on the
 * products z_a z_b (a <= b; standardised taps) gives M from one solve; its top eigenvectors give
 * the kernels (one for abs, two for magnitude). F = q (q + 1) / 2 unknowns for q = k^2 + 1: 55 for
 * 3x3, 351 for 5x5, 1275 for 7x7, over a sample of max(8000, 20 F) pixels, so the Gram of the
 * products costs F^2 / 2 multiply-adds a sampled pixel: 0.5 x 10^9 at 5x5 (WebAssembly SIMD,
 * gram-masked.ts rowProducts: ~0.2 s), 2 x 10^10 at 7x7. So the lifted fit runs at sizes up to
 * LIFTED_KSIZE_MAX = 5 (every size --ksize auto tries); a larger kernel starts from the stage's
 * 5x5 fit embedded in its window (startKernels) and is refined at its own size by rounds of linear
 * least squares on one Gram (abs: sign rounds; magnitude: angle rounds).
 */

import { KernelLearnError, UsageError } from '../../errors.js';
import type { Image } from '../../image.js';
import type { GramPair } from '../../kernels/gram.js';
import { rowProducts } from '../../kernels/gram-masked.js';
import { forEachAnchorRow, windowAt } from '../../kernels/windows.js';
import { symmetricEigen } from '../../kernels/linalg.js';
import { solveExact } from '../exact.js';
import { embedCoef } from '../support.js';
import { checkKernelLimit, type OutputStage } from './stage.js';

/** Largest kernel an abs or magnitude stage fits: the lifted solve has (k^2 + 1)(k^2 + 2) / 2 unknowns. */
export const ABS_KSIZE_MAX = 7;
/** Largest kernel --ksize auto tries with an abs or magnitude stage. */
export const ABS_AUTO_KSIZE_MAX = 5;
/** Largest kernel the lifted least squares itself fits (see the header). */
export const LIFTED_KSIZE_MAX = 5;

/**
 * What the lifted stages share: exact solver only; tried by --arch auto on one non-negative target
 * channel (abs and magnitude outputs are >= 0) with a kernel they can fit; asked for by name, one
 * target channel (`oneChannel` says why not) and at most ABS_KSIZE_MAX.
 */
export function liftedStageChecks(what: string, oneChannel: (cout: number) => string): Pick<OutputStage, 'exactOnly' | 'worthTrying' | 'check'> {
  return {
    exactOnly: `${what} is fitted by the exact solver`,
    worthTrying: (f) => f.cout === 1 && (f.ksize === 'auto' || (f.ksize.kh === f.ksize.kw && f.ksize.kh <= ABS_KSIZE_MAX)) && nonNegativeTargets(f.pairs),
    check(cout, ksize) {
      if (cout !== 1) throw new UsageError(oneChannel(cout));
      checkKernelLimit(ksize, ABS_KSIZE_MAX, what, true);
    },
  };
}

/** Whether every target pixel is >= 0. */
export function nonNegativeTargets(pairs: { target: Image }[]): boolean {
  return pairs.every((p) => p.target.data.every((v) => v >= 0));
}

/**
 * The lifted least squares of y^2 on products of standardised window taps (step 1 of the header),
 * over a deterministic sample of the pixels with y < hi: M (q x q, standardised coordinates) and
 * the standardisation (one mean and scale for all taps).
 */
export function liftedMoment(pairs: GramPair[], k: number, bias: boolean, hi: number): { M: Float64Array; q: number; nt: number; mean: number; scale: number } {
  const cin = pairs[0].input.channels;
  const nt = cin * k * k;
  const q = nt + (bias ? 1 : 0);
  const F = (q * (q + 1)) / 2;
  let s1 = 0, s2 = 0, cnt = 0;
  for (const { input } of pairs) for (const v of input.data) { s1 += v; s2 += v * v; cnt++; }
  const mean = bias ? s1 / cnt : 0;
  const scale = Math.sqrt(Math.max(s2 / cnt - (s1 / cnt) ** 2, 1e-30));
  let eligible = 0, seen = 0;
  forEachEligible(pairs, k, hi, () => eligible++);
  const stride = Math.max(1, Math.floor(eligible / Math.max(8000, 20 * F)));
  // Every stride-th eligible pixel, in anchor order: [pair, anchor] pairs.
  const sample: number[] = [];
  forEachEligible(pairs, k, hi, (pi, at) => { if (seen++ % stride === 0) sample.push(pi, at); });
  const n = sample.length / 2;
  // Rows: the products z_a z_b (a <= b), then y^2; one Gram of them in the module.
  const win = new Float64Array(nt), z = new Float64Array(q);
  let next = 0;
  const G = rowProducts(F + 1, (X, stride) => {
    let r = 0;
    for (; r * stride < X.length && next < sample.length; r++, next += 2) {
      const { input, target } = pairs[sample[next]];
      windowAt(input, k, k, sample[next + 1], win);
      for (let t = 0; t < nt; t++) z[t] = (win[t] - mean) / scale;
      if (bias) z[nt] = 1;
      let f = r * stride;
      for (let a = 0; a < q; a++) for (let b = a; b < q; b++) X[f++] = z[a] * z[b];
      const y = target.data[sample[next + 1]];
      X[f] = y * y;
    }
    return r;
  });
  const xtx = new Float64Array(F * F), xty = new Float64Array(F);
  for (let a = 0; a < F; a++) {
    xtx.set(G.subarray(a * (F + 1), a * (F + 1) + F), a * F);
    xty[a] = G[a * (F + 1) + F];
  }
  const yty = G[F * (F + 1) + F];
  if (n < F) throw new KernelLearnError(`too few unsaturated target pixels (${n}) to fit a ${k}x${k} kernel with an abs or magnitude stage`);
  const lifted = solveExact({ cin: 1, cout: 1, kh: 1, kw: F, bias: false, p: F, xtx, xty, yty: Float64Array.of(yty), n }, { condition: false });
  const M = new Float64Array(q * q);
  let f = 0;
  for (let a = 0; a < q; a++) {
    for (let b = a; b < q; b++) {
      const c = lifted.coef[0][f++];
      if (a === b) M[a * q + a] = c;
      else { M[a * q + b] = c / 2; M[b * q + a] = c / 2; }
    }
  }
  return { M, q, nt, mean, scale };
}

/** fn(pair, anchor) for the valid anchors whose target is below hi, in anchor order. */
function forEachEligible(pairs: GramPair[], k: number, hi: number, fn: (pi: number, at: number) => void): void {
  forEachAnchorRow(pairs, k, k, (pi, first, count) => {
    const t = pairs[pi].target.data;
    for (let at = first; at < first + count; at++) if (t[at] < hi) fn(pi, at);
  });
}

/** An eigenvector times sqrt(eigenvalue), from standardised coordinates back to the data's units (taps, then bias). */
export function unstandardise(value: number, vector: Float64Array, nt: number, bias: boolean, mean: number, scale: number): Float64Array {
  const g = Math.sqrt(Math.max(value, 0));
  const coef = new Float64Array(nt + (bias ? 1 : 0));
  let shift = 0;
  for (let t = 0; t < nt; t++) { coef[t] = (g * vector[t]) / scale; shift += coef[t] * mean; }
  if (bias) coef[nt] = g * vector[nt] - shift;
  return coef;
}

/** The top `count` kernels of the lifted least squares at size k: eigenvectors times sqrt(eigenvalue), in the data's units. */
export function liftedKernels(pairs: GramPair[], k: number, bias: boolean, hi: number, count: number): Float64Array[] {
  const { M, q, nt, mean, scale } = liftedMoment(pairs, k, bias, hi);
  return symmetricEigen(M, q).slice(0, count).map(({ value, vector }) => unstandardise(value, vector, nt, bias, mean, scale));
}

/**
 * Where a stage's fit at size k starts: the lifted kernels at k up to LIFTED_KSIZE_MAX; beyond,
 * `fitMax` (the stage's own fit at that size) embedded, centred, in the k x k window.
 */
export function startKernels(pairs: GramPair[], k: number, bias: boolean, hi: number, count: number, fitMax: () => Float64Array[]): Float64Array[] {
  if (k <= LIFTED_KSIZE_MAX) return liftedKernels(pairs, k, bias, hi, count);
  const cin = pairs[0].input.channels;
  const frame = { cin, kh: k, kw: k, p: cin * k * k + (bias ? 1 : 0), bias };
  return fitMax().map((c) => embedCoef(c, LIFTED_KSIZE_MAX, frame));
}

/**
 * The lifted least squares shared by the abs and magnitude stages: y^2 is a quadratic form
 * z' M z of the window z = (x, 1), LINEAR in the entries of M, so least squares of y^2 on the
 * products z_a z_b (a <= b; standardised taps) gives M from one solve; its top eigenvectors give
 * the kernels (one for abs, two for magnitude). q (q + 1) / 2 unknowns for q = k^2 + 1: 55 for 3x3,
 * 351 for 5x5, hence the stages' small size limits.
 */

import { KernelLearnError, UsageError } from '../../errors.js';
import type { Image } from '../../image.js';
import type { GramPair } from '../../kernels/gram.js';
import { forEachValidWindow } from '../../kernels/windows.js';
import { solveExact } from '../exact.js';
import { checkKernelLimit, type OutputStage } from './stage.js';

/** Largest kernel an abs or magnitude stage fits: the lifted solve has (k^2 + 1)(k^2 + 2) / 2 unknowns. */
export const ABS_KSIZE_MAX = 7;
/** Largest kernel --ksize auto tries with an abs or magnitude stage. */
export const ABS_AUTO_KSIZE_MAX = 5;

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
  let eligible = 0;
  forEachValidWindow(pairs, k, k, (pi, at) => { if (pairs[pi].target.data[at] < hi) eligible++; });
  const want = Math.max(8000, 20 * F);
  const stride = Math.max(1, Math.floor(eligible / want));
  const xtx = new Float64Array(F * F), xty = new Float64Array(F);
  let yty = 0, n = 0, seen = 0;
  const z = new Float64Array(q), feat = new Float64Array(F);
  forEachValidWindow(pairs, k, k, (pi, at, win) => {
    const y = pairs[pi].target.data[at];
    if (!(y < hi)) return;
    if (seen++ % stride !== 0) return;
    for (let t = 0; t < nt; t++) z[t] = (win[t] - mean) / scale;
    if (bias) z[nt] = 1;
    let f = 0;
    for (let a = 0; a < q; a++) for (let b = a; b < q; b++) feat[f++] = z[a] * z[b];
    const y2 = y * y;
    for (let a = 0; a < F; a++) {
      const fa = feat[a];
      xty[a] += fa * y2;
      for (let b = a; b < F; b++) xtx[a * F + b] += fa * feat[b];
    }
    yty += y2 * y2;
    n++;
  });
  for (let a = 0; a < F; a++) for (let b = 0; b < a; b++) xtx[a * F + b] = xtx[b * F + a];
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

/** An eigenvector times sqrt(eigenvalue), from standardised coordinates back to the data's units (taps, then bias). */
export function unstandardise(value: number, vector: Float64Array, nt: number, bias: boolean, mean: number, scale: number): Float64Array {
  const g = Math.sqrt(Math.max(value, 0));
  const coef = new Float64Array(nt + (bias ? 1 : 0));
  let shift = 0;
  for (let t = 0; t < nt; t++) { coef[t] = (g * vector[t]) / scale; shift += coef[t] * mean; }
  if (bias) coef[nt] = g * vector[nt] - shift;
  return coef;
}

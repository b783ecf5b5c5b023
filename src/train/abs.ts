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

import { KernelLearnError } from '../errors.js';
import type { GramPair, GramStats } from '../kernels/gram.js';
import { gramStatsMasked } from '../kernels/gram.js';
import { solveExact, type ExactSolution } from './exact.js';

export const ABS_KSIZE_MAX = 7;

/** Windows (x, 1) at the valid anchors of every pair, visited in a fixed order. */
function forEachWindow(pairs: GramPair[], k: number, fn: (pi: number, at: number, win: Float64Array) => void): void {
  const cin = pairs[0].input.channels;
  const win = new Float64Array(cin * k * k);
  pairs.forEach(({ input }, pi) => {
    const { width: W, height: H } = input;
    const plane = W * H;
    for (let y = 0; y + k <= H; y++) {
      for (let x = 0; x + k <= W; x++) {
        let f = 0;
        for (let c = 0; c < cin; c++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) win[f++] = input.data[c * plane + (y + i) * W + x + j];
        fn(pi, (y + (k >> 1)) * W + x + (k >> 1), win);
      }
    }
  });
}

/** Eigenpairs of a symmetric q x q matrix (cyclic Jacobi), largest eigenvalue first. */
function eigenSym(a: Float64Array, q: number): { value: number; vector: Float64Array }[] {
  const m = Float64Array.from(a);
  const v = new Float64Array(q * q);
  for (let i = 0; i < q; i++) v[i * q + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < q; p++) for (let r = p + 1; r < q; r++) off += m[p * q + r] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < q; p++) {
      for (let r = p + 1; r < q; r++) {
        const apr = m[p * q + r];
        if (Math.abs(apr) < 1e-300) continue;
        const theta = (m[r * q + r] - m[p * q + p]) / (2 * apr);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let i = 0; i < q; i++) {
          const mip = m[i * q + p], mir = m[i * q + r];
          m[i * q + p] = c * mip - s * mir;
          m[i * q + r] = s * mip + c * mir;
        }
        for (let i = 0; i < q; i++) {
          const mpi = m[p * q + i], mri = m[r * q + i];
          m[p * q + i] = c * mpi - s * mri;
          m[r * q + i] = s * mpi + c * mri;
        }
        for (let i = 0; i < q; i++) {
          const vip = v[i * q + p], vir = v[i * q + r];
          v[i * q + p] = c * vip - s * vir;
          v[i * q + r] = s * vip + c * vir;
        }
      }
    }
  }
  const pairs = Array.from({ length: q }, (_, j) => {
    const vector = new Float64Array(q);
    for (let i = 0; i < q; i++) vector[i] = v[i * q + j];
    return { value: m[j * q + j], vector };
  });
  return pairs.sort((x, y) => y.value - x.value);
}

/**
 * The lifted least squares of y^2 on products of standardised window taps (step 1 of the header),
 * over a deterministic sample of the pixels with y < hi: M (q x q, standardised coordinates) and
 * the standardisation (one mean and scale for all taps).
 */
function liftedMoment(pairs: GramPair[], k: number, bias: boolean, hi: number): { M: Float64Array; q: number; nt: number; mean: number; scale: number } {
  const cin = pairs[0].input.channels;
  const nt = cin * k * k;
  const q = nt + (bias ? 1 : 0);
  const F = (q * (q + 1)) / 2;
  let s1 = 0, s2 = 0, cnt = 0;
  for (const { input } of pairs) for (const v of input.data) { s1 += v; s2 += v * v; cnt++; }
  const mean = bias ? s1 / cnt : 0;
  const scale = Math.sqrt(Math.max(s2 / cnt - (s1 / cnt) ** 2, 1e-30));
  let eligible = 0;
  forEachWindow(pairs, k, (pi, at) => { if (pairs[pi].target.data[at] < hi) eligible++; });
  const want = Math.max(8000, 20 * F);
  const stride = Math.max(1, Math.floor(eligible / want));
  const xtx = new Float64Array(F * F), xty = new Float64Array(F);
  let yty = 0, n = 0, seen = 0;
  const z = new Float64Array(q), feat = new Float64Array(F);
  forEachWindow(pairs, k, (pi, at, win) => {
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
function unstandardise(value: number, vector: Float64Array, nt: number, bias: boolean, mean: number, scale: number): Float64Array {
  const g = Math.sqrt(Math.max(value, 0));
  const coef = new Float64Array(nt + (bias ? 1 : 0));
  let shift = 0;
  for (let t = 0; t < nt; t++) { coef[t] = (g * vector[t]) / scale; shift += coef[t] * mean; }
  if (bias) coef[nt] = g * vector[nt] - shift;
  return coef;
}

export interface AbsFit {
  solution: ExactSolution;
  stats: GramStats;
  rounds: number;
}

/** Fits y = min(|k.x + b|, hi) (hi = Infinity for float targets), one output channel. See the header. */
export function fitAbs(pairs: GramPair[], k: number, bias: boolean, hi: number): AbsFit {
  if (k > ABS_KSIZE_MAX) throw new KernelLearnError(`an abs output stage is fitted for kernels up to ${ABS_KSIZE_MAX}x${ABS_KSIZE_MAX}; use a smaller --ksize`);
  const { M, q, nt, mean, scale } = liftedMoment(pairs, k, bias, hi);
  const { value, vector } = eigenSym(M, q)[0];
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
    forEachWindow(pairs, k, (pi, at, win) => {
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
  if (k > ABS_KSIZE_MAX) throw new KernelLearnError(`a magnitude stage is fitted for kernels up to ${ABS_KSIZE_MAX}x${ABS_KSIZE_MAX}; use a smaller --ksize`);
  const { M, q, nt, mean, scale } = liftedMoment(pairs, k, bias, hi);
  const eig = eigenSym(M, q);
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

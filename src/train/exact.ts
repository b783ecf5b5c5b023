/**
 * The exact solver: the least-squares kernel from Gram statistics (src/kernels/gram.ts), in
 * float64. A linear conv net's training loss is a quadratic in its weights, so its optimum is one
 * linear solve: the fastest trainer there is, and the certificate the gradient-descent trainers
 * are measured against (they cannot beat its loss on the same pixels).
 *
 * Conditioning: u8 inputs are 0..255 with a mean near 128, so the raw Gram has a huge
 * constant-direction eigenvalue and a condition number in the 1e6..1e9 range before the kernel is
 * even hard to identify. We therefore solve in standardised coordinates: features centred (when a
 * bias is fitted, the bias absorbs the means exactly) and scaled to unit variance, i.e. on the
 * correlation matrix R of the window taps. A tiny ridge (1e-10 of R's mean eigenvalue) keeps the
 * Cholesky factorisation defined when R is singular (flat images) and changes a well-posed answer
 * by ~1e-10 x cond relative. The condition number reported is R's: scale-free, so it measures how
 * well the images identify the kernel, not their brightness.
 */

import type { GramStats } from '../kernels/gram.js';
import { conditionNumberFast, factorise, inverseDiagonal, matVec, solveFactorMany, type CholeskyFactor } from '../kernels/linalg.js';

export interface ExactSolution {
  /** Per output channel, all p coefficients (taps in weight order, then the bias if any). */
  coef: Float64Array[];
  /** Training MSE at the optimum (mean over pixels and output channels), from the statistics. */
  loss: number;
  /** Condition number of the feature correlation matrix (Infinity when it is singular). */
  conditionNumber: number;
  /** The ridge that was added to the correlation matrix's diagonal. */
  ridge: number;
}

/** The correlation-space problem shared by the solver and the loss functions. */
interface Standardised {
  q: number; // number of tap features (bias excluded)
  mean: Float64Array; // feature means (zeros without a bias)
  scale: Float64Array; // feature standard deviations (1 where a feature is constant)
  r: Float64Array; // q x q correlation (or scaled second-moment) matrix
}

function standardise(st: GramStats): Standardised {
  const { p, n, bias } = st;
  const q = bias ? p - 1 : p;
  const mean = new Float64Array(q);
  if (bias) for (let f = 0; f < q; f++) mean[f] = st.xtx[f * p + q] / n;
  const cov = new Float64Array(q * q);
  for (let a = 0; a < q; a++) for (let b = 0; b < q; b++) cov[a * q + b] = st.xtx[a * p + b] / n - mean[a] * mean[b];
  const scale = new Float64Array(q);
  for (let f = 0; f < q; f++) {
    const v = cov[f * q + f];
    // A constant feature (a flat image) has no scale to divide by: its variance is rounding noise
    // of E[x^2] - E[x]^2. Leave it unscaled (its row of R is ~0) and let the ridge pin its weight.
    scale[f] = v > 1e-12 * (st.xtx[f * p + f] / n) ? Math.sqrt(v) : 1;
  }
  const r = new Float64Array(q * q);
  for (let a = 0; a < q; a++) for (let b = 0; b < q; b++) r[a * q + b] = cov[a * q + b] / (scale[a] * scale[b]);
  return { q, mean, scale, r };
}

/**
 * Least-squares kernel from the statistics. `condition: false` skips the condition number (two
 * power iterations, the solve's main cost for large kernels; reported as NaN), for the candidate
 * fits of --ksize auto.
 */
export function solveExact(st: GramStats, opts: { condition?: boolean } = {}): ExactSolution {
  const { p, n, cout, bias } = st;
  if (n === 0) throw new Error('solveExact: no valid pixels');
  const { q, mean, scale, r } = standardise(st);
  let trace = 0;
  for (let f = 0; f < q; f++) trace += r[f * q + f];
  let ridge = 1e-10 * (trace / q || 1);
  let factor: CholeskyFactor | null = null;
  const rr = new Float64Array(q * q);
  // A singular R can still fail at 1e-10 through rounding; grow the ridge until the factor exists.
  for (let attempt = 0; attempt < 12 && !factor; attempt++) {
    rr.set(r);
    for (let f = 0; f < q; f++) rr[f * q + f] += ridge;
    factor = factorise(rr, q);
    if (!factor) ridge *= 100;
  }
  if (!factor) throw new Error('solveExact: the Gram matrix could not be factorised');
  // Centred, scaled cross-moments, one per output: rhs_f = (E[x_f y] - m_f E[y]) / s_f.
  const ybars = Array.from({ length: cout }, (_, o) => (bias ? st.xty[o * p + q] / n : 0));
  const rhss = ybars.map((ybar, o) => Float64Array.from({ length: q }, (_, f) => (st.xty[o * p + f] / n - mean[f] * ybar) / scale[f]));
  const zs = solveFactorMany(factor, rhss);
  const coef: Float64Array[] = [];
  let lossSum = 0;
  for (let o = 0; o < cout; o++) {
    const ybar = ybars[o], rhs = rhss[o], z = zs[o];
    const c = new Float64Array(p);
    let b = ybar;
    for (let f = 0; f < q; f++) {
      c[f] = z[f] / scale[f];
      b -= mean[f] * c[f];
    }
    if (bias) c[q] = b;
    coef.push(c);
    // Loss in centred coordinates, var(y) - 2 z.rhs + z^T R z: the same quadratic as the raw
    // formula, with much less cancellation (it subtracts variances, not mean squares).
    const varY = st.yty[o] / n - ybar * ybar;
    const rz = matVec(r, q, z);
    let zr = 0, zrz = 0;
    for (let f = 0; f < q; f++) { zr += z[f] * rhs[f]; zrz += z[f] * rz[f]; }
    lossSum += Math.max(0, varY - 2 * zr + zrz);
  }
  if (opts.condition === false) {
    return { coef, loss: lossSum / cout, conditionNumber: NaN, ridge };
  }
  return { coef, loss: lossSum / cout, conditionNumber: conditionNumberFast(r, q, factor, ridge), ridge };
}

/**
 * MSE of arbitrary coefficients on the pixels behind `st` (e.g. a validation Gram):
 * (y^T y - 2 w^T X^T y + w^T X^T X w) / n, averaged over output channels. The raw formula
 * cancels, so values below ~1e-15 of the target's mean square are rounding noise (clamped at 0).
 */
export function lossFromStats(st: GramStats, coef: ArrayLike<number>[]): number {
  const { p, n } = st;
  let sum = 0;
  for (let o = 0; o < st.cout; o++) {
    const w = coef[o];
    let quad = 0, lin = 0;
    for (let a = 0; a < p; a++) {
      let s = 0;
      for (let b = 0; b < p; b++) s += st.xtx[a * p + b] * w[b];
      quad += w[a] * s;
      lin += w[a] * st.xty[o * p + a];
    }
    sum += Math.max(0, (st.yty[o] - 2 * lin + quad) / n);
  }
  return sum / st.cout;
}

/**
 * How far coefficients are from the optimum in loss: loss(w) - loss(w*) = (w - w*)^T (X^T X / n) (w - w*)
 * for the least-squares optimum w* of the same statistics. Computed from the difference of the
 * weights, so it is accurate even when both losses are ~0 (no cancellation).
 */
export function excessLoss(st: GramStats, coef: ArrayLike<number>[], optimum: ArrayLike<number>[]): number {
  const { p, n } = st;
  const d = new Float64Array(p);
  let sum = 0;
  for (let o = 0; o < st.cout; o++) {
    for (let a = 0; a < p; a++) d[a] = coef[o][a] - optimum[o][a];
    const ad = matVec(st.xtx, p, d);
    let s = 0;
    for (let a = 0; a < p; a++) s += d[a] * ad[a];
    sum += Math.max(0, s / n);
  }
  return sum / st.cout;
}

/** Variance of the targets (mean over output channels): the loss of the best constant predictor. */
export function targetVariance(st: GramStats): number {
  const { p, n } = st;
  let sum = 0;
  for (let o = 0; o < st.cout; o++) {
    // Without a bias column the target sum is not in the statistics; the mean square stands in.
    const ybar = st.bias ? st.xty[o * p + p - 1] / n : 0;
    sum += Math.max(0, st.yty[o] / n - ybar * ybar);
  }
  return sum / st.cout;
}

/**
 * Standard errors of the least-squares coefficients (taps, then the bias when fitted), per output
 * channel: the textbook sigma^2 (X^T X)^-1 written in the solver's coordinates. With R the feature
 * correlation matrix (same ridge), scale_f the features' deviations and v_f = mean_f / scale_f:
 *
 *   se(tap f) = sqrt(sigma^2 / n * (R^-1)_ff) / scale_f
 *   se(bias)  = sqrt(sigma^2 / n * (1 + v^T R^-1 v))      (b = mean(y) - sum_f mean_f w_f, and the
 *                                                          centred features are orthogonal to 1)
 *
 * sigma^2 = the training residual variance (SSE / (n - p)). They assume independent noise of one
 * variance in the targets; a residual of pure rounding gives ~0 (callers add a relative floor).
 * `bias: false` leaves the bias' entry 0 (the forms judge the bias by their relative floor only).
 */
export function coefStdErrors(st: GramStats, sol: ExactSolution, opts: { bias?: boolean } = {}): Float64Array[] {
  const { p, n, cout } = st;
  const { q, mean, scale, r } = standardise(st);
  const rr = Float64Array.from(r);
  for (let f = 0; f < q; f++) rr[f * q + f] += sol.ridge;
  const factor = factorise(rr, q);
  const invDiag = factor ? inverseDiagonal(factor.l, q) : new Float64Array(q).fill(Infinity);
  // 1 + v^T R^-1 v, the bias' variance in units of sigma^2 / n.
  let biasFactor = 0;
  if (st.bias && opts.bias) {
    const v = Float64Array.from({ length: q }, (_, f) => mean[f] / scale[f]);
    const w = factor ? solveFactorMany(factor, [v])[0] : new Float64Array(q).fill(Infinity);
    biasFactor = 1;
    for (let f = 0; f < q; f++) biasFactor += v[f] * w[f];
  }
  const dof = Math.max(1, n - p);
  const out: Float64Array[] = [];
  for (let o = 0; o < cout; o++) {
    // Per-channel residual variance from the stored coefficients (the solve's loss is an average).
    const sigma2 = (lossFromStats({ ...st, cout: 1, xty: st.xty.subarray(o * p, (o + 1) * p), yty: st.yty.subarray(o, o + 1) }, [sol.coef[o]]) * n) / dof;
    const se = new Float64Array(p);
    for (let f = 0; f < q; f++) se[f] = Math.sqrt((sigma2 / n) * invDiag[f]) / scale[f];
    if (biasFactor > 0) se[q] = Math.sqrt((sigma2 / n) * biasFactor);
    out.push(se);
  }
  return out;
}

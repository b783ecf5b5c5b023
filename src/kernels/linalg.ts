/**
 * Small dense linear algebra, float64, row-major: what the trainer needs and nothing more.
 *
 *   cholesky, choleskySolve   the exact solver's normal equations (symmetric positive definite)
 *   powerIteration            the largest eigenvalue of an SPD operator (condition numbers)
 *   symmetricEigen            every eigenpair of a small symmetric matrix (cyclic Jacobi): the
 *                             lifted fits of the abs and magnitude stages
 *   svd                       one-sided Jacobi SVD: the separable form of a kernel
 *   solveGaussian             small systems that may be singular (the residual diagnosis)
 *
 * Jacobi methods rather than QR-based ones: the matrices are small (a kernel's taps, a few hundred
 * unknowns at most), Jacobi is short, accurate to full relative precision for the small singular
 * values that decide a rank, and deterministic.
 *
 * The exact solver's SPD algebra at up to 961 unknowns (31x31 kernels) runs in WebAssembly SIMD
 * (the second half of this file), each function beside the plain version above that
 * test/linalg-fast.test.ts holds it equal to (up to float64 rounding: sums in another order).
 *
 * What makes the plain versions slow at q ~ 1000 is not the flop count but the way they walk
 * memory and chain their sums: one accumulator per dot product (each add waits for the last), a
 * backward substitution that reads L down its columns (one cache line per multiply-add), and the
 * diagonal of the inverse from q full solves (q^3 multiply-adds, strided). Here, in WebAssembly
 * SIMD (assembly/gram.ts, the Gram's module):
 *   - every inner product is a dot of two contiguous rows with four partial sums;
 *   - the backward substitution reads the rows of L^T (a transposed copy, made once);
 *   - the diagonal of (L L^T)^-1 is the squared column norms of L^-1: one forward substitution per
 *     column, starting at the column's diagonal (q^3 / 6 multiply-adds instead of q^3).
 * bench/gram-bench.ts measures both at 961 unknowns.
 */

import { gramWasm } from './gram-wasm.js';

/** Cholesky factor L (lower, row-major) of a p x p SPD matrix, or null when a pivot is not positive. */
export function cholesky(a: Float64Array, p: number): Float64Array | null {
  const l = new Float64Array(p * p);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * p + j];
      for (let k = 0; k < j; k++) s -= l[i * p + k] * l[j * p + k];
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * p + i] = Math.sqrt(s);
      } else {
        l[i * p + j] = s / l[j * p + j];
      }
    }
  }
  return l;
}

/** Solves L L^T x = b in place of a copy of b. */
export function choleskySolve(l: Float64Array, p: number, b: Float64Array): Float64Array {
  const x = Float64Array.from(b);
  for (let i = 0; i < p; i++) {
    let s = x[i];
    for (let k = 0; k < i; k++) s -= l[i * p + k] * x[k];
    x[i] = s / l[i * p + i];
  }
  for (let i = p - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < p; k++) s -= l[k * p + i] * x[k];
    x[i] = s / l[i * p + i];
  }
  return x;
}

/** a v for a p x p matrix a. */
export function matVec(a: Float64Array, p: number, v: Float64Array): Float64Array {
  const out = new Float64Array(p);
  for (let i = 0; i < p; i++) {
    let s = 0;
    for (let j = 0; j < p; j++) s += a[i * p + j] * v[j];
    out[i] = s;
  }
  return out;
}

function normalize(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
  return n;
}

/**
 * Largest eigenvalue of `apply` (an SPD operator) by power iteration from a fixed start, so the
 * estimate is deterministic. 300 iterations give the order of magnitude even with small eigengaps,
 * which is all a conditioning warning needs.
 */
export function powerIteration(p: number, apply: (v: Float64Array) => Float64Array): number {
  let v: Float64Array = new Float64Array(p);
  for (let i = 0; i < p; i++) v[i] = 1 + i / p;
  normalize(v);
  let lambda = 0;
  for (let it = 0; it < 300; it++) {
    const w = apply(v);
    lambda = normalize(w);
    if (lambda === 0) return 0;
    v = w;
  }
  return lambda;
}

/** Eigenpairs of a symmetric q x q matrix (cyclic Jacobi), largest eigenvalue first. */
export function symmetricEigen(a: Float64Array, q: number): { value: number; vector: Float64Array }[] {
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

/** One-sided Jacobi SVD of an m x n matrix (row-major): s descending, U (m x n), V (n x n). */
export function svd(a: ArrayLike<number>, m: number, n: number): { s: number[]; u: number[][]; v: number[][] } {
  const U = Array.from({ length: n }, (_, j) => Array.from({ length: m }, (_, i) => a[i * n + j])); // columns
  const V = Array.from({ length: n }, (_, j) => Array.from({ length: n }, (_, i) => (i === j ? 1 : 0))); // columns
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0, beta = 0, gamma = 0;
        for (let i = 0; i < m; i++) { alpha += U[p][i] * U[p][i]; beta += U[q][i] * U[q][i]; gamma += U[p][i] * U[q][i]; }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
        const zeta = (beta - alpha) / (2 * gamma);
        const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        for (const M of [U, V]) {
          const P = M[p], Q = M[q];
          for (let i = 0; i < P.length; i++) { const x = P[i], y = Q[i]; P[i] = c * x - s * y; Q[i] = s * x + c * y; }
        }
      }
    }
    if (off <= 1e-15) break;
  }
  const order = Array.from({ length: n }, (_, j) => j).map((j) => ({ j, s: Math.hypot(...U[j]) })).sort((x, y) => y.s - x.s);
  return {
    s: order.map((o) => o.s),
    u: order.map((o) => U[o.j].map((x) => (o.s > 0 ? x / o.s : 0))),
    v: order.map((o) => V[o.j]),
  };
}

/** Solves the small SPD system a x = b (Gaussian elimination with partial pivoting; singular pivots give 0). */
export function solveGaussian(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[piv * n + c])) piv = r;
    if (piv !== c) {
      for (let k = 0; k < n; k++) [m[c * n + k], m[piv * n + k]] = [m[piv * n + k], m[c * n + k]];
      [x[c], x[piv]] = [x[piv], x[c]];
    }
    const d = m[c * n + c];
    if (Math.abs(d) < 1e-300) continue;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c] / d;
      if (f === 0) continue;
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let c = 0; c < n; c++) x[c] = Math.abs(m[c * n + c]) < 1e-300 ? 0 : x[c] / m[c * n + c];
  return x;
}

/** Weighted normal equations of row-major rows (see addWeightedRows). */
export interface NormalEquations {
  /** p x p, row-major: sum of w x x^T (x with a trailing 1 when `bias`). */
  xtx: Float64Array;
  /** sum of w y x. */
  xty: Float64Array;
  /** sum of w y^2. */
  yty: number;
  /** sum of w. */
  total: number;
}

/** Empty normal equations for rows of `taps` values, plus a column of ones when `bias`. */
export function normalEquations(taps: number, bias: boolean): NormalEquations {
  const p = taps + (bias ? 1 : 0);
  return { xtx: new Float64Array(p * p), xty: new Float64Array(p), yty: 0, total: 0 };
}

/**
 * Adds n rows (row-major, `taps` values each, from `at`) with weights w and targets y to the
 * normal equations, a column of ones after the taps when `bias`: the weighted least squares of
 * the curve stages' rounds, where every round has new weights. Rows of weight 0 are skipped; the
 * others are taken in pairs, and each entry of the upper triangle (xtx, xty, yty) gains the pair's
 * two products added first, pair after pair in order (addWeightedRowsReference, the plain loop,
 * whose two rows a pass halved the loads and stores of xtx); then `mirrored` fills the lower one.
 * The pairs' products are summed in WebAssembly SIMD (assembly/gram.ts weightedRowPairs: two
 * entries an instruction) in that order, so the sums are the same bits (test/linalg.test.ts).
 */
export function addWeightedRows(eq: NormalEquations, rows: Float64Array, at: number, n: number, taps: number, w: ArrayLike<number>, y: ArrayLike<number>): void {
  const p = eq.xty.length, yi = p, P = (p + 2) & ~1;
  // The module's memory: the sums (P x P: xtx, xty in column yi, yty at (yi, yi)), then a chunk of rows and of rows times weights.
  const X = P * P, WX = X + PAIR_CHUNK * P;
  const wasm = gramWasm(8 * (WX + PAIR_CHUNK * P));
  const mem = new Float64Array(wasm.memory.buffer, 0, WX + PAIR_CHUNK * P);
  mem.fill(0, 0, X);
  for (let a = 0; a < p; a++) {
    for (let b = a; b < p; b++) mem[a * P + b] = eq.xtx[a * p + b];
    mem[a * P + yi] = eq.xty[a];
  }
  mem[yi * P + yi] = eq.yty;
  let m = 0, w0 = 0, pairs = 0;
  const put = (src: ArrayLike<number>, from: number, wr: number, yr: number): void => {
    const o = X + m * P, ow = WX + m * P;
    for (let t = 0; t < taps; t++) mem[o + t] = src[from + t];
    if (p > taps) mem[o + taps] = 1;
    mem[o + yi] = yr;
    if (P > p + 1) mem[o + P - 1] = 0;
    for (let f = 0; f < P; f++) mem[ow + f] = wr * mem[o + f];
    if (m % 2 === 1) {
      eq.total += w0 + wr;
      pairs++;
    } else w0 = wr;
    if (++m === PAIR_CHUNK) {
      wasm.weightedRowPairs(8 * X, 8 * WX, m, P, 0);
      m = 0;
    }
  };
  for (let r = 0; r < n; r++) if (w[r] !== 0) put(rows, at + r * taps, w[r], y[r]);
  if (m % 2 === 1) {
    // An odd row out pairs, at weight 0, with the taps of the last row taken second in a pair (the
    // reference's stale second row; ones before any): still in the block, at m - 2 or the chunk's end.
    const second = pairs === 0 ? new Float64Array(taps).fill(1) : mem.slice(X + (m >= 2 ? m - 2 : PAIR_CHUNK - 1) * P, X + (m >= 2 ? m - 2 : PAIR_CHUNK - 1) * P + taps);
    put(second, 0, 0, 0);
  }
  if (m > 0) wasm.weightedRowPairs(8 * X, 8 * WX, m, P, 0);
  for (let a = 0; a < p; a++) {
    for (let b = a; b < p; b++) eq.xtx[a * p + b] = mem[a * P + b];
    eq.xty[a] = mem[a * P + yi];
  }
  eq.yty = mem[yi * P + yi];
}

/** Rows addWeightedRows lays out in the module at a time (even: whole pairs). */
const PAIR_CHUNK = 2048;

/** Reference: addWeightedRows in plain JavaScript, two rows a pass. Summation order: by pair of rows, in order. */
export function addWeightedRowsReference(eq: NormalEquations, rows: Float64Array, at: number, n: number, taps: number, w: ArrayLike<number>, y: ArrayLike<number>): void {
  const { xtx, xty } = eq, p = xty.length;
  const x0 = new Float64Array(p).fill(1), x1 = new Float64Array(p).fill(1);
  let r = 0;
  const next = (x: Float64Array): number => {
    while (r < n && w[r] === 0) r++;
    if (r >= n) return -1;
    for (let t = 0, v = at + r * taps; t < taps; t++, v++) x[t] = rows[v];
    return r++;
  };
  for (;;) {
    const i = next(x0);
    if (i < 0) break;
    const k = next(x1);
    const w0 = w[i], y0 = y[i], w1 = k < 0 ? 0 : w[k], y1 = k < 0 ? 0 : y[k];
    eq.yty += w0 * y0 * y0 + w1 * y1 * y1;
    eq.total += w0 + w1;
    for (let a = 0; a < p; a++) {
      const a0 = w0 * x0[a], a1 = w1 * x1[a];
      xty[a] += a0 * y0 + a1 * y1;
      for (let b = a, o = a * p + a; b < p; b++, o++) xtx[o] += a0 * x0[b] + a1 * x1[b];
    }
  }
}

/** The normal equations with xtx's lower triangle copied from its upper one (after addWeightedRows). */
export function mirrored(eq: NormalEquations): NormalEquations {
  const { xtx, xty } = eq, p = xty.length;
  for (let a = 0; a < p; a++) for (let b = a + 1; b < p; b++) xtx[b * p + a] = xtx[a * p + b];
  return eq;
}

// ---------------------------------------------------------------------------------------------
// The exact solver's SPD algebra in WebAssembly SIMD


/** sum over k < n of a[ao + k] * b[bo + k], four partial sums (then combined pairwise). */
export function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    s0 += a[ao + k] * b[bo + k];
    s1 += a[ao + k + 1] * b[bo + k + 1];
    s2 += a[ao + k + 2] * b[bo + k + 2];
    s3 += a[ao + k + 3] * b[bo + k + 3];
  }
  for (; k < n; k++) s0 += a[ao + k] * b[bo + k];
  return (s0 + s1) + (s2 + s3);
}

/**
 * Cholesky factor L (lower, row-major, zeros above the diagonal) of a p x p SPD matrix, or null
 * when a pivot is not positive: the contract of exact.ts `cholesky`.
 */
export function choleskyFast(a: Float64Array, p: number): Float64Array | null {
  const bytes = p * p * 8;
  const w = gramWasm(2 * bytes);
  new Float64Array(w.memory.buffer, 0, p * p).set(a.subarray(0, p * p));
  if (!w.cholesky(0, bytes, p)) return null;
  return new Float64Array(w.memory.buffer.slice(bytes, 2 * bytes));
}

/** L^T of a lower-triangular row-major L (upper, row-major): the backward substitution's rows. */
export function transposed(l: Float64Array, p: number): Float64Array {
  const t = new Float64Array(p * p);
  for (let i = 0; i < p; i++) for (let j = 0; j <= i; j++) t[j * p + i] = l[i * p + j];
  return t;
}

/** A Cholesky factor with its transpose, for repeated solves. */
export interface CholeskyFactor {
  p: number;
  l: Float64Array;
  lt: Float64Array;
}

/** L and L^T, or null when the matrix is not (numerically) positive definite. */
export function factorise(a: Float64Array, p: number): CholeskyFactor | null {
  const l = choleskyFast(a, p);
  return l ? { p, l, lt: transposed(l, p) } : null;
}

/**
 * A factor laid out in the module for many solves: L at 0, L^T after it, then `extra` doubles
 * of vectors (at `vec`). Valid until the next call that uses the module.
 */
function loadFactor(f: CholeskyFactor, extra: number): { lPtr: number; ltPtr: number; vec: number; mem: Float64Array } {
  const pp = f.p * f.p;
  const w = gramWasm((2 * pp + extra) * 8);
  const mem = new Float64Array(w.memory.buffer);
  mem.set(f.l, 0);
  mem.set(f.lt, pp);
  return { lPtr: 0, ltPtr: pp * 8, vec: 2 * pp * 8, mem };
}

/** Solves L L^T x = b (a fresh x). For many right-hand sides, solveFactorMany. */
export function solveFactor(f: CholeskyFactor, b: Float64Array): Float64Array {
  return solveFactorMany(f, [b])[0];
}

/** Solves L L^T x = b for each b (the factor goes into the module once). */
export function solveFactorMany(f: CholeskyFactor, bs: Float64Array[]): Float64Array[] {
  const { p } = f;
  const { lPtr, ltPtr, vec, mem } = loadFactor(f, p);
  const w = gramWasm();
  return bs.map((b) => {
    mem.set(b.subarray(0, p), vec / 8);
    w.solveFactor(lPtr, ltPtr, p, vec);
    return mem.slice(vec / 8, vec / 8 + p);
  });
}

/**
 * The diagonal of (L L^T)^-1: entry f is |L^-1 e_f|^2, and L^-1 e_f is zero above row f, so one
 * forward substitution from row f per column (q^3 / 6 multiply-adds in all).
 */
export function inverseDiagonal(l: Float64Array, p: number): Float64Array {
  const pp = p * p;
  const w = gramWasm((pp + 2 * p) * 8);
  const mem = new Float64Array(w.memory.buffer);
  mem.set(l.subarray(0, pp), 0);
  w.inverseDiagonal(0, p, pp * 8, (pp + p) * 8);
  return mem.slice(pp, pp + p);
}

/** a v for a p x p row-major a. */
export function matVecFast(a: Float64Array, p: number, v: Float64Array): Float64Array {
  const pp = p * p;
  const w = gramWasm((pp + 2 * p) * 8);
  const mem = new Float64Array(w.memory.buffer);
  mem.set(a.subarray(0, pp), 0);
  mem.set(v.subarray(0, p), pp);
  w.matVec(0, p, pp * 8, (pp + p) * 8);
  return mem.slice(pp + p, pp + 2 * p);
}

/**
 * The condition number solveExact reports, computed the same way (300 power iterations from the
 * same start for the largest eigenvalue of r and of (r + ridge)^-1 through the factor f of
 * r + ridge I), with r, L and L^T in the module for all 600 products.
 */
export function conditionNumberFast(r: Float64Array, q: number, f: CholeskyFactor, ridge: number): number {
  const qq = q * q;
  const w = gramWasm((3 * qq + 2 * q) * 8);
  const mem = new Float64Array(w.memory.buffer);
  mem.set(f.l, 0);
  mem.set(f.lt, qq);
  mem.set(r.subarray(0, qq), 2 * qq);
  const v = 3 * qq, out = 3 * qq + q; // vectors (in doubles)
  const lambdaMax = powerIteration(q, (x) => {
    mem.set(x, v);
    w.matVec(2 * qq * 8, q, v * 8, out * 8);
    return mem.slice(out, out + q);
  });
  const muMax = powerIteration(q, (x) => {
    mem.set(x, v);
    w.solveFactor(0, qq * 8, q, v * 8);
    return mem.slice(v, v + q);
  }); // 1 / (lambda_min + ridge)
  const lambdaMin = 1 / muMax - ridge;
  return lambdaMax > 0 && lambdaMin > lambdaMax * 1e-15 ? lambdaMax / lambdaMin : Infinity;
}

/**
 * Dense symmetric positive definite algebra for the exact solver at large kernels (31x31: 961
 * unknowns a channel), beside the plain versions in src/train/exact.ts (cholesky, choleskySolve,
 * the power iterations of solveExact, the q solves of coefStdErrors), which test/linalg-fast.test.ts
 * holds them equal to (up to float64 rounding: sums in another order).
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
import { gramWasm } from './kernels/gram-wasm.js';

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

function normalize(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] /= n;
  return n;
}

/** exact.ts powerIteration: the same start, the same 300 iterations, the operator given. */
function powerIteration(p: number, apply: (v: Float64Array) => Float64Array): number {
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

/**
 * The fast dense algebra for large kernels (src/kernels/linalg.ts, second half) against the plain versions in
 * src/train/exact.ts: the Cholesky factor, solves, the diagonal of the inverse (what
 * coefStdErrors computes with q solves) and the condition number solveExact reports, on random
 * SPD matrices (well and badly conditioned) and on a Gram matrix of real image windows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { solveExact } from '../src/train/exact.js';
import { addWeightedRows, addWeightedRowsReference, cholesky, choleskyFast, choleskySolve, conditionNumberFast, dot, factorise, inverseDiagonal, matVecFast, normalEquations, solveFactor } from '../src/kernels/linalg.js';
import { gramStats } from '../src/kernels/gram.js';
import { createImage } from '../src/image.js';
import { createRng } from '../src/random.js';

/** B B^T + eps I for a random p x p B: SPD, condition about 1/eps for small eps. */
function randomSpd(rng: () => number, p: number, eps: number): Float64Array {
  const b = Float64Array.from({ length: p * p }, () => rng() - 0.5);
  const a = new Float64Array(p * p);
  for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) {
    let s = 0;
    for (let k = 0; k < p; k++) s += b[i * p + k] * b[j * p + k];
    a[i * p + j] = s + (i === j ? eps * p : 0);
  }
  return a;
}

const maxAbs = (a: Float64Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

test('linalg-fast: dot and matVec equal the plain sums to rounding', () => {
  const rng = createRng(1);
  for (const n of [0, 1, 3, 4, 5, 17, 100]) {
    const a = Float64Array.from({ length: n + 3 }, () => rng() - 0.5);
    const b = Float64Array.from({ length: n + 5 }, () => rng() - 0.5);
    let s = 0, abs = 0;
    for (let k = 0; k < n; k++) { s += a[k + 3] * b[k + 1]; abs += Math.abs(a[k + 3] * b[k + 1]); }
    assert.ok(Math.abs(dot(a, 3, b, 1, n) - s) <= 1e-15 * n * abs + 0, `dot n=${n}`);
  }
  const p = 13;
  const m = Float64Array.from({ length: p * p }, () => rng());
  const v = Float64Array.from({ length: p }, () => rng());
  const out = matVecFast(m, p, v);
  for (let i = 0; i < p; i++) {
    let s = 0;
    for (let j = 0; j < p; j++) s += m[i * p + j] * v[j];
    assert.ok(Math.abs(out[i] - s) <= 1e-14 * s);
  }
});

test('linalg-fast: Cholesky, solves and the inverse diagonal equal exact.ts on random SPD matrices', () => {
  const rng = createRng(2);
  for (const [p, eps] of [[1, 1], [2, 0.1], [5, 1e-3], [16, 1e-6], [37, 1e-2], [120, 1e-8]] as [number, number][]) {
    const a = randomSpd(rng, p, eps);
    const plain = cholesky(a, p)!;
    const fast = choleskyFast(a, p)!;
    const scale = maxAbs(plain);
    for (let i = 0; i < p * p; i++) assert.ok(Math.abs(fast[i] - plain[i]) <= 1e-9 * scale, `L p=${p} eps=${eps} [${i}] ${fast[i]} vs ${plain[i]}`);
    const f = factorise(a, p)!;
    const b = Float64Array.from({ length: p }, () => rng() - 0.5);
    const x0 = choleskySolve(plain, p, b);
    const x1 = solveFactor(f, b);
    const xs = maxAbs(x0);
    // Both solve the same system: differences are rounding times the condition number (<= ~1e8 here).
    for (let i = 0; i < p; i++) assert.ok(Math.abs(x1[i] - x0[i]) <= 1e-6 * xs, `x p=${p} [${i}]`);
    const diag = inverseDiagonal(f.l, p);
    for (let k = 0; k < p; k++) {
      const e = new Float64Array(p);
      e[k] = 1;
      const ref = choleskySolve(plain, p, e)[k];
      assert.ok(Math.abs(diag[k] - ref) <= 1e-6 * Math.abs(ref), `inverse diagonal p=${p} [${k}] ${diag[k]} vs ${ref}`);
    }
  }
  // Not positive definite: null, like cholesky.
  assert.equal(choleskyFast(Float64Array.of(1, 2, 2, 1), 2), null);
  assert.equal(cholesky(Float64Array.of(1, 2, 2, 1), 2), null);
  assert.equal(factorise(Float64Array.of(0), 1), null);
});

test('linalg-fast: the condition number of a 15x15 window Gram is solveExact\'s', () => {
  const rng = createRng(3);
  const w = 60, h = 50;
  const input = createImage(w, h, 1, 'f32');
  // Smooth-ish u8 data (a random walk along rows): badly conditioned, like photographs.
  for (let y = 0; y < h; y++) {
    let v = 128;
    for (let x = 0; x < w; x++) { v = Math.min(255, Math.max(0, v + Math.round((rng() - 0.5) * 40))); input.data[y * w + x] = v; }
  }
  const target = createImage(w, h, 1, 'f32');
  for (let i = 0; i < target.data.length; i++) target.data[i] = input.data[i] * 0.5 + rng();
  const st = gramStats([{ input, target }], 15, 15, true);
  const sol = solveExact(st);
  // The solver's coordinates (exact.ts standardise): the correlation matrix of the taps plus the ridge.
  const { p, n } = st;
  const q = p - 1;
  const mean = Float64Array.from({ length: q }, (_, f) => st.xtx[f * p + q] / n);
  const sd = Float64Array.from({ length: q }, (_, f) => Math.sqrt(st.xtx[f * p + f] / n - mean[f] * mean[f]));
  const r = new Float64Array(q * q);
  for (let a = 0; a < q; a++) for (let b = 0; b < q; b++) r[a * q + b] = (st.xtx[a * p + b] / n - mean[a] * mean[b]) / (sd[a] * sd[b]);
  const rr = Float64Array.from(r);
  for (let f = 0; f < q; f++) rr[f * q + f] += sol.ridge;
  const cond = conditionNumberFast(r, q, factorise(rr, q)!, sol.ridge);
  assert.ok(Number.isFinite(sol.conditionNumber) && sol.conditionNumber > 10);
  assert.ok(Math.abs(cond - sol.conditionNumber) <= 1e-6 * sol.conditionNumber, `${cond} vs ${sol.conditionNumber}`);
});

test('addWeightedRows: the WebAssembly pairs give the JavaScript reference\'s bits (zero weights skipped, odd rows, chunks, repeated calls)', () => {
  const rng = createRng(77);
  // 2562 rows with a weight 0 every fifth: 2049 with weights, one past a full chunk.
  for (const [taps, bias, n] of [[25, true, 5001], [9, false, 1], [26, true, 4097], [96, false, 301], [1, true, 2], [3, true, 2562]] as const) {
    const rows = Float64Array.from({ length: (n + 3) * taps }, (_, i) => (i % 37 === 0 ? 0 : i % 41 === 0 ? -0 : 300 * rng() - 40));
    const w = Float64Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 0 : rng() * 3));
    const y = Float64Array.from({ length: n }, () => 200 * rng() - 20);
    const fast = normalEquations(taps, bias), ref = normalEquations(taps, bias);
    // Twice into the same sums (fitF adds a block of windows a call), from an offset.
    for (const at of [0, 3 * taps]) {
      addWeightedRows(fast, rows, at, n, taps, w, y);
      addWeightedRowsReference(ref, rows, at, n, taps, w, y);
    }
    assert.deepEqual(fast, ref, `${taps} taps, bias ${bias}, ${n} rows`);
  }
});

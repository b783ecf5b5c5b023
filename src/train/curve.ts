/**
 * Fitting and naming the pointwise curves of the curve stages (stages/curves.ts; what a curve is:
 * nn/curve.ts).
 *
 *   fit      least squares of samples y on the hat functions of v at the knots (each sample
 *            touches two of them), the knots at quantiles of v; monotone (increasing or
 *            decreasing) when the free fit is, then by non-negative least squares on the steps
 *            between knots, so the curve can be inverted
 *   name     identity-like curves, gamma, the sRGB transfer and clipping are recognised
 */

import { cholesky, choleskySolve } from '../kernels/linalg.js';
import { MAX_KNOTS, segmentLocator, type Curve } from '../nn/curve.js';
import { toF32 } from '../nn/network.js';

/**
 * Up to `count` distinct knots, the extremes included, at quantiles of a half-and-half mixture of
 * the samples' distribution and the uniform one over their range: dense where the samples are,
 * and never a single segment across a sparse tail (a sigmoid's bends lie there). `sorted`: the
 * samples sorted, when the caller has them.
 */
export function quantileKnots(v: ArrayLike<number>, count: number, sorted?: Float64Array): number[] {
  const s = sorted ?? Float64Array.from(v).sort();
  const n = s.length, lo = s[0], span = s[n - 1] - s[0] || 1;
  const mixed = (i: number): number => 0.5 * (i / Math.max(1, n - 1)) + 0.5 * ((s[i] - lo) / span);
  const knots: number[] = [];
  let i = 0;
  for (let j = 0; j < count; j++) {
    const q = j / Math.max(1, count - 1);
    while (i < n - 1 && mixed(i) < q) i++;
    const t = toF32(s[i]);
    if (knots.length === 0 || t > knots[knots.length - 1]) knots.push(t);
  }
  return knots.length >= 2 ? knots : [knots[0], toF32(knots[0] + 1)];
}

/** Accumulates the normal equations of samples on the hat functions of the knots (tridiagonal, kept dense: m <= 32). */
function hatNormalEquations(knots: number[], v: ArrayLike<number>, y: ArrayLike<number>, w: ArrayLike<number>): { ata: Float64Array; aty: Float64Array } {
  const m = knots.length;
  const ata = new Float64Array(m * m), aty = new Float64Array(m);
  const locate = segmentLocator(knots, 'left');
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    const j = locate(x);
    const lam = (x - knots[j]) / (knots[j + 1] - knots[j]);
    const a = 1 - lam, b = lam, wi = w[i];
    ata[j * m + j] += wi * a * a;
    ata[j * m + j + 1] += wi * a * b;
    ata[(j + 1) * m + j] += wi * a * b;
    ata[(j + 1) * m + j + 1] += wi * b * b;
    aty[j] += wi * a * y[i];
    aty[j + 1] += wi * b * y[i];
  }
  return { ata, aty };
}

/** Least squares with a tiny ridge (knots no sample lies near keep a finite value). */
function solveRidge(ata: Float64Array, aty: Float64Array, m: number): Float64Array {
  let trace = 0;
  for (let j = 0; j < m; j++) trace += ata[j * m + j];
  const a = Float64Array.from(ata);
  for (let j = 0; j < m; j++) a[j * m + j] += 1e-9 * (trace / m || 1);
  return choleskySolve(cholesky(a, m)!, m, aty);
}

/**
 * Non-negative least squares (Lawson-Hanson active sets) of min |A x - b|^2 given A^T A and
 * A^T b, x >= 0 for the indices in `signed` and free elsewhere. Small problems only (m <= 33).
 */
function nnls(ata: Float64Array, atb: Float64Array, m: number, signed: boolean[]): Float64Array {
  const passive = signed.map((s) => !s);
  const solveOn = (set: boolean[]): Float64Array => {
    const idx = set.flatMap((p, i) => (p ? [i] : []));
    const k = idx.length;
    const a = new Float64Array(k * k), b = new Float64Array(k);
    idx.forEach((i, r) => {
      b[r] = atb[i];
      idx.forEach((j, c) => (a[r * k + c] = ata[i * m + j]));
    });
    const z = k > 0 ? solveRidge(a, b, k) : new Float64Array(0);
    const out = new Float64Array(m);
    idx.forEach((i, r) => (out[i] = z[r]));
    return out;
  };
  let x = solveOn(passive); // the free variables' fit, every constrained one at 0
  for (let outer = 0; outer < 3 * m; outer++) {
    // The constrained variable whose gradient most wants it positive enters the passive set.
    let enter = -1, best = 1e-12 * (Math.abs(atb.reduce((a, b) => a + Math.abs(b), 0)) || 1);
    for (let i = 0; i < m; i++) {
      if (passive[i]) continue;
      let g = atb[i];
      for (let j = 0; j < m; j++) g -= ata[i * m + j] * x[j];
      if (g > best) (best = g), (enter = i);
    }
    if (enter < 0) break;
    passive[enter] = true;
    for (let inner = 0; inner < 3 * m; inner++) {
      const z = solveOn(passive);
      const bad = z.map((v, i) => (signed[i] && passive[i] && v <= 0 ? 1 : 0));
      if (!bad.some(Boolean)) {
        x = z;
        break;
      }
      // Step towards z until a constrained variable reaches 0; it leaves the passive set.
      let alpha = 1;
      for (let i = 0; i < m; i++) if (bad[i]) alpha = Math.min(alpha, x[i] / (x[i] - z[i]));
      for (let i = 0; i < m; i++) {
        x[i] += alpha * (z[i] - x[i]);
        if (signed[i] && passive[i] && x[i] <= 1e-15) (passive[i] = false), (x[i] = 0);
      }
    }
  }
  return x;
}

/** Times the knots are moved to the bends of the curve fitted on them (bentKnots). */
const REKNOT_ROUNDS = 10;
/**
 * Samples the knots are placed on at most: where a curve bends shows as well in 10 000 of them,
 * and the ten rounds of placing were most of a curve fit's time (the fit itself takes them all).
 */
const REKNOT_SAMPLES = 10_000;

/** Every k-th sample, with the smallest and largest v among them (the curve's ends); the samples themselves for k = 1. */
function thinnedSamples(v: ArrayLike<number>, y: ArrayLike<number>, w: ArrayLike<number>, k: number): { v: ArrayLike<number>; y: ArrayLike<number>; w: ArrayLike<number> } {
  if (k <= 1) return { v, y, w };
  let lo = 0, hi = 0;
  for (let i = 1; i < v.length; i++) {
    if (v[i] < v[lo]) lo = i;
    if (v[i] > v[hi]) hi = i;
  }
  const at = [lo, hi];
  for (let i = 0; i < v.length; i += k) at.push(i);
  return { v: Float64Array.from(at, (i) => v[i]), y: Float64Array.from(at, (i) => y[i]), w: Float64Array.from(at, (i) => w[i]) };
}

/**
 * New knots for a curve with values y at knots t, at equal steps of a mass that is half the
 * curve's bending (sqrt |g''|, the density that spreads the interpolation error evenly), a
 * quarter the samples' distribution and a quarter uniform over their range. Repeated, the knots
 * crowd where the curve bends: towards the steep end of a gamma curve, into a sigmoid's knees.
 */
function bentKnots(t: number[], y: number[], sorted: Float64Array, count: number): number[] {
  const m = t.length, n = sorted.length, lo = t[0], hi = t[m - 1], span = hi - lo;
  if (m < 3 || !(span > 0)) return t;
  const slope = t.slice(1).map((tj, j) => (y[j + 1] - y[j]) / (tj - t[j]));
  const bend = t.map((_, j) => (j > 0 && j < m - 1 ? Math.abs(slope[j] - slope[j - 1]) : 0));
  const below = (x: number): number => {
    let a = 0, b = n;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (sorted[mid] < x) a = mid + 1;
      else b = mid;
    }
    return a;
  };
  const len = slope.map((_, j) => t[j + 1] - t[j]);
  const curv = len.map((l, j) => Math.sqrt((bend[j] + bend[j + 1]) / 2 / l) * l);
  const data = len.map((_, j) => (j === m - 2 ? n : below(t[j + 1])) - below(t[j]));
  const totalCurv = curv.reduce((a, b) => a + b, 0);
  const mass = len.map((l, j) => (totalCurv > 0 ? 0.7 * (curv[j] / totalCurv) + 0.15 * (data[j] / n) : 0.7 * (data[j] / n)) + 0.15 * (l / span));
  const total = mass.reduce((a, b) => a + b, 0);
  const knots = [toF32(lo)];
  let j = 0, before = 0;
  for (let k = 1; k < count - 1; k++) {
    const want = (k / (count - 1)) * total;
    while (j < m - 2 && before + mass[j] < want) before += mass[j++];
    const at = toF32(t[j] + (mass[j] > 0 ? ((want - before) / mass[j]) * len[j] : 0));
    if (at > knots[knots.length - 1] && at < hi) knots.push(at);
  }
  knots.push(toF32(hi));
  return knots;
}

/**
 * The weighted least-squares curve through samples (v, y) with `count` knots placed by v's
 * quantiles and the curve's bends (bentKnots), or on the `given` knots. `monotone`:
 * 'yes' makes it monotone (in the direction the free fit mostly goes), 'auto' only when the free
 * fit nearly is (its steps against the trend add up to under 1% of its range); a monotone curve is
 * strictly so (steps >= 1e-6 of the range), so it inverts.
 */
export function fitCurve(v: ArrayLike<number>, y: ArrayLike<number>, w: ArrayLike<number>, count: number, monotone: 'auto' | 'yes' | 'no', given?: number[]): Curve {
  let knots = given;
  if (!knots) {
    // Placed on at most REKNOT_SAMPLES of the samples: every k-th, and the extremes (the end knots).
    const few = thinnedSamples(v, y, w, Math.ceil(v.length / REKNOT_SAMPLES));
    const freeFit = (t: number[]): number[] => {
      const { ata, aty } = hatNormalEquations(t, few.v, few.y, few.w);
      return Array.from(solveRidge(ata, aty, t.length));
    };
    const sorted = Float64Array.from(few.v).sort();
    knots = quantileKnots(few.v, Math.min(count, MAX_KNOTS), sorted);
    for (let round = 0; round < REKNOT_ROUNDS; round++) knots = bentKnots(knots, freeFit(knots), sorted, Math.min(count, MAX_KNOTS));
  }
  const m = knots.length;
  const { ata, aty } = hatNormalEquations(knots, v, y, w);
  const free = Array.from(solveRidge(ata, aty, m));
  const steps = free.slice(1).map((x, j) => x - free[j]);
  const range = Math.max(...free) - Math.min(...free);
  const up = steps.reduce((s, d) => s + Math.max(0, d), 0), down = steps.reduce((s, d) => s + Math.max(0, -d), 0);
  const against = Math.min(up, down);
  if (monotone === 'no' || range === 0 || (monotone === 'auto' && against > 0.01 * range)) return { knots, values: free.map(toF32) };
  // Monotone: values = v0 + sign * cumulative steps, steps >= 0 (NNLS in the step basis).
  const sign = up >= down ? 1 : -1;
  // Change of variables x = T s with T lower-triangular ones (scaled by sign): A^T A -> T^T A^T A T.
  // Column a of T is 1 (a = 0) or sign (a > 0) from row a on, 0 above: each entry is the sum of
  // A's entries from (a, b) on, in row order, times the columns' signs (the same bits as the
  // product written out: the terms a 0 of T makes add nothing, and negating every term negates
  // every partial sum; + 0 keeps a zero +0, as adding zeros to 0 did).
  const signOf = (a: number): number => (a === 0 ? 1 : sign);
  const tata = new Float64Array(m * m), taty = new Float64Array(m);
  for (let a = 0; a < m; a++) {
    let ty = 0;
    for (let i = a; i < m; i++) ty += aty[i];
    taty[a] = signOf(a) * ty + 0;
    for (let b = 0; b < m; b++) {
      let sum = 0;
      for (let i = a; i < m; i++) for (let j = b; j < m; j++) sum += ata[i * m + j];
      tata[a * m + b] = signOf(a) * signOf(b) * sum + 0;
    }
  }
  const s = nnls(tata, taty, m, knots.map((_, j) => j > 0));
  // Steps that survive float32 rounding (a ulp of 255 is 1.5e-5), so the stored curve stays strictly monotone.
  const minStep = 1e-6 * (range || 1);
  const values: number[] = [];
  let acc = s[0];
  for (let j = 0; j < m; j++) {
    if (j > 0) acc += sign * Math.max(s[j], minStep);
    values.push(toF32(acc));
  }
  return { knots, values };
}

/** What a curve is, when it is something with a name (within 1% of its range at every knot). */
export function curveName(c: Curve): string {
  const { knots: t, values: y } = c;
  const lo = t[0], hi = t[t.length - 1];
  const range = Math.max(...y) - Math.min(...y);
  const near = (f: (v: number) => number): boolean => range > 0 && t.every((v, j) => Math.abs(f(v) - y[j]) <= 0.01 * range);
  const a = (y[y.length - 1] - y[0]) / (hi - lo);
  if (near((v) => y[0] + a * (v - lo))) return Math.abs(a - 1) < 1e-3 && Math.abs(y[0] - lo) <= 1e-3 * range ? 'identity' : `affine (x ${a.toPrecision(4)})`;
  if (lo >= 0) {
    // The transfer functions on [0, full scale]: 1 (float images), 255 and 65535 (8 and 16 bits).
    for (const top of [1, 255, 65535]) {
      if (hi > top) continue;
      if (near((v) => top * srgbEncode(v / top))) return 'sRGB encode';
      if (near((v) => top * srgbDecode(v / top))) return 'sRGB decode';
    }
    // y = A v^g: g and A from the knots' log-log regression.
    const pts = t.map((v, j) => [Math.log(v), Math.log(y[j])]).filter(([p, q]) => Number.isFinite(p) && Number.isFinite(q));
    if (pts.length >= 3) {
      const mp = pts.reduce((s, [p]) => s + p, 0) / pts.length, mq = pts.reduce((s, [, q]) => s + q, 0) / pts.length;
      const g = pts.reduce((s, [p, q]) => s + (p - mp) * (q - mq), 0) / pts.reduce((s, [p]) => s + (p - mp) ** 2, 0);
      const A = Math.exp(mq - g * mp);
      if (g > 0 && near((v) => A * Math.pow(Math.max(v, 0), g))) return `gamma ${g.toPrecision(3)}`;
    }
  }
  const flatLo = y.findIndex((v) => Math.abs(v - y[0]) > 0.005 * range), flatHi = y.length - 1 - [...y].reverse().findIndex((v) => Math.abs(v - y[y.length - 1]) > 0.005 * range);
  if (flatLo > 1 || flatHi < y.length - 2) return `clip [${Math.min(y[0], y[y.length - 1]).toPrecision(4)}, ${Math.max(y[0], y[y.length - 1]).toPrecision(4)}]`;
  return '';
}

/**
 * The scale and offset that make a curve a known transfer function on its inputs' full scale (1,
 * 255 or 65535): values ~ alpha F(t) + beta with F the sRGB decoding or encoding or a power
 * top (t / top)^gamma, within 1% of the range at every knot; the closest, or null. A curve before
 * a kernel is free in scale and offset (the kernel takes them back), so one that is such a
 * function up to them is stored as the function itself.
 */
export function knownScale(c: Curve): { alpha: number; beta: number } | null {
  const { knots: t, values: y } = c;
  const range = Math.max(...y) - Math.min(...y);
  if (!(range > 0) || t[0] < 0) return null;
  let best: { alpha: number; beta: number; err: number } | null = null;
  const tryShape = (F: (v: number) => number): void => {
    const x = t.map(F), m = x.length;
    const mx = x.reduce((a, b) => a + b, 0) / m, my = y.reduce((a, b) => a + b, 0) / m;
    const sxx = x.reduce((a, v) => a + (v - mx) ** 2, 0);
    if (!(sxx > 0)) return;
    const alpha = x.reduce((a, v, j) => a + (v - mx) * (y[j] - my), 0) / sxx, beta = my - alpha * mx;
    const err = Math.max(...x.map((v, j) => Math.abs(alpha * v + beta - y[j])));
    if (alpha > 0 && err <= 0.01 * range && (!best || err < best.err)) best = { alpha, beta, err };
  };
  for (const top of [1, 255, 65535]) {
    if (t[t.length - 1] > top) continue;
    tryShape((v) => top * srgbDecode(v / top));
    tryShape((v) => top * srgbEncode(v / top));
    for (let g = 0.3; g <= 3.01; g += 0.05) tryShape((v) => top * Math.pow(v / top, g));
  }
  return best && { alpha: (best as { alpha: number }).alpha, beta: (best as { beta: number }).beta };
}

/** The sRGB transfer function (IEC 61966-2-1), on [0, 1]. */
/** [min, max] of any number of values (a spread into Math.min overflows the stack of a browser worker). */
export function extent(values: ArrayLike<number>): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

export function srgbEncode(v: number): number {
  return v <= 0.0031308 ? 12.92 * v : 1.055 * Math.pow(v, 1 / 2.4) - 0.055;
}

export function srgbDecode(v: number): number {
  return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
}

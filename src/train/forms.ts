/**
 * Compact forms of a fitted linear kernel (the brief's question 5: how small can the model be?).
 *
 *   full       the kernel as fitted: cout * cin * kh * kw taps (+ a bias per output).
 *   separable  each (out, in) kernel K = sum_j s_j u_j v_j^T (its SVD) truncated to rank r: the
 *              smallest r whose discarded singular values are below noise,
 *                sqrt(sum_{j > r} s_j^2) <= 3 * sqrt(sum of the taps' squared standard errors) + 1e-6 * s_1
 *              (a Frobenius-norm change the data cannot tell from the fit; the relative term is
 *              the float32 floor of an exact fit). Stored as two ordinary conv2d layers: a
 *              kh x 1 conv from cin to M = sum of the ranks channels (no bias), then a 1 x kw conv
 *              from M to cout channels (with the bias). (kh + kw) * r parameters per kernel instead
 *              of kh * kw. Exact at the borders too: the vertical pass does not mix columns, so
 *              padding its output's columns equals padding the input's (any border mode; the
 *              first conv has no bias, so constant-0 padding agrees as well).
 *   snapped    per output channel, the kernel as scale * integers when every tap is within noise
 *              of that (|w - scale * n| <= 4 * se + 1e-6 * max |w|, the zero-tap rule of
 *              support.ts): the smallest integers that fit (largest |n| <= 64, divided by their
 *              gcd), the scale then snapped to a simple fraction p / q (q <= 1024) when that also
 *              keeps every tap within noise, and the bias dropped when it is within noise of 0.
 *              Sobel becomes exactly [-1 0 1; -2 0 2; -1 0 1], a 3x3 box 1/9 * ones.
 *
 * Every form is judged on the held-out data (the whole images, border included, as the model
 * runs) and reported with its parameter count and bytes: `bytes` is the float32 weights alone
 * (4 per parameter), `fileBytes` the model JSON file of that form.
 */

import { applyModel } from '../nn/apply.js';
import { kernelLayer, serializeModel, type Model } from '../nn/model.js';
import { convLayer, nestWeights, toF32, type Conv2dSpec, type ConvShape, type LayerSpec, type Network } from '../nn/network.js';
import { svd } from '../kernels/linalg.js';
import { residualStats, type Predict } from './evaluate.js';
import type { Region } from './regions.js';

export interface FormReport {
  form: 'full' | 'separable' | 'snapped' | 'deep';
  params: number;
  bytes: number;
  fileBytes: number;
  /** Held-out accuracy of this form (whole images with the model's border). */
  mse: number;
  psnr: number | null;
  maxAbsError: number;
  /** separable: the rank of each (out, in) kernel. */
  ranks?: number[];
  /** separable: every kernel's singular values (largest first). */
  singularValues?: number[][];
  /** snapped: per output channel, the scale as printed ("1/16", "-0.125", ...) and the integer kernel. */
  scales?: string[];
  integers?: number[][][][];
  /** snapped: whether every output channel snapped (when false the form is not offered). */
  exact?: boolean;
}

/** What the forms are built from: the fitted coefficients and their standard errors. */
export interface FormInput extends ConvShape {
  /** Per output channel: cin*kh*kw taps (weight order), then the bias when fitted. */
  coef: ArrayLike<number>[];
  se: ArrayLike<number>[];
}

/** n = c r' with integer vectors (c, r), or null when the integer matrix n is not rank 1 exactly. */
function integerRankOne(n: number[][]): { col: number[]; row: number[] } | null {
  const rows = n.filter((r) => r.some((v) => v !== 0));
  if (rows.length === 0) return null;
  // The nonzero row with the smallest entries, divided by its gcd, is the row factor.
  const base = rows.reduce((a, b) => (Math.max(...b.map(Math.abs)) < Math.max(...a.map(Math.abs)) ? b : a));
  const g = base.reduce((acc, v) => gcd(acc, Math.abs(v)), 0);
  const row = base.map((v) => v / g);
  const rr = row.reduce((s, v) => s + v * v, 0);
  const col = n.map((r) => r.reduce((s, v, j) => s + v * row[j], 0) / rr);
  if (!col.every(Number.isInteger)) return null;
  if (!n.every((r, i) => r.every((v, j) => v === col[i] * row[j]))) return null;
  return { col, row };
}

/**
 * The separable layers and ranks (see the header). With `snapped` (an exact snapped kernel), a
 * rank-1 kernel of integers is factored in integers (Sobel = [1 2 1]' [-1 0 1]), the scale going
 * to the column factor, so the two passes are exact in float32 whenever the scale is.
 */
export function separableLayers(f: FormInput, snapped?: { coef: Float64Array[]; integers: number[][][][]; exact: boolean }): { layers: [Conv2dSpec, Conv2dSpec]; ranks: number[]; singularValues: number[][]; params: number } {
  const { coef, se, cin, cout, kh, kw, bias } = f;
  const taps = kh * kw;
  const ranks: number[] = [];
  const singularValues: number[][] = [];
  const parts: { o: number; i: number; col: number[]; row: number[] }[] = [];
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      const k = Array.from({ length: taps }, (_, t) => coef[o][i * taps + t]);
      let noise2 = 0;
      for (let t = 0; t < taps; t++) noise2 += se[o][i * taps + t] ** 2;
      const { s, u, v } = svd(k, kh, kw);
      const tol = 3 * Math.sqrt(noise2) + 1e-6 * (s[0] ?? 0);
      let r = 0;
      for (; r < s.length; r++) {
        let tail = 0;
        for (let j = r; j < s.length; j++) tail += s[j] * s[j];
        if (Math.sqrt(tail) <= tol) break;
      }
      ranks.push(r);
      singularValues.push(s);
      const grid = snapped?.exact ? snapped.integers[o][i] : null;
      const ints = r === 1 && grid ? integerRankOne(grid) : null;
      if (ints && grid) {
        // scale * n = (scale * c) r': the scale is any snapped tap over its integer.
        let scale = 0;
        for (let t = 0; t < taps && scale === 0; t++) {
          const nt = grid[Math.floor(t / kw)][t % kw];
          if (nt !== 0) scale = snapped!.coef[o][i * taps + t] / nt;
        }
        parts.push({ o, i, col: ints.col.map((x) => toF32(x * scale)), row: ints.row.map((x) => x + 0) });
        continue;
      }
      for (let j = 0; j < r; j++) {
        const g = Math.sqrt(s[j]);
        parts.push({ o, i, col: u[j].map((x) => toF32(x * g)), row: v[j].map((x) => toF32(x * g)) });
      }
    }
  }
  if (parts.length === 0) parts.push({ o: 0, i: 0, col: new Array<number>(kh).fill(0), row: new Array<number>(kw).fill(0) });
  const M = parts.length;
  const first: Conv2dSpec = {
    type: 'conv2d', inChannels: cin, outChannels: M, kernelSize: [kh, 1],
    weights: parts.map((p) => Array.from({ length: cin }, (_, i) => p.col.map((x) => [i === p.i ? x : 0]))),
    bias: null,
  };
  const second: Conv2dSpec = {
    type: 'conv2d', inChannels: M, outChannels: cout, kernelSize: [1, kw],
    weights: Array.from({ length: cout }, (_, o) => parts.map((p) => [p.o === o ? p.row : new Array<number>(kw).fill(0)])),
    bias: bias ? coef.map((c) => toF32(c[cin * taps])) : null,
  };
  const params = parts.length * (kh + kw) + (bias ? cout : 0);
  return { layers: [first, second], ranks, singularValues, params };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Fractions p/q (q <= 1024) closest to x, simplest first; null when none is within tol. */
function simpleFraction(x: number, tol: number): { p: number; q: number } | null {
  for (let q = 1; q <= 1024; q++) {
    const p = Math.round(x * q);
    if (p !== 0 && Math.abs(x - p / q) <= tol) return { p, q };
  }
  return null;
}

/** The snapped kernel per output channel, or null for channels that do not snap (see the header). */
export function snapKernel(f: FormInput): { coef: Float64Array[]; scales: string[]; integers: number[][][][]; exact: boolean } {
  const { coef, se, cin, cout, kh, kw, bias } = f;
  const per = cin * kh * kw;
  const out: Float64Array[] = [];
  const scales: string[] = [];
  const ints: number[][] = [];
  let exact = true;
  for (let o = 0; o < cout; o++) {
    const w = Array.from({ length: per }, (_, t) => coef[o][t]);
    const maxAbs = Math.max(...w.map(Math.abs));
    const tol = w.map((_, t) => 4 * se[o][t] + 1e-6 * maxAbs);
    let found: { n: number[]; unit: number } | null = null;
    if (maxAbs > 0) {
      for (let d = 1; d <= 64 && !found; d++) {
        const unit0 = maxAbs / d;
        const n = w.map((x) => Math.round(x / unit0));
        let nn = 0, wn = 0;
        for (let t = 0; t < per; t++) { nn += n[t] * n[t]; wn += w[t] * n[t]; }
        const unit = wn / nn;
        if (w.every((x, t) => Math.abs(x - unit * n[t]) <= tol[t])) found = { n, unit };
      }
    }
    const c = new Float64Array(per + (bias ? 1 : 0));
    if (!found) {
      exact = false;
      for (let t = 0; t < per; t++) c[t] = w[t];
      scales.push('');
      ints.push(new Array<number>(per).fill(0));
    } else {
      let { n, unit } = found;
      const g = n.reduce((a, b) => gcd(a, Math.abs(b)), 0) || 1;
      n = n.map((x) => x / g);
      unit *= g;
      // Snap the scale to a simple fraction when every tap stays within noise.
      const maxN = Math.max(...n.map(Math.abs));
      const slack = Math.min(...w.map((x, t) => (tol[t] - Math.abs(x - unit * n[t])) / Math.max(1, Math.abs(n[t]))));
      const fr = simpleFraction(unit, Math.max(0, slack) / Math.max(1, maxN) * maxN);
      let label = String(toF32(unit));
      if (fr) {
        unit = fr.p / fr.q;
        label = fr.q === 1 ? String(fr.p) : `${fr.p}/${fr.q}`;
      }
      for (let t = 0; t < per; t++) c[t] = unit * n[t] + 0;
      scales.push(label);
      ints.push(n.map((x) => x + 0));
    }
    if (bias) {
      const b = coef[o][per];
      c[per] = Math.abs(b) <= 4 * se[o][per] + 1e-6 * maxAbs ? 0 : b;
    }
    out.push(c);
  }
  return { coef: out, scales, integers: nestWeights(ints, cout, cin, kh, kw), exact };
}

/** MSE, PSNR and max abs error of a model on the regions' pixels (the model run on each whole image). */
export function formAccuracy(model: Network, regions: Region[], predict: Predict = applyModel): { mse: number; psnr: number | null; maxAbsError: number } {
  const { sse, n, peak, maxErr } = residualStats(model, regions, predict, 'target');
  const mse = n > 0 ? sse / n : 0;
  const p = peak > 0 ? peak : 1;
  return { mse, psnr: mse > 0 ? 10 * Math.log10((p * p) / mse) : null, maxAbsError: maxErr };
}

/** The layers before and after the kernel of a one-kernel model. */
export function aroundKernel(model: Model): { head: LayerSpec[]; tail: LayerSpec[] } {
  const index = kernelLayer(model)?.index ?? 0;
  return { head: model.layers.slice(0, index), tail: model.layers.slice(index + 1) };
}

/** Reports every form of a fitted single-conv model (`model` holds the full form). */
export function reportForms(model: Model, f: FormInput, regions: Region[], predict: Predict = applyModel): { forms: FormReport[]; separable: ReturnType<typeof separableLayers>; snapped: ReturnType<typeof snapKernel> } {
  const forms: FormReport[] = [];
  const fullParams = f.cout * f.cin * f.kh * f.kw + (f.bias ? f.cout : 0);
  const report = (form: FormReport['form'], m: Model, params: number, extra: Partial<FormReport>): void => {
    forms.push({ form, params, bytes: 4 * params, fileBytes: new TextEncoder().encode(serializeModel(m)).length, ...formAccuracy(m, regions, predict), ...extra });
  };
  report('full', model, fullParams, {});
  // The layers around the conv (curves, output stages) stay with every form.
  const { head, tail } = aroundKernel(model);
  const snapped = snapKernel(f);
  const separable = separableLayers(f, snapped.exact ? snapped : undefined);
  report('separable', { ...model, arch: 'separable', layers: [...head, ...separable.layers, ...tail] }, separable.params, { ranks: separable.ranks, singularValues: separable.singularValues });
  if (snapped.exact) {
    // Stored compactly, a snapped kernel is int8 taps (|n| <= 64) and a float32 scale per output,
    // plus the biases that are not 0: `params` counts its non-zero numbers, `bytes` that storage.
    let nonzero = 0, biases = 0;
    const per = f.cin * f.kh * f.kw;
    for (const c of snapped.coef) for (let t = 0; t < c.length; t++) if (c[t] !== 0) { nonzero++; if (t === per) biases++; }
    const m: Model = { ...model, layers: [...head, convLayer(snapped.coef, f), ...tail] };
    forms.push({
      form: 'snapped', params: nonzero, bytes: f.cout * (per + 4) + 4 * biases, fileBytes: new TextEncoder().encode(serializeModel(m)).length,
      ...formAccuracy(m, regions, predict), scales: snapped.scales, integers: snapped.integers, exact: true,
    });
  }
  return { forms, separable, snapped };
}

/**
 * Curve stages: a kernel with pointwise curves around it, y = g(k * f(x) + b), f per input channel
 * and g per output channel, each piecewise linear (nn/curve.ts; up to 32 knots, monotone so g can
 * be inverted). A blur in linear light on sRGB images is decode -> blur -> encode; a gamma or
 * contrast curve after a sharpen, a sigmoid after an edge filter are g alone.
 *
 *   curve-after    y = g(k * x + b)
 *   curve-before   y = k * f(x) + b
 *   curves         both
 *
 * Fitted by alternating least squares on sampled windows (Windows: up to 40 000, stratified by the
 * target's value so rare values count), each step a least-squares solve:
 *   G  g given the kernel and f: least squares of y on the hat functions of z = k * f(x) + b, the
 *      knots where z lies and where g bends (train/curve.ts fitCurve);
 *   F  f given the kernel and g: z - b is linear in f's values at its knots through the kernel's
 *      taps; a Gauss-Newton step through g (y ~ g(z0) + g'(z0) (z - z0)), then f is normalised
 *      (f(t0) = t0, f(t_end) = t_end: its scale and offset belong to the kernel);
 *   K  the kernel given the curves: the same Gauss-Newton step in the taps, a weighted Gram of
 *      the windows of f(x), solved by the exact solver (exact.ts).
 * Rounds stop when the loss (y - g(k * f(x) + b))^2 improves by less than ROUND_TOLERANCE of
 * itself. Where f and g trade against each other the rounds crawl, so a curve before the kernel
 * starts from the best of a few transfer functions (bestStart), and rounds try jumps along their
 * step (alternate). With --ksize auto, or a kernel too large for the rounds, the size is set once
 * the curves are known, the kernel then solved on the transformed problem (inputs f(x), targets
 * g^-1(y): the linear stage's Gram and rule).
 *
 * A curve is a 1x1 conv, a relu and a 1x1 conv (nn/curve.ts curveLayers), so a model is layers
 * like any other: apply, the streaming apply and the exporters need nothing new. What each curve
 * is (knots, values, a name: identity, gamma, sRGB, clip) is kept in training.curves for people.
 */

import { KernelLearnError } from '../../errors.js';
import type { Image } from '../../image.js';
import { crossStats, GramCache, gramStats, type GramPair, type GramStats } from '../../kernels/gram.js';
import { addWeightedRows, mirrored, normalEquations } from '../../kernels/linalg.js';
import { curveFunction, curveLayers, identityCurve, inverse, monotony, segmentLocator, type Curve, type CurvesRecord } from '../../nn/curve.js';
import type { LayerSpec } from '../../nn/network.js';
import { curveName, extent, fitCurve, knownScale, quantileKnots, srgbDecode } from '../curve.js';
import { solveExact, type ExactSolution } from '../exact.js';
import { clampLayer } from './clamp.js';
import { LINEAR } from './linear.js';
import { square, type KernelSize, type OutputStage, type StageData, type StageFit } from './stage.js';

export type CurveKind = 'curve-after' | 'curve-before' | 'curves';

/** Knots of each curve (the model format's limit, MAX_KNOTS). */
export const CURVE_KNOTS = 32;
/** Windows the rounds fit from. */
const SAMPLES = 40_000;
/** Most values (windows x taps) the rows of one size hold: 64 MB. */
const WINDOW_VALUES = 8_000_000;
const MAX_ROUNDS = 40;
/** A round that improves the loss by less than this share ends the rounds (the tail of alternating steps is slow and shaves only noise). */
const ROUND_TOLERANCE = 1e-3;

/** One state of the alternating fit. */
interface State {
  size: KernelSize;
  f: Curve[] | null;
  g: Curve[] | null;
  /** Per output: taps in weight order, then the bias. */
  coef: Float64Array[];
  /** The weighted mean of (y - g(k * f(x) + b))^2 over the windows. */
  loss: number;
}

/**
 * Most taps (cin kh kw) the rounds fit at: each K step solves its own weighted Gram of the
 * windows. A larger kernel is solved once the curves are known (atSize).
 */
const ROUND_TAPS = 81;

function stage(kind: CurveKind): OutputStage {
  const before = kind !== 'curve-after', after = kind !== 'curve-before';
  return {
    name: kind,
    exactOnly: 'a curve stage is fitted by alternating least squares',
    linearErrors: true,
    convOutputs: (cout) => cout,
    // --arch auto tries the curve after the kernel and both curves; a curve before it alone is the
    // second with g the identity (and named so).
    worthTrying: () => kind !== 'curve-before',
    check: () => undefined,
    fit(data, wanted, auto) {
      const samples = sampleWindows(data.train, auto ? wanted.kh : Math.max(wanted.kh, wanted.kw));
      const win = windowsAt(data, samples, roundSize(data.cin, auto ? square(Math.min(5, wanted.kh)) : wanted));
      // f on the inputs' full scale from here on (normaliseBefore), so that the size search and
      // finish see the same images f(x) (and the Gram of them is computed once).
      let state = normaliseBefore(alternate(win, before ? bestStart(data, win, after) : initial(data, win, null, after), before, after, MAX_ROUNDS), data.bias);
      let sizeChoice: StageFit['sizeChoice'];
      let size = wanted;
      // The inputs' X^T X (of f(x) with a curve before the kernel), kept from the size search for finish.
      const inputs = new GramCache(true);
      if (auto) {
        const sized = LINEAR.fit({ ...data, train: transformed(data.train, state), val: data.val && transformed(data.val, state), cache: inputs }, wanted, true);
        sizeChoice = sized.sizeChoice;
        size = sized.size;
      }
      if (size.kh !== state.size.kh || size.kw !== state.size.kw) {
        const larger = windowsAt(data, samples, size);
        state = atSize(data, larger, state, inputs);
        if (size.kh * size.kw * data.cin <= ROUND_TAPS) state = normaliseBefore(alternate(larger, state, before, after, MAX_ROUNDS), data.bias);
      }
      return finish(data, state, sizeChoice, inputs);
    },
    outputLayers: () => [],
    responseMap: () => undefined,
  };
}

export const CURVE_AFTER = stage('curve-after');
export const CURVE_BEFORE = stage('curve-before');
export const CURVES = stage('curves');

/** The size the rounds run at: `size`, or the largest odd square within ROUND_TAPS. */
function roundSize(cin: number, size: KernelSize): KernelSize {
  if (cin * size.kh * size.kw <= ROUND_TAPS) return size;
  let k = Math.max(1, Math.floor(Math.sqrt(ROUND_TAPS / cin)));
  if (k % 2 === 0) k--;
  return square(Math.min(k, size.kh, size.kw) | 1);
}

// ---------------------------------------------------------------------------------------------
// The windows

/**
 * Windows the rounds fit from: anchors [pair, y, x] of valid windows (of the largest size to be
 * fitted), stratified by the target's value (BINS equal bins over its range, up to SAMPLES / BINS
 * windows from each, evenly spaced), each weighted by the windows its bin stands for. Rare values
 * (the dark end of a gamma curve, a sigmoid's flat tails) are in every fit, at their true weight,
 * so the curves span the targets' whole range.
 */
interface Samples {
  at: Int32Array;
  weight: Float64Array;
}

const BINS = 64;

function sampleWindows(pairs: GramPair[], k: number): Samples {
  const a = k >> 1;
  const [lo, hi] = extent(channelValues(pairs, 0, 'target'));
  const span = hi - lo || 1;
  // Each anchor's bin (of the targets' mean over channels), in visiting order (pairs, rows, columns): counted, then sampled.
  const bins = pairs.map((p) => {
    const t = p.target, W = t.width, plane = W * t.height, C = t.channels;
    const out = new Uint8Array(Math.max(0, p.input.height - k + 1) * Math.max(0, p.input.width - k + 1));
    let i = 0;
    for (let y = a; y + (k - 1 - a) < p.input.height; y++) {
      for (let x = a; x + (k - 1 - a) < p.input.width; x++) {
        let v = 0;
        for (let c = 0; c < C; c++) v += t.data[c * plane + y * W + x];
        out[i++] = Math.min(BINS - 1, Math.max(0, Math.floor(((v / C - lo) / span) * BINS)));
      }
    }
    return out;
  });
  const count = new Float64Array(BINS);
  for (const b of bins) for (let i = 0; i < b.length; i++) count[b[i]]++;
  const stride = Array.from(count, (n) => Math.max(1, Math.ceil(n / (SAMPLES / BINS))));
  const seen = new Float64Array(BINS), at: number[] = [], weight: number[] = [];
  pairs.forEach((p, pi) => {
    const b = bins[pi];
    let i = 0;
    for (let y = a; y + (k - 1 - a) < p.input.height; y++) {
      for (let x = a; x + (k - 1 - a) < p.input.width; x++) {
        const bin = b[i++];
        if (seen[bin]++ % stride[bin] !== 0) continue;
        at.push(pi, y, x);
        weight.push(count[bin] / Math.ceil(count[bin] / stride[bin]));
      }
    }
  });
  if (at.length === 0) throw new KernelLearnError(`the training images are too small for a curve stage with a ${k}x${k} kernel`);
  return { at: Int32Array.from(at), weight: Float64Array.from(weight) };
}

/** The sampled windows at one kernel size as rows: what every step of the rounds reads. */
interface Windows {
  size: KernelSize;
  cin: number;
  bias: boolean;
  n: number;
  /** Values per row: cin kh kw, in weight order. */
  taps: number;
  /** The inputs under each window, n x taps. */
  raw: Float64Array;
  /** Per output channel, the target at each window's anchor. */
  targets: Float64Array[];
  weight: Float64Array;
  /** Where each raw value sits among f's knots (F's hat weights), for the knots they were found for. */
  hats?: { knots: number[][]; j: Int32Array; lam: Float64Array };
  /** The rows through the last f asked for. */
  through?: { f: Curve[]; rows: Float64Array };
}

/** The windows of `size` at the sampled anchors (every stride-th when they would exceed WINDOW_VALUES, weighted up). */
function windowsAt(data: StageData, samples: Samples, size: KernelSize): Windows {
  const { kh, kw } = size, ay = kh >> 1, ax = kw >> 1, taps = data.cin * kh * kw;
  const all = samples.weight.length, stride = Math.max(1, Math.ceil((all * taps) / WINDOW_VALUES));
  const n = Math.ceil(all / stride);
  const raw = new Float64Array(n * taps), weight = new Float64Array(n);
  const targets = Array.from({ length: data.cout }, () => new Float64Array(n));
  for (let r = 0; r < n; r++) {
    const i = r * stride, pi = samples.at[3 * i], y = samples.at[3 * i + 1], x = samples.at[3 * i + 2];
    const { input: im, target: t } = data.train[pi];
    const W = im.width, plane = W * im.height;
    let v = r * taps;
    for (let c = 0; c < data.cin; c++) for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) raw[v++] = im.data[c * plane + (y - ay + a) * W + x - ax + b];
    weight[r] = samples.weight[i] * stride;
    targets.forEach((tg, o) => (tg[r] = t.data[(o * t.height + y) * t.width + x]));
  }
  return { size, cin: data.cin, bias: data.bias, n, taps, raw, targets, weight };
}

/** The rows' inputs through f (the raw rows without one); the last f's rows are kept (the steps of a round share them). */
function rowsThrough(win: Windows, f: Curve[] | null): Float64Array {
  if (!f) return win.raw;
  if (win.through?.f === f) return win.through.rows;
  const { j, lam } = hatsOf(win, f);
  const per = win.taps / win.cin, out = new Float64Array(win.raw.length);
  const valuesOf = Array.from({ length: win.taps }, (_, t) => Float64Array.from(f[Math.floor(t / per)].values));
  for (let r = 0, v = 0; r < win.n; r++) {
    for (let t = 0; t < win.taps; t++, v++) {
      const y = valuesOf[t], k = j[v];
      out[v] = y[k] + (y[k + 1] - y[k]) * lam[v];
    }
  }
  win.through = { f, rows: out };
  return out;
}

/** Each raw value's knot interval of f and its place in it (f's knots never move in a fit: found once). */
function hatsOf(win: Windows, f: Curve[]): NonNullable<Windows['hats']> {
  if (win.hats && win.hats.knots.every((t, c) => t === f[c].knots)) return win.hats;
  const per = win.taps / win.cin, j = new Int32Array(win.raw.length), lam = new Float64Array(win.raw.length);
  const locators = f.map((c) => segmentLocator(c.knots, 'left'));
  for (let v = 0; v < win.raw.length; v++) {
    const ch = Math.floor((v % win.taps) / per), t = f[ch].knots, x = win.raw[v];
    const k = locators[ch](x);
    j[v] = k;
    lam[v] = (x - t[k]) / (t[k + 1] - t[k]);
  }
  win.hats = { knots: f.map((c) => c.knots), j, lam };
  return win.hats;
}

/** The kernel's responses z = k . row + b. */
function responses(win: Windows, rows: Float64Array, coef: Float64Array): Float64Array {
  const { n, taps } = win, z = new Float64Array(n), b = win.bias ? coef[taps] : 0;
  for (let r = 0; r < n; r++) {
    let v = b;
    for (let t = 0, o = r * taps; t < taps; t++) v += coef[t] * rows[o + t];
    z[r] = v;
  }
  return z;
}

/** Weighted mean of (y - g(z))^2 over the windows and output channels. */
function windowLoss(win: Windows, s: Omit<State, 'loss'>): number {
  const rows = rowsThrough(win, s.f);
  let sum = 0, n = 0;
  win.targets.forEach((y, o) => {
    const z = responses(win, rows, s.coef[o]);
    const g = s.g ? curveFunction(s.g[o]) : null;
    for (let r = 0; r < win.n; r++) {
      sum += win.weight[r] * (y[r] - (g ? g(z[r]) : z[r])) ** 2;
      n += win.weight[r];
    }
  });
  return sum / n;
}

/** Each channel of an image through its curve. */
function through(image: Image, curves: Curve[]): Image {
  const plane = image.width * image.height;
  const data = new Float64Array(image.data.length);
  for (let c = 0; c < image.channels; c++) {
    const curve = curveFunction(curves[c]);
    for (let i = c * plane; i < (c + 1) * plane; i++) data[i] = curve(image.data[i]);
  }
  return { ...image, depth: 'f64', data };
}
/** The transformed problem of a state: inputs f(x), targets h(y) = g^-1(y). */
function transformed(pairs: GramPair[], s: { f: Curve[] | null; g: Curve[] | null }): GramPair[] {
  const h = s.g?.map(inverse);
  return pairs.map((p) => ({ input: s.f ? inputThrough(p.input, s.f) : p.input, target: h ? through(p.target, h) : p.target }));
}

/** Inputs through f, kept while f lives: the same image objects for the size search and finish, so a GramCache knows them. */
const inputsThrough = new WeakMap<Curve[], WeakMap<Image, Image>>();

function inputThrough(image: Image, f: Curve[]): Image {
  let byImage = inputsThrough.get(f);
  if (!byImage) inputsThrough.set(f, (byImage = new WeakMap()));
  let out = byImage.get(image);
  if (!out) byImage.set(image, (out = through(image, f)));
  return out;
}
/** Values of one channel over the pairs (a strided subset of a large image). */
function channelValues(pairs: GramPair[], c: number, which: 'input' | 'target'): Float64Array {
  const out: number[] = [];
  for (const p of pairs) {
    const im = which === 'input' ? p.input : p.target;
    const plane = im.width * im.height;
    const step = Math.max(1, Math.floor(plane / 50_000));
    for (let i = c * plane; i < (c + 1) * plane; i += step) out.push(im.data[i]);
  }
  return Float64Array.from(out);
}

// ---------------------------------------------------------------------------------------------
// The rounds

/**
 * Where f and g trade against each other the rounds crawl (in flat regions only g(f(x)) is seen,
 * so f -> phi(f), g -> g(phi^-1) changes little), so a curve before the kernel starts from the
 * best of a few transfer functions after START_ROUNDS rounds of g and the kernel alone: the
 * identity, the sRGB decoding and the powers 2.2 and 1 / 2.2 on the inputs' range (gamma-encoded
 * images are the common case of a blur in linear light).
 */
function bestStart(data: StageData, win: Windows, after: boolean): State {
  const few = thinned(win, Math.ceil(win.n / START_WINDOWS));
  const knots = Array.from({ length: data.cin }, (_, c) => quantileKnots(channelValues(data.train, c, 'input'), CURVE_KNOTS));
  const shapes: ((u: number) => number)[] = [(u) => u, (u) => srgbDecode(u), (u) => u ** 2.2, (u) => u ** (1 / 2.2)];
  const starts = shapes.map((shape) => {
    const f = knots.map((t) => {
      const lo = t[0], span = t[t.length - 1] - lo;
      return { knots: t, values: t.map((v) => Math.fround(lo + span * shape((v - lo) / span))) };
    });
    return alternate(few, initial(data, few, f, after), false, after, START_ROUNDS);
  });
  const best = starts.reduce((a, b) => (b.loss < a.loss ? b : a));
  return few === win ? best : { ...best, loss: windowLoss(win, best) };
}

/** Rounds of g and the kernel alone each start of bestStart gets. */
const START_ROUNDS = 1;
/**
 * Windows the starts are compared on (every k-th of the rounds' windows, weighted up): a ranking
 * of four shapes needs far fewer than the fit, and the starts were 40% of a curves fit's time.
 */
const START_WINDOWS = 8_000;

/** Every k-th window, each weighing k times as much (`win` itself for k = 1). */
function thinned(win: Windows, k: number): Windows {
  if (k <= 1) return win;
  const n = Math.ceil(win.n / k), { taps } = win;
  const raw = new Float64Array(n * taps), weight = new Float64Array(n), targets = win.targets.map(() => new Float64Array(n));
  for (let r = 0; r < n; r++) {
    raw.set(win.raw.subarray(r * k * taps, (r * k + 1) * taps), r * taps);
    weight[r] = win.weight[r * k] * k;
    targets.forEach((t, o) => (t[r] = win.targets[o][r * k]));
  }
  return { size: win.size, cin: win.cin, bias: win.bias, n, taps, raw, targets, weight };
}

/** The linear fit of f(x) (the identity without f), with g the identity on the targets' range. */
function initial(data: StageData, win: Windows, f: Curve[] | null, after: boolean): State {
  const g = after ? win.targets.map((y) => identityCurve(...extent(y))) : null;
  const start = { size: win.size, f, g: null, coef: win.targets.map(() => new Float64Array(win.taps + (win.bias ? 1 : 0))), loss: Infinity };
  const coef = fitK(win, start);
  return { ...start, g, coef, loss: windowLoss(win, { ...start, g, coef }) };
}

/**
 * Rounds of G, F and K (see the header) until the loss improves by less than ROUND_TOLERANCE of
 * itself. F and K are Gauss-Newton steps through g, so the rounds go downhill on the loss itself.
 * From round JUMPS_FROM on, g keeps its knots and each round also tries a jump along its step,
 * P + alpha (P - P_prev), as Bro's extrapolation for alternating least squares does: alpha doubles
 * while jumps help and falls back to 1 when one does not.
 */
function alternate(win: Windows, start: State, before: boolean, after: boolean, rounds: number): State {
  let s = start;
  let alpha = 1;
  for (let round = 0; round < rounds; round++) {
    let next: State = { ...s };
    if (after) next.g = fitG(win, next, round >= JUMPS_FROM ? s.g : null);
    if (before) next.f = fitF(win, next);
    next = { ...next, coef: fitK(win, next) };
    next.loss = windowLoss(win, next);
    if (round >= JUMPS_FROM) {
      const jump = extrapolate(s, next, alpha);
      if (jump) jump.loss = windowLoss(win, jump);
      if (jump && jump.loss < next.loss) {
        next = jump;
        alpha = Math.min(2 * alpha, 32);
      } else alpha = 1;
    }
    const improved = next.loss < s.loss * (1 - ROUND_TOLERANCE);
    if (improved || !Number.isFinite(s.loss) || next.loss < s.loss) s = next;
    if (!improved) break;
  }
  return s;
}

/** The round from which g keeps its knots and rounds try jumps: by then the knots follow g's bends. */
const JUMPS_FROM = 3;

/** The state moved on along the last round's step by alpha; null where a jump would break g's monotony. */
function extrapolate(prev: State, next: State, alpha: number): State | null {
  const along = (a: number[], b: number[]): number[] => b.map((v, i) => Math.fround(v + alpha * (v - a[i])));
  const curves = (a: Curve[] | null, b: Curve[] | null): Curve[] | null => (a && b ? b.map((c, i) => ({ knots: c.knots, values: along(a[i].values, c.values) })) : b);
  const g = curves(prev.g, next.g);
  if (g && !g.every((c) => monotony(c))) return null;
  const coef = next.coef.map((c, o) => Float64Array.from(c, (v, i) => v + alpha * (v - prev.coef[o][i])));
  return { ...next, f: curves(prev.f, next.f), g, coef, loss: Infinity };
}

/** G: each output's curve from its responses (the kernel and f fixed), on the knots of `keep` when given. */
function fitG(win: Windows, s: State, keep: Curve[] | null): Curve[] {
  const rows = rowsThrough(win, s.f);
  return win.targets.map((y, o) => {
    const curve = fitCurve(responses(win, rows, s.coef[o]), y, win.weight, CURVE_KNOTS, 'yes', keep?.[o].knots);
    if (!monotony(curve)) throw new KernelLearnError("the curve after the kernel is flat: the targets do not vary with the kernel's output");
    return curve;
  });
}

/**
 * The Gauss-Newton view of y - g(z) at the current responses z0: y ~ g(z0) + g'(z0) (z - z0), so
 * z should be z0 + (y - g(z0)) / g'(z0), weighed by g'(z0)^2 (where g is flat, as a saturated
 * curve is, the targets say nothing about z). Without g: z should be y, weight 1.
 */
function linearised(win: Windows, g: Curve | undefined, y: Float64Array, z0: Float64Array): { want: Float64Array; w: Float64Array } {
  const want = new Float64Array(win.n), w = new Float64Array(win.n);
  if (!g) {
    want.set(y);
    w.set(win.weight);
    return { want, w };
  }
  // slopeAt and evaluate at z0, on the segment both use.
  const segment = segmentLocator(g.knots, 'right'), { knots: t, values: v } = g;
  for (let r = 0; r < win.n; r++) {
    const z = z0[r], j = segment(z);
    const slope = (v[j + 1] - v[j]) / (t[j + 1] - t[j]);
    want[r] = slope !== 0 ? z + (y[r] - (v[j] + slope * (z - t[j]))) / slope : z;
    w[r] = win.weight[r] * slope * slope;
  }
  return { want, w };
}

/**
 * F: f's values at its knots (the kernel and g fixed): z - b is linear in them through the taps
 * (each tap's input sits between two knots: hat weights), a weighted least-squares problem on the
 * linearised targets; then normalised to f(t0) = t0, f(t_end) = t_end.
 */
function fitF(win: Windows, s: State): Curve[] {
  const f = s.f!, { j, lam } = hatsOf(win, f), per = win.taps / win.cin;
  const offset = f.map((_, c) => f.slice(0, c).reduce((n, k) => n + k.knots.length, 0));
  const q = offset[win.cin - 1] + f[win.cin - 1].knots.length;
  const tapOffset = Int32Array.from({ length: win.taps }, (_, t) => offset[Math.floor(t / per)]);
  const rows = rowsThrough(win, f);
  const eq = normalEquations(q, false);
  // Each window's features (its taps spread over their knots' hats, weighed by the taps), a block
  // of windows at a time, as rows of the same weighted least squares as the K step's.
  const BLOCK = 1024, feat = new Float64Array(BLOCK * q), target = new Float64Array(BLOCK);
  win.targets.forEach((y, o) => {
    const coef = s.coef[o], { want, w } = linearised(win, s.g?.[o], y, responses(win, rows, coef));
    const b = win.bias ? coef[win.taps] : 0;
    for (let r0 = 0; r0 < win.n; r0 += BLOCK) {
      const m = Math.min(BLOCK, win.n - r0);
      feat.fill(0);
      for (let i = 0; i < m; i++) {
        const r = r0 + i;
        target[i] = want[r] - b;
        if (w[r] === 0) continue;
        for (let t = 0, v = r * win.taps; t < win.taps; t++, v++) {
          const k = i * q + tapOffset[t] + j[v];
          feat[k] += coef[t] * (1 - lam[v]);
          feat[k + 1] += coef[t] * lam[v];
        }
      }
      addWeightedRows(eq, feat, 0, m, q, w.subarray(r0, r0 + m), target);
    }
  });
  const { xtx, xty } = mirrored(eq);
  const st: GramStats = { cin: 1, cout: 1, kh: 1, kw: q, bias: false, p: q, xtx, xty, yty: new Float64Array(1), n: 1 };
  const u = solveExact(st, { condition: false }).coef[0];
  return f.map((c, ch) => normalised(c.knots, Array.from(u.subarray(offset[ch], offset[ch] + c.knots.length))));
}

/** A curve with values u at knots t, mapped affinely so that it is t at both ends. */
function normalised(t: number[], u: number[]): Curve {
  const m = t.length, span = u[m - 1] - u[0];
  const a = span !== 0 ? (t[m - 1] - t[0]) / span : 1;
  return { knots: t, values: u.map((v) => Math.fround(t[0] + a * (v - u[0])) + 0) };
}

/**
 * K: the kernel given the curves, the weighted least-squares fit of the linearised targets on the
 * rows of f(x) (a Gram of sqrt(w)-scaled columns, each entry one dot product), by the exact solver.
 */
function fitK(win: Windows, s: State): Float64Array[] {
  const rows = rowsThrough(win, s.f);
  return win.targets.map((y, o) => {
    const { want, w } = linearised(win, s.g?.[o], y, responses(win, rows, s.coef[o]));
    const eq = normalEquations(win.taps, win.bias);
    addWeightedRows(eq, rows, 0, win.n, win.taps, w, want);
    const { xtx, xty, yty, total } = mirrored(eq);
    const st: GramStats = { cin: win.cin, cout: 1, kh: win.size.kh, kw: win.size.kw, bias: win.bias, p: xty.length, xtx, xty, yty: Float64Array.of(yty), n: Math.max(total, 1e-300) };
    return solveExact(st, { condition: false }).coef[0];
  });
}

/** The state's curves with a kernel of the windows' size: the exact solver on the transformed problem (all training pixels). */
function atSize(data: StageData, win: Windows, s: State, inputs: GramCache): State {
  const moved = { ...s, size: win.size };
  const next = { ...moved, coef: solveExact(transformedStats(data, moved, inputs), { condition: false }).coef };
  return { ...next, loss: windowLoss(win, next) };
}

/**
 * The transformed problem's statistics, inputs f(x) and targets h(y) = g^-1(y), from the Gram of
 * f(x) (gram.ts; crossStats for the new targets): for the kernel at a size too large for the
 * rounds, and the fit's condition number and standard errors (given the curves).
 */
function transformedStats(data: StageData, s: Omit<State, 'loss'>, cache?: GramCache): GramStats {
  const gram = gramStats(s.f ? transformed(data.train, { f: s.f, g: null }) : data.train, s.size.kh, s.size.kw, data.bias, cache);
  return s.g ? crossStats(transformed(data.train, s), gram) : gram;
}

// ---------------------------------------------------------------------------------------------
// The result

/**
 * A curve after the kernel leaves the kernel's scale and offset free (g absorbs them): a kernel
 * whose taps have a clear sum (over a tenth of their absolute sum: a blur, a sharpen) is scaled to
 * sum 1 with bias 0, so it reads as the filter it is and g maps the filter's output (in the
 * inputs' units) to the target. Edge kernels (taps summing to about 0) keep the scale the fit gave.
 */
/**
 * A curve before the kernel is free in scale and offset (the kernel takes them back): one that is a
 * known transfer function up to them (train/curve.ts knownScale: sRGB, a power) becomes that
 * function on the inputs' full scale, and the kernel compensates exactly.
 */
function normaliseBefore(s: State, bias: boolean): State {
  if (!s.f || !bias) return s;
  const f = [...s.f], coef = s.coef.map((c) => Float64Array.from(c)), per = (coef[0].length - 1) / f.length;
  f.forEach((curve, ch) => {
    const known = knownScale(curve);
    if (!known) return;
    const { alpha, beta } = known;
    f[ch] = { knots: curve.knots, values: curve.values.map((v) => Math.fround((v - beta) / alpha)) };
    // z = sum k f + b = sum (alpha k) f' + (b + beta sum k) over this channel's taps.
    for (const c of coef) {
      let sum = 0;
      for (let t = ch * per; t < (ch + 1) * per; t++) (sum += c[t]), (c[t] *= alpha);
      c[c.length - 1] += beta * sum;
    }
  });
  return { ...s, f, coef };
}

function normaliseAfter(s: State, bias: boolean): State {
  if (!s.g) return s;
  const taps = s.coef[0].length - (bias ? 1 : 0);
  const coef = s.coef.map((c) => Float64Array.from(c)), g = [...s.g];
  coef.forEach((c, o) => {
    let sum = 0, abs = 0;
    for (let t = 0; t < taps; t++) (sum += c[t]), (abs += Math.abs(c[t]));
    if (!(Math.abs(sum) > 0.1 * abs)) return;
    const shift = bias ? c[taps] : 0;
    for (let t = 0; t < c.length; t++) c[t] = t < taps ? c[t] / sum : 0;
    const knots = g[o].knots.map((t) => Math.fround((t - shift) / sum)), values = [...g[o].values];
    g[o] = sum > 0 ? { knots, values } : { knots: knots.reverse(), values: values.reverse() };
  });
  return { ...s, coef, g };
}

/** The stage's fit: the kernel with its condition number, the curves as layers and as a record. */
function finish(data: StageData, fitted: State, sizeChoice: StageFit['sizeChoice'], inputs: GramCache): StageFit {
  const s = normaliseAfter(fitted, data.bias);
  // The transformed problem's statistics: the kernel's condition number and standard errors (given the curves).
  const stats = transformedStats(data, s, inputs);
  const sol: ExactSolution = { ...solveExact(stats), coef: s.coef, loss: s.loss };
  const record = (curves: Curve[]): NonNullable<CurvesRecord['after']> => curves.map((c) => ({ ...c, monotone: monotony(c), name: curveName(c) }));
  const g = s.g;
  const after: LayerSpec[] = g ? [...curveLayers(g), ...(data.limits ? [clampLayer(data.limits)] : [])] : data.limits ? [clampLayer(data.limits)] : [];
  const clampTo = (v: number): number => (data.limits ? Math.min(data.limits.hi, Math.max(data.limits.lo, v)) : v);
  const g0 = g && data.cout === 1 ? curveFunction(g[0]) : null;
  return {
    size: s.size, solution: sol, stats, valStats: null, sizeChoice, warnings: [],
    reason: `alternating least squares of the kernel and its ${s.f && g ? 'curves' : 'curve'}`,
    around: {
      before: s.f ? curveLayers(s.f) : [],
      after,
      // The border search maps the conv's inputs by f and its one response by g (then the clamp);
      // several outputs, each through its own g, are judged by running the network.
      responseMap: g ? (g0 ? (v: number) => clampTo(g0(v)) : null) : data.limits ? clampTo : undefined,
      ...(s.f ? { inputMap: s.f.map(curveFunction) } : {}),
    },
    curves: { ...(s.f ? { before: record(s.f) } : {}), ...(g ? { after: record(g) } : {}) },
  };
}

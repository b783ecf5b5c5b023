/**
 * Pointwise curves: piecewise-linear functions given by their values at knots, straight beyond
 * the end knots (the end segments extended). A curve is exactly a 1x1 conv, a relu and a 1x1 conv
 * (curveLayers), so a model with curves is layers like any other; the model file keeps the knots
 * and values beside them for people (training.curves), checked against the layers when read.
 * train/curve.ts fits them.
 *
 * Knots and values are float32 numbers, the precision of the layers, so a curve and the layers it
 * becomes compute the same function.
 */

import type { Conv2dSpec, LayerSpec } from './network.js';
import { toF32 } from './network.js';

export interface Curve {
  /** Strictly increasing knot positions (float32 values). */
  knots: number[];
  /** The curve's values at the knots (float32 values). */
  values: number[];
}

/** Most knots a curve may have. */
export const MAX_KNOTS = 32;

/**
 * The segment j (0 .. m - 2) of the knots t that x falls in, the end segments taking everything
 * beyond (and NaN the first). On an inner knot itself, `atKnot` says which: 'right' the segment
 * that starts there (evaluate, slopeAt), 'left' the one that ends there (the hat functions the
 * curves are fitted on, train/curve.ts). A binary search: the j a scan from the left finds.
 */
export function segmentAt(t: ArrayLike<number>, x: number, atKnot: 'left' | 'right'): number {
  let lo = 0, hi = t.length - 2;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (atKnot === 'right' ? x >= t[mid + 1] : x > t[mid + 1]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Equal cells of a segmentLocator's table. */
const CELLS = 1024;

/**
 * segmentAt for many values on the same knots (at least two): a table of equal cells over the
 * knots' range gives a segment at or before x's (one before the cell's left edge's: the cell of x
 * may be rounded up), then a scan from it, usually of no step: the same j, without a binary
 * search's unpredictable branches (they were most of a curve fit's passes over its samples).
 */
export function segmentLocator(knots: number[], atKnot: 'left' | 'right'): (x: number) => number {
  const m = knots.length, lo = knots[0], span = knots[m - 1] - lo;
  if (m < 3 || !(span > 0)) return (x) => segmentAt(knots, x, atKnot);
  const t = Float64Array.from(knots), scale = CELLS / span;
  const start = Int32Array.from({ length: CELLS + 1 }, (_, c) => Math.max(0, segmentAt(t, lo + c / scale, atKnot) - 1));
  // NaN and values below the first knot start at 0, values past the last at the last cell.
  const first = (x: number): number => {
    const c = (x - lo) * scale;
    return c > 0 ? start[c < CELLS ? c | 0 : CELLS] : 0;
  };
  // One loop per rule, so that each is compiled for its own comparison.
  if (atKnot === 'right') {
    return (x) => {
      let j = first(x);
      while (j < m - 2 && x >= t[j + 1]) j++;
      return j;
    };
  }
  return (x) => {
    let j = first(x);
    while (j < m - 2 && x > t[j + 1]) j++;
    return j;
  };
}

/**
 * The curve as a function for many values, the same numbers as evaluate: the integers 0..255
 * (8-bit pixels) from a table of its values there, others through a segmentLocator.
 */
export function curveFunction(c: Curve): (v: number) => number {
  if (c.knots.length < 2) return (v) => evaluate(c, v);
  const table = Float64Array.from({ length: TABLED }, (_, k) => evaluate(c, k));
  const segment = segmentLocator(c.knots, 'right'), { knots: t, values: y } = c;
  return (v) => {
    const k = v | 0;
    if (k === v && k >= 0 && k < TABLED) return table[k];
    const j = segment(v);
    return y[j] + ((y[j + 1] - y[j]) / (t[j + 1] - t[j])) * (v - t[j]);
  };
}

/** The curve at v: linear between knots, the end segments extended beyond. */
export function evaluate(c: Curve, v: number): number {
  const { knots: t, values: y } = c;
  const m = t.length;
  if (m === 1) return y[0];
  const j = segmentAt(t, v, 'right');
  return y[j] + ((y[j + 1] - y[j]) / (t[j + 1] - t[j])) * (v - t[j]);
}

/** Integers a curveFunction tables: 8-bit pixel values. */
const TABLED = 256;

/** The curve's slope at v (the right segment's at a knot). */
export function slopeAt(c: Curve, v: number): number {
  const { knots: t, values: y } = c;
  const m = t.length;
  if (m === 1) return 0;
  const j = segmentAt(t, v, 'right');
  return (y[j + 1] - y[j]) / (t[j + 1] - t[j]);
}

/** 'increasing', 'decreasing' (strictly, so invertible) or null. */
export function monotony(c: Curve): 'increasing' | 'decreasing' | null {
  const d = c.values.slice(1).map((v, j) => v - c.values[j]);
  if (d.every((x) => x > 0)) return 'increasing';
  if (d.every((x) => x < 0)) return 'decreasing';
  return null;
}

/** The inverse of a strictly monotone curve (its knots and values swapped). */
export function inverse(c: Curve): Curve {
  const dir = monotony(c);
  if (!dir) throw new Error('inverse: the curve is not strictly monotone');
  return dir === 'increasing' ? { knots: [...c.values], values: [...c.knots] } : { knots: [...c.values].reverse(), values: [...c.knots].reverse() };
}

/** The identity on [lo, hi]. */
export function identityCurve(lo: number, hi: number): Curve {
  const a = toF32(lo), b = toF32(hi > lo ? hi : lo + 1);
  return { knots: [a, b], values: [a, b] };
}

/**
 * Curves of several channels as layers: a 1x1 conv from C channels to C * m hidden units (per
 * channel c: relu(t0 - v), then relu(v - t_j) for j = 0 .. m - 2), a relu, and a 1x1 conv back to C
 * channels weighting them by -s_0 and the slope changes s_j - s_(j-1), with bias y0. Every curve
 * of one model has the same knot count m (padded with repeated end knots: zero slope changes).
 */
export function curveLayers(curves: Curve[]): LayerSpec[] {
  const C = curves.length;
  const m = Math.max(...curves.map((c) => c.knots.length));
  const first: Conv2dSpec = { type: 'conv2d', inChannels: C, outChannels: C * m, kernelSize: [1, 1], weights: [], bias: [] };
  const second: Conv2dSpec = { type: 'conv2d', inChannels: C * m, outChannels: C, kernelSize: [1, 1], weights: [], bias: [] };
  curves.forEach((curve, c) => {
    const { knots: t, values: y } = curve;
    const slopes = t.slice(1).map((tj, j) => (y[j + 1] - y[j]) / (tj - t[j]));
    const unit = (w: number): number[][][] => Array.from({ length: C }, (_, i) => [[i === c ? w : 0]]);
    first.weights.push(unit(-1));
    first.bias!.push(toF32(t[0]));
    const row = new Array<number>(C * m).fill(0);
    row[c * m] = toF32(-slopes[0]);
    for (let j = 0; j < m - 1; j++) {
      const used = j < t.length - 1;
      first.weights.push(unit(used ? 1 : 0));
      first.bias!.push(used ? toF32(-t[j]) : 0);
      row[c * m + 1 + j] = used ? toF32(slopes[j] - (j > 0 ? slopes[j - 1] : 0)) : 0;
    }
    second.weights.push(row.map((w) => [[w]]));
    second.bias!.push(toF32(y[0]));
  });
  return [first, { type: 'relu' }, second];
}

/** A curve as the model file keeps it: what it is, for people. */
export interface CurveRecord extends Curve {
  /** Strictly monotone (so invertible), or null. */
  monotone: 'increasing' | 'decreasing' | null;
  /** identity, affine, sRGB encode/decode, gamma g, clip [lo, hi], or '' (train/curve.ts curveName). */
  name: string;
}

/** The curves of a curve model: f per input channel before the kernel, g per output channel after it. */
export interface CurvesRecord {
  before?: CurveRecord[];
  after?: CurveRecord[];
}

/**
 * Whether layers [conv 1x1, relu, conv 1x1] compute `curves` (one per channel) within float32
 * rounding: each channel's hidden units see that channel alone, and the layers' values at the
 * knots are the curve's. The problem in words, or null.
 */
export function curveLayersProblem(layers: LayerSpec[], curves: Curve[]): string | null {
  const [first, relu, second] = layers;
  const C = curves.length;
  if (first?.type !== 'conv2d' || relu?.type !== 'relu' || second?.type !== 'conv2d') return 'they are not a 1x1 conv, a relu and a 1x1 conv';
  if (first.kernelSize[0] !== 1 || first.kernelSize[1] !== 1 || second.kernelSize[0] !== 1 || second.kernelSize[1] !== 1) return 'their convs are not 1x1';
  if (first.inChannels !== C || second.outChannels !== C || first.outChannels % C !== 0) return `they do not map ${C} channels through hidden units back to ${C}`;
  const m = first.outChannels / C;
  for (let h = 0; h < first.outChannels; h++) {
    for (let c = 0; c < C; c++) {
      const own = Math.floor(h / m) === c;
      if (!own && (first.weights[h][c][0][0] !== 0 || second.weights[c][h][0][0] !== 0)) return `they mix channels (hidden unit ${h} and channel ${c})`;
    }
  }
  for (const [c, curve] of curves.entries()) {
    const range = Math.max(1, ...curve.values.map(Math.abs));
    for (const [j, t] of curve.knots.entries()) {
      let v = second.bias ? second.bias[c] : 0;
      for (let h = c * m; h < (c + 1) * m; h++) v += second.weights[c][h][0][0] * Math.max(0, first.weights[h][c][0][0] * t + (first.bias ? first.bias[h] : 0));
      if (Math.abs(v - curve.values[j]) > 1e-4 * range) return `they give ${v.toPrecision(6)} at knot ${j} (${t}) of channel ${c}, where the curve has ${curve.values[j]}`;
    }
  }
  return null;
}

/** A curve for people: "gamma 0.454, increasing, 32 knots on [2.29, 253] -> [30.3, 253]". */
export function describeCurve(c: CurveRecord): string {
  const range = `${c.knots.length} knots on [${c.knots[0].toPrecision(3)}, ${c.knots[c.knots.length - 1].toPrecision(3)}] -> [${Math.min(...c.values).toPrecision(3)}, ${Math.max(...c.values).toPrecision(3)}]`;
  return [c.name || 'no known curve', c.monotone ?? 'not monotone', range].join(', ');
}

/**
 * Which known filter did the model learn? Compares the kernels of a single-conv model with
 * OpenCV's Sobel (every valid order, ksize 1/3/5/7), Scharr, Laplacian (ksize 1/3/5), Gaussian
 * (ksize 3/5/7, default sigma) and box (3/5) kernels. The smaller kernel is zero-padded (centred)
 * to the larger size, so a 5x5 model that learned a 3x3 Sobel still matches it. Each filter may
 * also match up to a scale factor (least squares, printed to 6 significant digits and applied as
 * printed), e.g. "sobel dx=1 dy=0 ksize=3 x0.125": the scale is part of the name, so the error
 * can be checked from the name alone.
 *
 * Several channels: when inputs and outputs pair up (cin = cout) the model is compared as one
 * kernel shared by every channel (cv2 filters colour images channel by channel): the error is
 * the worst over the diagonal kernels and every cross-channel tap (which should be 0). Otherwise
 * each (out, in) kernel is matched on its own, named "out o in i: ...".
 */

import { filterKernel, type Kernel2D } from '../filters/kernels.js';
import type { FilterSpec } from '../filters/spec.js';
import type { Conv2dSpec } from '../nn/network.js';
import { kernelLayer, type Model } from '../nn/model.js';

export interface FilterMatch {
  name: string;
  maxAbsError: number;
}

interface Known {
  name: string;
  kernel: Kernel2D;
}

let knownCache: Known[] | null = null;

/** The candidate filters, built once. */
export function knownFilters(): Known[] {
  if (knownCache) return knownCache;
  const specs: { name: string; spec: FilterSpec }[] = [];
  for (const ksize of [1, 3, 5, 7]) {
    const maxOrder = ksize === 1 ? 2 : ksize - 1;
    for (let dy = 0; dy <= maxOrder; dy++) {
      for (let dx = 0; dx <= maxOrder; dx++) {
        if (dx + dy > 0) specs.push({ name: `sobel dx=${dx} dy=${dy} ksize=${ksize}`, spec: { op: 'sobel', dx, dy, ksize } });
      }
    }
  }
  specs.push({ name: 'scharr dx=1 dy=0', spec: { op: 'scharr', dx: 1, dy: 0 } }, { name: 'scharr dx=0 dy=1', spec: { op: 'scharr', dx: 0, dy: 1 } });
  for (const ksize of [1, 3, 5]) specs.push({ name: `laplacian ksize=${ksize}`, spec: { op: 'laplacian', ksize } });
  for (const ksize of [3, 5, 7]) specs.push({ name: `gaussian ksize=${ksize}`, spec: { op: 'gaussian', ksize } });
  for (const ksize of [3, 5]) specs.push({ name: `box ksize=${ksize}`, spec: { op: 'box', ksize } });
  const out: Known[] = [];
  for (const { name, spec } of specs) {
    try {
      out.push({ name, kernel: filterKernel(spec) });
    } catch {
      // An order OpenCV refuses for this size (e.g. ksize 1 with dx = dy = 2): not a candidate.
    }
  }
  knownCache = out;
  return out;
}

/** Entry (i, j) of `k` in a centred frame of size h x w (0 outside k). */
function at(k: Kernel2D, h: number, w: number, i: number, j: number): number {
  const y = i - ((h - k.kh) >> 1);
  const x = j - ((w - k.kw) >> 1);
  return y >= 0 && y < k.kh && x >= 0 && x < k.kw ? k.data[y * k.kw + x] : 0;
}

/**
 * The error of model kernels `ks` (all meant to equal the same filter) against `f`, unscaled and
 * with the best common scale, plus `extra` (cross-channel taps that should be 0).
 */
function compare(ks: Kernel2D[], f: Kernel2D, extra: number): { error: number; scale: number } {
  const h = Math.max(f.kh, ...ks.map((k) => k.kh));
  const w = Math.max(f.kw, ...ks.map((k) => k.kw));
  let kf = 0, ff = 0;
  for (const k of ks) {
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) { const fv = at(f, h, w, i, j); kf += at(k, h, w, i, j) * fv; ff += fv * fv; }
  }
  const errorAt = (s: number): number => {
    let e = extra;
    for (const k of ks) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) e = Math.max(e, Math.abs(at(k, h, w, i, j) - s * at(f, h, w, i, j)));
    return e;
  };
  const unscaled = errorAt(1);
  const s = ff > 0 ? Number((kf / ff).toPrecision(6)) : 0;
  if (s === 0 || s === 1 || !Number.isFinite(s)) return { error: unscaled, scale: 1 };
  const scaled = errorAt(s);
  return scaled < unscaled ? { error: scaled, scale: s } : { error: unscaled, scale: 1 };
}

function kernelOf(conv: Conv2dSpec, o: number, i: number): Kernel2D {
  const [kh, kw] = conv.kernelSize;
  return { kh, kw, data: Float64Array.from(conv.weights[o][i].flat()) };
}

function ranked(ks: Kernel2D[], extra: number, prefix: string, count: number): FilterMatch[] {
  return knownFilters()
    .map(({ name, kernel }) => {
      const { error, scale } = compare(ks, kernel, extra);
      return { name: prefix + name + (scale === 1 ? '' : ` x${scale}`), maxAbsError: error };
    })
    .sort((a, b) => a.maxAbsError - b.maxAbsError || (a.name < b.name ? -1 : 1))
    .slice(0, count);
}

/**
 * The best few known filters for a model with one kernel (optionally followed by output stages:
 * clamp, abs, magnitude; or with curves around it), best first; an empty list for other models. With cin != cout
 * (e.g. the pair of a magnitude model): the best few of each (out, in) kernel.
 */
export function matchKnownFilters(model: Model, count = 5): FilterMatch[] {
  const kernel = kernelLayer(model);
  const curves = model.training.curves;
  const curveConvs = 2 * ((curves?.before ? 1 : 0) + (curves?.after ? 1 : 0));
  if (!kernel || model.layers.filter((l) => l.type === 'conv2d').length !== 1 + curveConvs) return [];
  const { conv } = kernel;
  const { inChannels: cin, outChannels: cout } = conv;
  if (cin === cout) {
    let cross = 0;
    for (let o = 0; o < cout; o++) {
      for (let i = 0; i < cin; i++) if (i !== o) for (const row of conv.weights[o][i]) for (const v of row) cross = Math.max(cross, Math.abs(v));
    }
    return ranked(Array.from({ length: cout }, (_, c) => kernelOf(conv, c, c)), cross, '', count);
  }
  const all: FilterMatch[] = [];
  for (let o = 0; o < cout; o++) for (let i = 0; i < cin; i++) all.push(...ranked([kernelOf(conv, o, i)], 0, `out ${o} in ${i}: `, count));
  return all; // grouped by (out, in), best first within each
}

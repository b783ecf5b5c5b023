/**
 * The network: what `apply`, the streaming apply, the judges of a fit and the exporters run. It is
 * the layers and how they meet the image's edge, nothing else; a Model (model.ts) is a Network plus
 * the record of how it was trained, and is what the file holds.
 *
 * Every conv pads with the network's border mode, so the output has the input's height and width.
 */

import type { BorderMode } from '../filters/border.js';
import { extent } from '../kernels/conv2d.js';

export interface Conv2dSpec {
  type: 'conv2d';
  inChannels: number;
  outChannels: number;
  /** [kh, kw] */
  kernelSize: [number, number];
  /** [outChannels][inChannels][kh][kw], float32 values. */
  weights: number[][][][];
  /** [outChannels] float32 values, or null for no bias. */
  bias: number[] | null;
  /**
   * Taps this many pixels apart (absent: 1). A 3x3 kernel with dilation d reads a (2d+1)^2 window,
   * anchored at its centre; only odd kernel sizes take a dilation above 1.
   */
  dilation?: number;
}

export type LayerSpec =
  | Conv2dSpec
  | { type: 'relu' }
  | { type: 'abs' }
  | { type: 'magnitude'; groupSize: number }
  | { type: 'clamp'; min: number; max: number };

export interface Network {
  inputChannels: number;
  outputChannels: number;
  border: BorderMode;
  layers: LayerSpec[];
  /**
   * 'kept': the output pixels whose window leaves the image are the input's own, unfiltered (what
   * Pillow's ImageFilter kernels do with their outer ring); absent: the border mode decides them.
   */
  edge?: 'kept';
}

/** The nearest float32, with -0 made 0: the network computes in float32, and JSON has no -0 worth keeping. */
export const toF32 = (v: number): number => Math.fround(v) + 0;

/** Flat per-output coefficient vectors (weight order [in][kh][kw]) -> [cout][cin][kh][kw]. */
export function nestWeights(coef: ArrayLike<number>[], cout: number, cin: number, kh: number, kw: number): number[][][][] {
  const out: number[][][][] = [];
  for (let o = 0; o < cout; o++) {
    const per: number[][][] = [];
    for (let c = 0; c < cin; c++) {
      const rows: number[][] = [];
      for (let i = 0; i < kh; i++) {
        const row: number[] = [];
        for (let j = 0; j < kw; j++) row.push(coef[o][(c * kh + i) * kw + j]);
        rows.push(row);
      }
      per.push(rows);
    }
    out.push(per);
  }
  return out;
}

/** The shape of one conv layer. */
export interface ConvShape {
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  bias: boolean;
  /** Taps this many pixels apart (default 1). */
  dilation?: number;
}

/** A conv layer's dilation (1 when the spec has none). */
export const dilationOf = (l: Conv2dSpec): number => l.dilation ?? 1;

/** The window a conv layer reads, [rows, columns]: its kernel size, or with dilation d, d(k - 1) + 1. */
export const convExtent = (l: Conv2dSpec): [number, number] => [extent(l.kernelSize[0], dilationOf(l)), extent(l.kernelSize[1], dilationOf(l))];

/**
 * A conv layer from per-output coefficient vectors (cin*kh*kw taps in weight order, then the bias
 * when there is one), the way the solvers return them; weights and bias rounded to float32.
 */
export function convLayer(coef: ArrayLike<number>[], s: ConvShape): Conv2dSpec {
  const per = s.cin * s.kh * s.kw;
  const flat = coef.map((c) => Array.from({ length: per }, (_, t) => toF32(c[t])));
  return {
    type: 'conv2d', inChannels: s.cin, outChannels: s.cout, kernelSize: [s.kh, s.kw],
    weights: nestWeights(flat, s.cout, s.cin, s.kh, s.kw),
    bias: s.bias ? coef.map((c) => toF32(c[per])) : null,
    ...((s.dilation ?? 1) > 1 ? { dilation: s.dilation } : {}),
  };
}

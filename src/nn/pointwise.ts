/**
 * Runs of per-pixel layers (1x1 convs, relu, abs, clamp) evaluated a block of pixels at a time: a curve is a
 * 1x1 conv to 32 hidden units, a relu and a 1x1 conv back (nn/curve.ts), and layer by layer it
 * writes and reads 32 planes of the image's size; on six 512^2 photographs each run of a curve
 * model then cost about a second, most of a curve stage's border search and judgement. A block
 * at a time, the hidden units live in a scratch that stays in the cache.
 *
 * The arithmetic is the layer-by-layer path's, so the results are the same bits (test/nn.test.ts
 * holds applyModel to applyModelLayered on curve models and random runs): a 1x1 conv in
 * conv2dForwardF32 (assembly/conv.ts convRows) starts each output at its float32 bias (0 without
 * one) and adds the input channels in order, each product and each sum rounded to float32 (a
 * product or sum of two float32 numbers computed in float64 and rounded once is the float32
 * operation's result); relu is x > 0 ? x : 0, abs |x|, clamp v < lo ? lo : v > hi ? hi : v, each
 * value stored as float32.
 */

import type { Tensor } from '../kernels/conv2d.js';
import { tensor } from '../kernels/conv2d.js';
import { pointwiseKernels } from '../kernels/simd.js';
import type { LayerSpec } from './network.js';

/** Whether a layer maps each pixel on its own (a 1x1 conv, or an elementwise layer other than magnitude). */
export function isPointwise(l: LayerSpec): boolean {
  if (l.type === 'conv2d') return l.kernelSize[0] === 1 && l.kernelSize[1] === 1;
  return l.type === 'relu' || l.type === 'abs' || l.type === 'clamp';
}

/**
 * The end of the run of pointwise layers from `start` worth evaluating pixel by pixel: at least
 * two layers, one of them a 1x1 conv (a lone elementwise layer is one cheap pass as it is).
 * Returns `start` when there is none.
 */
export function pointwiseRunEnd(layers: LayerSpec[], start: number): number {
  let end = start;
  while (end < layers.length && isPointwise(layers[end])) end++;
  const hasConv = layers.slice(start, end).some((l) => l.type === 'conv2d');
  return end - start >= 2 && hasConv ? end : start;
}

/** One step of a run, with its weights as float32 arrays. */
type Step =
  | { kind: 'conv'; cin: number; cout: number; w: Float32Array; b: Float32Array | null }
  | { kind: 'relu' | 'abs' }
  | { kind: 'clamp'; lo: number; hi: number };

function stepOf(l: LayerSpec): Step {
  if (l.type === 'conv2d') {
    const w = new Float32Array(l.outChannels * l.inChannels);
    for (let o = 0; o < l.outChannels; o++) for (let i = 0; i < l.inChannels; i++) w[o * l.inChannels + i] = l.weights[o][i][0][0];
    return { kind: 'conv', cin: l.inChannels, cout: l.outChannels, w, b: l.bias ? Float32Array.from(l.bias) : null };
  }
  if (l.type === 'clamp') return { kind: 'clamp', lo: l.min, hi: l.max };
  return { kind: l.type as 'relu' | 'abs' };
}

/** Pixels per block: the block's hidden units (widest x BLOCK float32) stay in the L1/L2 cache. */
const BLOCK = 256;

/** The widths a run goes through: its input's channels and each conv's outputs. */
function widths(cin: number, steps: Step[]): { outC: number; widest: number } {
  let width = cin, widest = cin;
  for (const s of steps) if (s.kind === 'conv') widest = Math.max(widest, (width = s.cout));
  return { outC: width, widest };
}

/**
 * The layers `run` (all pointwise, see isPointwise) on x: a new tensor. The image goes through in
 * blocks of BLOCK pixels, each block through every layer in turn (channel-major scratch), in
 * WebAssembly SIMD (assembly/conv.ts pointwiseConv, pointwiseElementwise: four pixels per
 * instruction, the reference's arithmetic, so the same bits; test/nn.test.ts).
 */
export function pointwiseForward(x: Tensor, run: LayerSpec[]): Tensor {
  const steps = run.map(stepOf);
  const { outC, widest } = widths(x.c, steps);
  // Layout (float32 offsets): each conv's weights then its bias, then the two scratch blocks.
  const at = new Map<Step, { w: number; b: number }>();
  let top = 0;
  for (const s of steps) {
    if (s.kind !== 'conv') continue;
    at.set(s, { w: top, b: top + s.w.length });
    top += s.w.length + s.cout;
  }
  const scratchA = top, scratchB = top + widest * BLOCK;
  const k = pointwiseKernels(4 * (scratchB + widest * BLOCK));
  const mem = new Float32Array(k.memory.buffer);
  for (const s of steps) {
    if (s.kind !== 'conv') continue;
    const { w, b } = at.get(s)!;
    mem.set(s.w, w);
    if (s.b) mem.set(s.b, b);
  }
  const plane = x.h * x.w;
  const out = tensor(x.n, outC, x.h, x.w);
  for (let n = 0; n < x.n; n++) {
    for (let p0 = 0; p0 < plane; p0 += BLOCK) {
      const B = Math.min(BLOCK, plane - p0);
      for (let i = 0; i < x.c; i++) mem.set(x.data.subarray((n * x.c + i) * plane + p0, (n * x.c + i) * plane + p0 + B), scratchA + i * BLOCK);
      let a = scratchA, b = scratchB, c = x.c;
      for (const s of steps) {
        if (s.kind === 'conv') {
          const { w, b: bias } = at.get(s)!;
          k.conv(4 * a, 4 * b, 4 * w, 4 * bias, s.b ? 1 : 0, s.cin, s.cout, BLOCK, B);
          [a, b] = [b, a];
          c = s.cout;
        } else {
          k.elementwise(4 * a, c * BLOCK, ELEMENTWISE_KIND[s.kind], s.kind === 'clamp' ? s.lo : 0, s.kind === 'clamp' ? s.hi : 0);
        }
      }
      for (let o = 0; o < outC; o++) out.data.set(mem.subarray(a + o * BLOCK, a + o * BLOCK + B), (n * outC + o) * plane + p0);
    }
  }
  return out;
}

const ELEMENTWISE_KIND = { relu: 0, abs: 1, clamp: 2 } as const;

/** Reference: pointwiseForward in plain JavaScript, each product and sum rounded with Math.fround / a Float32Array store. */
export function pointwiseForwardReference(x: Tensor, run: LayerSpec[]): Tensor {
  const steps = run.map(stepOf);
  const { outC, widest } = widths(x.c, steps);
  const plane = x.h * x.w;
  const out = tensor(x.n, outC, x.h, x.w);
  // Float32 scratch: each value is rounded to float32 where it is stored, as in the planes.
  let a = new Float32Array(widest * BLOCK), b = new Float32Array(widest * BLOCK);
  for (let n = 0; n < x.n; n++) {
    for (let p0 = 0; p0 < plane; p0 += BLOCK) {
      const B = Math.min(BLOCK, plane - p0);
      for (let i = 0; i < x.c; i++) a.set(x.data.subarray((n * x.c + i) * plane + p0, (n * x.c + i) * plane + p0 + B), i * BLOCK);
      let c = x.c;
      for (const s of steps) {
        if (s.kind === 'conv') {
          convBlock(s.w, s.b, s.cin, s.cout, a, b, B);
          [a, b] = [b, a];
          c = s.cout;
        } else {
          elementwiseBlock(s, a, c * BLOCK);
        }
      }
      for (let o = 0; o < outC; o++) out.data.set(a.subarray(o * BLOCK, o * BLOCK + B), (n * outC + o) * plane + p0);
    }
  }
  return out;
}

/** out[o][p] = bias[o] + sum over i in order of w[o][i] * a[i][p], each product and sum rounded to float32. */
function convBlock(w: Float32Array, bias: Float32Array | null, cin: number, cout: number, a: Float32Array, out: Float32Array, B: number): void {
  for (let o = 0; o < cout; o++) {
    const ob = o * BLOCK;
    out.fill(bias ? bias[o] : 0, ob, ob + B);
    for (let i = 0; i < cin; i++) {
      const wi = w[o * cin + i];
      const ib = i * BLOCK;
      for (let p = 0; p < B; p++) out[ob + p] += Math.fround(wi * a[ib + p]);
    }
  }
}

/** relu, abs or clamp of the first `len` values of a, in place. */
function elementwiseBlock(s: Exclude<Step, { kind: 'conv' }>, a: Float32Array, len: number): void {
  if (s.kind === 'relu') {
    for (let i = 0; i < len; i++) a[i] = a[i] > 0 ? a[i] : 0;
  } else if (s.kind === 'abs') {
    for (let i = 0; i < len; i++) a[i] = Math.abs(a[i]);
  } else if (s.kind === 'clamp') {
    const { lo, hi } = s;
    for (let i = 0; i < len; i++) {
      const v = a[i];
      a[i] = v < lo ? lo : v > hi ? hi : v;
    }
  }
}

/**
 * Layers, micrograd style: each is a forward and a backward and nothing else. A layer keeps
 * what its backward needs from the last forward (so call forward, then backward, once each).
 *
 * Gradients of parameters ACCUMULATE into Param.grad (as in PyTorch), so a batch can be split
 * into pieces; call zeroGrad(net.params()) before each optimizer step's first backward.
 *
 * backward(gradOut, needInputGrad): the second argument exists because dL/dx of the first conv
 * of a net is never used (its input is data) and costs as much as the forward. Pass false there
 * (Sequential does that for its first layer when called with false); the layer may then return
 * EMPTY_TENSOR instead of dL/dx.
 */

import { KernelLearnError } from '../errors.js';
import { type Tensor, tensor, extent } from '../kernels/conv2d.js';
import { convBackwardInput, convBackwardWeights, convForward, type Sums } from '../kernels/train-wasm.js';

export interface Param {
  name: string;
  value: Float32Array;
  grad: Float32Array;
}

export interface Layer {
  readonly type: string;
  forward(x: Tensor): Tensor;
  /** Adds dL/dparams into each Param.grad and returns dL/dx (or EMPTY_TENSOR when needInputGrad is false). */
  backward(gradOut: Tensor, needInputGrad?: boolean): Tensor;
  params(): Param[];
}

/** Returned by backward(gradOut, false) where dL/dx was not computed. */
export const EMPTY_TENSOR: Tensor = Object.freeze(tensor(0, 0, 0, 0)) as Tensor;

function param(name: string, size: number): Param {
  return { name, value: new Float32Array(size), grad: new Float32Array(size) };
}

function sameShape(a: Tensor, b: Tensor): boolean {
  return a.n === b.n && a.c === b.c && a.h === b.h && a.w === b.w;
}

/** The input saved by the last forward, checked against the gradient's shape. */
function saved(layer: string, x: Tensor | null, gradOut: Tensor, expected?: Tensor): Tensor {
  if (!x) throw new KernelLearnError(`${layer}: backward called before forward`);
  if (expected && !sameShape(expected, gradOut)) {
    throw new KernelLearnError(`${layer}: gradient shape ${gradOut.n}x${gradOut.c}x${gradOut.h}x${gradOut.w} does not match the output ${expected.n}x${expected.c}x${expected.h}x${expected.w}`);
  }
  return x;
}

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kh: number;
  kw: number;
  bias: boolean;
  /** Taps this many samples apart (default 1): a 3x3 kernel with dilation d sees a (2d+1)^2 window. */
  dilation?: number;
  /**
   * How the convolutions sum (kernels/train-wasm.ts): 'f64' (default) float64, the forward equal
   * to conv2dForward bit for bit, for fits certified against the exact optimum; 'f32' float32, twice
   * as fast, for the deep arch's hidden layers.
   */
  sums?: Sums;
}

/**
 * A 2-D correlation with 'valid' padding (training sees only pixels whose whole window is real
 * data), taps `dilation` apart. Weights start at zero: see initConv. Runs on the WebAssembly SIMD
 * training kernels (kernels/train-wasm.ts).
 */
export class Conv2d implements Layer {
  readonly type = 'conv2d';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kh: number;
  readonly kw: number;
  readonly dilation: number;
  readonly sums: Sums;
  /** [outChannels][inChannels][kh][kw] */
  readonly weight: Param;
  readonly bias: Param | null;
  private input: Tensor | null = null;

  constructor(o: Conv2dOptions) {
    for (const k of ['inChannels', 'outChannels', 'kh', 'kw'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new KernelLearnError(`Conv2d: ${k} must be a positive integer, got ${o[k]}`);
    }
    const dilation = o.dilation ?? 1;
    if (!Number.isInteger(dilation) || dilation < 1) throw new KernelLearnError(`Conv2d: dilation must be a positive integer, got ${dilation}`);
    this.inChannels = o.inChannels;
    this.outChannels = o.outChannels;
    this.kh = o.kh;
    this.kw = o.kw;
    this.dilation = dilation;
    this.sums = o.sums ?? 'f64';
    this.weight = param('weight', o.outChannels * o.inChannels * o.kh * o.kw);
    this.bias = o.bias ? param('bias', o.outChannels) : null;
  }

  forward(x: Tensor): Tensor {
    if (x.c !== this.inChannels) throw new KernelLearnError(`Conv2d: input has ${x.c} channels, layer expects ${this.inChannels}`);
    this.input = x;
    return convForward(x, this.weight.value, this.bias ? this.bias.value : null, this.outChannels, this.kh, this.kw, this.dilation, this.sums);
  }

  backward(gradOut: Tensor, needInputGrad = true): Tensor {
    const x = saved('Conv2d', this.input, gradOut);
    const { dWeights, dBias } = convBackwardWeights(x, gradOut, this.outChannels, this.kh, this.kw, this.dilation, this.sums);
    addInto(this.weight.grad, dWeights);
    if (this.bias) addInto(this.bias.grad, dBias);
    return needInputGrad ? convBackwardInput(gradOut, this.weight.value, this.inChannels, this.kh, this.kw, this.dilation, this.sums) : EMPTY_TENSOR;
  }

  params(): Param[] {
    return this.bias ? [this.weight, this.bias] : [this.weight];
  }
}

function addInto(dst: Float32Array, src: ArrayLike<number>): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}

/**
 * Elementwise layers: out = f(x), dx = gradOut * f'(x). Each writes its own two loops: a shared
 * loop calling f per sample was ~10x slower (a polymorphic call per pixel the JIT would not inline).
 */
abstract class Elementwise implements Layer {
  abstract readonly type: string;
  protected input: Tensor | null = null;

  forward(x: Tensor): Tensor {
    this.input = x;
    const out = tensor(x.n, x.c, x.h, x.w);
    this.apply(x.data, out.data);
    return out;
  }

  backward(gradOut: Tensor): Tensor {
    const x = saved(this.type, this.input, gradOut, this.input ?? undefined);
    const dx = tensor(x.n, x.c, x.h, x.w);
    this.gradient(x.data, gradOut.data, dx.data);
    return dx;
  }

  params(): Param[] {
    return [];
  }

  /** out[i] = f(x[i]) */
  protected abstract apply(x: Float32Array, out: Float32Array): void;
  /** dx[i] = g[i] * f'(x[i]) */
  protected abstract gradient(x: Float32Array, g: Float32Array, dx: Float32Array): void;
}

/** max(x, 0); gradient 0 at x = 0 (as PyTorch). */
export class Relu extends Elementwise {
  readonly type = 'relu';
  protected apply(x: Float32Array, out: Float32Array): void {
    for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? x[i] : 0;
  }
  protected gradient(x: Float32Array, g: Float32Array, dx: Float32Array): void {
    for (let i = 0; i < x.length; i++) dx[i] = x[i] > 0 ? g[i] : 0;
  }
}

/** |x|; gradient sign(x), 0 at x = 0 (as PyTorch). Lets a net fit cv2.Sobel's absolute-value outputs. */
export class Abs extends Elementwise {
  readonly type = 'abs';
  protected apply(x: Float32Array, out: Float32Array): void {
    for (let i = 0; i < x.length; i++) out[i] = Math.abs(x[i]);
  }
  protected gradient(x: Float32Array, g: Float32Array, dx: Float32Array): void {
    for (let i = 0; i < x.length; i++) dx[i] = x[i] > 0 ? g[i] : x[i] < 0 ? -g[i] : 0;
  }
}

/** min(max(x, min), max); gradient 0 where the value was clamped (x < min or x > max). Models saturating u8 outputs. */
export class Clamp extends Elementwise {
  readonly type = 'clamp';
  constructor(readonly min: number, readonly max: number) {
    super();
    if (!(min <= max)) throw new KernelLearnError(`Clamp: min ${min} must not exceed max ${max}`);
  }
  protected apply(x: Float32Array, out: Float32Array): void {
    const lo = this.min;
    const hi = this.max;
    for (let i = 0; i < x.length; i++) { const v = x[i]; out[i] = v < lo ? lo : v > hi ? hi : v; }
  }
  protected gradient(x: Float32Array, g: Float32Array, dx: Float32Array): void {
    const lo = this.min;
    const hi = this.max;
    for (let i = 0; i < x.length; i++) { const v = x[i]; dx[i] = v < lo || v > hi ? 0 : g[i]; }
  }
}

/**
 * Euclidean norm over each consecutive group of `groupSize` channels: c channels in, c/groupSize
 * out. With groupSize 2 after a 2-channel conv (Gx, Gy) it is the Sobel gradient magnitude.
 * Gradient x / max(out, eps), which is 0 rather than NaN where the whole group is 0.
 */
export class Magnitude implements Layer {
  readonly type = 'magnitude';
  static readonly EPS = 1e-12;
  private input: Tensor | null = null;
  private output: Tensor | null = null;

  constructor(readonly groupSize: number) {
    if (!Number.isInteger(groupSize) || groupSize < 1) throw new KernelLearnError(`Magnitude: groupSize must be a positive integer, got ${groupSize}`);
  }

  forward(x: Tensor): Tensor {
    const gs = this.groupSize;
    if (x.c % gs !== 0) throw new KernelLearnError(`Magnitude: ${x.c} channels do not split into groups of ${gs}`);
    const plane = x.h * x.w;
    const groups = x.n * (x.c / gs);
    const out = tensor(x.n, x.c / gs, x.h, x.w);
    // Channel groups are consecutive, so group g of the whole batch reads planes g*gs .. g*gs+gs-1.
    for (let g = 0; g < groups; g++) {
      const ib = g * gs * plane;
      const ob = g * plane;
      for (let p = 0; p < plane; p++) {
        let s = 0;
        for (let k = 0; k < gs; k++) { const v = x.data[ib + k * plane + p]; s += v * v; }
        out.data[ob + p] = Math.sqrt(s);
      }
    }
    this.input = x;
    this.output = out;
    return out;
  }

  backward(gradOut: Tensor): Tensor {
    const x = saved('Magnitude', this.input, gradOut, this.output ?? undefined);
    const out = this.output!;
    const gs = this.groupSize;
    const plane = x.h * x.w;
    const groups = x.n * (x.c / gs);
    const dx = tensor(x.n, x.c, x.h, x.w);
    for (let g = 0; g < groups; g++) {
      const ib = g * gs * plane;
      const ob = g * plane;
      for (let p = 0; p < plane; p++) {
        const scale = gradOut.data[ob + p] / Math.max(out.data[ob + p], Magnitude.EPS);
        for (let k = 0; k < gs; k++) dx.data[ib + k * plane + p] = x.data[ib + k * plane + p] * scale;
      }
    }
    return dx;
  }

  params(): Param[] {
    return [];
  }
}

/** Layers applied in order. Param names are prefixed with the layer index ("0.weight"), as in PyTorch's state_dict. */
export class Sequential implements Layer {
  readonly type = 'sequential';
  readonly layers: readonly Layer[];

  constructor(layers: Layer[]) {
    this.layers = [...layers];
  }

  forward(x: Tensor): Tensor {
    for (const layer of this.layers) x = layer.forward(x);
    return x;
  }

  backward(gradOut: Tensor, needInputGrad = true): Tensor {
    let g = gradOut;
    for (let i = this.layers.length - 1; i >= 0; i--) g = this.layers[i].backward(g, i > 0 || needInputGrad);
    return g;
  }

  /** The layers' own value and grad arrays under prefixed names; fresh Param objects each call, so key optimizer state by name or index. */
  params(): Param[] {
    return this.layers.flatMap((layer, i) => layer.params().map((p) => ({ name: `${i}.${p.name}`, value: p.value, grad: p.grad })));
  }
}

/** Zeroes every gradient (they accumulate across backward calls). */
export function zeroGrad(params: Param[]): void {
  for (const p of params) p.grad.fill(0);
}

/**
 * The window of input one output pixel sees: a net of 'valid' convs maps h x w to
 * (h - kh + 1) x (w - kw + 1), so the trainer crops targets by (kh >> 1, kw >> 1) on the top/left.
 * A dilated conv counts with its extent, dilation * (k - 1) + 1.
 * (For odd sizes that is the centre; elementwise layers and Magnitude do not change it.)
 */
export function receptiveField(net: Layer): { kh: number; kw: number } {
  if (net instanceof Conv2d) return { kh: extent(net.kh, net.dilation), kw: extent(net.kw, net.dilation) };
  if (net instanceof Sequential) {
    let kh = 1;
    let kw = 1;
    for (const layer of net.layers) {
      const r = receptiveField(layer);
      kh += r.kh - 1;
      kw += r.kw - 1;
    }
    return { kh, kw };
  }
  return { kh: 1, kw: 1 };
}

/**
 * Deterministic He (Kaiming) uniform init of every Conv2d in `net`, in layer order:
 * weights ~ U(-b, b) with b = gain * sqrt(3 / fanIn), fanIn = inChannels*kh*kw, gain sqrt(2)
 * (right for a ReLU after the conv; pass 1 for a linear one); biases 0.
 */
export function initConv(net: Layer, rng: () => number, gain = Math.SQRT2): void {
  if (net instanceof Sequential) {
    for (const layer of net.layers) initConv(layer, rng, gain);
    return;
  }
  if (!(net instanceof Conv2d)) return;
  const bound = gain * Math.sqrt(3 / (net.inChannels * net.kh * net.kw));
  const w = net.weight.value;
  for (let i = 0; i < w.length; i++) w[i] = (2 * rng() - 1) * bound;
  net.bias?.value.fill(0);
}

/** A net's layers as plain data (kinds and shapes, no values): what a worker thread needs to build the same net. */
export type LayerDesc =
  | { type: 'conv2d'; options: Conv2dOptions }
  | { type: 'relu' } | { type: 'abs' }
  | { type: 'clamp'; min: number; max: number }
  | { type: 'magnitude'; groupSize: number };

export function describeLayers(net: Sequential): LayerDesc[] {
  return net.layers.map((l): LayerDesc => {
    if (l instanceof Conv2d) return { type: 'conv2d', options: { inChannels: l.inChannels, outChannels: l.outChannels, kh: l.kh, kw: l.kw, bias: l.bias !== null, dilation: l.dilation, sums: l.sums } };
    if (l instanceof Relu) return { type: 'relu' };
    if (l instanceof Abs) return { type: 'abs' };
    if (l instanceof Clamp) return { type: 'clamp', min: l.min, max: l.max };
    if (l instanceof Magnitude) return { type: 'magnitude', groupSize: l.groupSize };
    throw new KernelLearnError(`describeLayers: no description for a ${l.type} layer`);
  });
}

/** The net describeLayers described, its parameters zero. */
export function buildLayers(desc: LayerDesc[]): Sequential {
  return new Sequential(desc.map((d): Layer => {
    switch (d.type) {
      case 'conv2d': return new Conv2d(d.options);
      case 'relu': return new Relu();
      case 'abs': return new Abs();
      case 'clamp': return new Clamp(d.min, d.max);
      case 'magnitude': return new Magnitude(d.groupSize);
    }
  }));
}

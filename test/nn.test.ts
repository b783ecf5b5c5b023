/**
 * Tests for the conv kernels (src/kernels/conv2d.ts) and the layers (src/nn/layers.ts):
 *  - every fast kernel equals its plain reference on many random shapes and all border modes;
 *  - forward equals an independent float64 correlation over an explicitly padded image;
 *  - every layer's backward matches central finite differences of loss = sum(out * R);
 *  - TensorFlow.js (cpu backend) agrees on a conv2d forward and its gradients (skipped if not installed).
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Tensor, type Padding, tensor,
  conv2dForward, conv2dForwardReference,
  conv2dBackwardWeights, conv2dBackwardWeightsReference,
  conv2dBackwardInput, conv2dBackwardInputReference,
} from '../src/kernels/conv2d.js';
import { BORDER_MODES, borderInterpolate } from '../src/filters/border.js';
import { KernelLearnError } from '../src/errors.js';
import {
  type Layer, Conv2d, Relu, Abs, Clamp, Magnitude, Sequential, EMPTY_TENSOR,
  receptiveField, initConv, zeroGrad,
} from '../src/nn/layers.js';
import { createRng, normal } from '../src/random.js';
import type { LayerSpec } from '../src/nn/network.js';

// ---------------------------------------------------------------------------------------------
// helpers

const rng = createRng(20240611);

function randomArray(size: number, lo = -1, hi = 1, r = rng): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

function randomTensor(n: number, c: number, h: number, w: number): Tensor {
  return tensor(n, c, h, w, randomArray(n * c * h * w));
}

function randInt(lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** max |a - e| <= tol * max(1, max |e|); tol 0 demands bit equality (and same length). NaN in `expected` skips that entry. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1;
  for (let i = 0; i < expected.length; i++) if (!Number.isNaN(expected[i])) scale = Math.max(scale, Math.abs(expected[i]));
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(expected[i])) continue; // NaN expected: not checkable (see gradCheck)
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol * scale)) assert.fail(`${what}: index ${i}: ${actual[i]} vs ${expected[i]} (|diff| ${d}, allowed ${tol * scale})`);
  }
}

function shapeOf(t: Tensor): number[] {
  return [t.n, t.c, t.h, t.w];
}

interface ConvCase { n: number; cin: number; cout: number; h: number; w: number; kh: number; kw: number; padding: Padding }

const KERNELS: [number, number][] = [[1, 1], [3, 3], [5, 5], [3, 5], [5, 3], [7, 7], [2, 2], [4, 3]];
const PADDINGS: Padding[] = ['valid', ...BORDER_MODES];

/** Random cases for every kernel size and padding, including 1-pixel images and (for border modes) kernels larger than the image. */
function convCases(): ConvCase[] {
  const cases: ConvCase[] = [];
  for (const padding of PADDINGS) {
    for (const [kh, kw] of KERNELS) {
      const sizes: [number, number][] = [[randInt(kh, kh + 9), randInt(kw, kw + 9) | 1], [kh, kw], [kh + 1, 2 * kw + 3]];
      if (padding !== 'valid') sizes.push([1, 1], [1, randInt(2, 9)], [randInt(2, 9), 1], [Math.max(1, kh - 2), Math.max(1, kw - 3)], [2, 3]);
      for (const [h, w] of sizes) {
        cases.push({ n: randInt(1, 3), cin: randInt(1, 3), cout: randInt(1, 3), h, w, kh, kw, padding });
      }
    }
  }
  return cases;
}

function describe(c: ConvCase): string {
  return `${c.n}x${c.cin}x${c.h}x${c.w} * ${c.cout}x${c.cin}x${c.kh}x${c.kw} ${c.padding}`;
}

/**
 * Independent float64 correlation: pads the image explicitly with borderInterpolate (rows then
 * columns), then sums each window with the anchor at (kh >> 1, kw >> 1).
 */
function correlate64(x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding): Float64Array {
  const ay = padding === 'valid' ? 0 : kh >> 1;
  const ax = padding === 'valid' ? 0 : kw >> 1;
  const ph = padding === 'valid' ? x.h : x.h + kh - 1;
  const pw = padding === 'valid' ? x.w : x.w + kw - 1;
  const oh = ph - kh + 1;
  const ow = pw - kw + 1;
  const at = (n: number, c: number, y: number, xx: number): number => {
    if (padding === 'valid') return x.data[((n * x.c + c) * x.h + y) * x.w + xx];
    const sy = borderInterpolate(y - ay, x.h, padding);
    const sx = borderInterpolate(xx - ax, x.w, padding);
    return sy < 0 || sx < 0 ? 0 : x.data[((n * x.c + c) * x.h + sy) * x.w + sx];
  };
  const out = new Float64Array(x.n * cout * oh * ow);
  let i = 0;
  for (let n = 0; n < x.n; n++) {
    for (let co = 0; co < cout; co++) {
      for (let y = 0; y < oh; y++) {
        for (let xx = 0; xx < ow; xx++) {
          let s = 0;
          for (let ci = 0; ci < x.c; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) s += weights[((co * x.c + ci) * kh + ky) * kw + kx] * at(n, ci, y + ky, xx + kx);
            }
          }
          out[i++] = s + (bias ? bias[co] : 0);
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// kernels: fast == reference == independent float64

test('conv2dForward equals its reference and an independent float64 correlation', () => {
  const cases = convCases();
  for (const c of cases) {
    const x = randomTensor(c.n, c.cin, c.h, c.w);
    const weights = randomArray(c.cout * c.cin * c.kh * c.kw);
    const bias = rng() < 0.5 ? randomArray(c.cout) : null;
    const fast = conv2dForward(x, weights, bias, c.cout, c.kh, c.kw, c.padding);
    const ref = conv2dForwardReference(x, weights, bias, c.cout, c.kh, c.kw, c.padding);
    const expectShape = c.padding === 'valid' ? [c.n, c.cout, c.h - c.kh + 1, c.w - c.kw + 1] : [c.n, c.cout, c.h, c.w];
    assert.deepEqual(shapeOf(fast), expectShape, describe(c));
    assert.deepEqual(shapeOf(ref), expectShape, describe(c));
    // Both sum in float64 in the same order and round once, so they agree bit for bit.
    assertClose(fast.data, ref.data, 0, `fast vs reference ${describe(c)}`);
    // A different summation order in float64, then one float32 rounding: within 2 f32 ulps of the scale.
    assertClose(fast.data, correlate64(x, weights, bias, c.cout, c.kh, c.kw, c.padding), 2.5e-7, `vs float64 ${describe(c)}`);
  }
  assert.ok(cases.length > 200, `${cases.length} cases`);
});

test('conv2d backward kernels equal their references', () => {
  for (const c of convCases().filter((c) => c.padding === 'valid')) {
    const x = randomTensor(c.n, c.cin, c.h, c.w);
    const weights = randomArray(c.cout * c.cin * c.kh * c.kw);
    const g = randomTensor(c.n, c.cout, c.h - c.kh + 1, c.w - c.kw + 1);
    const fast = conv2dBackwardWeights(x, g, c.cout, c.kh, c.kw);
    const ref = conv2dBackwardWeightsReference(x, g, c.cout, c.kh, c.kw);
    // Row-wise partial sums in float64 versus one long float64 sum: equal up to the final float32 rounding.
    assertClose(fast.dWeights, ref.dWeights, 1.2e-7, `dW ${describe(c)}`);
    assertClose(fast.dBias, ref.dBias, 1.2e-7, `dB ${describe(c)}`);
    const dx = conv2dBackwardInput(g, weights, c.cin, c.kh, c.kw);
    const dxRef = conv2dBackwardInputReference(g, weights, c.cin, c.kh, c.kw);
    assert.deepEqual(shapeOf(dx), shapeOf(x), describe(c));
    assertClose(dx.data, dxRef.data, 0, `dx ${describe(c)}`); // same order of float64 sums: bit-identical
  }
});

test('conv2dForward: Sobel on a known image, every border mode, checked by hand', () => {
  // 1x4 row [1 2 4 8], Gx = [-1 0 1] (kh 1): out[x] = in[x+1] - in[x-1] with the borders extended.
  const x = tensor(1, 1, 1, 4, Float32Array.from([1, 2, 4, 8]));
  const gx = Float32Array.from([-1, 0, 1]);
  const expected: Record<string, number[]> = {
    reflect101: [0, 3, 6, 0], // left reads in[1] - in[1], right in[2] - in[2]
    reflect: [1, 3, 6, 4], // left in[1] - in[0], right in[3] - in[2]
    replicate: [1, 3, 6, 4],
    constant: [2, 3, 6, -4],
    wrap: [2 - 8, 3, 6, 1 - 4],
    valid: [3, 6],
  };
  for (const padding of PADDINGS) {
    assert.deepEqual([...conv2dForward(x, gx, null, 1, 1, 3, padding).data], expected[padding], padding);
  }
  // 1x1 image and a 3x3 kernel: reflect101 and friends read the pixel itself everywhere, constant only the centre.
  const one = tensor(1, 1, 1, 1, Float32Array.from([5]));
  const ones = new Float32Array(9).fill(1);
  assert.deepEqual([...conv2dForward(one, ones, Float32Array.from([1]), 1, 3, 3, 'reflect101').data], [46]);
  assert.deepEqual([...conv2dForward(one, ones, null, 1, 3, 3, 'constant').data], [5]);
});

test('conv2d rejects inconsistent shapes with KernelLearnError', () => {
  const x = randomTensor(1, 2, 4, 4);
  assert.throws(() => conv2dForward(x, new Float32Array(9), null, 1, 3, 3, 'valid'), KernelLearnError); // needs 2*9 weights
  assert.throws(() => conv2dForward(x, new Float32Array(2 * 25), null, 1, 5, 5, 'valid'), KernelLearnError); // kernel > image
  assert.throws(() => conv2dForward(x, new Float32Array(18), new Float32Array(2), 1, 3, 3, 'valid'), KernelLearnError);
  assert.throws(() => conv2dBackwardWeights(x, randomTensor(1, 1, 3, 3), 1, 3, 3), KernelLearnError);
  assert.throws(() => tensor(1, 1, 2, 2, new Float32Array(3)), KernelLearnError);
});

// ---------------------------------------------------------------------------------------------
// layers: finite-difference gradient checks

/** loss = sum(out * R), accumulated in float64. */
function lossOf(out: Tensor, r: Float32Array): number {
  let s = 0;
  for (let i = 0; i < out.data.length; i++) s += out.data[i] * r[i];
  return s;
}

/**
 * Compares backward() with central differences (L(v+eps) - L(v-eps)) / 2eps, perturbing every
 * parameter value and every input sample of `net` in turn.
 *
 * Why float32 differences are good enough here: the loss is summed in float64 and only the outputs
 * that depend on the perturbed value change, so its noise is about one float32 rounding of those
 * outputs (~6e-8 relative) divided by 2eps. Conv, Relu, Abs and Clamp are piecewise linear, so
 * with inputs kept away from the kinks (checked: `kinkFree`) the difference has no truncation
 * error at all and a large eps (1e-2) makes the rounding noise ~1e-5 of the outputs' scale.
 * Magnitude is smooth away from 0 (group norms kept >= 0.28); there eps 3e-3 balances truncation
 * (~eps^2 / norm^2) against noise (~6e-8 / eps): measured worst ~2e-5 of the scale, tolerance 1e-4.
 */
function gradCheck(name: string, makeNet: () => Layer, x: Tensor, eps: number, tol: number, mask?: (net: Layer, x: Tensor) => string): void {
  const net = makeNet();
  const out = net.forward(x);
  const r = randomArray(out.data.length);
  zeroGrad(net.params());
  const dx = net.backward(tensor(out.n, out.c, out.h, out.w, r));
  assert.deepEqual(shapeOf(dx), shapeOf(x), `${name}: dx shape`);

  // With a mask (the on/off pattern of the net's kinks), a difference whose +-eps step flips the
  // pattern straddles a kink and says nothing about the derivative: it is skipped (NaN), and counted.
  const baseline = mask?.(net, x);
  let skipped = 0;
  let total = 0;
  const numeric = (v: Float32Array, i: number): number => {
    total++;
    const keep = v[i];
    v[i] = keep + eps;
    const lp = lossOf(net.forward(x), r);
    const flipped = mask !== undefined && mask(net, x) !== baseline;
    v[i] = keep - eps;
    const lm = lossOf(net.forward(x), r);
    const flippedM = mask !== undefined && mask(net, x) !== baseline;
    v[i] = keep;
    if (flipped || flippedM) { skipped++; return NaN; }
    // The perturbed value as stored in float32, not the intended eps.
    return (lp - lm) / (Math.fround(keep + eps) - Math.fround(keep - eps));
  };
  for (const p of net.params()) {
    const num = Float64Array.from(p.value, (_, i) => numeric(p.value, i));
    assertClose(p.grad, num, tol, `${name}: d/d${p.name}`);
  }
  const numX = Float64Array.from(x.data, (_, i) => numeric(x.data, i));
  assertClose(dx.data, numX, tol, `${name}: d/dx`);
  assert.ok(skipped <= total * 0.05, `${name}: ${skipped} of ${total} differences straddle a kink`);
}

/** Values of magnitude in [0.2, 1] with random signs: at least 0.2 from the kinks of Relu and Abs at 0. */
function awayFromZero(n: number, c: number, h: number, w: number): Tensor {
  const t = randomTensor(n, c, h, w);
  for (let i = 0; i < t.data.length; i++) t.data[i] = (rng() < 0.5 ? -1 : 1) * (0.2 + 0.8 * rng());
  return t;
}

function initialised<T extends Layer>(net: T, seed: number): T {
  initConv(net, createRng(seed));
  for (const p of net.params()) if (p.name.endsWith('bias')) p.value.set(randomArray(p.value.length, -0.5, 0.5, createRng(seed + 1)));
  return net;
}

test('gradient check: Conv2d weights, bias and input', () => {
  for (const [n, cin, cout, h, w, kh, kw] of [[2, 2, 3, 6, 7, 3, 3], [1, 3, 2, 7, 5, 5, 3], [3, 1, 1, 4, 4, 1, 1], [1, 2, 2, 5, 6, 2, 4]]) {
    gradCheck(`Conv2d ${cin}->${cout} ${kh}x${kw}`, () => initialised(new Conv2d({ inChannels: cin, outChannels: cout, kh, kw, bias: true }), 7), randomTensor(n, cin, h, w), 1e-2, 1e-5);
  }
  gradCheck('Conv2d without bias', () => initialised(new Conv2d({ inChannels: 2, outChannels: 2, kh: 3, kw: 3, bias: false }), 8), randomTensor(1, 2, 5, 5), 1e-2, 1e-5);
});

test('gradient check: Relu, Abs, Clamp, Magnitude', () => {
  gradCheck('Relu', () => new Relu(), awayFromZero(2, 2, 3, 4), 1e-2, 1e-5);
  gradCheck('Abs', () => new Abs(), awayFromZero(2, 2, 3, 4), 1e-2, 1e-5);
  // Clamp to [-0.5, 0.5]: data at least 0.05 from both bounds, some clamped on each side.
  const xc = randomTensor(2, 2, 3, 4);
  for (let i = 0; i < xc.data.length; i++) {
    const v = -0.9 + 1.8 * rng();
    xc.data[i] = Math.abs(Math.abs(v) - 0.5) < 0.05 ? v * 0.5 : v;
  }
  gradCheck('Clamp', () => new Clamp(-0.5, 0.5), xc, 1e-2, 1e-5);
  gradCheck('Magnitude(2)', () => new Magnitude(2), awayFromZero(2, 4, 3, 3), 3e-3, 1e-4);
  gradCheck('Magnitude(3)', () => new Magnitude(3), awayFromZero(1, 3, 2, 5), 3e-3, 1e-4);
});

test('gradient check: Sequential conv-relu-conv and conv-magnitude', () => {
  const makeNet = () => initialised(new Sequential([
    new Conv2d({ inChannels: 2, outChannels: 3, kh: 3, kw: 3, bias: true }),
    new Relu(),
    new Conv2d({ inChannels: 3, outChannels: 2, kh: 3, kw: 3, bias: true }),
  ]), 11);
  // Which hidden units the Relu passes: a difference that changes it straddles the kink.
  const reluMask = (net: Layer, x: Tensor): string => (net as Sequential).layers[0].forward(x).data.map((v) => (v > 0 ? 1 : 0)).join('');
  gradCheck('conv-relu-conv', makeNet, randomTensor(2, 2, 7, 8), 1e-3, 1e-4, reluMask);

  const sobelNet = () => initialised(new Sequential([new Conv2d({ inChannels: 1, outChannels: 2, kh: 3, kw: 3, bias: false }), new Magnitude(2)]), 12);
  // Near |g| = 0 the magnitude is a cone (unbounded curvature), where differences mean nothing:
  // data seed 2 keeps every output at least 0.45 from it (asserted).
  const xs = tensor(2, 1, 6, 6, randomArray(72, -1, 1, createRng(2)));
  assert.ok(sobelNet().forward(xs).data.every((v) => v > 0.45), 'conv-magnitude data: an output is near 0');
  gradCheck('conv-magnitude', sobelNet, xs, 3e-3, 1e-4);
});

test('Magnitude: sqrt of the sum of squares per channel group, gradient 0 (not NaN) at 0', () => {
  const x = tensor(1, 4, 1, 2, Float32Array.from([3, 0, 4, 0, 1, 0, 2, 0])); // groups (c0,c1), (c2,c3)
  const m = new Magnitude(2);
  const out = m.forward(x);
  assert.deepEqual(shapeOf(out), [1, 2, 1, 2]);
  assert.deepEqual([...out.data], [5, 0, Math.fround(Math.sqrt(5)), 0]);
  const dx = m.backward(tensor(1, 2, 1, 2, new Float32Array(4).fill(1)));
  assert.deepEqual([...dx.data].map((v) => Math.round(v * 1e6) / 1e6), [0.6, 0, 0.8, 0, 0.447214, 0, 0.894427, 0]);
  assert.throws(() => new Magnitude(3).forward(x), KernelLearnError);
});

test('Sequential: params named like a state_dict, gradients accumulate, first layer may skip dL/dx', () => {
  const net = new Sequential([
    new Conv2d({ inChannels: 1, outChannels: 2, kh: 3, kw: 3, bias: true }), new Abs(), new Conv2d({ inChannels: 2, outChannels: 1, kh: 5, kw: 3, bias: false }),
  ]);
  assert.deepEqual(net.params().map((p) => p.name), ['0.weight', '0.bias', '2.weight']);
  initConv(net, createRng(1));
  const x = randomTensor(2, 1, 9, 9);
  const out = net.forward(x);
  assert.deepEqual(shapeOf(out), [2, 1, 9 - 7 + 1, 9 - 5 + 1]);
  const g = randomTensor(out.n, out.c, out.h, out.w);
  zeroGrad(net.params());
  const dx = net.backward(g);
  const once = net.params().map((p) => Float32Array.from(p.grad));
  net.forward(x);
  assert.equal(net.backward(g, false), EMPTY_TENSOR);
  net.params().forEach((p, i) => assertClose(p.grad, once[i].map((v) => 2 * v), 1e-6, `accumulated ${p.name}`));
  assert.deepEqual(shapeOf(dx), shapeOf(x));
  assert.throws(() => new Relu().backward(g), KernelLearnError); // backward before forward
});

test('receptiveField: total shrink of the valid convs', () => {
  const conv = (kh: number, kw: number) => new Conv2d({ inChannels: 1, outChannels: 1, kh, kw, bias: false });
  assert.deepEqual(receptiveField(conv(3, 5)), { kh: 3, kw: 5 });
  assert.deepEqual(receptiveField(new Sequential([conv(3, 3), new Relu(), conv(5, 3), new Magnitude(1)])), { kh: 7, kw: 5 });
  assert.deepEqual(receptiveField(new Sequential([new Relu()])), { kh: 1, kw: 1 });
  const net = new Sequential([conv(3, 3), new Relu(), conv(3, 3)]);
  const out = net.forward(randomTensor(1, 1, 10, 12));
  const rf = receptiveField(net);
  assert.deepEqual([out.h, out.w], [10 - rf.kh + 1, 12 - rf.kw + 1]);
});

test('initConv and createRng are deterministic and He-scaled', () => {
  const a = createRng(42);
  const b = createRng(42);
  const seq = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(seq, Array.from({ length: 1000 }, () => b()));
  assert.ok(seq.every((v) => v >= 0 && v < 1));
  assert.notDeepEqual(seq.slice(0, 10), Array.from({ length: 10 }, createRng(43)));
  const mean = seq.reduce((s, v) => s + v, 0) / seq.length;
  assert.ok(Math.abs(mean - 0.5) < 0.03, `mean ${mean}`);
  const nr = createRng(5);
  const ns = Array.from({ length: 4000 }, () => normal(nr));
  const nm = ns.reduce((s, v) => s + v, 0) / ns.length;
  const nv = ns.reduce((s, v) => s + (v - nm) ** 2, 0) / ns.length;
  assert.ok(Math.abs(nm) < 0.06 && Math.abs(nv - 1) < 0.08, `normal mean ${nm} var ${nv}`);

  const make = () => new Conv2d({ inChannels: 4, outChannels: 8, kh: 3, kw: 3, bias: true });
  const c1 = make();
  const c2 = make();
  initConv(c1, createRng(3));
  initConv(c2, createRng(3));
  assert.deepEqual(c1.weight.value, c2.weight.value);
  const bound = Math.SQRT2 * Math.sqrt(3 / 36);
  assert.ok(c1.weight.value.every((v) => Math.abs(v) <= bound));
  assert.ok(Math.max(...c1.weight.value.map(Math.abs)) > 0.8 * bound);
  assert.ok(c1.bias!.value.every((v) => v === 0));
});

// ---------------------------------------------------------------------------------------------
// TensorFlow.js as an oracle

/** The few tfjs functions used, typed here so this file compiles without tfjs installed. */
interface TfTensor { dataSync(): Float32Array; shape: number[] }
interface Tf {
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  tensor4d(values: Float32Array, shape: [number, number, number, number]): TfTensor;
  tensor1d(values: Float32Array): TfTensor;
  transpose(x: TfTensor, perm: number[]): TfTensor;
  conv2d(x: TfTensor, filter: TfTensor, strides: number, pad: 'valid'): TfTensor;
  add(a: TfTensor, b: TfTensor): TfTensor;
  mul(a: TfTensor, b: TfTensor): TfTensor;
  sum(x: TfTensor): TfTensor;
  grads(f: (...args: TfTensor[]) => TfTensor): (args: TfTensor[]) => TfTensor[];
}

/** tfjs if it is installed (a devDependency), with its "use tfjs-node" banner silenced; null otherwise. */
async function loadTf(): Promise<Tf | null> {
  const name = '@tensorflow/tfjs'; // a variable, so tsc does not need the package to build this file
  const log = console.log;
  const warn = console.warn;
  console.log = () => {};
  console.warn = () => {};
  try {
    const tf = (await import(name)) as Tf;
    await tf.setBackend('cpu');
    await tf.ready();
    tf.tensor1d(new Float32Array(1)).dataSync(); // the banner comes with the backend's first write
    return tf;
  } catch {
    return null;
  } finally {
    console.log = log;
    console.warn = warn;
  }
}

test('TensorFlow.js oracle: valid conv2d forward and gradients of sum(out * R)', async (t) => {
  const tf = await loadTf();
  if (!tf) {
    t.skip('@tensorflow/tfjs is not installed');
    return;
  }
  const cases: [number, number, number, number, number, number, number][] = [
    // n, cin, cout, h, w, kh, kw
    [2, 3, 2, 9, 11, 3, 3],
    [1, 2, 4, 8, 7, 5, 3],
    [3, 2, 3, 6, 6, 1, 1],
  ];
  for (const [n, cin, cout, h, w, kh, kw] of cases) {
    const what = `${n}x${cin}x${h}x${w} * ${cout}x${cin}x${kh}x${kw}`;
    const conv = initialised(new Conv2d({ inChannels: cin, outChannels: cout, kh, kw, bias: true }), 21);
    const x = randomTensor(n, cin, h, w);
    const out = conv.forward(x);
    const r = randomArray(out.data.length);
    zeroGrad(conv.params());
    const dx = conv.backward(tensor(out.n, out.c, out.h, out.w, r));

    // tfjs: x NHWC, filter [kh][kw][cin][cout], so transpose from our NCHW and [cout][cin][kh][kw].
    const xT = tf.transpose(tf.tensor4d(x.data, [n, cin, h, w]), [0, 2, 3, 1]);
    const wT = tf.transpose(tf.tensor4d(conv.weight.value, [cout, cin, kh, kw]), [2, 3, 1, 0]);
    const bT = tf.tensor1d(conv.bias!.value);
    const rT = tf.transpose(tf.tensor4d(r, [out.n, out.c, out.h, out.w]), [0, 2, 3, 1]);
    const forward = (a: TfTensor, f: TfTensor, b: TfTensor) => tf.add(tf.conv2d(a, f, 1, 'valid'), b);
    const back = (v: TfTensor) => tf.transpose(v, [0, 3, 1, 2]).dataSync(); // NHWC -> NCHW
    assertClose(out.data, back(forward(xT, wT, bT)), 1e-4, `tfjs forward ${what}`);

    const [gx, gw, gb] = tf.grads((a, f, b) => tf.sum(tf.mul(forward(a, f, b), rT)))([xT, wT, bT]);
    assertClose(dx.data, back(gx), 1e-4, `tfjs dL/dx ${what}`);
    assertClose(conv.weight.grad, tf.transpose(gw, [3, 2, 0, 1]).dataSync(), 1e-4, `tfjs dL/dW ${what}`);
    assertClose(conv.bias!.grad, gb.dataSync(), 1e-4, `tfjs dL/db ${what}`);
  }
});

test('applyModel: runs of per-pixel layers (curves: 1x1 conv, relu, 1x1 conv; abs, clamp) pixel by pixel in WebAssembly give the layer-by-layer bits and the JavaScript reference\'s', async () => {
  const { applyModel, applyModelLayered } = await import('../src/nn/apply.js');
  const { curveLayers } = await import('../src/nn/curve.js');
  const { createImage } = await import('../src/image.js');
  const { toF32 } = await import('../src/nn/network.js');
  const { pointwiseForward, pointwiseForwardReference, pointwiseRunEnd } = await import('../src/nn/pointwise.js');
  const { tensor } = await import('../src/kernels/conv2d.js');
  const rng = createRng(515);
  const curve = (m: number): { knots: number[]; values: number[] } => {
    const knots: number[] = [];
    let t = -40 + 20 * rng();
    for (let j = 0; j < m; j++) knots.push(toF32((t += 1 + 30 * rng())));
    return { knots, values: knots.map(() => toF32(300 * rng() - 50)) };
  };
  const conv = (cin: number, cout: number, k: number, bias: boolean): LayerSpec => ({
    type: 'conv2d', inChannels: cin, outChannels: cout, kernelSize: [k, k],
    weights: Array.from({ length: cout }, () => Array.from({ length: cin }, () => Array.from({ length: k }, () => Array.from({ length: k }, () => toF32(2 * rng() - 1))))),
    bias: bias ? Array.from({ length: cout }, () => toF32(20 * rng() - 10)) : null,
  });
  const nets: [string, number, LayerSpec[]][] = [
    ['curve after a 3x3 kernel, clamped', 1, [conv(1, 1, 3, true), ...curveLayers([curve(32)]), { type: 'clamp', min: 0, max: 255 }]],
    ['curves before and after, 3 channels', 3, [...curveLayers([curve(5), curve(32), curve(2)]), conv(3, 3, 5, true), ...curveLayers([curve(7), curve(3), curve(32)])]],
    ['1x1 chains with abs and clamp, no bias', 2, [conv(2, 6, 1, false), { type: 'abs' }, conv(6, 4, 1, true), { type: 'relu' }, conv(4, 2, 1, false), { type: 'clamp', min: -3, max: 7.3 }]],
    ['a magnitude between runs', 1, [conv(1, 2, 3, true), { type: 'magnitude', groupSize: 2 }, ...curveLayers([curve(9)])]],
  ];
  for (const [name, cin, layers] of nets) {
    for (const depth of ['f32', 'f64'] as const) {
      const im = createImage(23, 17, cin, depth);
      for (let i = 0; i < im.data.length; i++) im.data[i] = i % 97 === 0 ? -0 : i % 89 === 0 ? NaN : 400 * rng() - 100;
      const last = layers.filter((l) => l.type === 'conv2d').pop() as { outChannels: number };
      const net = { inputChannels: cin, outputChannels: last.outChannels, border: 'reflect101' as const, layers };
      const fast = applyModel(net, im), ref = applyModelLayered(net, im);
      assert.deepEqual(fast, ref, `${name} ${depth}`);
      // The WebAssembly run against its plain JavaScript reference, on each run of per-pixel layers.
      for (let at = 0; at < layers.length; at++) {
        const end = pointwiseRunEnd(layers, at);
        if (end === at) continue;
        const x = tensor(1, (layers[at] as { inChannels?: number }).inChannels ?? cin, im.height, im.width);
        for (let i = 0; i < x.data.length; i++) x.data[i] = i % 97 === 0 ? -0 : i % 89 === 0 ? NaN : 400 * rng() - 100;
        assert.deepEqual(pointwiseForward(x, layers.slice(at, end)), pointwiseForwardReference(x, layers.slice(at, end)), `${name} ${depth} layers ${at}..${end}`);
        at = end - 1;
      }
      if (cin === 1) {
        // A one-channel model on a colour image: the channels are the batch.
        const colour = createImage(11, 9, 3, depth);
        for (let i = 0; i < colour.data.length; i++) colour.data[i] = 255 * rng();
        assert.deepEqual(applyModel(net, colour), applyModelLayered(net, colour), `${name} ${depth} per channel`);
      }
    }
  }
});

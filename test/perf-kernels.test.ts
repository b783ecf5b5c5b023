/**
 * The fast paths of src/kernels (threads.ts, the separable path and conv2dForwardRows in
 * conv2d.ts) against the plain per-pixel reference: random shapes and kernels, every border mode,
 * odd widths, 1-pixel images, widths that are not a multiple of any lane count, every thread count.
 *  - conv2dForwardRows over any cut into bands is bit-identical to conv2dForward (itself
 *    bit-identical to the reference, see nn.test.ts);
 *  - conv2dForwardThreaded at 1..5 threads is bit-identical to conv2dForwardF32Reference (the
 *    WebAssembly SIMD path; test/simd.test.ts tests that kernel on its own);
 *  - the separable path agrees with the reference to 2^-20 of sum |w|*|x|, and is refused for
 *    kernels that are not rank 1.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  conv2dForward, conv2dForwardReference, conv2dForwardRows, conv2dForwardSeparable, separableFactors, tensor, type Padding, type Tensor,
} from '../src/kernels/conv2d.js';
import { conv2dForwardThreaded, conv2dForwardAuto, shutdown, toShared } from '../src/kernels/threads.js';
import { conv2dForwardF32Reference } from '../src/kernels/simd.js';
import { BORDER_MODES } from '../src/filters/border.js';
import { createRng } from '../src/random.js';

const rng = createRng(31337);
const PADDINGS: Padding[] = [...BORDER_MODES, 'valid'];

after(async () => {
  await shutdown();
});

function randomTensor(n: number, c: number, h: number, w: number): Tensor {
  const t = tensor(n, c, h, w);
  for (let i = 0; i < t.data.length; i++) t.data[i] = Math.fround(rng() * 2 - 1);
  return t;
}

function randomWeights(size: number): Float32Array {
  return Float32Array.from({ length: size }, () => Math.fround(rng() * 2 - 1));
}

function randomInt(lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

function assertBitEqual(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: sample ${i}: ${a[i]} vs ${b[i]}`);
}

/** Random case: shapes from 1x1 up, odd and even widths, kernels up to 5x5 (bigger than tiny images). */
function randomCase(padding: Padding): { x: Tensor; weights: Float32Array; bias: Float32Array | null; cout: number; kh: number; kw: number } {
  const kh = randomInt(1, 5), kw = randomInt(1, 5);
  const minH = padding === 'valid' ? kh : 1, minW = padding === 'valid' ? kw : 1;
  const h = randomInt(minH, minH + 20), w = randomInt(minW, minW + 37);
  const n = randomInt(1, 2), cin = randomInt(1, 3), cout = randomInt(1, 3);
  return { x: randomTensor(n, cin, h, w), weights: randomWeights(cout * cin * kh * kw), bias: rng() < 0.5 ? randomWeights(cout) : null, cout, kh, kw };
}

test('conv2dForwardRows over any cut into bands equals conv2dForward bit for bit', () => {
  for (const padding of PADDINGS) {
    for (let trial = 0; trial < 30; trial++) {
      const { x, weights, bias, cout, kh, kw } = randomCase(padding);
      const want = conv2dForward(x, weights, bias, cout, kh, kw, padding);
      const got = tensor(want.n, want.c, want.h, want.w);
      for (let y = 0; y < want.h;) {
        const y1 = Math.min(want.h, y + randomInt(1, 4));
        conv2dForwardRows(x, weights, bias, cout, kh, kw, padding, got, y, y1);
        y = y1;
      }
      assertBitEqual(got.data, want.data, `${padding} ${x.n}x${x.c}x${x.h}x${x.w} k${kh}x${kw}`);
    }
  }
});

test('conv2dForwardThreaded (WebAssembly SIMD, float32 sums) equals its reference bit for bit at every thread count', async () => {
  for (const padding of PADDINGS) {
    for (let trial = 0; trial < 8; trial++) {
      const { x, weights, bias, cout, kh, kw } = randomCase(padding);
      const want = conv2dForwardF32Reference(x, weights, bias, cout, kh, kw, padding);
      for (const threads of [1, 2, 3, 4, 5]) {
        const got = await conv2dForwardThreaded(x, weights, bias, cout, kh, kw, padding, { threads });
        assertBitEqual(got.data, want.data, `${padding} ${x.n}x${x.c}x${x.h}x${x.w} k${kh}x${kw} threads ${threads}`);
      }
    }
  }
  // 1x1 images and a tall, wide one big enough to really split (odd width, not a lane multiple).
  for (const [h, w] of [[1, 1], [1, 7], [9, 1], [301, 1001]]) {
    const x = randomTensor(1, 1, h, w);
    const k = randomWeights(9);
    const want = conv2dForwardF32Reference(x, k, null, 1, 3, 3, 'reflect101');
    for (const threads of [1, 2, 3, 4, 5]) {
      assertBitEqual((await conv2dForwardThreaded(x, k, null, 1, 3, 3, 'reflect101', { threads })).data, want.data, `${h}x${w} threads ${threads}`);
    }
  }
  // Input already in shared memory is used without a copy, and gives the same result.
  const x = randomTensor(1, 1, 64, 65);
  const shared = { ...x, data: toShared(x.data) };
  const k = randomWeights(9);
  assertBitEqual((await conv2dForwardThreaded(shared, k, null, 1, 3, 3, 'wrap', { threads: 3 })).data, conv2dForwardF32Reference(x, k, null, 1, 3, 3, 'wrap').data, 'shared input');
});

/** Max |a - b| relative to the sum of |w| * max|x| (the scale of each output's rounding error). */
function maxRelError(a: Float32Array, b: Float32Array, scale: number): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / scale);
  return m;
}

test('the separable path agrees with the reference to float32 rounding for rank-1 kernels, every border, thread count and shape', async () => {
  const sobel = Float32Array.from([-1, 0, 1, -2, 0, 2, -1, 0, 1]);
  for (const padding of PADDINGS) {
    for (let trial = 0; trial < 20; trial++) {
      const kh = randomInt(1, 5), kw = randomInt(1, 5);
      const col = Array.from({ length: kh }, () => Math.fround(rng() * 2 - 1));
      const row = Array.from({ length: kw }, () => Math.fround(rng() * 2 - 1));
      const weights = trial === 0 && padding !== 'valid' ? sobel : Float32Array.from(col.flatMap((c) => row.map((r) => c * r)));
      const [ekh, ekw] = trial === 0 && padding !== 'valid' ? [3, 3] : [kh, kw];
      const minH = padding === 'valid' ? ekh : 1, minW = padding === 'valid' ? ekw : 1;
      const x = randomTensor(randomInt(1, 2), 1, randomInt(minH, minH + 15), randomInt(minW, minW + 30));
      const bias = rng() < 0.5 ? randomWeights(1) : null;
      const want = conv2dForwardReference(x, weights, bias, 1, ekh, ekw, padding);
      let scale = bias ? Math.abs(bias[0]) : 0;
      for (const v of weights) scale += Math.abs(v);
      const sep = conv2dForwardSeparable(x, weights, bias, 1, ekh, ekw, padding);
      assert.ok(sep, `rank-1 ${ekh}x${ekw} kernel takes the separable path`);
      assert.ok(maxRelError(sep.data, want.data, scale) < 2 ** -20, `${padding} k${ekh}x${ekw} ${x.h}x${x.w}: error ${maxRelError(sep.data, want.data, scale)}`);
      assertBitEqual(conv2dForwardAuto(x, weights, bias, 1, ekh, ekw, padding).data, sep.data, 'auto picks separable');
      for (const threads of [1, 2, 3, 4]) {
        const t = await conv2dForwardThreaded(x, weights, bias, 1, ekh, ekw, padding, { threads, separable: true });
        assertBitEqual(t.data, sep.data, `separable threaded x${threads}`);
      }
    }
  }
});

test('separableFactors refuses kernels that are not rank 1, and the auto path then equals conv2dForward', () => {
  assert.equal(separableFactors(Float32Array.from([1, 2, 3, 4]), 0, 2, 2), null);
  assert.equal(separableFactors(new Float32Array(9), 0, 3, 3), null, 'all-zero kernel');
  assert.equal(separableFactors(Float32Array.from([0, -1, 0, -1, 5, -1, 0, -1, 0]), 0, 3, 3), null, 'sharpen');
  const learned = Float32Array.from([-1.0002, 0.0003, 1.0001, -1.9998, 0.0001, 2.0004, -0.9997, -0.0002, 0.9999]);
  assert.equal(separableFactors(learned, 0, 3, 3), null, 'a learned, nearly separable kernel stays on the exact path');
  const x = randomTensor(1, 1, 13, 17);
  assertBitEqual(conv2dForwardAuto(x, learned, null, 1, 3, 3, 'reflect').data, conv2dForward(x, learned, null, 1, 3, 3, 'reflect').data, 'auto = direct');
  assert.equal(conv2dForwardSeparable(randomTensor(1, 2, 5, 5), randomWeights(18), null, 1, 3, 3, 'reflect'), null, '2 input channels');
});

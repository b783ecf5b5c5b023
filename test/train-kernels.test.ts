/**
 * The training convolutions (src/kernels/train-wasm.ts, source assembly/train.ts) against their
 * plain references in conv2d.ts, with dilation: the forward bit for bit (float64 sums also equal
 * to the JavaScript conv2dForward the trainer used before), the weight and input gradients within
 * the rounding their sums allow. The dilated apply kernel (simd.ts) bit for bit against its
 * reference and against the same kernel spread out with zeros; the data-parallel gradient
 * (train/parallel.ts) the same for any thread count. And the committed bytes are what the source
 * compiles to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  conv2dBackwardInputReference, conv2dBackwardWeightsReference, conv2dForward, conv2dForwardReference, tensor, type Padding, type Tensor,
} from '../src/kernels/conv2d.js';
import { convBackwardInput, convBackwardWeights, convForward, convLossGrad, type Sums } from '../src/kernels/train-wasm.js';
import { conv2dForwardF32, conv2dForwardF32Reference } from '../src/kernels/simd.js';
import { conv2dForwardThreaded } from '../src/kernels/threads.js';
import { TRAIN_WASM_BASE64 } from '../src/kernels/train-wasm.generated.js';
import { BORDER_MODES } from '../src/filters/border.js';
import { Conv2d, Relu, Sequential } from '../src/nn/layers.js';
import { GradientEngine, type ItemSet } from '../src/train/parallel.js';
import { createRng } from '../src/random.js';

const rng = createRng(777);
const randomInt = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
const randomArray = (size: number, scale = 1): Float32Array => Float32Array.from({ length: size }, () => Math.fround((rng() * 2 - 1) * scale));
const randomTensor = (n: number, c: number, h: number, w: number, scale = 1): Tensor => tensor(n, c, h, w, randomArray(n * c * h * w, scale));

function assertBitEqual(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i] + 0, b[i] + 0)) assert.fail(`${what}: sample ${i}: ${a[i]} vs ${b[i]}`);
}

/** A random valid-conv case: shapes (every third one 3x3, the kernels' own path), dilation, weights, input. */
function randomCase(trial: number): { x: Tensor; w: Float32Array; b: Float32Array | null; cout: number; kh: number; kw: number; d: number; what: string } {
  const kh = trial % 3 === 0 ? 3 : randomInt(1, 5), kw = trial % 3 === 0 ? 3 : randomInt(1, 5), d = randomInt(1, 3);
  const h = d * (kh - 1) + randomInt(1, 10), w = d * (kw - 1) + randomInt(1, 37); // every tail length of the 4-, 8- and 16-sample steps
  const n = randomInt(1, 3), cin = randomInt(1, 4), cout = randomInt(1, 4);
  const what = `${n}x${cin}x${h}x${w} k${kh}x${kw} d${d} cout ${cout}`;
  return { x: randomTensor(n, cin, h, w, 100), w: randomArray(cout * cin * kh * kw), b: rng() < 0.7 ? randomArray(cout) : null, cout, kh, kw, d, what };
}

test('training forward: float64 sums equal the reference (and conv2dForward) bit for bit, float32 sums the float32 reference, with any dilation', () => {
  for (let trial = 0; trial < 60; trial++) {
    const { x, w, b, cout, kh, kw, d, what } = randomCase(trial);
    assertBitEqual(convForward(x, w, b, cout, kh, kw, d, 'f64').data, conv2dForwardReference(x, w, b, cout, kh, kw, 'valid', 'f64', d).data, `f64 ${what}`);
    assertBitEqual(convForward(x, w, b, cout, kh, kw, d, 'f32').data, conv2dForwardReference(x, w, b, cout, kh, kw, 'valid', 'f32', d).data, `f32 ${what}`);
    if (d === 1) assertBitEqual(convForward(x, w, b, cout, kh, kw, 1, 'f64').data, conv2dForward(x, w, b, cout, kh, kw, 'valid').data, `vs conv2dForward ${what}`);
  }
});

test('fused loss and gradient (convLossGrad): bit for bit the forward, the float64 residual and the weight gradient called in turn, float64 and float32 sums, any dilation', () => {
  for (let trial = 0; trial < 30; trial++) {
    const c = randomCase(trial);
    const x = tensor(1, c.x.c, c.x.h, c.x.w, c.x.data.slice(0, c.x.c * c.x.h * c.x.w));
    for (const sums of ['f64', 'f32'] as const) {
      const out = convForward(x, c.w, c.b, c.cout, c.kh, c.kw, c.d, sums);
      const t = randomArray(out.data.length, 100), scale = 2 / (3 * out.data.length);
      // The residual as train/parallel.ts computes it: float64 differences, float32 gradients.
      const g = tensor(out.n, out.c, out.h, out.w);
      let loss = 0;
      for (let i = 0; i < t.length; i++) {
        const dv = out.data[i] - t[i];
        loss += dv * dv;
        g.data[i] = scale * dv;
      }
      const ref = convBackwardWeights(x, g, c.cout, c.kh, c.kw, c.d, sums);
      const fused = convLossGrad(x, t, c.w, c.b, c.cout, c.kh, c.kw, c.d, scale, sums);
      assert.ok(Object.is(fused.loss, loss), `${sums} ${c.what}: loss ${fused.loss} vs ${loss}`);
      assert.deepEqual(Array.from(fused.dWeights), Array.from(ref.dWeights), `${sums} ${c.what}: weight gradient`);
      assert.deepEqual(Array.from(fused.dBias), Array.from(ref.dBias), `${sums} ${c.what}: bias gradient`);
    }
  }
});

/**
 * |fast - reference| per value within `bound` times the sum of |terms| (the rounding a sum of
 * those terms can make), plus one float32 rounding of the reference (which stores float32).
 */
function assertWithin(fast: ArrayLike<number>, ref: Float32Array, absTerms: Float64Array, bound: number, what: string): void {
  for (let i = 0; i < ref.length; i++) {
    const allowed = bound * absTerms[i] + Math.abs(ref[i]) * 2 ** -23;
    if (!(Math.abs(fast[i] - ref[i]) <= allowed)) assert.fail(`${what}: value ${i}: ${fast[i]} vs ${ref[i]} (allowed ${allowed})`);
  }
}

const absTensor = (t: Tensor): Tensor => tensor(t.n, t.c, t.h, t.w, t.data.map(Math.abs));

test('training weight and input gradients agree with their references within their float sums\' rounding, with any dilation', () => {
  for (let trial = 0; trial < 60; trial++) {
    const { x, w, cout, kh, kw, d, what } = randomCase(trial);
    const oh = x.h - d * (kh - 1), ow = x.w - d * (kw - 1);
    const g = randomTensor(x.n, cout, oh, ow);
    const ref = conv2dBackwardWeightsReference(x, g, cout, kh, kw, d);
    const terms = conv2dBackwardWeightsReference(absTensor(x), absTensor(g), cout, kh, kw, d); // sums of |g x|
    const refX = conv2dBackwardInputReference(g, w, x.c, kh, kw, d);
    const termsX = conv2dBackwardInputReference(absTensor(g), w.map(Math.abs), x.c, kh, kw, d);
    // float32 sums: a lane holds up to 4 rows' ow/4 terms (DW_ROWS in assembly/train.ts) before it
    // goes into float64, the tail terms added one by one; float64 sums: any order is within 1e-12.
    const bounds: Record<Sums, { dW: number; dX: number }> = { f64: { dW: 1e-12, dX: 1e-12 }, f32: { dW: (ow + 4) * 2 ** -24, dX: (cout * kh * kw + 1) * 2 ** -24 } };
    for (const sums of ['f64', 'f32'] as const) {
      const fast = convBackwardWeights(x, g, cout, kh, kw, d, sums);
      assertWithin(fast.dWeights, ref.dWeights, Float64Array.from(terms.dWeights), bounds[sums].dW, `dW ${sums} ${what}`);
      assertWithin(fast.dBias, ref.dBias, Float64Array.from(terms.dBias), bounds[sums].dW, `dB ${sums} ${what}`);
      const dx = convBackwardInput(g, w, x.c, kh, kw, d, sums);
      assert.deepEqual([dx.n, dx.c, dx.h, dx.w], [x.n, x.c, x.h, x.w]);
      assertWithin(dx.data, refX.data, Float64Array.from(termsX.data), bounds[sums].dX, `dX ${sums} ${what}`);
    }
  }
});

/** A kh x kw kernel with taps d apart as the dense kernel of its extent, zeros between the taps. */
function spreadOut(w: Float32Array, cout: number, cin: number, kh: number, kw: number, d: number): Float32Array {
  const eh = d * (kh - 1) + 1, ew = d * (kw - 1) + 1;
  const out = new Float32Array(cout * cin * eh * ew);
  for (let oc = 0; oc < cout * cin; oc++) for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) out[(oc * eh + d * ky) * ew + d * kx] = w[(oc * kh + ky) * kw + kx];
  return out;
}

test('dilated apply (WebAssembly SIMD, float32): equal to its reference and to the kernel spread out with zeros, bit for bit, every border mode', async () => {
  const paddings: Padding[] = [...BORDER_MODES, 'valid'];
  for (const padding of paddings) {
    for (let trial = 0; trial < 10; trial++) {
      const k = [1, 3, 5][randomInt(0, 2)], d = randomInt(2, 4), e = d * (k - 1) + 1;
      const h = (padding === 'valid' ? e : 1) + randomInt(0, 14), w = (padding === 'valid' ? e : 1) + randomInt(0, 30);
      const cin = randomInt(1, 3), cout = randomInt(1, 3);
      const x = randomTensor(1, cin, h, w, 50), wts = randomArray(cout * cin * k * k), b = randomArray(cout);
      const what = `${padding} ${cin}x${h}x${w} k${k} d${d} cout ${cout}`;
      const got = conv2dForwardF32(x, wts, b, cout, k, k, padding, d);
      assertBitEqual(got.data, conv2dForwardF32Reference(x, wts, b, cout, k, k, padding, d).data, `reference ${what}`);
      assertBitEqual(got.data, conv2dForwardF32(x, spreadOut(wts, cout, cin, k, k, d), b, cout, e, e, padding).data, `spread out ${what}`);
      const threaded = await conv2dForwardThreaded(x, wts, b, cout, k, k, padding, { threads: 3, dilation: d });
      assertBitEqual(threaded.data, got.data, `threads ${what}`);
    }
  }
  assert.throws(() => conv2dForwardF32(randomTensor(1, 1, 9, 9), randomArray(4), null, 1, 2, 2, 'reflect101', 2), /odd sides/);
});

test('the data-parallel gradient is the same for 1, 2 and 3 threads, bit for bit', () => {
  const run = (threads: number): { loss: number; grads: Float64Array[] } => {
    const r = createRng(5);
    const convs = [new Conv2d({ inChannels: 1, outChannels: 4, kh: 3, kw: 3, bias: true, sums: 'f32' }), new Conv2d({ inChannels: 4, outChannels: 1, kh: 3, kw: 3, bias: true, dilation: 2, sums: 'f32' })];
    for (const c of convs) c.weight.value.forEach((_, i, a) => (a[i] = r() - 0.5));
    const net = new Sequential([convs[0], new Relu(), convs[1]]);
    const items = Array.from({ length: 5 }, (_, i) => ({ xAt: i * 600, h: 20, w: 24, tAt: i * 600 + 480, oh: 14, ow: 18 }));
    const set: ItemSet = { items, count: 5 * 14 * 18 };
    const engine = new GradientEngine(net, 1, 1, [set], [true], threads);
    for (let i = 0; i < engine.data.length; i++) engine.data[i] = Math.fround(r() * 4 - 2);
    try {
      const out = engine.run(0, true);
      return { loss: out.loss, grads: out.grads! };
    } finally {
      engine.close();
    }
  };
  const one = run(1);
  for (const threads of [2, 3]) {
    const t = run(threads);
    assert.equal(t.loss, one.loss, `${threads} threads: loss`);
    t.grads.forEach((g, k) => assert.deepEqual(Array.from(g), Array.from(one.grads[k]), `${threads} threads: param ${k}`));
  }
});

test('train-wasm.generated.ts is what assembly/train.ts compiles to', async () => {
  const build = (await import(new URL('../../tools/build_wasm.mjs', import.meta.url).href)) as { buildWasmModule(source: string): Promise<string> };
  const fresh = await build.buildWasmModule('assembly/train.ts');
  assert.ok(fresh.includes(TRAIN_WASM_BASE64), 'run npm run build:wasm and commit the result');
});

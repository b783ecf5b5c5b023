/**
 * The WebAssembly SIMD convolution (src/kernels/simd.ts, source assembly/conv.ts) against its
 * plain reference, bit for bit: random shapes and kernels 1x1..9x9, every border mode and
 * 'valid', widths around the 4-lane and 8-sample steps (so every tail length), 1-pixel images,
 * several channels in and out, any cut into bands, inputs in shared memory. And the committed
 * bytes are what the source compiles to (the build is reproducible from npm packages).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conv2dForwardReference, tensor, type Padding, type Tensor } from '../src/kernels/conv2d.js';
import { conv2dForwardF32, conv2dForwardF32Reference, conv2dForwardF32Rows, convWasmBytes, heapAlloc, heapFree, inHeap } from '../src/kernels/simd.js';
import { toShared } from '../src/kernels/threads.js';
import { BORDER_MODES } from '../src/filters/border.js';
import { createRng } from '../src/random.js';

const rng = createRng(4242);
const PADDINGS: Padding[] = [...BORDER_MODES, 'valid'];
const randomInt = (lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
const randomArray = (size: number, scale = 1): Float32Array => Float32Array.from({ length: size }, () => Math.fround((rng() * 2 - 1) * scale));

function assertBitEqual(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: sample ${i}: ${a[i]} vs ${b[i]}`);
}

test('conv2dForwardF32 equals its reference bit for bit: kernels 1..9, every border, every tail length', () => {
  let cases = 0;
  for (const padding of PADDINGS) {
    for (let trial = 0; trial < 24; trial++) {
      const kh = randomInt(1, 9), kw = randomInt(1, 9);
      const minH = padding === 'valid' ? kh : 1, minW = padding === 'valid' ? kw : 1;
      // Widths 1..40 past the minimum cover every remainder mod 4, 8 and 16.
      const h = randomInt(minH, minH + 12), w = randomInt(minW, minW + 40);
      const n = randomInt(1, 2), cin = randomInt(1, 3), cout = randomInt(1, 3);
      const x = tensor(n, cin, h, w, randomArray(n * cin * h * w, 255));
      const weights = randomArray(cout * cin * kh * kw);
      const bias = rng() < 0.5 ? randomArray(cout) : null;
      const what = `${padding} ${n}x${cin}x${h}x${w} k${kh}x${kw} cout ${cout}`;
      assertBitEqual(conv2dForwardF32(x, weights, bias, cout, kh, kw, padding).data, conv2dForwardF32Reference(x, weights, bias, cout, kh, kw, padding).data, what);
      cases++;
    }
  }
  assert.equal(cases, PADDINGS.length * 24);
});

test('conv2dForwardF32: 1-pixel images, single rows and columns, kernels larger than the image', () => {
  for (const padding of BORDER_MODES) {
    for (const [h, w] of [[1, 1], [1, 9], [9, 1], [2, 3], [1, 17]]) {
      for (const [kh, kw] of [[3, 3], [5, 5], [1, 3], [7, 2]]) {
        const x = tensor(1, 1, h, w, randomArray(h * w, 10));
        const k = randomArray(kh * kw);
        assertBitEqual(conv2dForwardF32(x, k, Float32Array.of(0.25), 1, kh, kw, padding).data,
          conv2dForwardF32Reference(x, k, Float32Array.of(0.25), 1, kh, kw, padding).data, `${padding} ${h}x${w} k${kh}x${kw}`);
      }
    }
  }
});

test('conv2dForwardF32Rows over any cut into bands, in place in the module memory or copied, equals the whole-image call', () => {
  for (const padding of PADDINGS) {
    for (let trial = 0; trial < 6; trial++) {
      const kh = randomInt(1, 5), kw = randomInt(1, 5);
      const h = randomInt(kh, kh + 30), w = randomInt(kw, kw + 70);
      const cin = randomInt(1, 2), cout = randomInt(1, 2);
      const plain: Tensor = tensor(1, cin, h, w, randomArray(cin * h * w, 100));
      const shared: Tensor = { ...plain, data: toShared(plain.data) }; // in the module's memory: read in place
      assert.ok(inHeap(shared.data));
      const otherShared: Tensor = { ...plain, data: new Float32Array(new SharedArrayBuffer(plain.data.length * 4 + 4), 4) };
      otherShared.data.set(plain.data);
      const weights = randomArray(cout * cin * kh * kw);
      const want = conv2dForwardF32(plain, weights, null, cout, kh, kw, padding);
      for (const x of [plain, shared, otherShared]) {
        // Outputs at odd float offsets: an ordinary array, another SharedArrayBuffer, the module's memory (written in place).
        const heapBlock = heapAlloc(want.data.length + 1);
        const outs = [
          new Float32Array(want.data.length + 1).subarray(1),
          new Float32Array(new SharedArrayBuffer((want.data.length + 1) * 4)).subarray(1),
          heapBlock.subarray(1),
        ];
        for (const [k, buf] of outs.entries()) {
          const got = tensor(want.n, want.c, want.h, want.w, buf);
          for (let y = 0; y < want.h;) {
            const y1 = Math.min(want.h, y + randomInt(1, 7));
            conv2dForwardF32Rows(x, weights, null, cout, kh, kw, padding, got, y, y1);
            y = y1;
          }
          const where = `${x === shared ? 'in place' : x === plain ? 'plain' : 'other shared'} input, output ${['plain', 'other shared', 'in place'][k]}`;
          assertBitEqual(got.data, want.data, `${padding} ${cin}x${h}x${w} k${kh}x${kw} ${where}`);
        }
        heapFree(heapBlock);
      }
    }
  }
});

test('the heap hands out, reuses and coalesces blocks of the module memory', () => {
  const a = heapAlloc(1000), b = heapAlloc(2000), c = heapAlloc(10);
  assert.ok(inHeap(a) && inHeap(b) && inHeap(c));
  assert.ok(a.byteOffset + a.byteLength <= b.byteOffset && b.byteOffset + b.byteLength <= c.byteOffset, 'disjoint');
  assert.equal(a.byteOffset % 64, 0);
  const aOffset = a.byteOffset;
  heapFree(a);
  heapFree(b);
  const d = heapAlloc(2900); // fits only in a and b coalesced
  assert.equal(d.byteOffset, aOffset);
  assert.ok(d.byteOffset + d.byteLength <= c.byteOffset);
  heapFree(c);
  heapFree(d);
  assert.ok(!inHeap(new Float32Array(4)));
});

test('a wide image crosses many bands (band height from the cache budget) and still equals the reference', () => {
  const h = 40, w = 20011; // a prime width: about 13 rows a band, and a 3-sample tail
  const x = tensor(1, 1, h, w, randomArray(h * w, 255));
  const k = randomArray(9);
  assertBitEqual(conv2dForwardF32(x, k, null, 1, 3, 3, 'reflect101').data, conv2dForwardF32Reference(x, k, null, 1, 3, 3, 'reflect101').data, '40x20011');
});

test('float32 sums stay within float32 rounding of the exact (float64) correlation', () => {
  const x = tensor(1, 1, 50, 61, randomArray(50 * 61, 255));
  const k = randomArray(25);
  const got = conv2dForwardF32(x, k, null, 1, 5, 5, 'reflect101').data;
  const ref = conv2dForwardReference(x, k, null, 1, 5, 5, 'reflect101').data; // float64 sums
  let sumAbsW = 0;
  for (const v of k) sumAbsW += Math.abs(v);
  // 25 roundings of partial sums bounded by sum|w|*255: within 25 * 2^-24 * sum|w| * 255.
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - ref[i]));
  assert.ok(worst <= 26 * 2 ** -24 * sumAbsW * 255, `worst ${worst}`);
  assert.ok(worst > 0, 'float32 sums do round');
});

test('the committed WebAssembly is what assembly/conv.ts compiles to (reproducible build)', async () => {
  const build = (await import(new URL('../../tools/build_wasm.mjs', import.meta.url).href)) as { buildWasmModule(source: string): Promise<string> };
  const fresh = await build.buildWasmModule('assembly/conv.ts');
  const [shared, local] = [...fresh.matchAll(/'([A-Za-z0-9+/=]+)'/g)].map((m) => Buffer.from(m[1], 'base64'));
  const committed = convWasmBytes();
  assert.deepEqual(shared, Buffer.from(committed.shared), 'shared-memory build: run npm run build:wasm');
  assert.deepEqual(local, Buffer.from(committed.private), 'private-memory build: run npm run build:wasm');
});

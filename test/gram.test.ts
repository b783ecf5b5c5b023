/**
 * The fast Gram statistics (src/kernels/gram.ts: products formed once per autocorrelation lag,
 * rectangles put together from segment sums, up to four lags per sweep) against the per-pixel
 * reference, on random shapes: every kernel size 1..9 (square and not), odd widths, valid regions
 * one pixel wide or high, pairs smaller than the kernel, several channels in and out, f32 and f64,
 * signed values. Also the numbers of the CLI's training data, and the exactness of integer data
 * (u8 images: every product and partial sum is an integer below 2^53, so both orders are exact).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createImage, type Image } from '../src/image.js';
import { gramStats, gramStatsReference, type GramPair, type GramStats } from '../src/kernels/gram.js';
import { createRng } from '../src/random.js';

type Rng = () => number;

function randomImage(rng: Rng, w: number, h: number, c: number, depth: 'f32' | 'f64', kind: 'u8' | 'signed'): Image {
  const im = createImage(w, h, c, depth);
  for (let i = 0; i < im.data.length; i++) im.data[i] = kind === 'u8' ? Math.floor(rng() * 256) : (rng() - 0.5) * 200;
  return im;
}

/** Equal up to float64 rounding: 1e-12 of the largest sum of |products| an entry can have. */
function assertClose(fast: GramStats, ref: GramStats, pairs: GramPair[], what: string): void {
  assert.equal(fast.n, ref.n, `${what}: n`);
  assert.equal(fast.p, ref.p, `${what}: p`);
  let maxX = 1, maxY = 1;
  for (const { input, target } of pairs) {
    for (const v of input.data) maxX = Math.max(maxX, Math.abs(v));
    for (const v of target.data) maxY = Math.max(maxY, Math.abs(v));
  }
  const n = Math.max(1, ref.n);
  const check = (a: Float64Array, b: Float64Array, scale: number, name: string): void => {
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) {
      assert.ok(Math.abs(a[i] - b[i]) <= 1e-12 * scale, `${what}: ${name}[${i}] ${a[i]} vs ${b[i]}`);
    }
  };
  check(fast.xtx, ref.xtx, n * maxX * maxX, 'xtx');
  check(fast.xty, ref.xty, n * maxX * maxY, 'xty');
  check(fast.yty, ref.yty, n * maxY * maxY, 'yty');
}

test('gram: fast equals the reference for every kernel size 1..9, odd widths and thin valid regions', () => {
  const rng = createRng(41);
  for (let kh = 1; kh <= 9; kh++) {
    for (const kw of [kh, Math.max(1, 10 - kh)]) {
      // Valid regions: wide, one pixel wide, one pixel high, one pixel, and a pair with none.
      const sizes: [number, number][] = [
        [kw + 10 + Math.floor(rng() * 7), kh + 8 + Math.floor(rng() * 5)],
        [kw, kh + 6],
        [kw + 5, kh],
        [kw, kh],
        [Math.max(1, kw - 1), kh + 3],
      ];
      for (const bias of [true, false]) {
        const pairs = sizes.map(([w, h]) => ({ input: randomImage(rng, w, h, 1, 'f32', 'u8'), target: randomImage(rng, w, h, 1, 'f32', 'signed') }));
        const fast = gramStats(pairs, kh, kw, bias);
        const ref = gramStatsReference(pairs, kh, kw, bias);
        assertClose(fast, ref, pairs, `${kh}x${kw} bias ${bias}`);
        // u8 inputs: X^T X is a sum of integers below 2^53 in either order, so it is exact.
        assert.deepEqual(fast.xtx, ref.xtx, `${kh}x${kw}: integer X^T X is exact`);
      }
    }
  }
});

test('gram: fast equals the reference with several channels, f64 and signed inputs, random shapes', () => {
  const rng = createRng(7);
  for (let trial = 0; trial < 24; trial++) {
    const kh = 1 + 2 * Math.floor(rng() * 4) + (trial % 3 === 0 ? 1 : 0); // mostly odd, some even
    const kw = 1 + Math.floor(rng() * 7);
    const cin = 1 + Math.floor(rng() * 3);
    const cout = 1 + Math.floor(rng() * 3);
    const depth = trial % 2 === 0 ? 'f64' : 'f32';
    const pairs = Array.from({ length: 1 + Math.floor(rng() * 3) }, () => {
      const w = Math.max(1, kw - 1 + Math.floor(rng() * 14));
      const h = Math.max(1, kh - 1 + Math.floor(rng() * 12));
      return { input: randomImage(rng, w, h, cin, depth, 'signed'), target: randomImage(rng, w, h, cout, depth, 'signed') };
    });
    const bias = rng() < 0.5;
    const what = `trial ${trial}: ${cin}->${cout} ${kh}x${kw} ${depth} bias ${bias} sizes ${pairs.map((p) => `${p.input.width}x${p.input.height}`).join(',')}`;
    assertClose(gramStats(pairs, kh, kw, bias), gramStatsReference(pairs, kh, kw, bias), pairs, what);
  }
});

test('gram: fast equals the reference on a 512-pixel-wide image (long middle segments, 3x3 and 7x7)', () => {
  const rng = createRng(5);
  const pairs = [
    { input: randomImage(rng, 515, 37, 1, 'f32', 'u8'), target: randomImage(rng, 515, 37, 1, 'f32', 'signed') },
    { input: randomImage(rng, 9, 300, 1, 'f32', 'u8'), target: randomImage(rng, 9, 300, 1, 'f32', 'signed') },
  ];
  for (const k of [3, 7]) assertClose(gramStats(pairs, k, k, true), gramStatsReference(pairs, k, k, true), pairs, `${k}x${k}`);
});

/**
 * The fast Gram statistics (src/kernels/gram.ts: products formed once per autocorrelation lag in
 * WebAssembly SIMD, rectangles from 2D prefix sums of segment sums) against the per-pixel
 * reference, on random shapes: every kernel size 1..9 (square and not), the large ones up to 31x31
 * (15, 25, 31, 4x4, 31x1, 1x31, 5x9, even and odd), odd widths, valid regions one pixel wide or
 * high or one pixel in all, pairs smaller than the kernel, several channels in and out, f32 and
 * f64, signed values, images cut into bands and lags into rounds. The tolerance: 1e-12 of the
 * largest sum of |products| an entry can have (float64 rounding of sums in another order); integer
 * data (u8 images: every product and partial sum an integer below 2^53) is exact, bit for bit.
 * Also sub-kernels of every size and parity (subGram), the masked Gram at any size, and the
 * committed WebAssembly against a fresh build of assembly/gram.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createImage, type Image } from '../src/image.js';
import { crossStats, gramLimits, gramStats, gramStatsMasked, gramStatsReference, subGram, subKernelOffset, type GramPair, type GramStats } from '../src/kernels/gram.js';
import { GRAM_WASM_BASE64 } from '../src/kernels/gram-wasm.generated.js';
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

test('gram: large and non-square kernels up to 31x31 (even and odd, 1-pixel regions, several channels)', () => {
  const rng = createRng(31);
  const shapes: [number, number][] = [[15, 15], [25, 25], [31, 31], [4, 4], [31, 1], [1, 31], [5, 9], [6, 10], [2, 31]];
  for (const [kh, kw] of shapes) {
    // A region of a few pixels, one pixel, one row, one column; u8 inputs (exact) and signed targets.
    const sizes: [number, number][] = [[kw + 4 + Math.floor(rng() * 4), kh + 3 + Math.floor(rng() * 3)], [kw, kh], [kw + 6, kh], [kw, kh + 5]];
    const pairs = sizes.map(([w, h]) => ({ input: randomImage(rng, w, h, 1, 'f32', 'u8'), target: randomImage(rng, w, h, 1, 'f32', 'signed') }));
    for (const bias of [true, false]) {
      const fast = gramStats(pairs, kh, kw, bias);
      const ref = gramStatsReference(pairs, kh, kw, bias);
      assertClose(fast, ref, pairs, `${kh}x${kw} bias ${bias}`);
      assert.deepEqual(fast.xtx, ref.xtx, `${kh}x${kw}: integer X^T X is exact`);
    }
  }
  // Two channels in, two out, f64 signed data, at 15x15 and 8x12.
  for (const [kh, kw] of [[15, 15], [8, 12]] as [number, number][]) {
    const pairs = [0, 1].map(() => {
      const w = kw + 3 + Math.floor(rng() * 4), h = kh + 2 + Math.floor(rng() * 4);
      return { input: randomImage(rng, w, h, 2, 'f64', 'signed'), target: randomImage(rng, w, h, 2, 'f64', 'signed') };
    });
    assertClose(gramStats(pairs, kh, kw, true), gramStatsReference(pairs, kh, kw, true), pairs, `2->2 ${kh}x${kw}`);
  }
});

test('gram: bands of rows and rounds of lags give the same bits as one pass', () => {
  const rng = createRng(77);
  const pairs = [
    { input: randomImage(rng, 57, 61, 2, 'f32', 'u8'), target: randomImage(rng, 57, 61, 2, 'f32', 'signed') },
    { input: randomImage(rng, 40, 23, 2, 'f32', 'signed'), target: randomImage(rng, 40, 23, 2, 'f32', 'signed') },
  ];
  const saved = { ...gramLimits };
  try {
    for (const [kh, kw] of [[3, 3], [7, 4], [12, 9]] as [number, number][]) {
      const whole = gramStats(pairs, kh, kw, true);
      // Bands of 1, 5 and 16 rows; accumulators for one lag row at a time.
      for (const rows of [1, 5, 16]) {
        gramLimits.bandBytes = rows * 57 * 8;
        gramLimits.accBytes = 1;
        const banded = gramStats(pairs, kh, kw, true);
        assert.deepEqual(banded, whole, `${kh}x${kw} in bands of ${rows} rows`);
        Object.assign(gramLimits, saved);
      }
      assertClose(whole, gramStatsReference(pairs, kh, kw, true), pairs, `${kh}x${kw} banded data`);
    }
  } finally {
    Object.assign(gramLimits, saved);
  }
});

/** The input and target of a pair cropped to rows [y0, y0 + h) and columns [x0, x0 + w). */
function cropPair(pair: GramPair, x0: number, y0: number, w: number, h: number): GramPair {
  const crop = (im: Image): Image => {
    const out = createImage(w, h, im.channels, im.depth);
    for (let c = 0; c < im.channels; c++) {
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.data[(c * h + y) * w + x] = im.data[(c * im.height + y + y0) * im.width + x + x0];
    }
    return out;
  };
  return { input: crop(pair.input), target: crop(pair.target) };
}

test('gram: subGram takes any smaller kernel, odd or even, anchors aligned, on the big kernel\'s pixels', () => {
  // The offsets of the anchor convention (kh >> 1): documented examples.
  assert.equal(subKernelOffset(31, 4), 13);
  assert.equal(subKernelOffset(4, 3), 1);
  assert.equal(subKernelOffset(3, 2), 0);
  assert.equal(subKernelOffset(9, 3), 3);
  const rng = createRng(12);
  const pairs = [0, 1].map(() => ({ input: randomImage(rng, 29, 24, 2, 'f32', 'u8'), target: randomImage(rng, 29, 24, 1, 'f32', 'u8') }));
  for (const [kh, kw] of [[9, 9], [8, 8], [7, 10], [4, 4], [15, 1]] as [number, number][]) {
    const big = gramStats(pairs, kh, kw, true);
    const hv = 24 - kh + 1, wv = 29 - kw + 1;
    for (let kh2 = 1; kh2 <= kh; kh2++) {
      for (let kw2 = 1; kw2 <= kw; kw2++) {
        if (kh * kw > 16 && (kh2 + 2 * kw2) % 3 !== 0) continue; // a third of the big ones' (all parities)
        const sub = subGram(big, kh2, kw2);
        const oy = subKernelOffset(kh, kh2), ox = subKernelOffset(kw, kw2);
        const cropped = pairs.map((pr) => cropPair(pr, ox, oy, wv + kw2 - 1, hv + kh2 - 1));
        const ref = gramStatsReference(cropped, kh2, kw2, true);
        assert.deepEqual(sub, ref, `${kw2}x${kh2} inside ${kh}x${kw}`);
      }
    }
    assert.throws(() => subGram(big, kh + 1, kw), /not a sub-kernel/);
    assert.throws(() => subGram(big, kh, 0), /not a sub-kernel/);
  }
});

/** The masked statistics written out: one outer product per selected pixel. */
function maskedReference(pairs: GramPair[], kh: number, kw: number, bias: boolean, masks: Uint8Array[]): GramStats {
  const sel = pairs.map((pr, i) => {
    // Selected anchors as 1x1-valid crops would be slow; instead, zero the unselected rows of X.
    const { width: W, height: H } = pr.input;
    return { pr, W, H, mask: masks[i] };
  });
  const full = gramStatsReference(pairs, kh, kw, bias);
  const p = full.p;
  const st: GramStats = { ...full, xtx: new Float64Array(p * p), xty: new Float64Array(full.cout * p), yty: new Float64Array(full.cout), n: 0 };
  const feat = new Float64Array(p);
  for (const { pr, W, H, mask } of sel) {
    const plane = W * H;
    for (let y = 0; y + kh <= H; y++) {
      for (let x = 0; x + kw <= W; x++) {
        const at = (y + (kh >> 1)) * W + x + (kw >> 1);
        if (!mask[at]) continue;
        let f = 0;
        for (let c = 0; c < full.cin; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) feat[f++] = pr.input.data[c * plane + (y + i) * W + x + j];
        if (bias) feat[f] = 1;
        for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) st.xtx[a * p + b] += feat[a] * feat[b];
        for (let o = 0; o < full.cout; o++) {
          const t = pr.target.data[o * plane + at];
          for (let a = 0; a < p; a++) st.xty[o * p + a] += feat[a] * t;
          st.yty[o] += t * t;
        }
        st.n++;
      }
    }
  }
  return st;
}

test('gram: the masked Gram at any size (even, non-square): all pixels = the reference, a mask = the selected rows', () => {
  const rng = createRng(99);
  for (const [kh, kw] of [[3, 3], [4, 4], [5, 9], [2, 7], [1, 1], [12, 12]] as [number, number][]) {
    const pairs = [0, 1].map(() => ({ input: randomImage(rng, kw + 7, kh + 5, 2, 'f32', 'u8'), target: randomImage(rng, kw + 7, kh + 5, 2, 'f32', 'u8') }));
    const all = pairs.map((pr) => new Uint8Array(pr.input.width * pr.input.height).fill(1));
    assert.deepEqual(gramStatsMasked(pairs, kh, kw, true, all), gramStatsReference(pairs, kh, kw, true), `${kh}x${kw} all pixels`);
    const some = pairs.map((pr) => Uint8Array.from({ length: pr.input.width * pr.input.height }, () => (rng() < 0.4 ? 1 : 0)));
    assert.deepEqual(gramStatsMasked(pairs, kh, kw, false, some), maskedReference(pairs, kh, kw, false, some), `${kh}x${kw} masked`);
  }
});

test('gram: the committed WebAssembly is what assembly/gram.ts compiles to (reproducible build)', async () => {
  const build = (await import(new URL('../../tools/build_wasm.mjs', import.meta.url).href)) as { buildWasmModule(source: string): Promise<string> };
  const fresh = await build.buildWasmModule('assembly/gram.ts');
  const bytes = /GRAM_WASM_BASE64 =\s*'([^']+)'/.exec(fresh)![1];
  assert.equal(bytes, GRAM_WASM_BASE64, 'run npm run build:wasm');
});

test('gram: crossStats (new targets, the inputs\' X^T X kept) equals gramStats of the new pairs', () => {
  const rng = createRng(77);
  const mk = (w: number, h: number, c: number): Image => {
    const im = createImage(w, h, c, 'f32');
    for (let i = 0; i < im.data.length; i++) im.data[i] = Math.round(rng() * 255);
    return im;
  };
  for (const [kh, kw] of [[3, 3], [5, 2], [7, 7]]) {
    const inputs = [mk(31, 17, 2), mk(9, 40, 2)];
    const first = inputs.map((input) => ({ input, target: mk(input.width, input.height, 1) }));
    const second = inputs.map((input) => ({ input, target: mk(input.width, input.height, 1) }));
    const like = gramStats(first, kh, kw, true);
    const got = crossStats(second, like);
    const want = gramStats(second, kh, kw, true);
    assert.deepEqual([...got.xty], [...want.xty], `${kh}x${kw} xty`);
    assert.deepEqual([...got.yty], [...want.yty], `${kh}x${kw} yty`);
    assert.deepEqual([...got.xtx], [...want.xtx], `${kh}x${kw} xtx`);
    assert.equal(got.n, want.n);
  }
});

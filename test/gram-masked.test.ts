/**
 * The fast loops of the nonlinear stages' fits beside their plain references: the masked Gram with
 * signed row weights (src/kernels/gram-masked.ts gramStatsMasked against gramStatsMaskedReference),
 * the update of a selection's statistics by the rows that change (updateMasked against the
 * statistics afresh), the row Grams of the lifted least squares (rowProducts against the sum of
 * outer products written out) and the responses at the valid anchors (windows.ts responsesAtAnchors
 * against responsesAtAnchorsReference). Integer data (u8 images, signed integer targets): every
 * product and partial sum is an integer below 2^53, so the fast and plain orders give the same
 * bits. Images are cut into bands of a few rows (gramLimits.bandBytes) so that the band loop runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createImage, type Image } from '../src/image.js';
import { gramLimits, type GramPair } from '../src/kernels/gram.js';
import { gramStatsMasked, gramStatsMaskedReference, rowProducts, updateMasked, type Selection } from '../src/kernels/gram-masked.js';
import { responsesAtAnchors, responsesAtAnchorsReference } from '../src/kernels/windows.js';
import { createRng } from '../src/random.js';

type Rng = () => number;

function intImage(rng: Rng, w: number, h: number, c: number, lo: number, hi: number): Image {
  const im = createImage(w, h, c, 'f32');
  for (let i = 0; i < im.data.length; i++) im.data[i] = lo + Math.floor(rng() * (hi - lo + 1));
  return im;
}

/** Runs fn with bands of about `rows` rows of a `width`-wide, `channels`-channel image. */
function withBands(rows: number, width: number, channels: number, fn: () => void): void {
  const saved = { ...gramLimits };
  gramLimits.bandBytes = rows * width * channels * 8;
  try {
    fn();
  } finally {
    Object.assign(gramLimits, saved);
  }
}

const SIZES: [number, number][] = [[1, 1], [3, 3], [5, 5], [2, 4], [7, 3], [4, 4]];

test('gram-masked: weights 0/1 and -1/0/1 (signed rows), few or most pixels selected (the complement path), equal the reference bit for bit', () => {
  const rng = createRng(4242);
  for (const [kh, kw] of SIZES) {
    for (const cin of [1, 2]) {
      const pairs: GramPair[] = [[kw + 9, kh + 6], [kw + 3, kh + 11], [Math.max(kw - 1, 1), kh + 2]].map(([w, h]) => ({ input: intImage(rng, w, h, cin, 0, 255), target: intImage(rng, w, h, 1, -255, 255) }));
      withBands(3, kw + 9, cin, () => {
        for (const share of [0.2, 0.9]) {
          const masks = pairs.map(({ input }) => Uint8Array.from({ length: input.width * input.height }, () => (rng() < share ? 1 : 0)));
          assert.deepEqual(gramStatsMasked(pairs, kh, kw, true, masks), gramStatsMaskedReference(pairs, kh, kw, true, masks), `${kh}x${kw} cin ${cin} share ${share}`);
        }
        const signed = pairs.map(({ input }) => Int8Array.from({ length: input.width * input.height }, () => Math.floor(rng() * 3) - 1));
        assert.deepEqual(gramStatsMasked(pairs, kh, kw, false, signed), gramStatsMaskedReference(pairs, kh, kw, false, signed), `${kh}x${kw} cin ${cin} signed`);
      });
    }
  }
});

test('gram-masked: updateMasked (rows that leave, join or change target) equals the next selection\'s statistics afresh', () => {
  const rng = createRng(77);
  for (const [kh, kw] of SIZES) {
    const inputs = [intImage(rng, kw + 12, kh + 7, 1, 0, 255), intImage(rng, kw + 5, kh + 9, 1, 0, 255)];
    const target = (input: Image): Image => intImage(rng, input.width, input.height, 1, -255, 255);
    const select = (share: number): Uint8Array[] => inputs.map((im) => Uint8Array.from({ length: im.width * im.height }, () => (rng() < share ? 1 : 0)));
    const first: Selection = { pairs: inputs.map((input) => ({ input, target: target(input) })), masks: select(0.7) };
    const st = gramStatsMasked(first.pairs, kh, kw, true, first.masks);
    withBands(4, kw + 12, 1, () => {
      // Few changes (the update path): flip a few masks and a few targets' signs.
      const masks = first.masks.map((m) => Uint8Array.from(m, (v) => (rng() < 0.05 ? 1 - v : v)));
      const pairs = first.pairs.map(({ input, target: t }) => ({ input, target: { ...t, data: Float32Array.from(t.data, (v) => (rng() < 0.05 ? -v : v)) } }));
      const next: Selection = { pairs, masks };
      assert.deepEqual(updateMasked(st, first, next), gramStatsMasked(pairs, kh, kw, true, masks), `${kh}x${kw} few changes`);
      // Many changes (afresh), and none (the same statistics).
      const other: Selection = { pairs: inputs.map((input) => ({ input, target: target(input) })), masks: select(0.5) };
      assert.deepEqual(updateMasked(st, first, other), gramStatsMasked(other.pairs, kh, kw, true, other.masks), `${kh}x${kw} many changes`);
      assert.equal(updateMasked(st, first, { pairs: first.pairs, masks: first.masks.map((m) => m.slice()) }), st, `${kh}x${kw} no change`);
    });
  }
});

test('gram-masked: rowProducts equals the sum of the rows\' outer products written out, in row order', () => {
  const rng = createRng(9);
  for (const [P, n] of [[1, 5], [7, 300], [56, 700], [352, 40]]) {
    const rows = Array.from({ length: n }, () => Float64Array.from({ length: P }, () => Math.floor(rng() * 2001) - 1000));
    const ref = new Float64Array(P * P);
    for (const r of rows) for (let a = 0; a < P; a++) for (let b = 0; b < P; b++) ref[a * P + b] += r[a] * r[b];
    let next = 0;
    const got = rowProducts(P, (X, stride) => {
      let r = 0;
      X.fill(0);
      for (; (r + 1) * stride <= X.length && next < n; r++, next++) X.set(rows[next], r * stride);
      return r;
    });
    assert.deepEqual(got, ref, `P ${P}, ${n} rows`);
  }
});

test('windows: responsesAtAnchors (WebAssembly, in bands) equals the plain loop bit for bit, on any data', () => {
  const rng = createRng(31);
  for (const [kh, kw] of SIZES) {
    for (const cin of [1, 3]) {
      for (const [W, H] of [[kw + 20, kh + 13], [kw, kh], [kw - 1 || 1, kh + 4], [kw + 3, kh - 1 || 1]]) {
        const input = createImage(W, H, cin, 'f64');
        for (let i = 0; i < input.data.length; i++) input.data[i] = (rng() - 0.5) * 1e3 * rng();
        const pair = { input, target: createImage(W, H, 1, 'f32') };
        const coef = Float64Array.from({ length: cin * kh * kw + 1 }, () => rng() - 0.5);
        for (const bias of [true, false]) {
          withBands(2, W, cin, () => {
            assert.deepEqual(responsesAtAnchors(pair, coef, kh, kw, bias), responsesAtAnchorsReference(pair, coef, kh, kw, bias), `${kh}x${kw} cin ${cin} ${W}x${H} bias ${bias}`);
          });
        }
      }
    }
  }
});

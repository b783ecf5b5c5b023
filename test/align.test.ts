/**
 * Targets of another size or place (src/train/align.ts, src/nn/alignment.ts): a 'valid' crop, a
 * 'full' extension with zero padding, shifts of up to 16 pixels each way, a same-size target made
 * with a kernel off its anchor. The targets are made here by cropping or zero-padding the reference
 * filter's same-size output (filters/ops.ts, OpenCV semantics) and checked against that:
 *  - the alignment found is the one used, the kernel is recovered, the model keeps the alignment;
 *  - apply (in memory, streamed in bands, and the ONNX export in onnxruntime-node) reproduces the
 *    targets at their size, border pixels included;
 *  - the model file round-trips the alignment and refuses a broken one;
 *  - targets no alignment explains are refused with one line naming the pair.
 * Real PyTorch valid/full/offset targets are in test/corpus.test.ts.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImagePair } from '../src/data/pairs.js';
import { syntheticImages } from '../src/data/synthetic.js';
import { KernelLearnError } from '../src/errors.js';
import { exportOnnx } from '../src/export/onnx.js';
import { applyFilter } from '../src/filters/ops.js';
import { cropImage, type Image } from '../src/image.js';
import { readImage, writeImage } from '../src/io/index.js';
import { applyAligned, padImage } from '../src/nn/apply.js';
import { applyModelToFile } from '../src/nn/apply-stream.js';
import { parseModel, serializeModel } from '../src/nn/model.js';
import { alignmentMode } from '../src/train/align.js';
import { trainFilter, type TrainOptions } from '../src/train/index.js';

const K5: number[][] = [
  [0.02, -0.1, 0.05, 0.0, 0.03],
  [0.1, 0.2, -0.3, 0.15, -0.05],
  [-0.2, 0.4, 1.0, -0.35, 0.1],
  [0.05, -0.15, 0.25, 0.2, -0.1],
  [0.01, 0.06, -0.08, 0.04, 0.02],
];
const opts: TrainOptions = { arch: 'linear', ksize: 'auto', solver: 'exact', border: 'auto', seed: 0 };
const images = syntheticImages(5, { width: 72, height: 64, seed: 41 });

/**
 * The filter's output at rows [dy, dy + H + dh) and columns [dx, dx + W + dw) of the input's frame,
 * the input going on with `border` outside (constant: a zero-padded convolution, as PyTorch's).
 */
function placed(input: Image, dy: number, dx: number, dh: number, dw: number, border: 'constant' | 'reflect101'): Image {
  const out = applyFilter(padImage(input, 64, 64, 64, 64, border), { op: 'kernel', kernel: K5, border });
  return cropImage(out, dx + 64, dy + 64, input.width + dw, input.height + dh);
}

function pairs(dy: number, dx: number, dh: number, dw: number, border: 'constant' | 'reflect101' = 'constant'): ImagePair[] {
  return images.map((input, i) => ({ stem: `p${i}`, input, target: placed(input, dy, dx, dh, dw, border) }));
}

function maxKernelError(w: number[][], k: number[][]): number {
  const oy = (w.length - k.length) >> 1, ox = (w[0].length - k[0].length) >> 1;
  let e = 0;
  for (let y = 0; y < w.length; y++) for (let x = 0; x < w[0].length; x++) e = Math.max(e, Math.abs(w[y][x] - (k[y - oy]?.[x - ox] ?? 0)));
  return e;
}

function maxDiff(a: Image, b: Image): number {
  assert.deepEqual([a.width, a.height, a.channels], [b.width, b.height, b.channels]);
  let e = 0;
  for (let i = 0; i < a.data.length; i++) e = Math.max(e, Math.abs(a.data[i] - b.data[i]));
  return e;
}

const CASES: [string, number, number, number, number, string][] = [
  ['valid (PyTorch conv2d without padding)', 2, 2, -4, -4, 'valid'],
  ['full (zero padding of k - 1)', -2, -2, 4, 4, 'full'],
  ['an off-by-one crop', 3, 2, -4, -4, 'offset'],
  ['a shift of 16 down and left, same size', 16, -16, 0, 0, 'offset'],
  ['a shift of 16 up and right, cropped', -14, 16, -6, -6, 'offset'],
];

for (const [name, dy, dx, dh, dw, mode] of CASES) {
  test(`align: ${name} is found, the kernel recovered, and apply reproduces the targets at their size`, () => {
    const ps = pairs(dy, dx, dh, dw);
    const r = trainFilter(ps, opts);
    assert.deepEqual(r.alignment, { mode, dy, dx, dh, dw });
    assert.deepEqual(r.model.alignment, r.alignment);
    assert.ok(maxKernelError(r.model.layers[0].type === 'conv2d' ? r.model.layers[0].weights[0][0] : [], K5) < 1e-4, `kernel ${JSON.stringify(r.kernelSize)}`);
    // Every pixel of every target, the ring that windows past the input decide included (zero padding: constant).
    const seesBorder = dy < 2 || dx < 2 || dy + dh > -2 || dx + dw > -2;
    assert.equal(r.model.border, seesBorder ? 'constant' : 'reflect101');
    for (const p of ps) assert.ok(maxDiff(applyAligned(r.model, p.input), p.target) < 1e-3, p.stem);
  });
}

test('align: a same-size target made with the kernel off its anchor becomes a centred kernel and an offset', () => {
  // cv2.filter2D with anchor (0, 0): output(y, x) = sum k(i, j) x(y + i, x + j), the centred output moved by (2, 2).
  const r = trainFilter(pairs(2, 2, 0, 0, 'reflect101'), { ...opts, border: 'reflect101' });
  assert.deepEqual(r.alignment, { mode: 'offset', dy: 2, dx: 2, dh: 0, dw: 0 });
  assert.deepEqual(r.kernelSize, [5, 5]);
  assert.deepEqual(r.support.offset, [0, 0]);
});

test('align: unshifted same-size targets stay "same" and their models carry no alignment', () => {
  const r = trainFilter(pairs(0, 0, 0, 0, 'reflect101'), opts);
  assert.deepEqual(r.alignment, { mode: 'same', dy: 0, dx: 0, dh: 0, dw: 0 });
  assert.equal(r.model.alignment, undefined);
  assert.ok(!serializeModel(r.model).includes('alignment'));
});

test('align: the streamed apply and the ONNX export cut the same pixels as apply', async () => {
  const ort = await import('onnxruntime-node');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kl-align-'));
  try {
    for (const [name, dy, dx, dh, dw] of CASES) {
      const ps = pairs(dy, dx, dh, dw);
      const { model } = trainFilter(ps, opts);
      const input = ps[0].input;
      const want = applyAligned(model, input);
      const session = await ort.InferenceSession.create(exportOnnx(model));
      const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(input.data), [1, 1, input.height, input.width]) });
      assert.deepEqual([...out.output.dims], [1, 1, want.height, want.width], name);
      assert.ok(maxDiff({ ...want, data: out.output.data as Float32Array }, want) < 1e-3, `${name}: onnx`);
      if (dy < 0 || dx < 0 || dy + dh > 0 || dx + dw > 0) continue; // the streamed apply only crops
      const npy = path.join(dir, 'in.npy');
      await writeImage(npy, input);
      await applyModelToFile(model, npy, path.join(dir, 'out.npy'), { bandRows: 7 });
      assert.equal(maxDiff(await readImage(path.join(dir, 'out.npy')), want), 0, `${name}: streamed`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('align: the model file keeps the alignment and refuses a broken one', () => {
  const { model } = trainFilter(pairs(2, 2, -4, -4), opts);
  const text = serializeModel(model);
  assert.deepEqual(parseModel(text, 'm.json').alignment, { mode: 'valid', dy: 2, dx: 2, dh: -4, dw: -4 });
  assert.equal(serializeModel(parseModel(text, 'm.json')), text);
  for (const [bad, says] of [
    [text.replace('"mode": "valid"', '"mode": "diagonal"'), /m\.json: invalid model file: alignment\.mode "diagonal"/],
    [text.replace('"dy": 2', '"dy": 2.5'), /m\.json: invalid model file: alignment\.dy must be an integer/],
  ] as const) {
    assert.throws(() => parseModel(bad, 'm.json'), (e: unknown) => e instanceof KernelLearnError && says.test(e.message));
  }
});

test('align: targets that no crop, growth or shift explains are refused, naming the pair', () => {
  const other = syntheticImages(5, { width: 70, height: 60, seed: 99 });
  const ps = images.map((input, i) => ({ stem: `p${i}`, input, target: applyFilter(other[i], { op: 'kernel', kernel: K5 }) }));
  assert.throws(() => trainFilter(ps, opts), (e: unknown) => e instanceof KernelLearnError && /^p0: no alignment explains the targets \(70x60 for a 72x64 input/.test(e.message));
  const mixed = [...pairs(2, 2, -4, -4).slice(0, 2), ...pairs(-2, -2, 4, 4).slice(2)];
  assert.throws(() => trainFilter(mixed, opts), (e: unknown) => e instanceof KernelLearnError && /p2: the target is 76x68 for a 72x64 input, but p0's is 68x60/.test(e.message));
});

test('align: mode names follow the geometry (odd and even kernels)', () => {
  assert.equal(alignmentMode(0, 0, 0, 0), 'same');
  assert.equal(alignmentMode(2, 2, -4, -4), 'valid'); // 5x5
  assert.equal(alignmentMode(2, 1, -3, -2), 'valid'); // 4x3: anchor (2, 1)
  assert.equal(alignmentMode(-2, -2, 4, 4), 'full');
  assert.equal(alignmentMode(-1, -1, 3, 2), 'full'); // 4x3 with padding k - 1
  assert.equal(alignmentMode(1, 2, -4, -4), 'offset');
});

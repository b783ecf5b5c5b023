/**
 * Edges of other tools (train/pipeline.ts settleEdge, evaluate.ts chooseBorder, nn/apply.ts
 * keepEdge): Pillow's ImageFilter kernels leave their outer ring as the input was, which no border
 * mode explains; --border auto finds 'kept' from the targets, apply and the ONNX export reproduce
 * it, and an outer ring that no rule explains is left out of the judgement with a warning.
 * Targets: src/filters/libraries/pillow.ts (bit-exact to Pillow 9.4, test/pillow-imagemagick.test.ts)
 * on the photographs of test/fixtures/photos.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { ImagePair } from '../src/data/pairs.js';
import { exportOnnx } from '../src/export/onnx.js';
import { applyLibraryCall, type PillowSpec } from '../src/filters/libraries/index.js';
import type { Image } from '../src/image.js';
import { readImage } from '../src/io/index.js';
import { applyModel } from '../src/nn/apply.js';
import { parseModel, serializeModel } from '../src/nn/model.js';
import { trainFilter } from '../src/train/index.js';

const PHOTOS = path.join(process.cwd(), 'test', 'fixtures', 'photos');
const photos = await Promise.all(readdirSync(PHOTOS).filter((f) => f.endsWith('.png')).sort().map((f) => readImage(path.join(PHOTOS, f))));

function pairsOf(spec: PillowSpec): ImagePair[] {
  return photos.map((input, i) => ({ stem: `photo${i}`, input, target: applyLibraryCall(input, spec) }));
}

/** Share of pixels of `pairs` the model reproduces within +-1 after rounding to 8 bits. */
function within1(model: Parameters<typeof applyModel>[0], pairs: ImagePair[]): number {
  let ok = 0, n = 0;
  for (const p of pairs) {
    const out = applyModel(model, p.input);
    for (let i = 0; i < out.data.length; i++, n++) if (Math.abs(Math.min(255, Math.max(0, Math.round(out.data[i]))) - p.target.data[i]) <= 1) ok++;
  }
  return ok / n;
}

const GAUSS5 = [1, 4, 6, 4, 1].flatMap((a) => [1, 4, 6, 4, 1].map((b) => a * b));

for (const [name, spec] of [
  ['ImageFilter.SHARPEN', { library: 'Pillow', fn: 'SHARPEN' }],
  ['ImageFilter.Kernel((5, 5), binomial, scale=256)', { library: 'Pillow', fn: 'Kernel', size: 5, kernel: GAUSS5, scale: 256 }],
] as [string, PillowSpec][]) {
  test(`edges: Pillow ${name} keeps its outer ring, and the model does too (every pixel within +-1)`, () => {
    const pairs = pairsOf(spec);
    const r = trainFilter(pairs.slice(0, 4), { arch: 'auto', ksize: 'auto', solver: 'exact', border: 'auto', seed: 0 });
    assert.equal(r.model.edge, 'kept');
    assert.equal(r.model.training.borderChoice?.chosen, 'kept');
    // Held-out photographs, their outer rings included.
    assert.equal(within1(r.model, pairs.slice(4)), 1);
    const text = serializeModel(r.model);
    assert.match(text, /"version": 2,/);
    assert.equal(parseModel(text, 'm.json').edge, 'kept');
  });
}

test('edges: the ONNX export splices the kept ring from the input', async () => {
  const ort = await import('onnxruntime-node');
  const { model } = trainFilter(pairsOf({ library: 'Pillow', fn: 'SHARPEN' }), { arch: 'linear', ksize: 3, solver: 'exact', border: 'auto', seed: 0 });
  const session = await ort.InferenceSession.create(exportOnnx(model));
  for (const img of [photos[0], { ...photos[1], width: 40, height: 7, data: photos[1].data.slice(0, 280) } as Image]) {
    const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(img.data), [1, 1, img.height, img.width]) });
    const want = applyModel(model, img);
    let e = 0;
    for (let i = 0; i < want.data.length; i++) e = Math.max(e, Math.abs(want.data[i] - (out.output.data as Float32Array)[i]));
    assert.ok(e < 1e-3, `${img.width}x${img.height}: ${e}`);
  }
});

test('edges: an outer ring no rule explains is left out of the judgement, with a warning', () => {
  // Blurred targets whose outer ring is noise: no border mode and not the input.
  const pairs = pairsOf({ library: 'Pillow', fn: 'Kernel', size: 3, kernel: [1, 2, 1, 2, 4, 2, 1, 2, 1], scale: 16 }).map((p, k) => {
    const t = Float32Array.from(p.target.data);
    const { width: W, height: H } = p.target;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (y === 0 || x === 0 || y === H - 1 || x === W - 1) t[y * W + x] = (y * 31 + x * 17 + k * 7) % 256;
    return { ...p, target: { ...p.target, data: t } };
  });
  const r = trainFilter(pairs, { arch: 'linear', ksize: 3, solver: 'exact', border: 'auto', seed: 0 });
  assert.ok(r.warnings.some((w) => /no border rule explains the targets' outer ring/.test(w)), r.warnings.join('\n'));
  assert.notEqual(r.model.edge, 'kept');
  // Inside, Pillow's rounding is all that is left.
  assert.ok((r.model.metrics.validation.psnr ?? Infinity) > 50, String(r.model.metrics.validation.psnr));
});

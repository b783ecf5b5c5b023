/**
 * Learning what other tools make, on photographs: the targets of test/fixtures/corpus/ were made
 * by the real libraries (tools/make_corpus.py: PyTorch, scipy, Pillow, ImageMagick, OpenCV and a
 * JPEG encoder) on 96x96 grey crops of six photographs. Each model trains on four of them and is
 * judged on the two held out (the manifest's heldOut), at the size the tool's output has:
 *  - PyTorch conv2d without padding (valid), with padding k - 1 (full), and an off-centre crop:
 *    aligned, the kernel within 1e-3 of the true one, outputs >= 80 dB;
 *  - scipy.ndimage.gaussian_filter(sigma=3), a 25x25 support: >= 60 dB;
 *  - Pillow and ImageMagick 8-bit outputs: >= 99.9% of pixels within +-1 (edges included);
 *  - an 8-bit Gaussian with long tails: --ksize auto reaches the targets' rounding floor.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trainFilter, type TrainOptions } from '../src/train/index.js';
import { config, judge, load } from './corpus.js';

const opts: TrainOptions = { arch: 'auto', ksize: 'auto', solver: 'exact', border: 'auto', seed: 0 };

for (const [name, mode] of [['torch_valid5', 'valid'], ['torch_full5', 'full'], ['torch_offset7', 'offset']] as const) {
  test(`corpus: PyTorch ${name} (${mode} output) is aligned, its kernel recovered to 1e-3, held-out outputs >= 80 dB`, async () => {
    const c = config(name);
    const { train, heldOut } = await load(c);
    const r = trainFilter(train, opts);
    assert.equal(r.alignment.mode, mode);
    const truth = c.params.kernel!;
    const conv = r.model.layers[0];
    assert.equal(conv.type, 'conv2d');
    if (conv.type !== 'conv2d') return;
    // The true kernel is centred in the fitted one (the alignment takes the rest of the shift).
    const [kh, kw] = conv.kernelSize, oy = (kh - truth.length) >> 1, ox = (kw - truth[0].length) >> 1;
    let err = 0;
    for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) err = Math.max(err, Math.abs(conv.weights[0][0][y][x] - (truth[y - oy]?.[x - ox] ?? 0)));
    assert.ok(err < 1e-3, `${name}: kernel error ${err} (${kh}x${kw}, alignment ${JSON.stringify(r.alignment)})`);
    const { psnr } = judge(r.model, heldOut);
    assert.ok(psnr >= 80, `${name}: held-out PSNR ${psnr}`);
  });
}

test('corpus: scipy.ndimage.gaussian_filter(x, sigma=3), a 25x25 support, learned to >= 60 dB on held-out photographs', async () => {
  const { train, heldOut } = await load(config('scipy_gaussian_s3_f32'));
  const r = trainFilter(train, opts);
  assert.ok(r.kernelSize[0] >= 23, `kernel ${r.kernelSize}`);
  const { psnr } = judge(r.model, heldOut);
  assert.ok(psnr >= 60, `held-out PSNR ${psnr} (${r.kernelSize.join('x')}, border ${r.model.border})`);
});

for (const name of ['pillow_sharpen', 'pillow_gaussian1.5', 'im_gaussian_blur_0x1.5']) {
  test(`corpus: ${name} (8-bit) reproduced within +-1 on >= 99.9% of held-out pixels, edges included`, async () => {
    const { train, heldOut } = await load(config(name));
    const r = trainFilter(train, opts);
    const { within1 } = judge(r.model, heldOut);
    assert.ok(within1 >= 0.999, `${name}: ${(100 * within1).toFixed(3)}% within +-1 (${r.kernelSize.join('x')}, border ${r.model.border}, edge ${r.model.edge ?? '-'}, arch ${r.archChoice?.chosen})`);
  });
}

test('corpus: an 8-bit Gaussian with long tails gets a kernel at its rounding floor (--ksize auto keeps growing past 1.1x the floor)', async () => {
  const { train } = await load(config('cv_gaussian_s2.5_u8'));
  const r = trainFilter(train, { ...opts, arch: 'linear' });
  const choice = r.model.training.kernelSizeChoice!;
  const mse = choice.candidates.find((c) => c.ksize === choice.chosen)!.mse;
  assert.ok(mse <= 1.15 / 12, `chosen ${choice.chosen}x${choice.chosen} at ${(12 * mse).toFixed(3)} of the u8 rounding floor 1/12`);
});

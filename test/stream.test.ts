/**
 * Streaming apply (src/nn/apply-stream.ts, src/io/bands.ts, src/io/png-stream.ts):
 *  - banded apply equals whole-image applyModel bit for bit, for every border mode, kernel shapes
 *    (odd, even, 1xk, kx1, deep models), band heights that do not divide the image, bands thinner
 *    than the halo, and images shorter than the kernel;
 *  - the band readers give readImage's values for .npy and 8/16-bit grey/RGB/RGBA PNGs;
 *  - applyModelToFile writes the same bytes as applyModel + writeImage, leaves no temporary file,
 *    and the CLI streams with --band-rows to the same bytes as the in-memory path.
 * Huge images (16384^2) are measured in `npm run bench`, not here.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { BORDER_MODES, type BorderMode } from '../src/filters/border.js';
import type { Image } from '../src/image.js';
import { readImage, writeImage, encodeNpy } from '../src/io/index.js';
import { encodeNpyHeader, type NpyDtype } from '../src/io/npy.js';
import { openBandReader, type BandReader } from '../src/io/bands.js';
import { applyModel } from '../src/nn/apply.js';
import { curveLayers } from '../src/nn/curve.js';
import { applyModelBands, applyModelThreaded, applyModelToFile, modelHalo } from '../src/nn/apply-stream.js';
import { shutdown } from '../src/kernels/threads.js';
import type { Conv2dSpec, LayerSpec, Network } from '../src/nn/network.js';
import { createRng } from '../src/random.js';

const rng = createRng(4242);
after(async () => {
  await shutdown();
});
const execFileP = promisify(execFile);
const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');

function conv(cin: number, cout: number, kh: number, kw: number, bias: boolean): Conv2dSpec {
  const r = (): number => Math.fround(rng() * 2 - 1);
  return {
    type: 'conv2d', inChannels: cin, outChannels: cout, kernelSize: [kh, kw],
    weights: Array.from({ length: cout }, () => Array.from({ length: cin }, () => Array.from({ length: kh }, () => Array.from({ length: kw }, r)))),
    bias: bias ? Array.from({ length: cout }, r) : null,
  };
}

function makeModel(layers: LayerSpec[], border: BorderMode, inputChannels: number, outputChannels: number): Network {
  return { inputChannels, outputChannels, border, layers };
}

function models(border: BorderMode): Network[] {
  return [
    makeModel([conv(1, 1, 3, 3, true)], border, 1, 1),
    makeModel([conv(1, 1, 5, 5, false)], border, 1, 1),
    makeModel([conv(1, 2, 4, 2, true)], border, 1, 2),
    makeModel([conv(1, 1, 7, 1, true)], border, 1, 1),
    makeModel([conv(1, 1, 1, 3, true)], border, 1, 1),
    makeModel([conv(3, 2, 3, 3, true)], border, 3, 2),
    makeModel([conv(1, 3, 3, 3, true), { type: 'relu' }, conv(3, 2, 5, 5, true), { type: 'abs' }, { type: 'magnitude', groupSize: 2 }], border, 1, 1),
    // --arch deep's shape: dilated 3x3 convs (the halo must reach over each one's extent), then 1x1.
    makeModel([conv(1, 4, 3, 3, true), { type: 'relu' }, { ...conv(4, 4, 3, 3, true), dilation: 2 }, { type: 'relu' }, { ...conv(4, 4, 3, 3, true), dilation: 4 }, { type: 'relu' }, conv(4, 1, 1, 1, true)], border, 1, 1),
    // a curves model: curves (1x1 conv, relu, 1x1 conv) around a 5x5 kernel
    makeModel(
      [...curveLayers([{ knots: [0, 20, 90, 255], values: [0, 5, 60, 255] }]), conv(1, 1, 5, 5, true), ...curveLayers([{ knots: [-50, 0, 40, 300], values: [0, 10, 80, 255] }])],
      border, 1, 1,
    ),
  ];
}

function randomImage(width: number, height: number, channels: number): Image {
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(rng() * 255);
  return { width, height, channels, depth: 'f32', data };
}

/** A BandReader over an in-memory image (planar rows), counting reads. */
function memoryReader(image: Image): BandReader {
  const { width, height, channels } = image;
  return {
    width, height, channels, depth: 'f32',
    async readRows(y0: number, rows: number): Promise<Float32Array> {
      assert.ok(y0 >= 0 && rows >= 0 && y0 + rows <= height, `rows ${y0}+${rows} inside 0..${height}`);
      const out = new Float32Array(rows * width * channels);
      for (let c = 0; c < channels; c++) {
        out.set(image.data.subarray((c * height + y0) * width, (c * height + y0 + rows) * width), c * rows * width);
      }
      return out;
    },
    async close(): Promise<void> {},
  };
}

async function banded(model: Network, image: Image, bandRows: number): Promise<Image> {
  let out: Image | null = null;
  let next = 0;
  await applyModelBands(model, memoryReader(image), (band, y0) => {
    assert.equal(y0, next, 'bands arrive in order');
    if (!out) out = { width: image.width, height: image.height, channels: band.channels, depth: 'f32', data: new Float32Array(image.width * image.height * band.channels) };
    for (let c = 0; c < band.channels; c++) {
      out.data.set(band.data.subarray(c * band.height * image.width, (c + 1) * band.height * image.width), (c * image.height + y0) * image.width);
    }
    next = y0 + band.height;
  }, { bandRows });
  assert.equal(next, image.height);
  return out!;
}

function assertSameImage(a: Image, b: Image, what: string): void {
  assert.equal(a.channels, b.channels, `${what}: channels`);
  assert.equal(a.data.length, b.data.length, `${what}: size`);
  for (let i = 0; i < a.data.length; i++) {
    if (!Object.is(a.data[i], b.data[i])) assert.fail(`${what}: sample ${i} differs: ${a.data[i]} vs ${b.data[i]}`);
  }
}

test('encodeNpyHeader is the header encodeNpy writes', () => {
  const ctor = { u1: Uint8Array, i2: Int16Array, u2: Uint16Array, f4: Float32Array, f8: Float64Array } as const;
  for (const dtype of ['u1', 'i2', 'u2', 'f4', 'f8'] as NpyDtype[]) {
    for (const shape of [[3, 5], [1, 1], [7, 2, 3], [1000, 999, 4], [123456789, 1]]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const header = encodeNpyHeader(dtype, shape);
      if (n > 1e7) {
        // Too big to encode whole: compare with the same shape text through a small array.
        assert.equal(header.length % 64, 0);
        continue;
      }
      const full = encodeNpy(dtype, shape, new ctor[dtype](n));
      assert.deepEqual(header, full.subarray(0, header.length), `${dtype} (${shape.join(', ')})`);
      assert.equal(full.length - header.length, n * ctor[dtype].BYTES_PER_ELEMENT);
    }
  }
});

test('modelHalo sums each conv layer\'s reach in rows', () => {
  assert.equal(modelHalo(makeModel([conv(1, 1, 3, 3, true)], 'reflect101', 1, 1)), 1);
  assert.equal(modelHalo(makeModel([conv(1, 1, 4, 2, true)], 'reflect101', 1, 1)), 2);
  assert.equal(modelHalo(makeModel([conv(1, 1, 1, 5, true)], 'reflect101', 1, 1)), 0);
  assert.equal(modelHalo(makeModel([conv(1, 2, 3, 3, true), { type: 'relu' }, conv(2, 1, 5, 5, true)], 'reflect101', 1, 1)), 3);
  assert.equal(modelHalo(makeModel([conv(1, 2, 3, 3, true), { type: 'relu' }, { ...conv(2, 1, 3, 3, true), dilation: 4 }], 'reflect101', 1, 1)), 5);
});

test('banded apply equals whole-image apply: every border, kernel shape, band height and image height', async () => {
  const heights = [1, 2, 3, 4, 6, 11, 23];
  const bandRowsList = [1, 2, 3, 5, 8, 100];
  for (const border of BORDER_MODES) {
    for (const model of models(border)) {
      for (const h of heights) {
        const w = 1 + Math.floor(rng() * 9); // odd and even widths, 1-pixel wide too
        const image = randomImage(w, h, model.inputChannels);
        const whole = applyModel(model, image);
        for (const bandRows of bandRowsList) {
          const got = await banded(model, image, bandRows);
          assertSameImage(got, whole, `${border} ${model.layers.length} layers ${(model.layers[0] as Conv2dSpec).kernelSize.join('x')} ${w}x${h} bands of ${bandRows}`);
        }
      }
    }
  }
});

test('applyModelThreaded equals applyModel bit for bit: every border, deep models, colour per channel, 1..4 threads', async () => {
  for (const border of BORDER_MODES) {
    for (const model of models(border)) {
      for (const [w, h] of [[1, 1], [7, 3], [33, 41]]) {
        const image = randomImage(w, h, model.inputChannels === 1 && rng() < 0.3 ? 3 : model.inputChannels);
        const want = applyModel(model, image);
        for (const threads of [1, 2, 3, 4]) {
          assertSameImage(await applyModelThreaded(model, image, 'x', threads), want, `${border} ${w}x${h}x${image.channels} threads ${threads}`);
        }
      }
    }
  }
  await assert.rejects(applyModelThreaded(models('reflect')[5], randomImage(4, 4, 1), 'one.png', 2), /one\.png: has 1 channel but the model takes 3/);
});

test('banded apply of a grey model to a colour image filters each channel, like applyModel', async () => {
  const model = makeModel([conv(1, 1, 3, 3, true)], 'reflect', 1, 1);
  const image = randomImage(13, 17, 3);
  assertSameImage(await banded(model, image, 4), applyModel(model, image), 'per-channel');
});

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'kl-stream-'));
}

/** Reads every row of `file` through a BandReader in uneven runs, and compares with readImage. */
async function checkReader(file: string, runs: number[]): Promise<void> {
  const whole = await readImage(file);
  const reader = await openBandReader(file);
  try {
    assert.equal(reader.width, whole.width);
    assert.equal(reader.height, whole.height);
    assert.equal(reader.channels, whole.channels, `${file}: channels`);
    assert.equal(reader.depth, whole.depth);
    const { width, height, channels } = whole;
    let y = 0;
    for (let k = 0; y < height; k++) {
      const rows = Math.min(runs[k % runs.length], height - y);
      const band = await reader.readRows(y, rows);
      for (let c = 0; c < channels; c++) {
        const want = whole.data.subarray((c * height + y) * width, (c * height + y + rows) * width);
        const got = band.subarray(c * rows * width, (c + 1) * rows * width);
        assert.deepEqual(got, Float32Array.from(want), `${file}: rows ${y}..${y + rows} channel ${c}`);
      }
      y += rows;
    }
    // Going back restarts the decoder; it must give the same rows again.
    const again = await reader.readRows(0, 1);
    assert.deepEqual(again.subarray(0, width), Float32Array.from(whole.data.subarray(0, width)));
  } finally {
    await reader.close();
  }
}

test('band readers give readImage\'s values: .npy of every depth, PNG 8/16-bit grey, RGB, grey+alpha, RGBA, every PNG filter', async () => {
  const dir = await tempDir();
  try {
    const w = 37, h = 29;
    for (const depth of ['u8', 's16', 'u16', 'f32', 'f64'] as const) {
      for (const channels of [1, 3]) {
        const image = randomImage(w, h, channels);
        const img: Image = depth === 'f64' ? { ...image, depth, data: Float64Array.from(image.data, (v) => v + 0.25) } : { ...image, depth };
        const file = path.join(dir, `a-${depth}-${channels}.npy`);
        await writeImage(file, img);
        await checkReader(file, [1, 5, 3, 11]);
      }
    }
    for (const depth of ['u8', 'u16'] as const) {
      for (const channels of [1, 3]) {
        const base = randomImage(w, h, channels);
        const file = path.join(dir, `p-${depth}-${channels}.png`);
        await writeImage(file, { ...base, depth, data: depth === 'u16' ? base.data.map((v) => v * 257) : base.data });
        await checkReader(file, [2, 7, 1]);
      }
    }
    // Alpha (dropped) and adaptive filtering (all five PNG filter types), 8 and 16 bits.
    for (const [channels, bits] of [[2, 8], [4, 8], [4, 16], [1, 16], [3, 8]] as const) {
      const n = w * h * channels;
      const raw = bits === 8 ? Uint8Array.from({ length: n }, (_, i) => (i * 7 + Math.floor(rng() * 40)) & 255) : Uint16Array.from({ length: n }, (_, i) => (i * 1031 + Math.floor(rng() * 9000)) & 65535);
      const file = path.join(dir, `f-${channels}-${bits}.png`);
      let pipe = sharp(raw, { raw: { width: w, height: h, channels } });
      pipe = pipe.toColourspace(channels <= 2 ? (bits === 16 ? 'grey16' : 'b-w') : bits === 16 ? 'rgb16' : 'srgb');
      await pipe.png({ adaptiveFiltering: true, compressionLevel: 9 }).toFile(file);
      await checkReader(file, [3, 1, 4]);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('applyModelToFile writes the bytes of applyModel + writeImage (PNG and .npy in, every depth out) and no temporary file', async () => {
  const dir = await tempDir();
  try {
    const w = 2000, h = 1500;
    const image = randomImage(w, h, 1);
    const png = path.join(dir, 'in.png');
    await writeImage(png, { ...image, depth: 'u8' });
    const npy = path.join(dir, 'in.npy');
    await writeImage(npy, image);
    for (const border of ['reflect101', 'wrap', 'constant'] as BorderMode[]) {
      const model = makeModel([conv(1, 1, 3, 3, true)], border, 1, 1);
      for (const input of [png, npy]) {
        for (const depth of border === 'reflect101' ? (['f32', 'u8', 's16', 'f64'] as const) : (['f32'] as const)) {
          const want = path.join(dir, 'want.npy');
          const { convertDepth } = await import('../src/filters/depth.js');
          await writeImage(want, convertDepth(applyModel(model, await readImage(input)), depth));
          const got = path.join(dir, 'got.npy');
          await applyModelToFile(model, input, got, { depth, bandRows: 333 });
          assert.ok((await fs.readFile(got)).equals(await fs.readFile(want)), `${border} ${path.basename(input)} -> ${depth}`);
        }
      }
    }
    // A failure (model takes 3 channels) leaves nothing behind.
    const bad = makeModel([conv(3, 1, 3, 3, true)], 'reflect101', 3, 1);
    await assert.rejects(applyModelToFile(bad, png, path.join(dir, 'bad.npy')), /channel/);
    const left = (await fs.readdir(dir)).filter((f) => f.includes('.tmp-') || f === 'bad.npy');
    assert.deepEqual(left, []);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('CLI apply --band-rows streams to the same bytes as the in-memory path', async () => {
  const dir = await tempDir();
  try {
    const model = makeModel([conv(1, 1, 3, 3, true)], 'reflect101', 1, 1);
    const modelFile = path.join(dir, 'm.json');
    const { createModel, serializeModel } = await import('../src/nn/model.js');
    const training = { pairs: 0, pixels: 0, inputDepth: 'f32', targetDepth: 'f32', solver: 'exact' as const, steps: 0, stopReason: 'test', seed: 0, validation: { kind: 'none' as const, pairs: 0, pixels: 0 } };
    await fs.writeFile(modelFile, serializeModel(createModel('linear', model, training, { validation: { mse: 0, psnr: null, r2: 1 } })));
    const input = path.join(dir, 'in.png');
    await writeImage(input, { ...randomImage(301, 203, 1), depth: 'u8' });
    const a = path.join(dir, 'a.npy');
    const b = path.join(dir, 'b.npy');
    await execFileP(process.execPath, [CLI, 'apply', '--model', modelFile, input, a]);
    const r = await execFileP(process.execPath, [CLI, 'apply', '--model', modelFile, '--band-rows', '17', input, b]);
    assert.match(r.stderr + r.stdout, /streamed/);
    assert.ok((await fs.readFile(a)).equals(await fs.readFile(b)));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test('streaming apply refuses NaN like the whole-image path (same pixel), and a truncated PNG, leaving nothing behind', async () => {
  const dir = await tempDir();
  try {
    const model = makeModel([conv(1, 1, 3, 3, true)], 'reflect101', 1, 1);
    const image = randomImage(50, 40, 1);
    image.data[27 * 50 + 13] = Number.NaN;
    const npy = path.join(dir, 'nan.npy');
    await writeImage(npy, image);
    await assert.rejects(applyModelToFile(model, npy, path.join(dir, 'out.npy'), { bandRows: 7 }), /pixel \(x=13, y=27\) is NaN/);
    const png = path.join(dir, 'cut.png');
    await writeImage(path.join(dir, 'whole.png'), { ...randomImage(300, 200, 1), depth: 'u8' });
    const bytes = await fs.readFile(path.join(dir, 'whole.png'));
    await fs.writeFile(png, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await assert.rejects(applyModelToFile(model, png, path.join(dir, 'out.npy'), { bandRows: 16 }), /truncated|corrupt|ended/i);
    const left = (await fs.readdir(dir)).filter((f) => f.includes('.tmp-') || f === 'out.npy');
    assert.deepEqual(left, []);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

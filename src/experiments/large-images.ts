/**
 * Q1: really large or odd-sized images. A model trained on small images is applied by the streaming
 * apply (bands of rows, disk to disk) to 8-bit .npy images from prime sizes up to 268 Mpx; the
 * streamed output is compared with the whole-image applyModel (and cv2.Sobel's reference) on
 * strips, and the time, throughput and peak memory are measured.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { syntheticImage } from '../data/synthetic.js';
import { applyFilter } from '../filters/ops.js';
import type { Image } from '../image.js';
import { encodeNpyHeader, parseNpyHeader } from '../io/npy.js';
import { applyModel } from '../nn/apply.js';
import { applyModelToFile, STREAM_MIN_PIXELS } from '../nn/apply-stream.js';
import { defineExperiment, type Row } from './types.js';
import { SOBEL_DX, maxAbsDiff, trainSobelOnCrops } from './util.js';

/** A u8 image W x H made by tiling a 251 x 241 synthetic tile (prime sizes, so tiles do not line up with anything). */
function writeInput(file: string, W: number, H: number, tile: Image): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, encodeNpyHeader('u1', [H, W]));
    const rows = Math.max(1, Math.floor((1 << 24) / W));
    const buf = new Uint8Array(rows * W);
    for (let y0 = 0; y0 < H; y0 += rows) {
      const n = Math.min(rows, H - y0);
      for (let r = 0; r < n; r++) {
        const ty = ((y0 + r) % tile.height) * tile.width;
        for (let x = 0; x < W; x++) buf[r * W + x] = Math.round(tile.data[ty + (x % tile.width)]!);
      }
      fs.writeSync(fd, buf, 0, n * W);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Rows [y0, y0 + n) of a 2-D .npy file (u1 or f4) as a float32 image. */
function readRows(file: string, y0: number, n: number): Image {
  const fd = fs.openSync(file, 'r');
  try {
    const head = new Uint8Array(65536 + 16);
    const got = fs.readSync(fd, head, 0, head.length, 0);
    const h = parseNpyHeader(head.subarray(0, got), file, fs.fstatSync(fd).size);
    const [H, W] = h.shape as [number, number];
    const item = h.dtype === 'u1' ? 1 : 4;
    const bytes = Buffer.alloc(n * W * item);
    fs.readSync(fd, bytes, 0, bytes.length, h.dataOffset + y0 * W * item);
    const data = new Float32Array(n * W);
    if (item === 1) for (let i = 0; i < data.length; i++) data[i] = bytes[i]!;
    else data.set(new Float32Array(bytes.buffer, bytes.byteOffset, n * W));
    void H;
    return { width: W, height: n, channels: 1, depth: 'f32', data };
  } finally {
    fs.closeSync(fd);
  }
}

const cropRows = (img: Image, y0: number, n: number): Image => ({ ...img, height: n, data: img.data.slice(y0 * img.width, (y0 + n) * img.width) });

export const experiment = defineExperiment('large-images', 'Q1: what if the image is really large, or not of a standard size? Streamed apply from prime sizes to 268 Mpx: error, time, memory.', async ({ quick }) => {
  const model = trainSobelOnCrops();
  const tile = syntheticImage({ width: 251, height: 241, seed: 21 });
  const sizes: [number, number][] = quick ? [[1, 1], [211, 173], [2053, 1999]] : [[1, 1], [211, 173], [2053, 1999], [8191, 8179], [16384, 16384]];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kl-large-'));
  const table: Row[] = [];
  let worstStreamVsWhole = 0, worstVsReference = 0;
  try {
    for (const [W, H] of sizes) {
      const inFile = path.join(dir, `in-${W}x${H}.npy`), outFile = path.join(dir, `out-${W}x${H}.npy`);
      writeInput(inFile, W, H, tile);
      const rss0 = process.memoryUsage().rss;
      let peak = rss0;
      const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 10);
      const t0 = performance.now();
      await applyModelToFile(model, inFile, outFile, {});
      const sec = (performance.now() - t0) / 1000;
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      // Check strips: the top, the middle and the bottom 40 rows, against applyModel on the whole
      // image (small sizes) or on the strip with its halo (large), and against cv2.Sobel's reference.
      const strips = H <= 2100 ? [[0, H]] : [[0, 40], [Math.floor(H / 2) - 20, 40], [H - 40, 40]];
      let dWhole = 0, dRef = 0;
      for (const [y0, n] of strips as [number, number][]) {
        const a = Math.max(0, y0 - 1), b = Math.min(H, y0 + n + 1);
        const input = readRows(inFile, a, b - a);
        const streamed = readRows(outFile, y0, n);
        const whole = cropRows(applyModel(model, input), y0 - a, n);
        const ref = cropRows(applyFilter(input, SOBEL_DX), y0 - a, n);
        // strips cut out of the middle see a false border at their cut rows: only rows with real neighbours are compared
        dWhole = Math.max(dWhole, maxAbsDiff(streamed, whole));
        dRef = Math.max(dRef, maxAbsDiff(streamed, ref));
      }
      worstStreamVsWhole = Math.max(worstStreamVsWhole, dWhole);
      worstVsReference = Math.max(worstVsReference, dRef);
      const mpx = (W * H) / 1e6;
      table.push({ image: `${W}x${H}`, Mpx: Number(mpx.toPrecision(3)), 'output MB': Math.round((W * H * 4) / 1e6), 'apply s': Number(sec.toFixed(2)), 'Mpx/s': Number((mpx / sec).toPrecision(3)), 'peak RSS growth MB': Math.round((peak - rss0) / 1e6), 'max abs diff vs whole-image apply': dWhole, 'max abs diff vs cv2.Sobel reference': dRef });
      fs.rmSync(inFile, { force: true });
      fs.rmSync(outFile, { force: true });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    table,
    claims: { worstStreamVsWhole, worstVsReference, streamMinMpx: STREAM_MIN_PIXELS / 2 ** 20, largestMpx: Math.max(...sizes.map(([w, h]) => (w * h) / 1e6)) },
    notes: [
      'Trained on four 64x64 synthetic images; inputs are 8-bit .npy files tiled from a 251x241 synthetic image; outputs float32 .npy, written band by band (the CLI does the same for .npy and 8/16-bit PNG inputs of 16 Mpx and more).',
      'Strips: whole image up to 2100 rows, else the top, middle and bottom 40 rows (read with a 1-row halo). Peak RSS growth is sampled every 10 ms in this process, beside what it already holds; a whole-image apply would need at least 8 bytes per pixel (f32 in and out: 2.1 GB at 268 Mpx).',
    ],
  };
});

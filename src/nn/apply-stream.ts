/**
 * applyModel for images larger than memory: the image is read in bands of rows with a halo of
 * rows above and below, each band goes through applyModel, and the halo is cut off again.
 *
 * Why that is exact (test/stream.test.ts checks every border mode, band heights that do not divide
 * the image, bands thinner than the halo, and multi-layer models against applyModel):
 * - The halo R is the sum over conv layers of the kernel's reach (max(ay, kh-1-ay)). A wrong
 *   value at a band's cut edge spreads at most one layer's reach per layer, so after all layers
 *   it stays inside the R halo rows and is cut off. Every conv output sample is summed in the
 *   same order whatever the band (kernels/simd.ts), so kept rows are bit-identical to whole-image rows.
 * - At the image's top and bottom the band starts/ends at the real edge, so each layer's border
 *   padding reads the same rows as in the whole image (the band holds at least R+1 rows there,
 *   more than any reflection reaches).
 * - wrap reads rows modulo H: the band is then a true piece of the periodic image, cut edges on
 *   both sides, so the argument above covers it.
 * Columns are never split: bands are full width, so the column borders are the whole image's.
 */
import path from 'node:path';
import { KernelLearnError } from '../errors.js';
import { convertDepth } from '../filters/depth.js';
import { cropImage, type Depth, type Image } from '../image.js';
import { NpyBandWriter, openBandReader, type BandReader } from '../io/bands.js';
import { assertFinite } from '../io/finite.js';
import { readPngHeader } from '../io/png-stream.js';
import { tensor, type Tensor } from '../kernels/conv2d.js';
import { conv2dForwardThreaded } from '../kernels/threads.js';
import { heapAlloc, heapFree } from '../kernels/simd.js';
import { applyModel, convArrays, keepEdge } from './apply.js';
import { alignedWindow } from './alignment.js';
import { Abs, Clamp, Magnitude, Relu, type Layer } from './layers.js';
import type { ModelAlignment } from './model.js';
import { convExtent, dilationOf, type Network } from './network.js';

/** The CLI streams images of this many pixels and more when it can (a .npy or 8/16-bit PNG into a .npy). */
export const STREAM_MIN_PIXELS = 1 << 24;

/** Rows above and below a band that the model's output rows depend on (a dilated kernel reaches over its whole extent). */
export function modelHalo(model: Network): number {
  let r = 0;
  for (const l of model.layers) {
    if (l.type !== 'conv2d') continue;
    const eh = convExtent(l)[0];
    const ay = eh >> 1;
    r += Math.max(ay, eh - 1 - ay);
  }
  return r;
}

/**
 * A band height that keeps each band's input near `targetSamples` float32 samples (default 2^19,
 * 2 MB). Small bands cost little now that the kernel works in place, and the four band buffers are
 * memory touched for the first time, which on small VMs costs ~15 us a 4 KB page (measured: an
 * 8192^2 .npy apply took 0.6-0.8 s with 16-64-row bands against 1.1-1.9 s with 256-row ones).
 */
export function defaultBandRows(width: number, channels: number, targetSamples = 1 << 19): number {
  return Math.max(16, Math.floor(targetSamples / Math.max(1, width * channels)));
}

export interface ApplyBandsOptions {
  /** Output rows per band (default: defaultBandRows). Any value >= 1 gives the same result. */
  bandRows?: number;
  /** Worker threads for the convolutions (default: one per CPU, see kernels/threads.ts). Same result for any count. */
  threads?: number;
}

/**
 * applyModel with its convolutions spread over worker threads: bit-identical to applyModel (every
 * conv row is computed the same way on whichever thread; test/stream.test.ts checks), faster on
 * several cores. applyModel checks the channels and stays the one definition of the network; this
 * repeats only its layer loop.
 */
export async function applyModelThreaded(model: Network, image: Image, file = 'the image', threads?: number, into?: Float32Array): Promise<Image> {
  if (threads === 1 && !into) return applyModel(model, image, file);
  // applyModel's own checks (channel count) on a 1x1 image, so the errors are its errors.
  applyModel(model, { width: 1, height: 1, channels: image.channels, depth: 'f32', data: new Float32Array(image.channels) }, file);
  const perChannel = model.inputChannels === 1 && image.channels > 1;
  const data = image.data instanceof Float32Array ? image.data : Float32Array.from(image.data);
  let x: Tensor = perChannel
    ? tensor(image.channels, 1, image.height, image.width, data)
    : tensor(1, image.channels, image.height, image.width, data);
  const last = model.layers.length - 1;
  for (const [i, l] of model.layers.entries()) {
    if (l.type === 'conv2d') {
      const { weights, bias } = convArrays(l);
      // `into` only for a last layer: earlier outputs are the next layer's input.
      x = await conv2dForwardThreaded(x, weights, bias, l.outChannels, l.kernelSize[0], l.kernelSize[1], model.border, { threads, into: i === last ? into : undefined, dilation: dilationOf(l) });
    } else {
      const layer: Layer =
        l.type === 'relu' ? new Relu() : l.type === 'abs' ? new Abs() : l.type === 'magnitude' ? new Magnitude(l.groupSize) : new Clamp(l.min, l.max);
      x = layer.forward(x);
    }
  }
  // Planar n-major order is applyModel's channel order (c * outputChannels + o), so no copy is needed.
  return keepEdge(model, image, { width: image.width, height: image.height, channels: x.n * x.c, depth: 'f32', data: x.data });
}

/**
 * Runs `model` over the image `reader` gives, band by band, calling `onBand` with each band of
 * output rows (a float32 planar Image of `rows` rows) in order, y0 = 0, bandRows, 2*bandRows, ...
 * A band's data is reused two bands later, and all of it when this returns: onBand may keep
 * using it (writing it out, say) only until then.
 */
export async function applyModelBands(
  model: Network, reader: BandReader, onBand: (band: Image, y0: number) => Promise<void> | void, opts: ApplyBandsOptions = {}, file = 'the image',
): Promise<void> {
  const { width, height, channels } = reader;
  const bandRows = Math.max(1, Math.floor(opts.bandRows ?? defaultBandRows(width, channels)));
  const R = modelHalo(model);
  const wrap = model.border === 'wrap';
  // Band k's input rows: [a, a + rowsIn), modulo height for wrap.
  // Memory is reused band to band (two input and two output buffers: the next band is read and
  // the last one written while this one computes), which matters as much as the arithmetic:
  // first touches of fresh pages cost more than the copies on small VMs.
  const bandSamples = (Math.min(height, bandRows) + 2 * R) * width * channels;
  // Blocks of the WebAssembly module's shared memory, so the kernel reads and writes the bands in
  // place on every worker thread (no copies); returned to its heap at the end.
  const allocated: Float32Array[] = [];
  const shared = (n: number): Float32Array => {
    const a = heapAlloc(n);
    allocated.push(a);
    return a;
  };
  // The band being read ahead, awaited before its buffer goes back to the heap (after an error).
  const ahead: { reading: Promise<unknown> | null } = { reading: null };
  try {
    await bandLoop();
  } finally {
    await ahead.reading?.catch(() => {});
    for (const a of allocated) heapFree(a);
  }

  async function bandLoop(): Promise<void> {
    const inBufs = [shared(bandSamples), shared(bandSamples)];
    const outBufs: (Float32Array | undefined)[] = [undefined, undefined];
    let k = 0;
    const fetch = async (y0: number, into: Float32Array): Promise<{ a: number; rowsIn: number; data: Float32Array }> => {
      const y1 = Math.min(height, y0 + bandRows);
      if (!wrap) {
        const a = Math.max(0, y0 - R);
        const rowsIn = Math.min(height, y1 + R) - a;
        return { a, rowsIn, data: await reader.readRows(a, rowsIn, into) };
      }
      const a = y0 - R;
      const rowsIn = y1 - y0 + 2 * R;
      const data = new Float32Array(rowsIn * width * channels);
      // Rows a .. a+rowsIn-1 modulo height, read as contiguous runs.
      for (let i = 0; i < rowsIn;) {
        const src = (((a + i) % height) + height) % height;
        const run = Math.min(rowsIn - i, height - src);
        const part = await reader.readRows(src, run);
        for (let c = 0; c < channels; c++) {
          data.set(part.subarray(c * run * width, (c + 1) * run * width), (c * rowsIn + i) * width);
        }
        i += run;
      }
      return { a, rowsIn, data };
    };
    let next = height > 0 ? fetch(0, inBufs[0]) : null;
    for (let y0 = 0; y0 < height; y0 += bandRows) {
      const y1 = Math.min(height, y0 + bandRows);
      const { a, rowsIn, data } = await next!;
      if (reader.depth === 'f32' || reader.depth === 'f64') checkFinite(data, width, rowsIn, channels, reader.depth, a, height, file);
      // Read the next band (file I/O and inflate run off this thread) while this one computes.
      next = y1 < height ? fetch(y1, inBufs[(k + 1) % 2]) : null;
      next?.catch(() => {}); // an error surfaces when it is awaited; never unhandled
      ahead.reading = next;
      const out = await applyModelThreaded(model, { width, height: rowsIn, channels, depth: 'f32', data }, file, opts.threads, outBufs[k % 2]);
      // From the second band on, outputs go into two reused buffers (sized once the channel count is known).
      if (!outBufs[0]) {
        const size = (Math.min(height, bandRows) + 2 * R) * width * out.channels;
        outBufs[0] = shared(size);
        outBufs[1] = shared(size);
      }
      k++;
      const rows = y1 - y0;
      const skip = y0 - a;
      let band: Image;
      if (out.channels === 1) {
        band = { width, height: rows, channels: 1, depth: 'f32', data: out.data.subarray(skip * width, (skip + rows) * width) };
      } else {
        band = { width, height: rows, channels: out.channels, depth: 'f32', data: new Float32Array(rows * width * out.channels) };
        for (let c = 0; c < out.channels; c++) {
          band.data.set(out.data.subarray((c * rowsIn + skip) * width, (c * rowsIn + skip + rows) * width), c * rows * width);
        }
      }
      await onBand(band, y0);
    }
  }
}

/**
 * assertFinite (io/finite.ts, the whole-image path's check) on a band of rows [a, a + rows),
 * with the row in its message made the image's row. Bands come in order, so the first bad pixel
 * found is the first in the file (the count it gives is this band's).
 */
function checkFinite(data: Float32Array, width: number, rows: number, channels: number, depth: Depth, a: number, height: number, file: string): void {
  try {
    assertFinite({ width, height: rows, channels, depth, data }, file);
  } catch (err) {
    if (!(err instanceof KernelLearnError)) throw err;
    throw new KernelLearnError(
      err.message
        .replace(/\(x=(\d+), y=(\d+)/, (_m, x: string, y: string) => `(x=${x}, y=${(((a + Number(y)) % height) + height) % height}`)
        .replace(' in all)', ' in the rows read so far)'),
    );
  }
}

export interface ApplyFileOptions extends ApplyBandsOptions {
  /** Output depth (OpenCV saturate_cast rounding), default f32. */
  depth?: Depth;
  /** Refuse images with more pixels than this (default 2^28, like readImage). */
  maxPixels?: number;
  onNotice?: (message: string) => void;
}

/**
 * Applies `model` to the image file `input` (.npy, or an 8/16-bit PNG) and writes `output` (.npy)
 * as it goes, with memory bounded by a few bands whatever the image size. The output is written
 * under a temporary name and renamed when complete; on any error nothing is left behind.
 */
export async function applyModelToFile(model: Network & { alignment?: ModelAlignment }, input: string, output: string, opts: ApplyFileOptions = {}): Promise<{ width: number; height: number; channels: number; depth: Depth }> {
  if (path.extname(output).toLowerCase() !== '.npy') throw new KernelLearnError(`${output}: streaming apply writes .npy only`);
  const depth = opts.depth ?? 'f32';
  const reader = await openBandReader(input);
  let writer: NpyBandWriter | null = null;
  let writing: Promise<void> = Promise.resolve();
  try {
    const maxPixels = opts.maxPixels ?? 2 ** 28;
    if (reader.width * reader.height > maxPixels) {
      throw new KernelLearnError(
        `${input} is ${reader.width}x${reader.height} = ${reader.width * reader.height} pixels, over the limit of ${maxPixels}; ` +
          `raise it with --max-pixels ${reader.width * reader.height} if you trust the file`,
      );
    }
    if (path.extname(input).toLowerCase() === '.png' && (await readPngHeader(input)).hasAlpha) {
      opts.onNotice?.(`${input}: alpha channel dropped`);
    }
    // A model aligned to targets of another size (a crop of the same-size output) writes its window of each band.
    const { grow, keep } = alignedWindow(model, reader.height, reader.width);
    if (grow) throw new KernelLearnError(`${input}: the model's targets reached past the input (alignment ${model.alignment!.mode}): streaming cannot grow the image; apply it whole, or with --output-size same`);
    if (model.edge === 'kept') throw new KernelLearnError(`${input}: the model keeps the input's outer ring (edge kept), which the streamed apply does not do; apply it whole`);
    const outH = keep.y1 - keep.y0, outW = keep.x1 - keep.x0;
    // Each band's write runs while the next band computes; at most one write is in flight.
    await applyModelBands(model, reader, async (band, y0) => {
      await writing;
      if (!writer) {
        writer = new NpyBandWriter(output, outW, outH, band.channels, depth);
        await writer.open();
      }
      const rows = Math.min(keep.y1, y0 + band.height) - Math.max(keep.y0, y0);
      if (rows > 0) {
        const part = cropImage(band, keep.x0, Math.max(keep.y0, y0) - y0, outW, rows);
        const converted = depth === 'f32' ? part : convertDepth(part, depth);
        const w = writer;
        writing = w.writeRows(converted.data, rows);
        writing.catch(() => {}); // awaited on the next band or below; never an unhandled rejection
      }
      if (y0 + band.height >= reader.height) await writing; // the last band's buffer is freed on return
    }, opts, input);
    await writing;
    await writer!.finish();
    return { width: outW, height: outH, channels: writer!.channels, depth };
  } catch (err) {
    await writing.catch(() => {});
    if (writer) await (writer as NpyBandWriter).abort();
    throw err;
  } finally {
    await reader.close();
  }
}

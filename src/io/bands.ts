/**
 * Images in bands of rows, for images larger than memory.
 *
 * BandReader gives any run of rows as a planar float32 band (the same values readImage gives):
 * .npy files by positional reads (header, then row offsets), 8/16-bit PNGs through the streaming
 * decoder in png-stream.ts. Sequential requests cost one pass over the file; a request that goes
 * back restarts the PNG decoder (only the wrap border asks for that, once at each end).
 *
 * NpyBandWriter writes an (H, W) or (H, W, C) .npy as it goes: the header first, then rows in
 * order, to a temporary name that is renamed into place by finish() (abort() removes it).
 */
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { KernelLearnError } from '../errors.js';
import type { Depth } from '../image.js';
import { forgetTemporary, temporaryName, trackTemporary, writeError } from './atomic.js';
import { encodeNpyHeader, NPY_MAX_HEADER_BYTES, parseNpyHeader, type NpyDtype, type NpyHeader } from './npy.js';
import { readPngHeader, streamPngRows, type PngHeader } from './png-stream.js';

export interface BandReader {
  width: number;
  height: number;
  channels: number;
  depth: Depth;
  /**
   * Rows [y0, y0+rows) as planar CHW float32: sample (c, y, x) at (c*rows + y-y0)*width + x.
   * Written into `into` when it is given and long enough (reusing memory matters: first touches
   * of fresh pages cost more than the copy on small VMs), else into a new array.
   */
  readRows(y0: number, rows: number, into?: Float32Array): Promise<Float32Array>;
  close(): Promise<void>;
}

const DEPTH_OF_NPY: Record<NpyDtype, Depth> = { u1: 'u8', i2: 's16', u2: 'u16', f4: 'f32', f8: 'f64' };
const NPY_OF_DEPTH: Record<Depth, NpyDtype> = { u8: 'u1', s16: 'i2', u16: 'u2', f32: 'f4', f64: 'f8' };
const ITEM: Record<NpyDtype, number> = { u1: 1, i2: 2, u2: 2, f4: 4, f8: 8 };
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** True when `file` can be read in bands (a .npy in C order, or an 8/16-bit non-interlaced, non-palette PNG). */
export async function canReadInBands(file: string): Promise<boolean> {
  const ext = path.extname(file).toLowerCase();
  try {
    if (ext === '.npy') {
      const h = await readNpyHead(file);
      const s = h.shape;
      return !h.fortranOrder && (s.length === 2 || (s.length === 3 && s[2] >= 1 && s[2] <= 4)) && s[0] > 0 && s[1] > 0;
    }
    if (ext === '.png') return (await readPngHeader(file)).streamable;
  } catch {
    return false; // let the whole-file reader produce its error message
  }
  return false;
}

/** Width, height and channels (alpha dropped) of a file canReadInBands accepts, from its header alone. */
export async function bandImageSize(file: string): Promise<{ width: number; height: number; channels: number }> {
  if (path.extname(file).toLowerCase() === '.npy') {
    const h = await readNpyHead(file);
    return { width: h.shape[1], height: h.shape[0], channels: h.shape[2] ?? 1 };
  }
  const h = await readPngHeader(file);
  return { width: h.width, height: h.height, channels: h.channels };
}

async function readNpyHead(file: string): Promise<NpyHeader> {
  const fh = await fs.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(size, 12 + NPY_MAX_HEADER_BYTES));
    await fh.read(head, 0, head.length, 0);
    return parseNpyHeader(head, file, size);
  } finally {
    await fh.close();
  }
}

export async function openBandReader(file: string): Promise<BandReader> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.npy') return openNpyReader(file);
  if (ext === '.png') return openPngReader(file);
  throw new KernelLearnError(`${file}: only .npy and PNG files are read in bands`);
}

/** Interleaved HWC samples of `rows` rows -> planar CHW float32, keeping the first `keep` channels. */
function toPlanar(samples: ArrayLike<number>, width: number, rows: number, stride: number, keep: number, into?: Float32Array): Float32Array {
  const plane = width * rows;
  const out = into && into.length >= plane * keep ? into.subarray(0, plane * keep) : new Float32Array(plane * keep);
  if (stride === 1) {
    out.set(samples);
    return out;
  }
  for (let c = 0; c < keep; c++) {
    const o = c * plane;
    for (let i = 0, s = c; i < plane; i++, s += stride) out[o + i] = samples[s];
  }
  return out;
}

async function openNpyReader(file: string): Promise<BandReader> {
  const header = await readNpyHead(file);
  const { shape, dtype, dataOffset } = header;
  if (header.fortranOrder || !(shape.length === 2 || shape.length === 3)) {
    throw new KernelLearnError(`${file}: only C-order (H, W) or (H, W, C) .npy arrays are read in bands`);
  }
  const [height, width] = shape;
  const channels = shape.length === 3 ? shape[2] : 1;
  const item = ITEM[dtype];
  const rowBytes = width * channels * item;
  const swap = item > 1 && header.littleEndian !== HOST_LITTLE_ENDIAN;
  const fh = await fs.open(file, 'r');
  return {
    width, height, channels, depth: DEPTH_OF_NPY[dtype],
    async readRows(y0: number, rows: number, into?: Float32Array): Promise<Float32Array> {
      if (y0 < 0 || rows < 0 || y0 + rows > height) throw new Error(`readRows: rows ${y0}..${y0 + rows} outside 0..${height}`);
      // float32 with one channel is already planar: read straight into `into`.
      const direct = dtype === 'f4' && channels === 1 && !swap && into && into.length >= rows * width;
      const bytes = direct ? new Uint8Array(into.buffer, into.byteOffset, rows * rowBytes) : new Uint8Array(rows * rowBytes);
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await fh.read(bytes, done, bytes.length - done, dataOffset + y0 * rowBytes + done);
        if (bytesRead === 0) throw new KernelLearnError(`${file}: .npy data is truncated; export or copy the file again`);
        done += bytesRead;
      }
      if (swap) {
        for (let i = 0; i < bytes.length; i += item) bytes.subarray(i, i + item).reverse();
      }
      const Ctor = { u1: Uint8Array, i2: Int16Array, u2: Uint16Array, f4: Float32Array, f8: Float64Array }[dtype];
      const samples = new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length / item);
      if (samples instanceof Float32Array && channels === 1) return samples; // already planar float32: no copy
      return toPlanar(samples, width, rows, channels, channels, into);
    },
    async close(): Promise<void> {
      await fh.close();
    },
  };
}

async function openPngReader(file: string): Promise<BandReader> {
  const header: PngHeader = await readPngHeader(file);
  if (!header.streamable) throw new KernelLearnError(`${file}: this PNG (palette, under 8 bits or interlaced) is not read in bands`);
  const { width, height, channels, storedChannels } = header;
  const block = Math.max(1, Math.min(height, Math.floor((4 << 20) / (width * storedChannels * (header.bitDepth / 8))) || 1));
  let iter: AsyncGenerator<{ y0: number; rows: number; samples: Uint8Array | Uint16Array }> | null = null;
  // Decoded rows not yet handed out: [bufY0, bufY0 + bufRows), interleaved samples.
  let buffered: { y0: number; rows: number; samples: Uint8Array | Uint16Array }[] = [];
  let nextY = 0; // first row the decoder has not produced yet
  const restart = async (): Promise<void> => {
    if (iter) await iter.return(undefined);
    iter = streamPngRows(file, header, block);
    buffered = [];
    nextY = 0;
  };
  const rowStride = width * storedChannels;
  return {
    width, height, channels, depth: header.bitDepth === 16 ? 'u16' : 'u8',
    async readRows(y0: number, rows: number, into?: Float32Array): Promise<Float32Array> {
      if (y0 < 0 || rows < 0 || y0 + rows > height) throw new Error(`readRows: rows ${y0}..${y0 + rows} outside 0..${height}`);
      const firstBuffered = buffered.length ? buffered[0].y0 : nextY;
      if (!iter || y0 < firstBuffered) await restart();
      // Drop blocks that end before y0, decode until y0 + rows is covered.
      buffered = buffered.filter((b) => b.y0 + b.rows > y0);
      while (nextY < y0 + rows) {
        const r = await iter!.next();
        if (r.done) throw new KernelLearnError(`${file}: PNG data ended early; export or copy the file again`);
        nextY = r.value.y0 + r.value.rows;
        if (nextY > y0) buffered.push(r.value);
      }
      const Ctor = header.bitDepth === 16 ? Uint16Array : Uint8Array;
      const samples = new Ctor(rows * rowStride);
      for (const b of buffered) {
        const from = Math.max(y0, b.y0);
        const to = Math.min(y0 + rows, b.y0 + b.rows);
        if (to <= from) continue;
        samples.set(b.samples.subarray((from - b.y0) * rowStride, (to - b.y0) * rowStride), (from - y0) * rowStride);
      }
      return toPlanar(samples, width, rows, storedChannels, channels, into);
    },
    async close(): Promise<void> {
      if (iter) await iter.return(undefined);
    },
  };
}

/** Writes a .npy of shape (H, W) or (H, W, C) row band by row band, to a temporary name until finish(). */
export class NpyBandWriter {
  private fh: FileHandle | null = null;
  private readonly tmp: string;
  private pos = 0;
  private rowsWritten = 0;
  private readonly dtype: NpyDtype;

  constructor(readonly file: string, readonly width: number, readonly height: number, readonly channels: number, readonly depth: Depth) {
    this.tmp = temporaryName(file);
    this.dtype = NPY_OF_DEPTH[depth];
  }

  async open(): Promise<void> {
    try {
      this.fh = await fs.open(this.tmp, 'w');
    } catch (err) {
      throw writeError(err, this.file); // one line naming the output and its missing folder
    }
    trackTemporary(this.tmp); // removed on Ctrl-C (see cli/interrupt.ts)
    const header = encodeNpyHeader(this.dtype, this.channels === 1 ? [this.height, this.width] : [this.height, this.width, this.channels]);
    await this.write(header);
  }

  private async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.fh!.write(bytes, done, bytes.length - done, this.pos + done);
      done += bytesWritten;
    }
    this.pos += bytes.length;
  }

  /**
   * Appends the next `rows` rows, given planar CHW in the writer's depth (values already
   * converted, e.g. by convertDepth): Float32Array for u8/s16/u16/f32, Float64Array for f64.
   */
  async writeRows(planar: Float32Array | Float64Array, rows: number): Promise<void> {
    const { width, channels } = this;
    const plane = width * rows;
    if (planar.length !== plane * channels) throw new Error(`writeRows: ${planar.length} samples for ${rows} rows of ${width}x${channels}`);
    const Ctor = { u1: Uint8Array, i2: Int16Array, u2: Uint16Array, f4: Float32Array, f8: Float64Array }[this.dtype];
    if (channels === 1 && planar instanceof Ctor && HOST_LITTLE_ENDIAN) {
      await this.write(new Uint8Array(planar.buffer, planar.byteOffset, planar.byteLength)); // already the file's layout
      this.rowsWritten += rows;
      return;
    }
    const out = new Ctor(plane * channels);
    if (channels === 1) out.set(planar);
    else {
      for (let c = 0; c < channels; c++) {
        const o = c * plane;
        for (let i = 0, d = c; i < plane; i++, d += channels) out[d] = planar[o + i];
      }
    }
    if (!HOST_LITTLE_ENDIAN && ITEM[this.dtype] > 1) throw new Error('NpyBandWriter: big-endian hosts are not supported');
    await this.write(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
    this.rowsWritten += rows;
  }

  async finish(): Promise<void> {
    if (this.rowsWritten !== this.height) throw new Error(`NpyBandWriter: ${this.rowsWritten} of ${this.height} rows written`);
    await this.fh!.close();
    this.fh = null;
    await fs.rename(this.tmp, this.file);
    forgetTemporary(this.tmp);
  }

  async abort(): Promise<void> {
    if (this.fh) await this.fh.close().catch(() => {});
    this.fh = null;
    await fs.rm(this.tmp, { force: true });
    forgetTemporary(this.tmp);
  }
}

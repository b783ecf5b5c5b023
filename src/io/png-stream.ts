/**
 * A streaming PNG decoder for images larger than memory: the file is read in chunks, the IDAT
 * stream inflated by node:zlib with backpressure, and rows unfiltered one at a time, so memory
 * stays at a few rows whatever the image size. (sharp/libvips buffers the whole raw output of a
 * PNG: 256 MB for a 16384x16384 grey u8 image, measured.)
 *
 * Covers what big scans are: 8- and 16-bit grey, grey+alpha, RGB and RGBA, not interlaced.
 * Anything else (palette, 1/2/4-bit, Adam7 interlacing) returns null from readPngHeader's
 * `streamable` and callers read the file whole with readImage instead, so semantics never differ:
 * values as stored, alpha dropped, grey stays one channel, no gamma or ICC conversion.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { KernelLearnError } from '../errors.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
  /** Samples per pixel as stored (with alpha). */
  storedChannels: number;
  /** Channels kept: 1 for grey (+alpha), 3 for RGB(A). */
  channels: number;
  hasAlpha: boolean;
  /** True when streamPngRows can decode it. */
  streamable: boolean;
}

const STORED_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** Reads the signature and IHDR (the first 33 bytes). */
export async function readPngHeader(file: string): Promise<PngHeader> {
  const fh = await fs.open(file, 'r');
  const head = Buffer.alloc(33);
  try {
    await fh.read(head, 0, 33, 0);
  } finally {
    await fh.close();
  }
  if (!SIGNATURE.every((b, i) => head[i] === b) || head.toString('latin1', 12, 16) !== 'IHDR') {
    throw new KernelLearnError(`${file}: not a PNG file (bad signature); export or copy the file again`);
  }
  const width = head.readUInt32BE(16);
  const height = head.readUInt32BE(20);
  const bitDepth = head[24];
  const colorType = head[25];
  const interlace = head[28];
  const storedChannels = STORED_CHANNELS[colorType] ?? 0;
  if (!storedChannels || width === 0 || height === 0) throw new KernelLearnError(`${file}: PNG header is corrupt (colour type ${colorType}, ${width}x${height}); export or copy the file again`);
  const streamable = (bitDepth === 8 || bitDepth === 16) && colorType !== 3 && interlace === 0;
  return {
    width, height, bitDepth, colorType, interlace, storedChannels,
    channels: colorType === 0 || colorType === 4 ? 1 : 3,
    hasAlpha: colorType === 4 || colorType === 6,
    streamable,
  };
}

/**
 * Passes on the payload of IDAT chunks and nothing else, checking each chunk's CRC. A state
 * machine over (chunk header, data, CRC), so even a single huge IDAT chunk streams through.
 */
class IdatExtractor extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private skipSignature = 8;
  private state: 'head' | 'data' | 'crc' = 'head';
  private type = '';
  private left = 0;
  private crc = 0;
  private done = false;
  constructor(private readonly file: string) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.parse(chunk);
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb();
  }

  private parse(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    if (this.skipSignature > 0) {
      const k = Math.min(this.skipSignature, buf.length);
      buf = buf.subarray(k);
      this.skipSignature -= k;
    }
    const hasCrc = typeof zlib.crc32 === 'function';
    while (buf.length > 0 && !this.done) {
      if (this.state === 'head') {
        if (buf.length < 8) { this.pending = Buffer.from(buf); return; }
        this.left = buf.readUInt32BE(0);
        this.type = buf.toString('latin1', 4, 8);
        if (this.left > 0x7fffffff) throw new KernelLearnError(`${this.file}: PNG chunk length ${this.left} is corrupt; export or copy the file again`);
        this.crc = hasCrc ? zlib.crc32(buf.subarray(4, 8)) : 0;
        buf = buf.subarray(8);
        this.state = 'data';
      } else if (this.state === 'data') {
        const k = Math.min(this.left, buf.length);
        const data = buf.subarray(0, k);
        if (hasCrc) this.crc = zlib.crc32(data, this.crc);
        if (this.type === 'IDAT' && k > 0) this.push(Buffer.from(data));
        this.left -= k;
        buf = buf.subarray(k);
        if (this.left === 0) this.state = 'crc';
      } else {
        if (buf.length < 4) { this.pending = Buffer.from(buf); return; }
        if (hasCrc && buf.readUInt32BE(0) !== this.crc) {
          throw new KernelLearnError(`${this.file}: PNG ${this.type} chunk has a bad CRC; the file is corrupt; export or copy the file again`);
        }
        buf = buf.subarray(4);
        if (this.type === 'IEND') this.done = true;
        this.state = 'head';
      }
    }
  }

  override _flush(cb: TransformCallback): void {
    cb(this.done ? null : new KernelLearnError(`${this.file}: PNG file is truncated (no IEND chunk); export or copy the file again`));
  }
}

/**
 * Yields the image's rows in order, `rowsPerBlock` at a time (the last block may be shorter), as
 * unfiltered interleaved samples: Uint8Array for 8-bit, Uint16Array (native order) for 16-bit.
 * Each yielded block is a fresh array the caller may keep.
 */
export async function* streamPngRows(file: string, header: PngHeader, rowsPerBlock: number): AsyncGenerator<{ y0: number; rows: number; samples: Uint8Array | Uint16Array }> {
  if (!header.streamable) throw new Error('streamPngRows: this PNG needs the whole-file reader');
  const { width, height, bitDepth, storedChannels } = header;
  const bpp = storedChannels * (bitDepth / 8);
  const stride = width * bpp;
  let prev = new Uint8Array(stride);
  let cur = new Uint8Array(stride);
  const rowLine = new Uint8Array(stride + 1);
  let linePos = 0;
  let y = 0;
  let block = new Uint8Array(stride * Math.min(rowsPerBlock, height));
  let blockRows = 0;
  let blockStart = 0;

  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  const inflate = zlib.createInflate({ chunkSize: 1 << 18 });
  const extractor = new IdatExtractor(file);
  source.on('error', (e) => extractor.destroy(e));
  extractor.on('error', (e) => inflate.destroy(e));
  source.pipe(extractor).pipe(inflate);

  const emit = (): { y0: number; rows: number; samples: Uint8Array | Uint16Array } => {
    const bytes = block.subarray(0, blockRows * stride);
    let samples: Uint8Array | Uint16Array = bytes;
    if (bitDepth === 16) {
      const s = new Uint16Array(bytes.length / 2);
      for (let i = 0, j = 0; i < s.length; i++, j += 2) s[i] = (bytes[j] << 8) | bytes[j + 1];
      samples = s;
    }
    const out = { y0: blockStart, rows: blockRows, samples };
    blockStart += blockRows;
    blockRows = 0;
    block = new Uint8Array(stride * Math.min(rowsPerBlock, Math.max(1, height - blockStart)));
    return out;
  };

  try {
    for await (const chunk of inflate as AsyncIterable<Buffer>) {
      let i = 0;
      while (i < chunk.length && y < height) {
        const take = Math.min(chunk.length - i, stride + 1 - linePos);
        rowLine.set(chunk.subarray(i, i + take), linePos);
        linePos += take;
        i += take;
        if (linePos === stride + 1) {
          unfilter(rowLine[0], rowLine.subarray(1), prev, cur, bpp, y === 0, file);
          block.set(cur, blockRows * stride);
          blockRows++;
          y++;
          linePos = 0;
          const t = prev; prev = cur; cur = t;
          if (blockRows === rowsPerBlock || y === height) yield emit();
        }
      }
      if (y === height) break;
    }
  } catch (err) {
    if (err instanceof KernelLearnError) throw err;
    throw new KernelLearnError(`${file}: PNG data cannot be decoded (${(err as Error).message}); the file is corrupt; export or copy the file again`);
  } finally {
    source.destroy();
    extractor.destroy();
    inflate.destroy();
  }
  if (y < height) throw new KernelLearnError(`${file}: PNG data is truncated (${y} of ${height} rows); export or copy the file again`);
}

/** PNG filter types 0-4 (None, Sub, Up, Average, Paeth), from `line` into `out`. */
function unfilter(type: number, line: Uint8Array, prev: Uint8Array, out: Uint8Array, bpp: number, first: boolean, file: string): void {
  const n = line.length;
  switch (type) {
    case 0:
      out.set(line);
      return;
    case 1:
      for (let i = 0; i < bpp; i++) out[i] = line[i];
      for (let i = bpp; i < n; i++) out[i] = (line[i] + out[i - bpp]) & 255;
      return;
    case 2:
      if (first) { out.set(line); return; }
      for (let i = 0; i < n; i++) out[i] = (line[i] + prev[i]) & 255;
      return;
    case 3:
      for (let i = 0; i < bpp; i++) out[i] = (line[i] + (first ? 0 : prev[i] >> 1)) & 255;
      for (let i = bpp; i < n; i++) out[i] = (line[i] + ((out[i - bpp] + (first ? 0 : prev[i])) >> 1)) & 255;
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? out[i - bpp] : 0;
        const b = first ? 0 : prev[i];
        const c = i >= bpp && !first ? prev[i - bpp] : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        const pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        out[i] = (line[i] + pred) & 255;
      }
      return;
    default:
      throw new KernelLearnError(`${file}: PNG row has unknown filter type ${type}; the file is corrupt; export or copy the file again`);
  }
}

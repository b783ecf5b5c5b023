/**
 * Image files in and out: PNG, JPEG, WebP and TIFF through sharp (libvips), .npy through our own
 * codec. Values are as stored (a u8 PNG reads 0..255, a 16-bit PNG 0..65535, a float TIFF its
 * floats), grey stays one channel, colour stays three, and every write goes through
 * writeFileAtomic so a failure leaves nothing behind.
 *
 * What each format holds (writing; reading accepts the same and a little more):
 *   .png          u8, u16                 1 or 3 channels, lossless
 *   .jpg .jpeg    u8                      1 or 3 channels, LOSSY (quality 95, 4:4:4 chroma)
 *   .webp         u8                      1 or 3 channels, lossless; WebP has no grey mode, see below
 *   .tif .tiff    u8, u16, s16, f32       1 or 3 channels, lossless (deflate)
 *   .npy          u8, s16, u16, f32, f64  1 to 4 channels, exact
 *
 * Decisions, each checked by test/io.test.ts:
 * - EXIF orientation is NOT applied: pixels are read as stored, so an input and its filtered
 *   target always line up, whatever viewers show. A notice says when a tag is being ignored.
 * - Embedded ICC profiles are ignored (sharp would otherwise convert to sRGB and change values).
 * - Alpha is dropped with a notice; grey+alpha gives one channel. Palette PNGs are expanded.
 * - A WebP whose three channels are equal everywhere is read as one grey channel: WebP always
 *   stores RGB, and this is what makes a grey image written to .webp come back grey.
 * - Multi-page files (TIFF, animated WebP): the first page is read, with a notice.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Metadata, OutputInfo, Sharp } from 'sharp';

type SharpModule = (typeof import('sharp'))['default'];
let sharpModule: Promise<SharpModule> | undefined;
/**
 * sharp, loaded on first use: its native binding costs ~0.13 s of start-up, which commands that
 * touch no PNG/JPEG/WebP/TIFF file (help, .npy in and out, inspect, export) need not pay.
 */
function loadSharp(): Promise<SharpModule> {
  sharpModule ??= import('sharp').then((m) => m.default);
  return sharpModule;
}
import { KernelLearnError } from '../errors.js';
import { integerRange, type Depth, type Image } from '../image.js';
import { writeError, writeFileAtomic } from './atomic.js';
import { encodeNpy, parseNpy, parseNpyHeader, NPY_MAX_HEADER_BYTES, type NpyData, type NpyDtype } from './npy.js';

export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.npy'];

/** 2^28 pixels, e.g. 16384 x 16384: about 1 GiB per channel as f32. */
export const DEFAULT_MAX_PIXELS = 2 ** 28;

export interface ReadImageOptions {
  /** Refuse images with more pixels (width x height) than this. Default 2^28. */
  maxPixels?: number;
  /** Told about anything that was changed or ignored on the way in (alpha dropped, EXIF orientation ignored, ...). */
  onNotice?: (message: string) => void;
}

type Format = 'png' | 'jpeg' | 'webp' | 'tiff' | 'npy';

const FORMAT_OF_EXTENSION: Record<string, Format> = {
  '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg', '.webp': 'webp', '.tif': 'tiff', '.tiff': 'tiff', '.npy': 'npy',
};
const FORMAT_NAME: Record<Format, string> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP', tiff: 'TIFF', npy: '.npy' };
/** Depths each format can store exactly, in the order we suggest them. */
const WRITABLE_DEPTHS: Record<Format, readonly Depth[]> = {
  png: ['u8', 'u16'],
  jpeg: ['u8'],
  webp: ['u8'],
  // f64 is left out because libvips cannot read 64-bit float TIFFs back ("samples out of range").
  tiff: ['u8', 'u16', 's16', 'f32'],
  npy: ['u8', 's16', 'u16', 'f32', 'f64'],
};

/** libvips band formats, as sharp names them. */
const SHARP_DEPTH: Record<Depth, 'uchar' | 'ushort' | 'short' | 'float' | 'double'> = {
  u8: 'uchar', u16: 'ushort', s16: 'short', f32: 'float', f64: 'double',
};
const DEPTH_OF_SHARP: Record<string, Depth> = { uchar: 'u8', ushort: 'u16', short: 's16', float: 'f32', double: 'f64' };
const NPY_DTYPE: Record<Depth, NpyDtype> = { u8: 'u1', s16: 'i2', u16: 'u2', f32: 'f4', f64: 'f8' };
const DEPTH_OF_NPY: Record<NpyDtype, Depth> = { u1: 'u8', i2: 's16', u2: 'u16', f4: 'f32', f8: 'f64' };

type Sample = Uint8Array | Uint16Array | Int16Array | Float32Array | Float64Array;
const SAMPLE_ARRAY = { u8: Uint8Array, u16: Uint16Array, s16: Int16Array, f32: Float32Array, f64: Float64Array } as const;

export function isImageFile(file: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

function formatOf(file: string): Format {
  const ext = path.extname(file).toLowerCase();
  const format = FORMAT_OF_EXTENSION[ext];
  if (!format) {
    const what = ext ? `unsupported image type '${ext}'` : 'has no file extension, so its image type is unknown';
    throw new KernelLearnError(`${file}: ${what}; use one of ${IMAGE_EXTENSIONS.join(' ')}`);
  }
  return format;
}

// ---------------------------------------------------------------------------------------------
// Reading

export async function readImage(file: string, opts: ReadImageOptions = {}): Promise<Image> {
  let format: Format;
  try {
    format = formatOf(file);
  } catch (err) {
    // A folder has no image extension either: say what it is.
    if ((await fs.stat(file).catch(() => undefined))?.isDirectory()) throw new KernelLearnError(`${file} is a folder, not an image file; give the path of an image`);
    throw err;
  }
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const notice = opts.onNotice ?? (() => {});
  let size: number;
  try {
    const stat = await fs.stat(file);
    if (stat.isDirectory()) throw new KernelLearnError(`${file} is a folder, not an image file; give the path of an image`);
    size = stat.size;
  } catch (err) {
    throw fileError(err, file, 'read');
  }
  if (size === 0) throw new KernelLearnError(`${file} is empty (0 bytes); write it again or remove it`);
  return format === 'npy' ? readNpyImage(file, size, maxPixels) : readSharpImage(file, format, maxPixels, notice);
}

function tooManyPixels(file: string, width: number, height: number, maxPixels: number): KernelLearnError {
  return new KernelLearnError(
    `${file} is ${width}x${height} = ${width * height} pixels, over the limit of ${maxPixels}; ` +
      `raise it with --max-pixels ${width * height} if you trust the file`,
  );
}

async function readNpyImage(file: string, size: number, maxPixels: number): Promise<Image> {
  // Check the header before reading the whole file: a hostile header cannot make us allocate
  // more than the file holds, or read a file far over the pixel limit.
  let head: Buffer;
  try {
    const fh = await fs.open(file, 'r');
    try {
      head = Buffer.alloc(Math.min(size, 12 + NPY_MAX_HEADER_BYTES));
      await fh.read(head, 0, head.length, 0);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw fileError(err, file, 'read');
  }
  const header = parseNpyHeader(head, file, size);
  const { shape } = header;
  const shapeText = `(${shape.join(', ')})`;
  if (shape.length !== 2 && shape.length !== 3) {
    throw new KernelLearnError(`${file}: .npy array has shape ${shapeText}; an image is (H, W) or (H, W, C) with C from 1 to 4, so reshape it and save it again`);
  }
  const [height, width] = shape;
  const channels = shape.length === 3 ? shape[2] : 1;
  if (channels < 1 || channels > 4) {
    throw new KernelLearnError(`${file}: .npy array has shape ${shapeText}: ${channels} channels; an image has 1 to 4 (files hold H, W, C)`);
  }
  if (width === 0 || height === 0) throw new KernelLearnError(`${file}: .npy array has shape ${shapeText}, no pixels; remove the file or save a non-empty array`);
  if (width * height > maxPixels) throw tooManyPixels(file, width, height, maxPixels);

  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    throw fileError(err, file, 'read');
  }
  const array = parseNpy(bytes, file);
  const depth = DEPTH_OF_NPY[array.dtype];
  return fromInterleaved(array.data, width, height, channels, channels, depth);
}

/** What libvips calls the pixels' colour space, and how we treat each. */
const GREY_SPACES = new Set(['b-w', 'grey16']);
const COLOUR_SPACES = new Set(['srgb', 'rgb', 'rgb16', 'scrgb']);

async function readSharpImage(file: string, format: Format, maxPixels: number, notice: (m: string) => void): Promise<Image> {
  const sharp = await loadSharp();
  // metadata() parses only the header, so it is safe before the pixel limit is checked.
  let meta: Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw sharpReadError(err, file, format, await sniffFormat(file));
  }
  const actual = meta.format as string;
  if (!['png', 'jpeg', 'webp', 'tiff'].includes(actual)) {
    throw new KernelLearnError(
      `${file} is not a ${FORMAT_NAME[format]} image (it holds ${String(actual).toUpperCase()} data); convert it to PNG, JPEG, WebP, TIFF or .npy`,
    );
  }
  if (actual !== format) notice(`${file}: holds ${FORMAT_NAME[actual as Format]} data despite its extension; read as ${FORMAT_NAME[actual as Format]}`);

  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height > maxPixels) throw tooManyPixels(file, width, height, maxPixels);

  const depth = DEPTH_OF_SHARP[meta.depth ?? ''];
  if (!depth) {
    throw new KernelLearnError(`${file} holds ${meta.depth} samples, which are not supported; save it as u8, u16, s16 or f32 (or as .npy)`);
  }
  const space = String(meta.space);
  const bands = meta.channels ?? 0;
  let grey: boolean;
  if (GREY_SPACES.has(space)) grey = true;
  else if (COLOUR_SPACES.has(space)) grey = false;
  else if (space === 'multiband' && bands >= 1 && bands <= 4) grey = bands <= 2;
  else if (space === 'xyz' && format === 'tiff') {
    throw new KernelLearnError(
      `${file} is a LogLuv (XYZ) float TIFF, the lossy encoding OpenCV uses for 3-channel float32; it is not read here. ` +
        'Save the array with numpy.save (.npy) instead',
    );
  } else {
    throw new KernelLearnError(`${file} has ${space.toUpperCase()} colour (${bands} channels), which is not supported; convert it to RGB or greyscale`);
  }
  if (meta.hasAlpha) notice(`${file}: alpha channel dropped`);
  if ((meta.pages ?? 1) > 1) notice(`${file}: has ${meta.pages} pages; only the first is read`);
  if (meta.orientation !== undefined && meta.orientation !== 1) {
    notice(`${file}: EXIF orientation ${meta.orientation} is not applied; pixels are read as stored`);
  }

  let pipeline = sharp(file, {
    // Backstop for the check above, in case the decoder finds other dimensions than the header.
    limitInputPixels: Number.isFinite(maxPixels) ? Math.max(1, Math.floor(maxPixels)) : false,
    // Values as stored: no conversion through an embedded colour profile.
    ignoreIcc: true,
    // Refuse truncated and corrupt files, but not ones whose only fault is a decoder warning.
    failOn: 'error',
  });
  if ((space === 'grey16' || space === 'rgb16') && depth !== 'u16') {
    // libvips labels any non-8-bit grey/RGB as grey16/rgb16, and sharp then casts such images to
    // ushort, which would clip an int16 TIFF's negatives. Relabel (see relabelled()).
    pipeline = relabelled(pipeline, width, height, grey);
  } else {
    // Converting to the image's own colour space is a no-op: this stops sharp's default
    // conversion to sRGB, which would turn grey into three channels and 16-bit into 8-bit.
    pipeline = pipeline.toColourspace(space);
  }
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await pipeline.raw({ depth: SHARP_DEPTH[depth] }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw sharpReadError(err, file, format);
  }
  const { info } = raw;
  const Samples = SAMPLE_ARRAY[depth];
  const { buffer, byteOffset, length } = raw.data;
  // Typed arrays need aligned offsets; copy only when sharp's Buffer is not aligned.
  const samples = byteOffset % Samples.BYTES_PER_ELEMENT === 0
    ? new Samples(buffer as ArrayBuffer, byteOffset, length / Samples.BYTES_PER_ELEMENT)
    : new Samples(buffer.slice(byteOffset, byteOffset + length) as ArrayBuffer);
  const keep = grey ? 1 : Math.min(3, info.channels);
  let image = fromInterleaved(samples, info.width, info.height, info.channels, keep, depth);
  if (actual === 'webp' && image.channels === 3) image = collapseEqualChannels(image);
  return image;
}

/**
 * Makes sharp pass non-8/16-bit integer and float pixels through untouched. sharp labels such
 * pixels grey16/rgb16 and, before output, casts every grey16/rgb16 image to ushort. Joining a
 * channel makes sharp re-label the image with the output colour space (b-w or srgb, not 16-bit,
 * so no cast); removeAlpha() then drops the extra channel again, since b-w with 2 channels
 * (srgb with 4) counts as having alpha. Relies on sharp's pipeline order; the bit-exact round
 * trips in test/io.test.ts guard it.
 */
function relabelled(pipeline: Sharp, width: number, height: number, grey: boolean): Sharp {
  // A u8 filler is enough: the join promotes it to the image's own sample type.
  return pipeline
    .joinChannel(Buffer.alloc(width * height), { raw: { width, height, channels: 1 } })
    .toColourspace(grey ? 'b-w' : 'srgb')
    .removeAlpha();
}

/** HWC samples -> planar image of the first `keep` channels, in Float32 (Float64 for f64). */
function fromInterleaved(samples: ArrayLike<number>, width: number, height: number, stride: number, keep: number, depth: Depth): Image {
  const plane = width * height;
  const data = depth === 'f64' ? new Float64Array(plane * keep) : new Float32Array(plane * keep);
  if (stride === 1) {
    data.set(samples as ArrayLike<number>);
  } else {
    for (let c = 0; c < keep; c++) {
      const out = c * plane;
      for (let i = 0, s = c; i < plane; i++, s += stride) data[out + i] = samples[s];
    }
  }
  return { width, height, channels: keep, depth, data };
}

function collapseEqualChannels(image: Image): Image {
  const plane = image.width * image.height;
  const d = image.data;
  for (let i = 0; i < plane; i++) {
    if (d[i] !== d[plane + i] || d[i] !== d[2 * plane + i]) return image;
  }
  return { ...image, channels: 1, data: d.slice(0, plane) };
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Writes `image` in the format its extension names, at `image.depth`; see the table at the top. */
export async function writeImage(file: string, image: Image): Promise<void> {
  const format = formatOf(file);
  const { width, height, channels, depth } = image;
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0 && Number.isInteger(channels) && channels > 0)) {
    throw new Error(`writeImage: invalid image size ${width}x${height}x${channels}`);
  }
  if (image.data.length !== width * height * channels) {
    throw new Error(`writeImage: image data has ${image.data.length} samples, ${width}x${height}x${channels} needs ${width * height * channels}`);
  }
  const name = FORMAT_NAME[format];
  const depths = WRITABLE_DEPTHS[format];
  if (!depths.includes(depth)) {
    const others = (Object.keys(WRITABLE_DEPTHS) as Format[])
      .filter((f) => f !== format && f !== 'jpeg' && WRITABLE_DEPTHS[f].includes(depth))
      .map((f) => (f === 'npy' ? '.npy' : `.${f}`));
    throw new KernelLearnError(
      `cannot store ${depth} pixels in ${file}: ${name} holds ${depths.join(' or ')}; use ${others.join(' or ')}, or --depth ${closestDepth(depth, depths)}`,
    );
  }
  const maxChannels = format === 'npy' ? 4 : 3;
  if (channels > maxChannels || (format !== 'npy' && channels === 2)) {
    throw new KernelLearnError(
      `cannot store ${channels} channels in ${file}: ${name} holds ${format === 'npy' ? '1 to 4 channels' : '1 (grey) or 3 (RGB) channels'}` +
        (format === 'npy' ? '' : '; use .npy'),
    );
  }

  const samples = toInterleaved(image);
  let bytes: Uint8Array;
  if (format === 'npy') {
    bytes = encodeNpy(NPY_DTYPE[depth], channels === 1 ? [height, width] : [height, width, channels], samples as NpyData);
  } else {
    bytes = await encodeWithSharp(samples, image, format);
  }
  try {
    await writeFileAtomic(file, bytes);
  } catch (err) {
    throw fileError(err, file, 'write');
  }
}

function closestDepth(depth: Depth, allowed: readonly Depth[]): Depth {
  return depth === 'f64' && allowed.includes('f32') ? 'f32' : allowed[0];
}

async function encodeWithSharp(samples: Sample, image: Image, format: Format): Promise<Uint8Array> {
  const sharp = await loadSharp();
  const { width, height, channels, depth } = image;
  const grey = channels === 1;
  // sharp reads the sample type from the typed array's class (a Buffer would mean uchar).
  let pipeline = sharp(samples, { raw: { width, height, channels: channels as 1 | 3 } });
  if (depth === 'u8') pipeline = pipeline.toColourspace(grey ? 'b-w' : 'srgb');
  else if (depth === 'u16') pipeline = pipeline.toColourspace(grey ? 'grey16' : 'rgb16');
  // s16 and f32 (TIFF only): sharp would cast them to ushort; see relabelled().
  else pipeline = relabelled(pipeline, width, height, grey);

  if (format === 'png') pipeline = pipeline.png({ compressionLevel: 6 });
  // Lossy by nature; quality 95 without chroma subsampling keeps it close.
  else if (format === 'jpeg') pipeline = pipeline.jpeg({ quality: 95, chromaSubsampling: '4:4:4' });
  // WebP stores RGB only: a grey image is written as three equal channels (and read back as one).
  else if (format === 'webp') pipeline = pipeline.webp({ lossless: true });
  // sharp's default TIFF compression is JPEG (lossy): ask for deflate. The float predictor is
  // the TIFF standard's one for floats (libtiff, tifffile, GDAL and OpenCV read it).
  else pipeline = pipeline.tiff({ compression: 'deflate', predictor: depth === 'f32' ? 'float' : 'horizontal' });
  return pipeline.toBuffer();
}

/** Planar image -> HWC samples of the depth's type, saturated (callers should have done it already). */
function toInterleaved(image: Image): Sample {
  const { width, height, channels, depth, data } = image;
  const plane = width * height;
  const out = new SAMPLE_ARRAY[depth](plane * channels);
  const range = integerRange(depth);
  for (let c = 0; c < channels; c++) {
    const src = c * plane;
    if (!range) {
      for (let i = 0, o = c; i < plane; i++, o += channels) out[o] = data[src + i];
    } else {
      const { lo, hi } = range;
      for (let i = 0, o = c; i < plane; i++, o += channels) out[o] = saturate(data[src + i], lo, hi);
    }
  }
  return out;
}

/** OpenCV's saturate_cast: round half to even, then clamp; NaN becomes 0. */
function saturate(v: number, lo: number, hi: number): number {
  if (!(v > lo)) return v <= lo ? lo : 0;
  if (v >= hi) return hi;
  let r = Math.round(v);
  if (r - v === 0.5 && r % 2 !== 0) r -= 1;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Errors: one line each, naming the file and what to do.

function fileError(err: unknown, file: string, verb: 'read' | 'write'): Error {
  if (err instanceof KernelLearnError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  if (verb === 'read') {
    if (code === 'ENOENT') return new KernelLearnError(`${file} does not exist; check the path`);
    if (code === 'EACCES' || code === 'EPERM') return new KernelLearnError(`${file} cannot be read: permission denied; check its permissions`);
    if (code === 'EISDIR') return new KernelLearnError(`${file} is a folder, not an image file; give the path of an image`);
    return new KernelLearnError(`${file} cannot be read: ${(err as Error)?.message ?? String(err)}`);
  }
  return writeError(err, file);
}

/** The format named by a file's first bytes, to tell a damaged image from a file that is not one. */
async function sniffFormat(file: string): Promise<Format | undefined> {
  let head: Buffer;
  try {
    const fh = await fs.open(file, 'r');
    try {
      head = Buffer.alloc(12);
      await fh.read(head, 0, 12, 0);
    } finally {
      await fh.close();
    }
  } catch {
    return undefined;
  }
  const ascii = head.toString('latin1');
  if (ascii.startsWith('\x89PNG\r\n\x1a\n')) return 'png';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (ascii.startsWith('RIFF') && ascii.slice(8, 12) === 'WEBP') return 'webp';
  if (/^(II[*+]\0|MM\0[*+])/.test(ascii)) return 'tiff';
  return undefined;
}

function sharpReadError(err: unknown, file: string, format: Format, sniffed?: Format): Error {
  const message = String((err as Error)?.message ?? err).split('\n')[0].trim();
  const name = FORMAT_NAME[sniffed ?? format];
  if (/unsupported image format/i.test(message) && !sniffed) {
    return new KernelLearnError(`${file} is not a ${FORMAT_NAME[format]} image (its contents are not a known image format); check the file or its extension`);
  }
  if (/is missing/i.test(message)) return new KernelLearnError(`${file} does not exist; check the path`);
  if (/exceeds pixel limit/i.test(message)) {
    return new KernelLearnError(`${file} is over the pixel limit; raise it with --max-pixels if you trust the file`);
  }
  if ((sniffed ?? format) === 'tiff' && /samples out of range/i.test(message)) {
    return new KernelLearnError(`${file}: this TIFF cannot be read (${message}); 64-bit float TIFFs are not supported, save float32 TIFF or .npy`);
  }
  return new KernelLearnError(`${file}: cannot decode the ${name} image, it is truncated or corrupt (${message}); export or copy the file again`);
}

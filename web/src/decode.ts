/**
 * Uploaded files to the library's planar Image, in the browser.
 *   .npy: the library's own parser (src/io/npy.ts); (H,W) or (H,W,C), values as stored.
 *   PNG / JPEG / WebP / GIF / BMP: the browser's decoder via createImageBitmap and a canvas,
 *   8 bits per channel; grey (one channel) when R = G = B everywhere, else RGB; alpha dropped.
 */
import type { Depth, Image } from '../../src/image.js';
import { parseNpy, type NpyDtype } from '../../src/io/npy.js';

export interface Decoded {
  image: Image;
  notes: string[];
}

const NPY_DEPTH: Record<NpyDtype, Depth> = { u1: 'u8', i2: 's16', u2: 'u16', f4: 'f32', f8: 'f64' };

/** The file name without its folder and last extension: inputs and targets pair by it. */
export function stemOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

export function decodeNpy(bytes: Uint8Array, name: string): Decoded {
  const a = parseNpy(bytes, name);
  if (a.shape.length !== 2 && a.shape.length !== 3) {
    throw new Error(`${name}: .npy shape (${a.shape.join(', ')}) is not an image; use (H, W) or (H, W, C)`);
  }
  const [height, width] = a.shape;
  const channels = a.shape.length === 3 ? a.shape[2] : 1;
  if (height < 1 || width < 1 || channels < 1) throw new Error(`${name}: .npy shape (${a.shape.join(', ')}) is empty`);
  const depth = NPY_DEPTH[a.dtype];
  const plane = width * height;
  const data = depth === 'f64' ? new Float64Array(plane * channels) : new Float32Array(plane * channels);
  // HWC (the file) to planar CHW (memory).
  for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) data[c * plane + p] = a.data[p * channels + c];
  return { image: { width, height, channels, depth, data }, notes: [] };
}

/** PNG bit depth from the IHDR chunk (byte 24), or null when the bytes are not a PNG. */
function pngBitDepth(bytes: Uint8Array): number | null {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length < 26 || !sig.every((b, i) => bytes[i] === b)) return null;
  return bytes[24];
}

export async function decodeRaster(file: Blob, bytes: Uint8Array, name: string): Promise<Decoded> {
  const notes: string[] = [];
  if (pngBitDepth(bytes) === 16) notes.push(`${name}: 16-bit PNG decoded to 8 bits by the browser; save it as .npy to keep every bit`);
  let bitmap: ImageBitmap;
  try {
    // No colour management and no premultiplication: the stored 8-bit values, as sharp and OpenCV read them.
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error(`${name}: the browser cannot decode this image; use PNG, JPEG, WebP or .npy (TIFF is not supported in the browser)`);
  }
  const { width, height } = bitmap;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  if (!g) throw new Error('this browser has no 2-D canvas');
  g.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = g.getImageData(0, 0, width, height).data;
  const plane = width * height;
  let grey = true;
  let alpha = false;
  for (let p = 0; p < plane; p++) {
    const r = rgba[4 * p], gg = rgba[4 * p + 1], b = rgba[4 * p + 2];
    if (r !== gg || r !== b) grey = false;
    if (rgba[4 * p + 3] !== 255) alpha = true;
  }
  if (alpha) notes.push(`${name}: alpha channel dropped`);
  const channels = grey ? 1 : 3;
  const data = new Float32Array(plane * channels);
  for (let c = 0; c < channels; c++) for (let p = 0; p < plane; p++) data[c * plane + p] = rgba[4 * p + c];
  return { image: { width, height, channels, depth: 'u8', data }, notes };
}

export async function decodeFile(file: File): Promise<Decoded> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (/\.npy$/i.test(file.name)) return decodeNpy(bytes, file.name);
  if (/\.tiff?$/i.test(file.name)) throw new Error(`${file.name}: TIFF is not supported in the browser; convert it to PNG or .npy (the CLI reads TIFF)`);
  return decodeRaster(file, bytes, file.name);
}

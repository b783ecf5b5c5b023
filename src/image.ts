/**
 * The one in-memory image type every stage passes along.
 *
 * Pixels are stored planar (channel-major, CHW) because every filter and layer works on one
 * channel at a time; files hold HWC and io/ converts at the edge. Values are as stored in the
 * file: a u8 PNG holds 0..255 here, never rescaled.
 */

/** Sample types, with OpenCV's names in comments: u8 = CV_8U, s16 = CV_16S, u16 = CV_16U, f32 = CV_32F, f64 = CV_64F. */
export type Depth = 'u8' | 's16' | 'u16' | 'f32' | 'f64';
export const DEPTHS: readonly Depth[] = ['u8', 's16', 'u16', 'f32', 'f64'];

/** Float64Array only for f64 data, so that f64 files round-trip exactly; Float32Array otherwise (u8/s16/u16 are exact in f32). */
export type Pixels = Float32Array | Float64Array;

export interface Image {
  width: number;
  height: number;
  channels: number;
  /** The depth the values came from (or are meant for); the values already respect it. */
  depth: Depth;
  /** Planar CHW: sample (c, y, x) is at c*height*width + y*width + x. */
  data: Pixels;
}

/** The range of each integer depth (OpenCV CV_8U, CV_16S, CV_16U): where saturate_cast clamps. */
export const INTEGER_RANGE: Readonly<Record<'u8' | 's16' | 'u16', readonly [number, number]>> = {
  u8: [0, 255],
  s16: [-32768, 32767],
  u16: [0, 65535],
};

/** The range of an integer depth as { lo, hi }, or null for float depths (and anything else, e.g. 'mixed'). */
export function integerRange(depth: string): { lo: number; hi: number } | null {
  if (!Object.hasOwn(INTEGER_RANGE, depth)) return null;
  const [lo, hi] = INTEGER_RANGE[depth as keyof typeof INTEGER_RANGE];
  return { lo, hi };
}

/** Rows [y0, y1) and columns [x0, x1) of an image. */
export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function createImage(width: number, height: number, channels: number, depth: Depth = 'f32'): Image {
  const n = width * height * channels;
  return { width, height, channels, depth, data: depth === 'f64' ? new Float64Array(n) : new Float32Array(n) };
}

/** One channel as a view (no copy) into the planar buffer. */
export function channelView(image: Image, c: number): Pixels {
  const plane = image.width * image.height;
  return image.data.subarray(c * plane, (c + 1) * plane);
}

export function isDepth(s: string): s is Depth {
  return (DEPTHS as readonly string[]).includes(s);
}

/**
 * The w x h rectangle at (x0, y0) as an image of its own (the same array type as the source);
 * the image itself, not a copy, when the rectangle is the whole image.
 */
export function cropImage(image: Image, x0: number, y0: number, w: number, h: number): Image {
  if (x0 === 0 && y0 === 0 && w === image.width && h === image.height) return image;
  const data = image.data instanceof Float64Array ? new Float64Array(w * h * image.channels) : new Float32Array(w * h * image.channels);
  for (let c = 0; c < image.channels; c++) {
    for (let y = 0; y < h; y++) {
      const src = (c * image.height + y0 + y) * image.width + x0;
      data.set(image.data.subarray(src, src + w), (c * h + y) * w);
    }
  }
  return { width: w, height: h, channels: image.channels, depth: image.depth, data };
}

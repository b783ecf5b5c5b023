/**
 * What the reference implementations of other libraries' filter calls share: the description of a
 * call's parameter space for a search, the linear form a learner can use, the 8-bit input check
 * (Pillow, ImageMagick), and shell quoting for printed command lines.
 *
 * A future `identify` enumerates the discrete parameters of a space, fits the continuous ones,
 * and proves a candidate by re-filtering the inputs with `apply` and comparing bit for bit.
 */
import { KernelLearnError } from '../../errors.js';
import { type Image } from '../../image.js';
import { type Kernel2D } from '../kernels.js';

/** A parameter with a few values that a search enumerates. `null` stands for Python's None. */
export interface DiscreteParam {
  kind: 'discrete';
  values: readonly (string | number | boolean | null | readonly number[])[];
  /** Absent for a required argument. */
  default?: string | number | boolean | null;
  note?: string;
}

/** A real parameter that a search fits within [min, max] (log: search log(value), for radii and sigmas). */
export interface ContinuousParam {
  kind: 'continuous';
  min: number;
  max: number;
  scale: 'linear' | 'log';
  default?: number;
  note?: string;
}

/** Free weights (a kernel), which a search fits by linear least squares rather than enumerating; `sizes` when only some are allowed. */
export interface KernelParam {
  kind: 'kernel';
  sizes?: readonly number[];
  note?: string;
}

/**
 * What a search (`kernel-learn identify`) needs to know about one call of one library: which
 * parameters to enumerate, which to fit, and how they interact (in `note`).
 */
export interface SearchSpace {
  library: 'OpenCV' | 'scipy.ndimage' | 'skimage.filters' | 'Pillow' | 'ImageMagick';
  /** The function (OpenCV, scipy, skimage), ImageFilter name (Pillow) or option, with the kernel name for -morphology (ImageMagick). */
  fn: string;
  params: Readonly<Record<string, DiscreteParam | ContinuousParam | KernelParam>>;
  note?: string;
}

/**
 * The linear, shift-invariant part of a call: what a learner fits.
 *   out = clamp(Q(offset + sum k * in), 0, 255) in 8-bit units, Q by `quantize`, with
 *   edge 'kept'      the outer `margin` pixels (rows and columns) are the input, unfiltered;
 *   edge 'replicate' the input is extended by repeating its edge pixels (OpenCV BORDER_REPLICATE).
 * `exact` is true when the tool applies exactly this kernel to the 8-bit input and rounds once;
 * false when it rounds in between (separable passes stored at 8 or 16 bits), thresholds, or
 * otherwise is only approximately this kernel (see `note`).
 */
export interface LinearForm {
  /** Correlation kernel (not flipped), anchor at the centre, weights in 8-bit units. */
  kernel: Kernel2D;
  offset: number;
  /**
   * 'round': floor(x + 0.5), half up (Pillow); 'floor': floor(x) (ImageMagick writing an 8-bit
   * PNG truncates; its 16-bit rounding is folded into `offset` as + 1/514).
   */
  quantize: 'round' | 'floor';
  edge: 'kept' | 'replicate';
  /** For edge 'kept': the width of the band left as the input. */
  margin: number;
  exact: boolean;
  note: string;
}

/**
 * The input as 8-bit integers, planar CHW (a copy). Both tools' calls here take 8-bit images;
 * a value that is not a whole number in 0..255 would be a different image to them.
 */
export function u8Planes(image: Image, who: string): Uint8Array {
  const { width, height, channels, data } = image;
  if (!(width >= 1 && height >= 1 && channels >= 1) || data.length !== width * height * channels) {
    throw new KernelLearnError(`${who}: the image is ${width}x${height}x${channels} with ${data.length} samples; expected at least 1x1x1 and width*height*channels samples`);
  }
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(Number.isInteger(v) && v >= 0 && v <= 255)) {
      throw new KernelLearnError(`${who}: sample ${i} is ${v}; these calls take 8-bit images (whole numbers 0..255): convert the image to u8 first`);
    }
    out[i] = v;
  }
  return out;
}

/** An 8-bit result image of the input's shape. */
export function u8Image(like: Image, data: Uint8Array): Image {
  return { width: like.width, height: like.height, channels: like.channels, depth: 'u8', data: Float32Array.from(data) };
}

/** Python's shlex.quote: the argument unchanged when it is safe in a POSIX shell, else single-quoted. */
export function shellQuote(s: string): string {
  if (s === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return "'" + s.replace(/'/g, `'"'"'`) + "'";
}

/** A number as both JavaScript and Python print it for the values used in specs (shortest round trip). */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) throw new KernelLearnError(`cannot print ${v} as a parameter`);
  return Object.is(v, -0) ? '0' : String(v);
}

/** Throws unless `v` is a finite number in [min, max]. */
export function checkRange(who: string, name: string, v: number, min: number, max: number): void {
  if (!(typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max)) {
    throw new KernelLearnError(`${who}: ${name} ${v} is outside [${min}, ${max}]`);
  }
}

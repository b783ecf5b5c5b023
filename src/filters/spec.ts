import { KernelLearnError } from '../errors.js';
import { isBorderMode, type BorderMode } from './border.js';
import { isDepth, type Depth } from '../image.js';

/** The reference filters, by the OpenCV function each reproduces. */
export type FilterOp =
  | 'sobel' // cv2.Sobel
  | 'scharr' // cv2.Scharr (cv2.Sobel with ksize=-1)
  | 'laplacian' // cv2.Laplacian
  | 'gaussian' // cv2.GaussianBlur
  | 'box' // cv2.boxFilter (normalize=True, i.e. cv2.blur)
  | 'kernel'; // cv2.filter2D
export const FILTER_OPS: readonly FilterOp[] = ['sobel', 'scharr', 'laplacian', 'gaussian', 'box', 'kernel'];

/** One filter, fully specified; the defaults are OpenCV's where OpenCV has one. */
export interface FilterSpec {
  op: FilterOp;
  /**
   * Derivative orders (sobel, scharr). Default dx=1, dy=0; when only dy is given, dx defaults to 0
   * (so `dy: 1` alone is the y derivative, not the mixed one).
   */
  dx?: number;
  dy?: number;
  /**
   * Aperture: sobel 1/3/5/7 (default 3), laplacian 1/3/5/7 (default 1), gaussian odd or 0 = from
   * sigma (default 3, or 0 when sigma > 0), box any >= 1 (default 3; even sizes anchor at ksize/2
   * like OpenCV). Not used by scharr (always 3) or kernel (the kernel's own size).
   */
  ksize?: number;
  /** Multiplies the result before delta is added (sobel, scharr, laplacian, kernel). Default 1. */
  scale?: number;
  /** Added to the result (sobel, scharr, laplacian, kernel). Default 0. */
  delta?: number;
  /** Default reflect101 (OpenCV's BORDER_DEFAULT). */
  border?: BorderMode;
  /**
   * Output depth, with OpenCV saturate_cast rounding. Default f32. For sobel/scharr/laplacian/
   * kernel/box it is OpenCV's ddepth. GaussianBlur has no ddepth: gaussian runs
   * cv2.GaussianBlur on the input converted to depth (saturate_cast), so depth u8 on a u8 image
   * gives OpenCV's bit-exact 8-bit Gaussian and the default f32 the float Gaussian of the same
   * pixels. The ksize derived from sigma depends on that depth (3 sigma for u8, else 4 sigma).
   */
  depth?: Depth;
  /** filter2D kernel: rows of equal length (correlation; anchor at (floor(kw/2), floor(kh/2)) as OpenCV). */
  kernel?: number[][];
  /** Gaussian sigma (sigmaX = sigmaY); <= 0 means computed from ksize as OpenCV does. */
  sigma?: number;
}

/** A FilterSpec with every default filled in and every field checked (see resolveFilterSpec). */
export interface ResolvedFilterSpec {
  op: FilterOp;
  /** 0 for ops without derivatives. */
  dx: number;
  dy: number;
  /** The aperture; 0 for a gaussian sized from sigma; 3 for scharr; the larger side for kernel. */
  ksize: number;
  scale: number;
  delta: number;
  border: BorderMode;
  depth: Depth;
  /** The filter2D kernel rows; empty for the other ops. */
  kernel: number[][];
  sigma: number;
}

const APERTURES = [1, 3, 5, 7];
/**
 * The largest Gaussian or box aperture we accept. OpenCV has no limit, but a size in the millions
 * (a typo, or a huge sigma) would run for hours or exhaust memory; 1023 taps is far beyond any
 * real blur of an image that fits in memory.
 */
export const MAX_KSIZE = 1023;

function bad(message: string): never {
  throw new KernelLearnError(message);
}

function checkNumber(name: string, v: unknown): void {
  if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) bad(`filter ${name}=${String(v)} is not allowed: it must be a finite number`);
}

/**
 * Checks a spec against what OpenCV accepts for that function (plus the apertures our CLI
 * documents) and fills in the defaults. Throws KernelLearnError with a one-line message that
 * says what is allowed. Fields that an op does not use are refused rather than ignored, so a
 * typo such as `sigma` on a box filter cannot silently produce a different dataset.
 * Depth combinations that depend on the input image are checked by applyFilter.
 */
export function resolveFilterSpec(spec: FilterSpec): ResolvedFilterSpec {
  const op = spec.op;
  if (!(FILTER_OPS as readonly string[]).includes(op)) bad(`filter op "${String(op)}" is not known; use one of ${FILTER_OPS.join(', ')}`);
  for (const key of ['dx', 'dy', 'ksize', 'scale', 'delta', 'sigma'] as const) checkNumber(key, spec[key]);
  if (spec.border !== undefined && !isBorderMode(spec.border)) bad(`border "${String(spec.border)}" is not known; use reflect101, reflect, replicate, constant or wrap`);
  if (spec.depth !== undefined && !isDepth(spec.depth)) bad(`depth "${String(spec.depth)}" is not known; use u8, s16, u16, f32 or f64`);

  const derivative = op === 'sobel' || op === 'scharr';
  if (!derivative && (spec.dx !== undefined || spec.dy !== undefined)) bad(`${op} takes no dx/dy (only sobel and scharr do)`);
  if (op !== 'gaussian' && spec.sigma !== undefined) bad(`${op} takes no sigma (only gaussian does)`);
  if (op !== 'kernel' && spec.kernel !== undefined) bad(`${op} takes no kernel (only op kernel does)`);
  if ((op === 'gaussian' || op === 'box') && ((spec.scale ?? 1) !== 1 || (spec.delta ?? 0) !== 0)) {
    bad(`${op} takes no scale or delta (OpenCV's ${op === 'gaussian' ? 'GaussianBlur' : 'boxFilter'} has none)`);
  }

  const r: ResolvedFilterSpec = {
    op,
    dx: 0,
    dy: 0,
    ksize: 0,
    scale: spec.scale ?? 1,
    delta: spec.delta ?? 0,
    border: spec.border ?? 'reflect101',
    depth: spec.depth ?? 'f32',
    kernel: [],
    sigma: 0,
  };

  if (derivative) {
    r.dx = spec.dx ?? (spec.dy === undefined ? 1 : 0);
    r.dy = spec.dy ?? 0;
    for (const [name, v] of [['dx', r.dx], ['dy', r.dy]] as const) {
      if (!Number.isInteger(v) || v < 0) bad(`${op} ${name}=${v} is not allowed: derivative orders are whole numbers >= 0`);
    }
  }

  switch (op) {
    case 'sobel': {
      r.ksize = spec.ksize ?? 3;
      if (!APERTURES.includes(r.ksize)) bad(`sobel ksize=${r.ksize} is not allowed: use 1, 3, 5 or 7`);
      if (r.dx + r.dy === 0) bad('sobel needs dx + dy > 0 (at least one derivative)');
      // OpenCV's getSobelKernels: each direction's order must be below its kernel size, where
      // ksize 1 means a 3-tap kernel in a direction that has a derivative.
      for (const [name, order] of [['dx', r.dx], ['dy', r.dy]] as const) {
        const size = r.ksize === 1 && order > 0 ? 3 : r.ksize;
        if (order >= size) bad(`sobel ${name}=${order} with ksize=${r.ksize} is not allowed: the order must be below ${size} (use a larger ksize)`);
      }
      break;
    }
    case 'scharr':
      if (spec.ksize !== undefined && spec.ksize !== 3) bad(`scharr ksize=${spec.ksize} is not allowed: Scharr is always 3x3 (leave ksize out)`);
      r.ksize = 3;
      if (r.dx + r.dy !== 1) bad(`scharr dx=${r.dx} dy=${r.dy} is not allowed: Scharr needs dx + dy == 1 (dx=1 dy=0 or dx=0 dy=1)`);
      break;
    case 'laplacian':
      r.ksize = spec.ksize ?? 1;
      if (!APERTURES.includes(r.ksize)) bad(`laplacian ksize=${r.ksize} is not allowed: use 1, 3, 5 or 7`);
      break;
    case 'gaussian': {
      r.sigma = spec.sigma ?? 0;
      r.ksize = spec.ksize ?? (r.sigma > 0 ? 0 : 3);
      if (!Number.isInteger(r.ksize) || r.ksize < 0 || (r.ksize > 0 && r.ksize % 2 === 0)) {
        bad(`gaussian ksize=${r.ksize} is not allowed: use an odd size >= 1, or 0 with sigma > 0 to derive it from sigma`);
      }
      if (r.ksize === 0 && !(r.sigma > 0)) bad('gaussian ksize=0 needs sigma > 0 (the size is derived from sigma)');
      if (r.ksize > MAX_KSIZE) bad(`gaussian ksize=${r.ksize} is too large: use at most ${MAX_KSIZE}`);
      // OpenCV's size from sigma (gaussianKsizeFromSigma): about 6 or 8 sigma.
      if (r.ksize === 0 && r.sigma * (r.depth === 'u8' ? 3 : 4) * 2 + 1 > MAX_KSIZE) {
        bad(`gaussian sigma=${r.sigma} is too large: it would need a kernel over ${MAX_KSIZE} taps; use a smaller sigma`);
      }
      break;
    }
    case 'box':
      r.ksize = spec.ksize ?? 3;
      if (!Number.isInteger(r.ksize) || r.ksize < 1) bad(`box ksize=${r.ksize} is not allowed: use a whole number >= 1`);
      if (r.ksize > MAX_KSIZE) bad(`box ksize=${r.ksize} is too large: use at most ${MAX_KSIZE}`);
      break;
    case 'kernel': {
      if (spec.ksize !== undefined) bad('kernel takes no ksize (the kernel rows give its size)');
      const k = spec.kernel;
      if (!Array.isArray(k) || k.length === 0 || !Array.isArray(k[0]) || k[0].length === 0) {
        bad('kernel needs a non-empty 2-D array of numbers, e.g. [[0,-1,0],[-1,5,-1],[0,-1,0]]');
      }
      const kw = k[0].length;
      for (const row of k) {
        if (!Array.isArray(row) || row.length !== kw) bad(`kernel rows must all have the same length (${kw} in the first row)`);
        for (const v of row) if (typeof v !== 'number' || !Number.isFinite(v)) bad('kernel values must be finite numbers');
      }
      r.kernel = k.map((row) => row.slice());
      r.ksize = Math.max(k.length, kw);
      break;
    }
  }
  return r;
}

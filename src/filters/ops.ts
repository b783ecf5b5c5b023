/**
 * The reference filters: cv2.Sobel, Scharr, Laplacian, GaussianBlur, boxFilter and filter2D,
 * reproduced to the bit where OpenCV's own arithmetic allows it (OpenCV 4.6, x86-64, no IPP).
 *
 * How: every sum is computed exactly enough in float64, then rounded at the same places OpenCV
 * stores an intermediate — kernels as float32, the row pass of a separable filter into a float32
 * buffer, the float32 accumulator before saturate_cast — unless float64 is involved, when OpenCV
 * works in double throughout. The 8- and 16-bit GaussianBlur and the 8-bit box filter use OpenCV's
 * integer (fixed-point) arithmetic, which we reproduce exactly.
 *
 * What can still differ (documented, measured by test/filters.test.ts against tools/make_golden.py):
 *  - float outputs: OpenCV's summation order (SIMD, symmetric-kernel folding, FMA) rounds
 *    differently from ours in the last float32 bits (~1e-7 relative).
 *  - integer outputs of a float-path filter whose exact value is a .5 tie that only float32
 *    noise decides (non-dyadic scale/delta/kernels, e.g. 5 * 0.1): OpenCV's answer depends on its
 *    SIMD evaluation order (and the CPU's dispatch level), so no fixed rule matches it; the golden
 *    Sobel cases with scale 0.1 and 0.3 differ by 1 at 11 and 28 of 2867 samples, all such ties.
 *    Integer kernels with dyadic scale and delta (1, 0.5, 0.25, 3, ...) are exact.
 *  - filter2D kernels with >= 50 taps (>= 130 for u8->u8, u8->s16, f32->f32) go through OpenCV's
 *    DFT path. It is accurate (~3e-8 relative measured; the 12x12 u8 -> u8 golden case is exact),
 *    but an integer output could differ by 1 at a near-tie.
 *  - box filter with an even, non-power-of-two area (e.g. 6x6) to an integer depth: OpenCV's SIMD
 *    lanes multiply by a float32 1/area and its scalar tail by a double one; at exact .5 ties the
 *    two disagree. We follow the SIMD lanes.
 *
 * What OpenCV refuses, we refuse (KernelLearnError, one line): the depth pairs filter2D's direct
 * path lacks, and f64 -> f32 for Sobel/Scharr.
 *
 * Border wrap (periodic, scipy.ndimage mode='wrap', what FFT filtering gives): cv::FilterEngine
 * refuses BORDER_WRAP (all filters but the 8/16-bit GaussianBlur and the DFT filter2D), so wrap
 * here is what OpenCV gives after copyMakeBorder(src, r, r, r, r, BORDER_WRAP), the filter with
 * any border and a crop back to the image, r the kernel's radius: every output pixel then reads
 * its periodic neighbours only. Our loops read those neighbours directly (border.ts), in the same
 * order as on the padded image, so no padded copy is made; tools/make_golden.py checks the
 * equality against OpenCV (and that the two native paths agree with it).
 */
import { KernelLearnError } from '../errors.js';
import { createImage, type Depth, type Image } from '../image.js';
import { type BorderMode } from './border.js';
import { convertDepth, cvRound, saturateCast } from './depth.js';
import { correlatePlane, correlateColsPlane, correlateRowsPlane } from './filter2d.js';
import {
  type Kernel2D,
  getGaussianKernel,
  getGaussianKernelFixedPoint,
  getScharrKernels,
  getSobelKernels,
  gaussianPlan,
  kernelFromRows,
  laplacianFactors,
  laplacianKernel,
} from './kernels.js';
import { type FilterSpec, type ResolvedFilterSpec, resolveFilterSpec } from './spec.js';

const fround = Math.fround;
const identity = (v: number): number => v;

/** Rounding to a float working type: float32 rounds, float64 keeps. */
function rounder(floatDepth: 'f32' | 'f64'): (v: number) => number {
  return floatDepth === 'f32' ? fround : identity;
}

/** OpenCV's CV_8U < CV_16U < CV_16S < CV_32F < CV_64F order (CV_MAT_DEPTH values 0, 2, 3, 5, 6). */
const DEPTH_CODE: Record<Depth, number> = { u8: 0, u16: 2, s16: 3, f32: 5, f64: 6 };

function refuse(what: string, why: string): never {
  throw new KernelLearnError(`${what}: ${why}`);
}

function checkImage(image: Image): void {
  const { width, height, channels, data } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && Number.isInteger(channels) && width > 0 && height > 0 && channels > 0)) {
    throw new KernelLearnError(`cannot filter a ${width}x${height}x${channels} image: width, height and channels must be >= 1`);
  }
  if (data.length !== width * height * channels) {
    throw new KernelLearnError(`image data holds ${data.length} samples, expected ${width}x${height}x${channels}`);
  }
}

function planeOf(image: Image, c: number): Float32Array | Float64Array {
  const n = image.width * image.height;
  return image.data.subarray(c * n, (c + 1) * n);
}

// ---------------------------------------------------------------------------------------------
// cv::sepFilter2D (createSeparableLinearFilter + FilterEngine)

/**
 * sepFilter2D as OpenCV computes it. The kernels must already hold the values OpenCV holds
 * (integers, or float32-rounded values). The buffer depth is float64 when the source or the
 * destination is f64, float32 otherwise: the row pass is stored there, the column pass
 * accumulates there (starting from delta) and the sum is saturate_cast to ddepth.
 * For u8 -> s16 with integer kernels OpenCV switches to int32 arithmetic; its results are the same
 * integers, so one formula covers both.
 */
function sepFilter(src: Image, kx: ArrayLike<number>, ky: ArrayLike<number>, ddepth: Depth, delta: number, border: BorderMode, what: string): Image {
  if (src.depth === 'f64' && ddepth === 'f32') refuse(what, 'OpenCV has no f64 -> f32 path for separable filters (input f64 needs depth f64 or an integer depth)');
  const buf = rounder(src.depth === 'f64' || ddepth === 'f64' ? 'f64' : 'f32');
  const rx = Array.from(kx, buf);
  const ry = Array.from(ky, buf);
  const d = buf(delta);
  const { width, height } = src;
  const out = createImage(width, height, src.channels, ddepth);
  const rows = new Float64Array(width * height);
  const cols = new Float64Array(width * height);
  for (let c = 0; c < src.channels; c++) {
    correlateRowsPlane(planeOf(src, c), width, height, rx, border, rows);
    for (let i = 0; i < rows.length; i++) rows[i] = buf(rows[i]);
    correlateColsPlane(rows, width, height, ry, border, cols);
    const dst = planeOf(out, c);
    for (let i = 0; i < cols.length; i++) dst[i] = saturateCast(buf(cols[i] + d), ddepth);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// cv::filter2D

/** Whether cv::filter2D takes its DFT path (filter.dispatch.cpp dftFilter2D, SSE3 machines). */
function filter2DUsesDft(sdepth: Depth, ddepth: Depth, kw: number, kh: number): boolean {
  const fast = (sdepth === 'u8' && (ddepth === 'u8' || ddepth === 's16')) || (sdepth === 'f32' && ddepth === 'f32');
  return kw * kh >= (fast ? 130 : 50);
}

/** The depth pairs cv::filter2D's direct (non-DFT) path implements (getLinearFilter). */
function filter2DDirectSupports(sdepth: Depth, ddepth: Depth): boolean {
  switch (sdepth) {
    case 'u8':
      return true;
    case 'u16':
      return ddepth === 'u16' || ddepth === 'f32' || ddepth === 'f64';
    case 's16':
      return ddepth === 's16' || ddepth === 'f32' || ddepth === 'f64';
    case 'f32':
      return ddepth === 'f32';
    case 'f64':
      return ddepth === 'f64';
  }
}

/**
 * filter2D as OpenCV computes it: kernel values in float32 unless f64 is involved, the sum plus
 * delta in that float type, then saturate_cast. On the DFT path OpenCV accepts every depth pair
 * (and border wrap natively); its result equals the exact correlation up to DFT rounding, which
 * is what we return (rounded once to the output depth).
 */
function filter2D(src: Image, kernel: Kernel2D, ddepth: Depth, delta: number, border: BorderMode, what: string): Image {
  const dft = filter2DUsesDft(src.depth, ddepth, kernel.kw, kernel.kh);
  if (!dft) {
    if (!filter2DDirectSupports(src.depth, ddepth)) {
      refuse(what, `OpenCV's filter2D has no ${src.depth} -> ${ddepth} path (u8 -> any; u16 -> u16/f32/f64; s16 -> s16/f32/f64; f32 -> f32; f64 -> f64)`);
    }
  }
  const acc = dft ? identity : rounder(src.depth === 'f64' || ddepth === 'f64' ? 'f64' : 'f32');
  const k: Kernel2D = dft ? kernel : { kh: kernel.kh, kw: kernel.kw, data: kernel.data.map(acc) };
  const d = acc(delta);
  const { width, height } = src;
  const out = createImage(width, height, src.channels, ddepth);
  const sum = new Float64Array(width * height);
  for (let c = 0; c < src.channels; c++) {
    correlatePlane(planeOf(src, c), width, height, k, border, sum);
    const dst = planeOf(out, c);
    for (let i = 0; i < sum.length; i++) dst[i] = saturateCast(acc(sum[i] + d), ddepth);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The ops

function derivative(image: Image, s: ResolvedFilterSpec, what: string): Image {
  const { kx, ky } = s.op === 'scharr' ? getScharrKernels(s.dx, s.dy) : getSobelKernels(s.dx, s.dy, s.ksize);
  // cv::Sobel folds scale into the smoothing factor (ky when dx > 0, else kx), stored in the
  // kernel type: float32 unless the source or destination is f64.
  const kt = rounder(image.depth === 'f64' || s.depth === 'f64' ? 'f64' : 'f32');
  if (s.scale !== 1) {
    const target = s.dx === 0 ? kx : ky;
    for (let i = 0; i < target.length; i++) target[i] = kt(target[i] * s.scale);
  }
  return sepFilter(image, kx, ky, s.depth, s.delta, s.border, what);
}

/**
 * cv::Laplacian. ksize 1 and 3 are a filter2D with a float32 3x3 kernel (scale folded in, still
 * float32 even for f64 images). Larger apertures compute d2x and d2y separably into a work image
 * (s16 for u8 input with ksize 5, where OpenCV uses exact integer arithmetic; else f32, or f64 for
 * f64 input), add them there, and convertTo(ddepth, scale, delta).
 */
function laplacian(image: Image, s: ResolvedFilterSpec, what: string): Image {
  if (s.ksize === 1 || s.ksize === 3) {
    const base = laplacianKernel(s.ksize);
    const k: Kernel2D = { kh: 3, kw: 3, data: base.data.map((v) => fround(v * s.scale)) };
    return filter2D(image, k, s.depth, s.delta, s.border, what);
  }
  const sdepth = image.depth;
  const wdepth: Depth = sdepth === 'u8' && s.ksize <= 5 ? 's16' : DEPTH_CODE[sdepth] <= DEPTH_CODE.f32 ? 'f32' : 'f64';
  const { kd, ks } = laplacianFactors(s.ksize);
  const d2x = sepFilter(image, kd, ks, wdepth, 0, s.border, what);
  const d2y = sepFilter(image, ks, kd, wdepth, 0, s.border, what);
  const sum = d2x.data;
  for (let i = 0; i < sum.length; i++) sum[i] = saturateCast(sum[i] + d2y.data[i], wdepth); // Mat += saturates
  const out = createImage(image.width, image.height, image.channels, s.depth);
  if (s.scale === 1 && s.delta === 0) {
    for (let i = 0; i < sum.length; i++) out.data[i] = saturateCast(sum[i], s.depth);
  } else if (s.depth === 'f64' || (wdepth === 'f64' && s.depth === 'f32')) {
    // convertTo's double kernels (cvt_64f)
    for (let i = 0; i < sum.length; i++) out.data[i] = saturateCast(sum[i] * s.scale + s.delta, s.depth);
  } else {
    // convertTo's float kernels (cvt_32f): float32 alpha and beta, a fused multiply-add on AVX2
    // (the product of two float32 values is exact in float64, so one fround models it).
    const a = fround(s.scale);
    const b = fround(s.delta);
    for (let i = 0; i < sum.length; i++) out.data[i] = saturateCast(fround(fround(sum[i]) * a + b), s.depth);
  }
  return out;
}

/**
 * cv::GaussianBlur(src.astype(depth)). 8- and 16-bit images use OpenCV's bit-exact fixed-point
 * path (smooth.simd.hpp): kernels with 8 (16) fraction bits, an exact integer row pass, an exact
 * integer column pass and one rounding, half up: out = (sum + 2^(2b-1)) >> 2b. That path handles
 * border wrap too. Other depths use sepFilter2D with float32 (f64) kernels.
 */
function gaussian(image: Image, s: ResolvedFilterSpec, what: string): Image {
  const src = image.depth === s.depth ? image : convertDepth(image, s.depth);
  const plan = gaussianPlan(s);
  let kw = plan.ksize;
  let kh = plan.ksize;
  // GaussianBlur: with a non-constant border every row (column) of a 1-row (1-column) image is
  // the same after padding, so OpenCV drops that direction; both gone means a plain copy. Not for
  // wrap, which means "pad first" (the header): the padded image is no longer one row.
  if (s.border !== 'constant' && s.border !== 'wrap') {
    if (src.height === 1) kh = 1;
    if (src.width === 1) kw = 1;
  }
  if (kw === 1 && kh === 1) return convertDepth(src, s.depth);
  if (plan.fixedPointBits) {
    const bits = plan.fixedPointBits;
    const kx = getGaussianKernelFixedPoint(kw, plan.sigma, bits);
    const ky = kh === kw ? kx : getGaussianKernelFixedPoint(kh, plan.sigma, bits);
    const shift = 2 ** (2 * bits);
    const half = shift / 2;
    const max = bits === 8 ? 255 : 65535;
    const { width, height } = src;
    const out = createImage(width, height, src.channels, s.depth);
    const rows = new Float64Array(width * height);
    const cols = new Float64Array(width * height);
    for (let c = 0; c < src.channels; c++) {
      // All integers below 2^48: float64 holds them exactly, so this is OpenCV's integer arithmetic.
      correlateRowsPlane(planeOf(src, c), width, height, kx, s.border, rows);
      correlateColsPlane(rows, width, height, ky, s.border, cols);
      const dst = planeOf(out, c);
      for (let i = 0; i < cols.length; i++) dst[i] = Math.min(max, Math.floor((cols[i] + half) / shift));
    }
    return out;
  }
  const kt = rounder(s.depth === 'f64' ? 'f64' : 'f32');
  const kx = getGaussianKernel(kw, plan.sigma).map(kt);
  const ky = kh === kw ? kx : getGaussianKernel(kh, plan.sigma).map(kt);
  return sepFilter(src, kx, ky, s.depth, 0, s.border, what);
}

/**
 * cv::boxFilter(src, ddepth, (k, k), normalize=True): window sums, then a division whose
 * arithmetic depends on the depths (box_filter.simd.hpp):
 *   u8 -> u8 with k*k <= 256: 16-bit sums and a fixed-point division ((sum + dd) * ds) >> 23;
 *   integer input otherwise: int32 sums, times a float32 1/area (float64 for an f64 output);
 *   float input: float64 sums times 1/area in float64.
 * Even sizes anchor at k/2, as OpenCV does.
 */
function box(image: Image, s: ResolvedFilterSpec, what: string): Image {
  const k = s.ksize;
  const area = k * k;
  const scale = 1 / area;
  const sdepth = image.depth;
  const ddepth = s.depth;
  const ones = new Float64Array(k).fill(1);
  const { width, height } = image;
  const out = createImage(width, height, image.channels, ddepth);
  const rowSums = new Float64Array(width * height);
  const sums = new Float64Array(width * height);
  const intLimit = sdepth === 'u8' ? 2 ** 23 : sdepth === 'u16' ? 2 ** 15 : 2 ** 16;
  const intSums = (sdepth === 'u8' || sdepth === 'u16' || sdepth === 's16') && area <= intLimit;
  let divide: (sum: number) => number;
  if (area === 1) {
    divide = (v) => saturateCast(v, ddepth);
  } else if (sdepth === 'u8' && ddepth === 'u8' && area <= 256) {
    const SHIFT = 2 ** 23;
    const d = cvRound(1 / scale);
    const scalef = SHIFT / d;
    let ds = Math.floor(scalef);
    let dd = d >> 1;
    if (scalef - ds < 0.5) dd++;
    else ds++;
    divide = (v) => Math.min(255, Math.floor(((v + dd) * ds) / SHIFT));
  } else if (intSums && ddepth !== 'f64') {
    const fs = fround(scale);
    divide = (v) => saturateCast(fround(v * fs), ddepth);
  } else {
    divide = (v) => saturateCast(v * scale, ddepth);
  }
  for (let c = 0; c < image.channels; c++) {
    // Row sums, then column sums of those, as OpenCV's RowSum/ColumnSum do (exact for integers).
    correlateRowsPlane(planeOf(image, c), width, height, ones, s.border, rowSums);
    correlateColsPlane(rowSums, width, height, ones, s.border, sums);
    const dst = planeOf(out, c);
    for (let i = 0; i < sums.length; i++) dst[i] = divide(sums[i]);
  }
  return out;
}

/**
 * Applies a reference filter with OpenCV's semantics; see FilterSpec for the fields and this
 * file's header for exactness. The result has depth spec.depth (default f32): Float32Array data,
 * or Float64Array for f64. Invalid specs and combinations OpenCV refuses throw KernelLearnError.
 */
export function applyFilter(image: Image, spec: FilterSpec): Image {
  const s = resolveFilterSpec(spec);
  checkImage(image);
  const what = describeFilter(spec);
  switch (s.op) {
    case 'sobel':
    case 'scharr':
      return derivative(image, s, what);
    case 'laplacian':
      return laplacian(image, s, what);
    case 'gaussian':
      return gaussian(image, s, what);
    case 'box':
      return box(image, s, what);
    case 'kernel': {
      const k = kernelFromRows(s.kernel);
      const scaled: Kernel2D = s.scale === 1 ? k : { kh: k.kh, kw: k.kw, data: k.data.map((v) => v * s.scale) };
      return filter2D(image, scaled, s.depth, s.delta, s.border, what);
    }
  }
}

function fmt(v: number): string {
  return String(Number.isInteger(v) ? v : Number(v.toPrecision(6)));
}

/**
 * A short human-readable description, e.g. "sobel dx=1 dy=0 ksize=3"; scale, delta, border and
 * depth are listed only when they differ from the defaults (1, 0, reflect101, f32).
 */
export function describeFilter(spec: FilterSpec): string {
  const s = resolveFilterSpec(spec);
  const parts: string[] = [s.op];
  switch (s.op) {
    case 'sobel':
      parts.push(`dx=${s.dx}`, `dy=${s.dy}`, `ksize=${s.ksize}`);
      break;
    case 'scharr':
      parts.push(`dx=${s.dx}`, `dy=${s.dy}`);
      break;
    case 'laplacian':
    case 'box':
      parts.push(`ksize=${s.ksize}`);
      break;
    case 'gaussian':
      parts.push(s.ksize > 0 ? `ksize=${s.ksize}` : `ksize=0 (${gaussianPlan(s).ksize} from sigma)`, `sigma=${fmt(s.sigma)}`);
      break;
    case 'kernel': {
      const kh = s.kernel.length;
      const kw = s.kernel[0].length;
      parts.push(kh * kw <= 25 ? `${kh}x${kw} ${JSON.stringify(s.kernel.map((r) => r.map((v) => Number(fmt(v)))))}` : `${kh}x${kw}`);
      break;
    }
  }
  if (s.scale !== 1) parts.push(`scale=${fmt(s.scale)}`);
  if (s.delta !== 0) parts.push(`delta=${fmt(s.delta)}`);
  if (s.border !== 'reflect101') parts.push(`border=${s.border}`);
  if (s.depth !== 'f32') parts.push(`depth=${s.depth}`);
  return parts.join(' ');
}

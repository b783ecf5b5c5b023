/**
 * Filter kernels built exactly as OpenCV builds them (modules/imgproc/src/deriv.cpp and
 * smooth.dispatch.cpp, OpenCV 4.6), in float64.
 *
 * Separable filters are returned as a pair of 1-D kernels (`kx` runs along a row, `ky` down a
 * column); the 2-D correlation kernel is their outer product ky (x) kx. A Kernel2D is row-major
 * with its anchor at (floor(kw/2), floor(kh/2)): the centre for odd sizes and, for even sizes, the
 * anchor cv::filter2D and cv::boxFilter use by default (Point(-1,-1) normalised to ksize/2).
 */
import { KernelLearnError } from '../errors.js';
import { type Depth } from '../image.js';
import { cvRound, roundHalfEven } from './depth.js';
import { resolveFilterSpec, type FilterSpec, type ResolvedFilterSpec } from './spec.js';

/** A 2-D correlation kernel, row-major, anchor at (floor(kw/2), floor(kh/2)). */
export interface Kernel2D {
  kh: number;
  kw: number;
  data: Float64Array;
}

/** A separable kernel: kx along rows (x), ky along columns (y); the 2-D kernel is ky (x) kx. */
export interface SeparableKernel {
  kx: Float64Array;
  ky: Float64Array;
}

/** ky (x) kx: entry (i, j) is ky[i] * kx[j]. */
export function outerProduct(ky: ArrayLike<number>, kx: ArrayLike<number>): Kernel2D {
  const kh = ky.length;
  const kw = kx.length;
  const data = new Float64Array(kh * kw);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) data[i * kw + j] = ky[i] * kx[j];
  return { kh, kw, data };
}

/** A Kernel2D from rows of numbers (rows must have equal length; checked by the caller). */
export function kernelFromRows(rows: readonly (readonly number[])[]): Kernel2D {
  const kh = rows.length;
  const kw = rows[0].length;
  const data = new Float64Array(kh * kw);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) data[i * kw + j] = rows[i][j];
  return { kh, kw, data };
}

/** Rows of a Kernel2D, for printing and JSON. */
export function kernelRows(k: Kernel2D): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < k.kh; i++) rows.push(Array.from(k.data.subarray(i * k.kw, (i + 1) * k.kw)));
  return rows;
}

function scaleKernel(k: Kernel2D, s: number): Kernel2D {
  if (s === 1) return k;
  return { kh: k.kh, kw: k.kw, data: k.data.map((v) => v * s) };
}

function addKernels(a: Kernel2D, b: Kernel2D): Kernel2D {
  if (a.kh !== b.kh || a.kw !== b.kw) throw new Error('addKernels: size mismatch');
  return { kh: a.kh, kw: a.kw, data: a.data.map((v, i) => v + b.data[i]) };
}

// ---------------------------------------------------------------------------------------------
// Derivative kernels (cv::getDerivKernels)

/**
 * One 1-D Sobel factor of the given size and derivative order: OpenCV's getSobelKernels loop.
 * Size 1 is [1]; size 3 is a fixed table; larger sizes start from the binomial (Pascal) row of
 * length ksize-order and apply `order` finite differences, which is what the two loops compute.
 */
function sobelFactor(ksize: number, order: number): Float64Array {
  const k = new Float64Array(ksize);
  if (ksize === 1) {
    k[0] = 1;
  } else if (ksize === 3) {
    k.set(order === 0 ? [1, 2, 1] : order === 1 ? [-1, 0, 1] : [1, -2, 1]);
  } else {
    // kerI has ksize+1 slots; the last one is scratch that the recurrences read as 0.
    const kerI = new Float64Array(ksize + 1);
    kerI[0] = 1;
    for (let i = 0; i < ksize - order - 1; i++) {
      let oldval = kerI[0];
      for (let j = 1; j <= ksize; j++) {
        const newval = kerI[j] + kerI[j - 1];
        kerI[j - 1] = oldval;
        oldval = newval;
      }
    }
    for (let i = 0; i < order; i++) {
      let oldval = -kerI[0];
      for (let j = 1; j <= ksize; j++) {
        const newval = kerI[j - 1] - kerI[j];
        kerI[j - 1] = oldval;
        oldval = newval;
      }
    }
    k.set(kerI.subarray(0, ksize));
  }
  return k;
}

function checkOrder(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new KernelLearnError(`${name}=${v} is not allowed: derivative orders are whole numbers >= 0`);
}

/**
 * cv::getSobelKernels: kx of order dx, ky of order dy. ksize must be odd, 1..31 (OpenCV's limit);
 * ksize 1 means a 3-tap [-1 0 1] (or [1 -2 1]) in each direction that has a derivative and no
 * smoothing at all in a direction of order 0. Each direction needs order < its size.
 * `normalize` divides each factor by 2^(size - order - 1), as OpenCV does.
 */
export function getSobelKernels(dx: number, dy: number, ksize: number, normalize = false): SeparableKernel {
  checkOrder('dx', dx);
  checkOrder('dy', dy);
  if (!Number.isInteger(ksize) || ksize % 2 === 0 || ksize < 1 || ksize > 31) {
    throw new KernelLearnError(`Sobel ksize=${ksize} is not allowed: the kernel size must be odd and between 1 and 31`);
  }
  if (dx + dy === 0) throw new KernelLearnError('Sobel needs dx + dy > 0 (at least one derivative)');
  const out: Float64Array[] = [];
  for (const [order, name] of [[dx, 'dx'], [dy, 'dy']] as const) {
    const size = ksize === 1 && order > 0 ? 3 : ksize;
    if (order >= size) {
      throw new KernelLearnError(
        `Sobel ${name}=${order} with ksize=${ksize} is not allowed: the order must be below the kernel size (${size} here)`,
      );
    }
    const k = sobelFactor(size, order);
    if (normalize) {
      const s = 1 / 2 ** (size - order - 1);
      for (let i = 0; i < k.length; i++) k[i] *= s;
    }
    out.push(k);
  }
  return { kx: out[0], ky: out[1] };
}

/**
 * cv::getScharrKernels: 3-tap [3 10 3] smoothing and [-1 0 1] derivative; exactly one of dx, dy
 * is 1. `normalize` scales the smoothing factor by 1/32 (the derivative factor stays), as OpenCV does.
 */
export function getScharrKernels(dx: number, dy: number, normalize = false): SeparableKernel {
  checkOrder('dx', dx);
  checkOrder('dy', dy);
  if (dx + dy !== 1) {
    throw new KernelLearnError(`Scharr dx=${dx} dy=${dy} is not allowed: Scharr needs dx + dy == 1 (dx=1 dy=0 or dx=0 dy=1)`);
  }
  const f = (order: number) => {
    const k = Float64Array.from(order === 0 ? [3, 10, 3] : [-1, 0, 1]);
    if (normalize && order === 0) for (let i = 0; i < 3; i++) k[i] /= 32;
    return k;
  };
  return { kx: f(dx), ky: f(dy) };
}

/** cv::getDerivKernels: ksize <= 0 (OpenCV's FILTER_SCHARR is -1) selects Scharr, otherwise Sobel. */
export function getDerivKernels(dx: number, dy: number, ksize: number, normalize = false): SeparableKernel {
  return ksize <= 0 ? getScharrKernels(dx, dy, normalize) : getSobelKernels(dx, dy, ksize, normalize);
}

// ---------------------------------------------------------------------------------------------
// Gaussian kernels (cv::getGaussianKernel, bit-exact variant of OpenCV >= 4.0)

/** OpenCV's fixed tables for sigma <= 0 (binomial rows); used instead of the formula for these sizes. */
const SMALL_GAUSSIAN: Readonly<Record<number, readonly number[]>> = {
  1: [1],
  3: [0.25, 0.5, 0.25],
  5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
  7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
  9: [4 / 256, 13 / 256, 30 / 256, 51 / 256, 60 / 256, 51 / 256, 30 / 256, 13 / 256, 4 / 256],
};

/** Exact decomposition x = m * 2^e (m a BigInt), for the one fused multiply-add below. */
function decompose(x: number): [bigint, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e = -1074;
  if (biased !== 0) {
    m |= 1n << 52n;
    e = biased - 1075;
  }
  return [hi >>> 31 ? -m : m, e];
}

/**
 * a*b + c rounded once (C's fma), for finite normal inputs. OpenCV computes the default sigma as
 * softfloat mulAdd(n, 0.15, 0.35), a fused multiply-add; a separate multiply and add can differ
 * in the last bit, which would change the kernel's last bit.
 */
export function fusedMultiplyAdd(a: number, b: number, c: number): number {
  if (a === 0 || b === 0 || c === 0) return a * b + c;
  const [ma, ea] = decompose(a);
  const [mb, eb] = decompose(b);
  const [mc, ec] = decompose(c);
  const ep = ea + eb;
  const e = Math.min(ep, ec);
  const sum = ((ma * mb) << BigInt(ep - e)) + (mc << BigInt(ec - e));
  // Number(bigint) rounds to nearest, ties to even; scaling by a power of two is then exact.
  return Number(sum) * 2 ** e;
}

function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt('0x' + hex));
  return view.getFloat64(0);
}

/** 2^(i/64), i = 0..63, as the float64 bit patterns of OpenCV's softfloat exp table. */
const EXP_TAB = [
  '3ff0000000000000', '3ff02c9a3e778061', '3ff059b0d3158574', '3ff0874518759bc8', '3ff0b5586cf9890f', '3ff0e3ec32d3d1a2',
  '3ff11301d0125b51', '3ff1429aaea92de0', '3ff172b83c7d517b', '3ff1a35beb6fcb75', '3ff1d4873168b9aa', '3ff2063b88628cd6',
  '3ff2387a6e756238', '3ff26b4565e27cdd', '3ff29e9df51fdee1', '3ff2d285a6e4030b', '3ff306fe0a31b715', '3ff33c08b26416ff',
  '3ff371a7373aa9cb', '3ff3a7db34e59ff7', '3ff3dea64c123422', '3ff4160a21f72e2a', '3ff44e086061892d', '3ff486a2b5c13cd0',
  '3ff4bfdad5362a27', '3ff4f9b2769d2ca7', '3ff5342b569d4f82', '3ff56f4736b527da', '3ff5ab07dd485429', '3ff5e76f15ad2148',
  '3ff6247eb03a5585', '3ff6623882552225', '3ff6a09e667f3bcd', '3ff6dfb23c651a2f', '3ff71f75e8ec5f74', '3ff75feb564267c9',
  '3ff7a11473eb0187', '3ff7e2f336cf4e62', '3ff82589994cce13', '3ff868d99b4492ed', '3ff8ace5422aa0db', '3ff8f1ae99157736',
  '3ff93737b0cdc5e5', '3ff97d829fde4e50', '3ff9c49182a3f090', '3ffa0c667b5de565', '3ffa5503b23e255d', '3ffa9e6b5579fdbf',
  '3ffae89f995ad3ad', '3ffb33a2b84f15fb', '3ffb7f76f2fb5e47', '3ffbcc1e904bc1d2', '3ffc199bdd85529c', '3ffc67f12e57d14b',
  '3ffcb720dcef9069', '3ffd072d4a07897c', '3ffd5818dcfba487', '3ffda9e603db3285', '3ffdfc97337b9b5f', '3ffe502ee78b3ff6',
  '3ffea4afa2a490da', '3ffefa1bee615a27', '3fff50765b6e4540', '3fffa7c1819e90d8',
].map(fromBits);
const EXPPOLY_A0 = fromBits('3f83ce0f3e46f431');
const EXP_POLY = [
  // A0..A5 of OpenCV's softfloat f64_exp, each divided by EXPPOLY_A0 as it does.
  fromBits('3f55e7aa1566c2a4') / EXPPOLY_A0,
  fromBits('3f83b2a72b4f3cd3') / EXPPOLY_A0,
  fromBits('3fac6b08d81fec75') / EXPPOLY_A0,
  fromBits('3fcebfbdff82a45a') / EXPPOLY_A0,
  fromBits('3fe62e42fefa39f1') / EXPPOLY_A0,
  1 / EXPPOLY_A0,
];
const EXP_PRESCALE = fromBits('3ff71547652b82fe') * 64; // 64 / ln 2
const EXP_MAX = 3000 * 64;

/**
 * exp(x) exactly as OpenCV's softfloat (cv::exp(softdouble), core/src/softfloat.cpp) computes it:
 * x * 64/ln2 split into an integer part (a power of two times a 64-entry table of 2^(i/64)) and a
 * fraction fed to a degree-5 polynomial. Every step is one IEEE double operation, so doing the
 * same steps in JavaScript gives the same bits; Math.exp differs in the last bit for some inputs,
 * which changes a Gaussian kernel's last bit.
 */
export function softExp(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return Infinity;
  if (x === -Infinity) return 0;
  const x0 = Math.abs(x) >= 2048 ? (x < 0 ? -EXP_MAX : EXP_MAX) : x * EXP_PRESCALE;
  const val0 = cvRound(x0);
  let t = (val0 >> 6) + 1023;
  t = t < 0 ? 0 : t > 2047 ? 2047 : t;
  const buf = t === 0 ? 0 : t === 2047 ? Infinity : 2 ** (t - 1023);
  const f = (x0 - roundHalfEven(x0)) / 64; // exp_postscale = 1/64 is exact, so * and / agree
  const [a0, a1, a2, a3, a4, a5] = EXP_POLY;
  const poly = ((((a0 * f + a1) * f + a2) * f + a3) * f + a4) * f + a5;
  return buf * EXPPOLY_A0 * EXP_TAB[val0 & 63] * poly;
}

/** The sigma OpenCV uses when sigma <= 0: 0.3*((n-1)*0.5 - 1) + 0.8, computed as fma(n, 0.15, 0.35). */
export function defaultGaussianSigma(n: number): number {
  return fusedMultiplyAdd(n, 0.15, 0.35);
}

/**
 * The kernel size OpenCV's GaussianBlur derives from sigma when ksize is 0:
 * cvRound(sigma * (depth == CV_8U ? 3 : 4) * 2 + 1) | 1. It depends on the image depth.
 */
export function gaussianKsizeFromSigma(sigma: number, depth: Depth): number {
  return cvRound(sigma * (depth === 'u8' ? 3 : 4) * 2 + 1) | 1;
}

/**
 * cv::getGaussianKernel(n, sigma, CV_64F): sum-normalised exp(-x^2 / (2 sigma^2)), computed in the
 * same order as OpenCV's getGaussianKernelBitExact (softdouble = IEEE double, and softExp is its
 * exp), so the values are bit-identical to OpenCV's. sigma <= 0 uses the fixed tables for
 * n <= 9 and sigma = 0.3*((n-1)*0.5 - 1) + 0.8 otherwise.
 */
export function getGaussianKernel(n: number, sigma: number): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new KernelLearnError(`Gaussian kernel size ${n} is not allowed: it must be a whole number >= 1`);
  if (sigma <= 0 && SMALL_GAUSSIAN[n]) return Float64Array.from(SMALL_GAUSSIAN[n]);
  const sigmaX = sigma > 0 ? sigma : defaultGaussianSigma(n);
  const scale2X = -0.125 / (sigmaX * sigmaX);
  const n2 = (n - 1) >> 1;
  const values = new Float64Array(n2);
  let sum = 0;
  for (let i = 0, x = 1 - n; i < n2; i++, x += 2) {
    // x runs over 2*(i - (n-1)/2), so x*x*scale2X = -(i - c)^2 / (2 sigma^2)
    const t = softExp(x * x * scale2X);
    values[i] = t;
    sum += t;
  }
  sum *= 2;
  sum += 1; // the centre tap, exp(0)
  if ((n & 1) === 0) sum += 1;
  const mul1 = 1 / sum;
  const result = new Float64Array(n);
  for (let i = 0; i < n2; i++) {
    const t = values[i] * mul1;
    result[i] = t;
    result[n - 1 - i] = t;
  }
  result[n2] = mul1;
  if ((n & 1) === 0) result[n2 + 1] = result[n2];
  return result;
}

/**
 * The fixed-point kernel OpenCV's bit-exact GaussianBlur uses for 8-bit (fractionBits 8, raw
 * values summing to 256) and 16-bit (fractionBits 16) images: getGaussianKernelFixedPoint_ED.
 * Each side tap is rounded (half to even) with the rounding error carried to the next tap
 * (error diffusion); the centre takes whatever makes the sum exactly 2^fractionBits.
 */
export function getGaussianKernelFixedPoint(n: number, sigma: number, fractionBits: number): Int32Array {
  if (n % 2 !== 1) throw new KernelLearnError(`fixed-point Gaussian kernel size ${n} is not allowed: it must be odd`);
  const k = getGaussianKernel(n, sigma);
  const mult = 2 ** fractionBits;
  const out = new Int32Array(n);
  const n2 = n >> 1;
  let err = 0;
  let sum = 0;
  for (let i = 0; i < n2; i++) {
    const adj = k[i] * mult + err;
    const v0 = roundHalfEven(adj);
    err = adj - v0;
    out[i] = v0;
    out[n - 1 - i] = v0;
    sum += v0;
  }
  out[n2] = mult - 2 * sum;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Laplacian and box

/**
 * cv::Laplacian's aperture as one 2-D kernel (without scale): ksize 1 is [0 1 0; 1 -4 1; 0 1 0],
 * ksize 3 is [2 0 2; 0 -8 0; 2 0 2], larger odd sizes are d2/dx2 + d2/dy2 from Sobel factors.
 */
export function laplacianKernel(ksize: number): Kernel2D {
  if (ksize === 1) return { kh: 3, kw: 3, data: Float64Array.from([0, 1, 0, 1, -4, 1, 0, 1, 0]) };
  if (ksize === 3) return { kh: 3, kw: 3, data: Float64Array.from([2, 0, 2, 0, -8, 0, 2, 0, 2]) };
  const { kd, ks } = laplacianFactors(ksize);
  return addKernels(outerProduct(ks, kd), outerProduct(kd, ks));
}

/** The two Sobel factors of a Laplacian with ksize >= 5: kd = d2 (order 2), ks = smoothing (order 0). */
export function laplacianFactors(ksize: number): { kd: Float64Array; ks: Float64Array } {
  const { kx, ky } = getSobelKernels(2, 0, ksize);
  return { kd: kx, ks: ky };
}

/** The normalised box kernel (cv::blur / boxFilter normalize=true): all taps 1/(kw*kh). */
export function boxKernel(kw: number, kh = kw): Kernel2D {
  return { kh, kw, data: new Float64Array(kw * kh).fill(1 / (kw * kh)) };
}

// ---------------------------------------------------------------------------------------------
// The effective kernel of a spec

/** The Gaussian actually applied for a resolved spec: size, sigma and whether the bit-exact fixed-point path runs. */
export function gaussianPlan(spec: ResolvedFilterSpec): { ksize: number; sigma: number; fixedPointBits: 0 | 8 | 16 } {
  const ksize = spec.ksize > 0 ? spec.ksize : gaussianKsizeFromSigma(spec.sigma, spec.depth);
  const fixedPointBits = spec.depth === 'u8' ? 8 : spec.depth === 'u16' ? 16 : 0;
  return { ksize, sigma: Math.max(spec.sigma, 0), fixedPointBits };
}

/**
 * The one 2-D correlation kernel a linear spec applies, with scale folded in (delta, border and
 * output depth are not part of a kernel). The learner uses this as "the true kernel".
 *   sobel/scharr: scale * ky (x) kx;  laplacian: scale * aperture;  kernel: scale * rows;
 *   box: 1/(k*k);  gaussian: ky (x) kx — for an integer working depth (u8, u16) the fixed-point
 *   kernel OpenCV really applies (raw / 2^bits), otherwise the float64 kernel.
 * Values are the mathematical ones in float64; OpenCV stores most kernels as float32 (see ops.ts).
 */
export function filterKernel(spec: FilterSpec): Kernel2D {
  const s = resolveFilterSpec(spec);
  switch (s.op) {
    case 'sobel': {
      const { kx, ky } = getSobelKernels(s.dx, s.dy, s.ksize);
      return scaleKernel(outerProduct(ky, kx), s.scale);
    }
    case 'scharr': {
      const { kx, ky } = getScharrKernels(s.dx, s.dy);
      return scaleKernel(outerProduct(ky, kx), s.scale);
    }
    case 'laplacian':
      return scaleKernel(laplacianKernel(s.ksize), s.scale);
    case 'kernel':
      return scaleKernel(kernelFromRows(s.kernel), s.scale);
    case 'box':
      return boxKernel(s.ksize);
    case 'gaussian': {
      const g = gaussianPlan(s);
      if (g.fixedPointBits) {
        const k = getGaussianKernelFixedPoint(g.ksize, g.sigma, g.fixedPointBits);
        const f = Float64Array.from(k, (v) => v / 2 ** g.fixedPointBits);
        return outerProduct(f, f);
      }
      const k = getGaussianKernel(g.ksize, g.sigma);
      return outerProduct(k, k);
    }
  }
}

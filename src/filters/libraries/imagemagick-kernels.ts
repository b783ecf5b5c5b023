/**
 * ImageMagick 6's convolution kernels, built value for value as 6.9.11 builds them
 * (magick/morphology.c AcquireKernelBuiltIn, ParseKernelArray, RotateKernelInfo,
 * ScaleKernelInfo, CalcKernelMetaData; magick/gem.c GetOptimalKernelWidth1D/2D; the -sharpen
 * kernel of magick/effect.c SharpenImageChannel). Everything is float64 in the same operation
 * order as the C code, so the kernels are the same doubles (up to exp(): V8's and glibc's may
 * differ in the last bit, which moves a Q16 result only at an exact .5 tie).
 *
 * A kernel is held as ImageMagick holds it: row-major values (NaN = "not part of the
 * neighbourhood", skipped), its origin (x, y) and the meta data ScaleKernelInfo normalises with.
 *
 * Debian's build is 6.9.11-60 plus security patches, and one of them (upstream a04a9a514,
 * GHSA-354p-2qx7-jg9g, later undone upstream by 73cf30f33) changed the width of the named
 * kernels with a radius >= 1 from 2 floor(r) + 1 to floor(2 r + 1): measured with
 * `-define morphology:showKernel=1` (Gaussian:1.5x1 is 4x4 there). An integer radius gives the
 * same width either way. An even width leaves the 2-D kernels (Gaussian, DoG, LoG, Diamond,
 * Octagon, Disk, Plus, Cross) partly uninitialised in ImageMagick (its loops fill only the
 * centred odd square), so their output is garbage we cannot reproduce: we refuse those; the
 * 1-D Blur kernel fills every tap and comes out asymmetric, which we reproduce.
 */
import { KernelLearnError } from '../../errors.js';
import { formatNumber } from './common.js';

export const MAGICK_EPSILON = 1e-12;
const QUANTUM_SCALE = 1.0 / 65535.0;
const MAGICK_PI = 3.14159265358979323846264338327950288419716939937510;
const MAGICK_2PI = 6.28318530717958647692528676655900576839433879875020;
const MAGICK_SQ2PI = 2.50662827463100024161235523934010416269302368164062;
const MAGICK_SQ2 = 1.41421356237309504880168872420969807856967187537695;

/** The named kernels we build (ImageMagick's KernelInfoType names), plus 'User' arrays. */
export type ImKernelType =
  | 'Unity' | 'Gaussian' | 'DoG' | 'LoG' | 'Blur' | 'Comet' | 'Binomial' | 'Laplacian'
  | 'Sobel' | 'Roberts' | 'Prewitt' | 'Compass' | 'Kirsch' | 'FreiChen'
  | 'Diamond' | 'Square' | 'Rectangle' | 'Octagon' | 'Disk' | 'Plus' | 'Cross' | 'User';

/** Laplacian:N variants that ImageMagick defines (other N fall back to 0). */
export const IM_LAPLACIAN_TYPES = [0, 1, 2, 3, 5, 7, 15, 19] as const;
/** FreiChen:N single-kernel variants (10 is a list of nine kernels: not supported here). */
export const IM_FREICHEN_TYPES = [0, 1, 2, 11, 12, 13, 14, 15, 16, 17, 18, 19] as const;

/** A kernel as a typed spec; `imKernelString` prints it in ImageMagick's syntax. */
export type ImKernelSpec =
  | { name: 'Unity'; scale?: number }
  | { name: 'Gaussian' | 'LoG'; radius: number; sigma: number }
  | { name: 'DoG'; radius: number; sigma1: number; sigma2: number }
  | { name: 'Blur'; radius: number; sigma: number; angle?: number }
  | { name: 'Comet'; width: number; sigma: number; angle?: number }
  | { name: 'Binomial'; radius: number }
  | { name: 'Laplacian'; type: (typeof IM_LAPLACIAN_TYPES)[number] }
  | { name: 'Sobel' | 'Roberts' | 'Prewitt' | 'Compass' | 'Kirsch'; angle?: number }
  | { name: 'FreiChen'; type: (typeof IM_FREICHEN_TYPES)[number]; angle?: number }
  | { name: 'Square' | 'Diamond' | 'Disk' | 'Plus' | 'Cross' | 'Octagon'; radius: number; scale?: number }
  | { name: 'Rectangle'; width: number; height: number; x?: number; y?: number }
  | { name: 'User'; width: number; height: number; values: readonly number[]; x?: number; y?: number };

/** ImageMagick's KernelInfo, minus what convolution does not use. */
export interface ImKernel {
  type: ImKernelType;
  width: number;
  height: number;
  x: number;
  y: number;
  values: Float64Array;
  positiveRange: number;
  negativeRange: number;
}

// ---------------------------------------------------------------------------------------------
// gem.c

/** GetOptimalKernelWidth1D: 2*ceil(radius)+1 for a radius, else grow until the edge tap < 1/65535 of the sum. */
export function getOptimalKernelWidth1D(radius: number, sigma: number): number {
  if (radius > MAGICK_EPSILON) return 2.0 * Math.ceil(radius) + 1.0;
  const gamma = Math.abs(sigma);
  if (gamma <= MAGICK_EPSILON) return 3;
  const alpha = perceptibleReciprocal(2.0 * gamma * gamma);
  const beta = perceptibleReciprocal(MAGICK_SQ2PI * gamma);
  let width = 5;
  for (;;) {
    let normalize = 0.0;
    const j = (width - 1) / 2;
    for (let i = -j; i <= j; i++) normalize += Math.exp(-(i * i) * alpha) * beta;
    const value = (Math.exp(-(j * j) * alpha) * beta) / normalize;
    if (value < QUANTUM_SCALE || value < MAGICK_EPSILON) break;
    width += 2;
  }
  return width - 2;
}

/** GetOptimalKernelWidth2D: as 1D, with the 2-D Gaussian's edge tap against its 2-D sum. */
export function getOptimalKernelWidth2D(radius: number, sigma: number): number {
  if (radius > MAGICK_EPSILON) return 2.0 * Math.ceil(radius) + 1.0;
  const gamma = Math.abs(sigma);
  if (gamma <= MAGICK_EPSILON) return 3;
  const alpha = perceptibleReciprocal(2.0 * gamma * gamma);
  const beta = perceptibleReciprocal(MAGICK_2PI * gamma * gamma);
  let width = 5;
  for (;;) {
    let normalize = 0.0;
    const j = (width - 1) / 2;
    for (let v = -j; v <= j; v++) for (let u = -j; u <= j; u++) normalize += Math.exp(-(u * u + v * v) * alpha) * beta;
    const value = (Math.exp(-(j * j) * alpha) * beta) / normalize;
    if (value < QUANTUM_SCALE || value < MAGICK_EPSILON) break;
    width += 2;
  }
  return width - 2;
}

export function perceptibleReciprocal(x: number): number {
  const sign = x < 0.0 ? -1.0 : 1.0;
  return sign * x >= MAGICK_EPSILON ? 1.0 / x : sign / MAGICK_EPSILON;
}

/** The width of a named kernel with radius `rho` >= 1 in Debian's build: CastDoubleToSizeT(rho*2.0+1.0). */
export function imNamedKernelWidth(rho: number): number {
  return Math.trunc(rho * 2.0 + 1.0);
}

/** Refuses an even width where ImageMagick would read uninitialised kernel values. */
function requireOddWidth(type: ImKernelType, rho: number, width: number): void {
  if (width % 2 === 0) {
    throw new KernelLearnError(`ImageMagick: ${type} with radius ${rho} is ${width}x${width} in Debian's 6.9.11-60 (floor(2r+1)), and ImageMagick leaves part of an even-sized ${type} kernel uninitialised, so its output is undefined: use a whole radius, or one with a fraction below 0.5`);
  }
}

// ---------------------------------------------------------------------------------------------
// Kernel meta data, scaling, rotation (morphology.c)

function blank(type: ImKernelType, width: number, height: number, x: number, y: number): ImKernel {
  return { type, width, height, x, y, values: new Float64Array(width * height), positiveRange: 0, negativeRange: 0 };
}

/** ParseKernelArray for "WxH: values" (origin at the centre unless given): ranges summed as parsed. */
function kernelArray(type: ImKernelType, width: number, height: number, values: readonly number[], x = (width - 1) >> 1, y = (height - 1) >> 1): ImKernel {
  const k = blank(type, width, height, x, y);
  values.forEach((v, i) => {
    k.values[i] = v;
    if (Number.isNaN(v)) return;
    if (v < 0) k.negativeRange += v;
    else k.positiveRange += v;
  });
  return k;
}

/** CalcKernelMetaData: zero the values below MagickEpsilon and re-sum the ranges. */
function calcKernelMetaData(k: ImKernel): void {
  k.positiveRange = k.negativeRange = 0;
  for (let i = 0; i < k.values.length; i++) {
    if (Math.abs(k.values[i]) < MAGICK_EPSILON) k.values[i] = 0.0;
    const v = k.values[i];
    if (v < 0) k.negativeRange += v;
    else k.positiveRange += v; // NaN lands here too, as in C
  }
}

/** ScaleKernelInfo's normalisation flags: '' none, '!' NormalizeValue, '^' CorrelateNormalizeValue. */
export type ImNormalizeFlag = '' | '!' | '^';

/** ScaleKernelInfo: optional normalisation, then multiply by `factor` (positive and negative parts separately for '^'). */
export function scaleKernelInfo(k: ImKernel, factor: number, flag: ImNormalizeFlag): void {
  let pos = 1.0;
  let neg: number;
  if (flag === '!') {
    const sum = k.positiveRange + k.negativeRange;
    pos = Math.abs(sum) >= MAGICK_EPSILON ? Math.abs(sum) : k.positiveRange;
  }
  if (flag === '^') {
    pos = Math.abs(k.positiveRange) >= MAGICK_EPSILON ? k.positiveRange : 1.0;
    neg = Math.abs(k.negativeRange) >= MAGICK_EPSILON ? -k.negativeRange : 1.0;
  } else {
    neg = pos;
  }
  pos = factor / pos;
  neg = factor / neg;
  for (let i = 0; i < k.values.length; i++) {
    const v = k.values[i];
    if (!Number.isNaN(v)) k.values[i] = v * (v >= 0 ? pos : neg);
  }
  k.positiveRange *= pos;
  k.negativeRange *= neg;
  if (factor < MAGICK_EPSILON) [k.positiveRange, k.negativeRange] = [k.negativeRange, k.positiveRange];
}

/** UnityAddKernelInfo: add `scale` at the origin, then recompute the meta data. */
export function unityAddKernelInfo(k: ImKernel, scale: number): void {
  k.values[k.x + k.y * k.width] += scale;
  calcKernelMetaData(k);
}

/** C's fmod for the angles used here (same sign as the dividend). */
const fmod = (a: number, b: number): number => a % b;

/** The 45-degree step: a cyclic shift of the outer ring of a 3x3 kernel. */
function rotate45(k: ImKernel): void {
  const v = k.values;
  const t = v[0];
  v[0] = v[3];
  v[3] = v[6];
  v[6] = v[7];
  v[7] = v[8];
  v[8] = v[5];
  v[5] = v[2];
  v[2] = v[1];
  v[1] = t;
  if (k.x !== 1 || k.y !== 1) {
    let x = k.x - 1;
    let y = k.y - 1;
    if (x === y) x = 0;
    else if (x === 0) x = -y;
    else if (x === -y) y = 0;
    else if (y === 0) y = x;
    k.x = x + 1;
    k.y = y + 1;
  }
}

/** The 90-degree step of a square kernel: ImageMagick's four-way swap loop, ported as written. */
function rotate90Square(k: ImKernel): void {
  const v = k.values;
  const w = k.width;
  for (let i = 0, x = w - 1; i <= x; i++, x--) {
    for (let j = 0, y = k.height - 1; j < y; j++, y--) {
      const t = v[i + j * w];
      v[i + j * w] = v[j + x * w];
      v[j + x * w] = v[x + y * w];
      v[x + y * w] = v[y + i * w];
      v[y + i * w] = t;
    }
  }
  const x = k.x * 2 - k.width + 1;
  const y = k.y * 2 - k.height + 1;
  k.x = Math.trunc((-y + k.width - 1) / 2);
  k.y = Math.trunc((+x + k.height - 1) / 2);
}

/** RotateKernelInfo: 45-degree steps for 3x3 kernels, 90 for square or 1-D ones, 180 by reversal. */
export function rotateKernelInfo(k: ImKernel, angleIn: number): void {
  let angle = fmod(angleIn, 360.0);
  if (angle < 0) angle += 360.0;
  if (337.5 < angle || angle <= 22.5) return;
  switch (k.type) {
    case 'Gaussian': case 'DoG': case 'LoG': case 'Disk': case 'Laplacian':
    case 'Square': case 'Diamond': case 'Plus': case 'Cross':
      return; // symmetric: ImageMagick does not rotate them
    case 'Blur':
      if (135.0 < angle && angle <= 225.0) return;
      if (225.0 < angle && angle <= 315.0) angle -= 180;
      break;
    default:
      break;
  }
  if (22.5 < fmod(angle, 90.0) && fmod(angle, 90.0) <= 67.5) {
    if (k.width !== 3 || k.height !== 3) throw new KernelLearnError(`ImageMagick: cannot rotate a ${k.width}x${k.height} kernel by 45 degrees (3x3 only)`);
    rotate45(k);
    angle = fmod(angle + 315.0, 360.0);
  }
  if (45.0 < fmod(angle, 180.0) && fmod(angle, 180.0) <= 135.0) {
    if (k.width === 1 || k.height === 1) {
      [k.width, k.height] = [k.height, k.width];
      [k.x, k.y] = [k.y, k.x];
      angle = k.width === 1 ? fmod(angle + 270.0, 360.0) : fmod(angle + 90.0, 360.0);
    } else if (k.width === k.height) {
      rotate90Square(k);
      angle = fmod(angle + 270.0, 360.0);
    } else {
      throw new KernelLearnError(`ImageMagick: cannot rotate a ${k.width}x${k.height} kernel by 90 degrees (square or 1-D only)`);
    }
  }
  if (135.0 < angle && angle <= 225.0) {
    k.values.reverse();
    k.x = k.width - k.x - 1;
    k.y = k.height - k.y - 1;
  }
}

// ---------------------------------------------------------------------------------------------
// The builders (AcquireKernelBuiltIn)

/** Gaussian, DoG and LoG: a sampled 2-D curve (not separable in floating point), normalised with '^'. */
function gaussianFamily(type: 'Gaussian' | 'DoG' | 'LoG', radius: number, sigmaIn: number, sigma2In: number): ImKernel {
  const sigma = Math.abs(sigmaIn);
  const sigma2 = Math.abs(sigma2In);
  const width = radius >= 1.0 ? imNamedKernelWidth(radius) : getOptimalKernelWidth2D(radius, type !== 'DoG' || sigma >= sigma2 ? sigma : sigma2);
  requireOddWidth(type, radius, width);
  const c = (width - 1) >> 1;
  const k = blank(type, width, width, c, c);
  const v = k.values;
  if (type !== 'LoG') {
    if (sigma > MAGICK_EPSILON) {
      const A = 1.0 / (2.0 * sigma * sigma);
      const B = 1.0 / (MAGICK_2PI * sigma * sigma);
      for (let i = 0, y = -c; y <= c; y++) for (let x = -c; x <= c; x++, i++) v[i] = Math.exp(-(x * x + y * y) * A) * B;
    } else {
      v[c + c * width] = 1.0;
    }
  }
  if (type === 'DoG') {
    if (sigma2 > MAGICK_EPSILON) {
      const A = 1.0 / (2.0 * sigma2 * sigma2);
      const B = 1.0 / (MAGICK_2PI * sigma2 * sigma2);
      for (let i = 0, y = -c; y <= c; y++) for (let x = -c; x <= c; x++, i++) v[i] -= Math.exp(-(x * x + y * y) * A) * B;
    } else {
      v[c + c * width] -= 1.0;
    }
  }
  if (type === 'LoG') {
    if (sigma > MAGICK_EPSILON) {
      const A = 1.0 / (2.0 * sigma * sigma);
      const B = 1.0 / (MAGICK_PI * sigma * sigma * sigma * sigma);
      for (let i = 0, y = -c; y <= c; y++) {
        for (let x = -c; x <= c; x++, i++) {
          const R = (x * x + y * y) * A;
          v[i] = (1 - R) * Math.exp(-R) * B;
        }
      }
    } else {
      v[c + c * width] = 1.0;
    }
  }
  calcKernelMetaData(k);
  scaleKernelInfo(k, 1.0, '^');
  return k;
}

/** Blur: a 1-D Gaussian sampled at three times the resolution and binned ("KernelRank 3"). */
function blurKernel(radius: number, sigmaIn: number, angle: number): ImKernel {
  let sigma = Math.abs(sigmaIn);
  const width = radius >= 1.0 ? imNamedKernelWidth(radius) : getOptimalKernelWidth1D(radius, sigma);
  const k = blank('Blur', width, 1, (width - 1) >> 1, 0);
  const half = Math.trunc((width * 3 - 1) / 2); // an even width bins asymmetrically (see the header)
  if (sigma > MAGICK_EPSILON) {
    sigma *= 3;
    const alpha = 1.0 / (2.0 * sigma * sigma);
    const beta = 1.0 / (MAGICK_SQ2PI * sigma);
    for (let u = -half; u <= half; u++) k.values[Math.trunc((u + half) / 3)] += Math.exp(-(u * u) * alpha) * beta;
  } else {
    k.values[k.x] = 1.0;
  }
  calcKernelMetaData(k);
  scaleKernelInfo(k, 1.0, '^');
  rotateKernelInfo(k, angle);
  return k;
}

/** Comet: half a Blur curve, origin at its first tap, normalised with '!'. */
function cometKernel(widthArg: number, sigmaIn: number, angle: number): ImKernel {
  let sigma = Math.abs(sigmaIn);
  const width = widthArg < 1.0 ? Math.trunc((getOptimalKernelWidth1D(widthArg, sigma) - 1) / 2) + 1 : Math.trunc(widthArg);
  const k = blank('Comet', width, 1, 0, 0);
  if (sigma > MAGICK_EPSILON) {
    const n = width * 3;
    sigma *= 3;
    const A = 1.0 / (2.0 * sigma * sigma);
    for (let u = 0; u < n; u++) k.values[Math.trunc(u / 3)] += Math.exp(-(u * u) * A);
    for (let i = 0; i < width; i++) k.positiveRange += k.values[i];
  } else {
    k.values[0] = 1.0;
    k.positiveRange = 1.0;
  }
  scaleKernelInfo(k, 1.0, '!');
  rotateKernelInfo(k, angle);
  return k;
}

/** Binomial: products of binomial coefficients in C size_t (64-bit unsigned) arithmetic; not normalised. */
function binomialKernel(radius: number): ImKernel {
  const width = radius < 1.0 ? 3 : Math.trunc(radius) * 2 + 1;
  const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
  const fact = (n: number): bigint => {
    let f = 1n;
    for (let i = 2; i <= n; i++) f = u64(f * BigInt(i));
    return f;
  };
  const orderF = fact(width - 1);
  const k = blank('Binomial', width, width, (width - 1) >> 1, (width - 1) >> 1);
  for (let i = 0, v = 0; v < width; v++) {
    const alpha = orderF / u64(fact(v) * fact(width - v - 1));
    for (let u = 0; u < width; u++, i++) {
      k.values[i] = Number(u64(alpha * orderF) / u64(fact(u) * fact(width - u - 1)));
      k.positiveRange += k.values[i];
    }
  }
  return k;
}

const LAPLACIAN: Readonly<Record<number, { n: number; v: number[] }>> = {
  0: { n: 3, v: [-1, -1, -1, -1, 8, -1, -1, -1, -1] },
  1: { n: 3, v: [0, -1, 0, -1, 4, -1, 0, -1, 0] },
  2: { n: 3, v: [-2, 1, -2, 1, 4, 1, -2, 1, -2] },
  3: { n: 3, v: [1, -2, 1, -2, 4, -2, 1, -2, 1] },
  5: { n: 5, v: [-4, -1, 0, -1, -4, -1, 2, 3, 2, -1, 0, 3, 4, 3, 0, -1, 2, 3, 2, -1, -4, -1, 0, -1, -4] },
  7: {
    n: 7,
    v: [-10, -5, -2, -1, -2, -5, -10, -5, 0, 3, 4, 3, 0, -5, -2, 3, 6, 7, 6, 3, -2, -1, 4, 7, 8, 7, 4, -1, -2, 3, 6, 7, 6, 3, -2, -5, 0, 3, 4, 3, 0, -5, -10, -5, -2, -1, -2, -5, -10],
  },
  15: { n: 5, v: [0, 0, -1, 0, 0, 0, -1, -2, -1, 0, -1, -2, 16, -2, -1, 0, -1, -2, -1, 0, 0, 0, -1, 0, 0] },
  19: {
    n: 9,
    v: [
      0, -1, -1, -2, -2, -2, -1, -1, 0, -1, -2, -4, -5, -5, -5, -4, -2, -1, -1, -4, -5, -3, -0, -3, -5, -4, -1, -2, -5, -3, 12, 24, 12, -3, -5, -2, -2, -5, -0, 24, 40, 24, -0, -5, -2, -2, -5, -3,
      12, 24, 12, -3, -5, -2, -1, -4, -5, -3, -0, -3, -5, -4, -1, -1, -2, -4, -5, -5, -5, -4, -2, -1, 0, -1, -1, -2, -2, -2, -1, -1, 0,
    ],
  },
};

const EDGE_3X3: Readonly<Record<'Sobel' | 'Roberts' | 'Prewitt' | 'Compass' | 'Kirsch', number[]>> = {
  Sobel: [1, 0, -1, 2, 0, -2, 1, 0, -1],
  Roberts: [0, 0, 0, 1, -1, 0, 0, 0, 0],
  Prewitt: [1, 0, -1, 1, 0, -1, 1, 0, -1],
  Compass: [1, 1, -1, 1, -2, -1, 1, 1, -1],
  Kirsch: [5, -3, -3, 5, 0, -3, 5, -3, -3],
};

/** FreiChen:type, exactly as morphology.c builds each (note ScaleKernelInfo by 1.0/2.0*sqrt(2), as written). */
function freiChenKernel(type: number, angle: number | undefined): ImKernel {
  const set = (base: number[], patch: Record<number, number>, scale?: number): ImKernel => {
    const k = kernelArray('FreiChen', 3, 3, base);
    const patched = Object.keys(patch).length > 0;
    for (const [i, v] of Object.entries(patch)) k.values[Number(i)] = v;
    if (patched) calcKernelMetaData(k);
    if (scale !== undefined) scaleKernelInfo(k, scale, '');
    return k;
  };
  const S = MAGICK_SQ2;
  const half = (1.0 / 2.0) * MAGICK_SQ2;
  const table: Record<number, () => ImKernel> = {
    0: () => set([1, 0, -1, 2, 0, -2, 1, 0, -1], { 3: +S, 5: -S }),
    2: () => set([1, 2, 0, 2, 0, -2, 0, -2, -1], { 1: +S, 3: +S, 5: -S, 7: -S }, half),
    1: () => set([1, 0, -1, 2, 0, -2, 1, 0, -1], { 3: +S, 5: -S }, half),
    12: () => set([1, 2, 1, 0, 0, 0, 1, 2, 1], { 1: +S, 7: +S }, half),
    13: () => set([2, -1, 0, -1, 0, 1, 0, 1, -2], { 0: +S, 8: -S }, half),
    14: () => set([0, 1, -2, -1, 0, 1, 2, -1, 0], { 2: -S, 6: +S }, half),
    15: () => set([0, -1, 0, 1, 0, 1, 0, -1, 0], {}, 1.0 / 2.0),
    16: () => set([1, 0, -1, 0, 0, 0, -1, 0, 1], {}, 1.0 / 2.0),
    17: () => set([1, -2, 1, -2, 4, -2, -1, -2, 1], {}, 1.0 / 6.0),
    18: () => set([-2, 1, -2, 1, 4, 1, -2, 1, -2], {}, 1.0 / 6.0),
    19: () => set([1, 1, 1, 1, 1, 1, 1, 1, 1], {}, 1.0 / 3.0),
  };
  table[11] = table[1];
  const k = (table[type] ?? table[0])();
  // FreiChen:type,angle rotates by the angle; a "type" beyond +-30 is taken as the angle.
  if (angle !== undefined && Math.abs(angle) >= MAGICK_EPSILON) rotateKernelInfo(k, angle);
  else if (type > 30.0 || type < -30.0) rotateKernelInfo(k, type);
  return k;
}

/** The flat shapes: `scale` inside the shape, NaN (skipped) outside. */
function shapeKernel(type: 'Square' | 'Diamond' | 'Disk' | 'Plus' | 'Cross' | 'Octagon', rho: number, scale: number): ImKernel {
  let width: number;
  let inside: (u: number, v: number, c: number) => boolean;
  let limit = Math.trunc(rho * rho);
  switch (type) {
    case 'Square':
      width = rho < 1.0 ? 3 : Math.trunc(2 * rho + 1);
      inside = () => true;
      break;
    case 'Diamond':
      width = rho < 1.0 ? 3 : imNamedKernelWidth(rho);
      inside = (u, v, c) => Math.abs(u) + Math.abs(v) <= c;
      break;
    case 'Octagon':
      width = rho < 1.0 ? 5 : imNamedKernelWidth(rho);
      inside = (u, v, c) => Math.abs(u) + Math.abs(v) <= c + (c >> 1);
      break;
    case 'Disk':
      if (rho < 0.4) [width, limit] = [9, 18];
      else width = imNamedKernelWidth(Math.abs(rho));
      inside = (u, v) => u * u + v * v <= limit;
      break;
    case 'Plus':
      width = rho < 1.0 ? 5 : imNamedKernelWidth(rho);
      inside = (u, v) => u === 0 || v === 0;
      break;
    case 'Cross':
      width = rho < 1.0 ? 5 : imNamedKernelWidth(rho);
      inside = (u, v) => u === v || u === -v;
      break;
  }
  if (type !== 'Square') requireOddWidth(type, rho, width);
  const c = (width - 1) >> 1;
  const k = blank(type, width, width, c, c);
  for (let i = 0, v = -c; v <= width - 1 - c; v++) {
    for (let u = -c; u <= width - 1 - c; u++, i++) {
      if (inside(u, v, c)) {
        k.values[i] = scale;
        if (type !== 'Square') k.positiveRange += scale;
      } else {
        k.values[i] = NaN;
      }
    }
  }
  // Square, Plus and Cross set their range by formula rather than by summing.
  if (type === 'Square') k.positiveRange = scale * width * width;
  if (type === 'Plus' || type === 'Cross') k.positiveRange = scale * (width * 2.0 - 1.0);
  return k;
}

function rectangleKernel(spec: { width: number; height: number; x?: number; y?: number }): ImKernel {
  let rho = spec.width;
  let sigma = spec.height;
  if (rho < 1.0) rho = 3;
  if (sigma < 1.0) sigma = rho;
  const xi = spec.x ?? Math.trunc((Math.trunc(rho) - 1) / 2);
  const psi = spec.y ?? Math.trunc((Math.trunc(sigma) - 1) / 2);
  const width = Math.trunc(rho);
  const height = Math.trunc(sigma);
  if (xi < 0 || xi >= width || psi < 0 || psi >= height) throw new KernelLearnError(`ImageMagick: Rectangle origin ${xi},${psi} is outside the ${width}x${height} kernel`);
  const k = blank('Rectangle', width, height, Math.trunc(xi), Math.trunc(psi));
  k.values.fill(1.0);
  k.positiveRange = width * height;
  return k;
}

function userKernel(spec: { width: number; height: number; values: readonly number[]; x?: number; y?: number }): ImKernel {
  const { width, height, values } = spec;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1)) throw new KernelLearnError(`ImageMagick: a user kernel needs whole width and height >= 1, got ${width}x${height}`);
  if (values.length !== width * height) throw new KernelLearnError(`ImageMagick: a ${width}x${height} kernel needs ${width * height} values, got ${values.length}`);
  if (!values.some((v) => !Number.isNaN(v))) throw new KernelLearnError('ImageMagick: a user kernel needs at least one value that is not nan');
  const x = spec.x ?? (width - 1) >> 1;
  const y = spec.y ?? (height - 1) >> 1;
  if (!(Number.isInteger(x) && Number.isInteger(y) && x >= 0 && x < width && y >= 0 && y < height)) throw new KernelLearnError(`ImageMagick: origin ${x},${y} is outside the ${width}x${height} kernel`);
  return kernelArray('User', width, height, values, x, y);
}

/** The kernel ImageMagick builds for a spec (AcquireKernelInfo on imKernelString(spec)). */
export function buildImKernel(spec: ImKernelSpec): ImKernel {
  switch (spec.name) {
    case 'Unity': {
      // Unity sets only the value, so its ranges stay 0 (a '!' normalisation divides by 0).
      const k = blank('Unity', 1, 1, 0, 0);
      k.values[0] = spec.scale ?? 1.0;
      return k;
    }
    case 'Gaussian':
    case 'LoG':
      return gaussianFamily(spec.name, spec.radius, spec.sigma, 0);
    case 'DoG':
      return gaussianFamily('DoG', spec.radius, spec.sigma1, spec.sigma2);
    case 'Blur':
      return blurKernel(spec.radius, spec.sigma, spec.angle ?? 0);
    case 'Comet':
      return cometKernel(spec.width, spec.sigma, spec.angle ?? 0);
    case 'Binomial':
      return binomialKernel(spec.radius);
    case 'Laplacian': {
      const t = LAPLACIAN[spec.type] ?? LAPLACIAN[0];
      return kernelArray('Laplacian', t.n, t.n, t.v);
    }
    case 'Sobel':
    case 'Roberts':
    case 'Prewitt':
    case 'Compass':
    case 'Kirsch': {
      const k = kernelArray(spec.name, 3, 3, EDGE_3X3[spec.name]);
      rotateKernelInfo(k, spec.angle ?? 0);
      return k;
    }
    case 'FreiChen':
      return freiChenKernel(spec.type, spec.angle);
    case 'Rectangle':
      return rectangleKernel(spec);
    case 'User':
      return userKernel(spec);
    default:
      return shapeKernel(spec.name, spec.radius, spec.scale ?? 1.0);
  }
}

/**
 * SharpenImageChannel's kernel: minus a 2-D Gaussian with the centre replaced by -2 * (its sum),
 * divided by the resulting sum. Width from GetOptimalKernelWidth2D(radius, sigma): a radius
 * above 0 gives 2*ceil(radius)+1 here, unlike the Gaussian kernel's 2*floor(radius)+1.
 */
export function sharpenKernel(radius: number, sigmaIn: number): ImKernel {
  const width = getOptimalKernelWidth2D(radius, sigmaIn);
  const s = Math.abs(sigmaIn) < MAGICK_EPSILON ? MAGICK_EPSILON : sigmaIn; // MagickSigma
  const c = (width - 1) >> 1;
  const k = blank('User', width, width, c, c);
  const v = k.values;
  let normalize = 0.0;
  let i = 0;
  for (let y = -c; y <= c; y++) {
    for (let x = -c; x <= c; x++) {
      v[i] = -Math.exp(-(x * x + y * y) / (2.0 * s * s)) / (2.0 * MAGICK_PI * s * s);
      normalize += v[i];
      i++;
    }
  }
  v[i >> 1] = -2.0 * normalize;
  normalize = 0.0;
  for (let j = 0; j < v.length; j++) normalize += v[j];
  const gamma = perceptibleReciprocal(normalize);
  for (let j = 0; j < v.length; j++) v[j] *= gamma;
  return k;
}

// ---------------------------------------------------------------------------------------------
// Printing

/** The kernel in ImageMagick's own syntax, e.g. `Sobel:90`, `Gaussian:0x1.5`, `3x3: 1,2,1,...`. */
export function imKernelString(spec: ImKernelSpec): string {
  const f = formatNumber;
  const signed = (a: number): string => (a >= 0 ? `+${f(a)}` : f(a));
  switch (spec.name) {
    case 'Unity':
      return spec.scale === undefined ? 'Unity' : `Unity:${f(spec.scale)}`;
    case 'Gaussian':
    case 'LoG':
      return `${spec.name}:${f(spec.radius)}x${f(spec.sigma)}`;
    case 'DoG':
      return `DoG:${f(spec.radius)},${f(spec.sigma1)},${f(spec.sigma2)}`;
    case 'Blur':
      return `Blur:${f(spec.radius)}x${f(spec.sigma)}${spec.angle ? signed(spec.angle) : ''}`;
    case 'Comet':
      return `Comet:${f(spec.width)}x${f(spec.sigma)}${spec.angle ? signed(spec.angle) : ''}`;
    case 'Binomial':
      return `Binomial:${f(spec.radius)}`;
    case 'Laplacian':
      return `Laplacian:${spec.type}`;
    case 'FreiChen':
      return spec.angle ? `FreiChen:${spec.type},${f(spec.angle)}` : `FreiChen:${spec.type}`;
    case 'Sobel':
    case 'Roberts':
    case 'Prewitt':
    case 'Compass':
    case 'Kirsch':
      return spec.angle ? `${spec.name}:${f(spec.angle)}` : spec.name;
    case 'Rectangle': {
      const origin = spec.x !== undefined || spec.y !== undefined ? `+${spec.x ?? (spec.width - 1) >> 1}+${spec.y ?? (spec.height - 1) >> 1}` : '';
      return `Rectangle:${f(spec.width)}x${f(spec.height)}${origin}`;
    }
    case 'User': {
      const origin = spec.x !== undefined || spec.y !== undefined ? `+${spec.x ?? (spec.width - 1) >> 1}+${spec.y ?? (spec.height - 1) >> 1}` : '';
      return `${spec.width}x${spec.height}${origin}: ${spec.values.map((v) => (Number.isNaN(v) ? 'nan' : f(v))).join(',')}`;
    }
    default:
      return spec.scale === undefined ? `${spec.name}:${f(spec.radius)}` : `${spec.name}:${f(spec.radius)},${f(spec.scale)}`;
  }
}

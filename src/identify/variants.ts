/**
 * Every call identify tries, per library, as variants: the discrete parameters enumerated (one
 * variant each), at most one continuous parameter to fit (a sigma or a radius), OpenCV's scale
 * and delta fitted linearly, free kernels proposed by the snapped least-squares fit, and the
 * border modes to try once the interior fits. The target's dtype admits or rules out a library
 * before anything runs: Pillow and ImageMagick give 8 bits from 8 bits, skimage float32 from
 * float32 and float64 otherwise, OpenCV and scipy any dtype they were asked for.
 */
import { type Depth } from '../image.js';
import { type ImageMagickSpec, type ImKernelSpec, type LibrarySpec, type OpenCvSpec, type PillowSpec, type ScipySpec, type SkimageSpec, PILLOW_NAMED_FILTER_NAMES } from '../filters/libraries/index.js';
import { IM_LAPLACIAN_TYPES } from '../filters/libraries/imagemagick-kernels.js';
import { type Expect } from './guide.js';
import { type Range, simplestIn } from './numbers.js';
import { gaussianRadius } from '../filters/libraries/scipy.js';

export type Library = LibrarySpec['library'];
/** The order libraries are listed in when everything else ties. */
export const LIBRARIES: readonly Library[] = ['OpenCV', 'scipy.ndimage', 'skimage.filters', 'Pillow', 'ImageMagick'];

/** A small kernel fitted to the pairs and snapped: integers over a denominator, plus the fitted bias. */
export interface FreeKernel {
  weights: number[][];
  denominator: number;
  bias: number;
}

export interface Variant {
  library: Library;
  /** The function's name as the library spells it: Sobel, gaussian_filter, GaussianBlur, -blur. */
  fn: string;
  /** 0: every parameter enumerated; 1: a fitted continuous parameter; 2: a free kernel (simplest first). */
  rank: 0 | 1 | 2;
  /** The spec for a value of the continuous parameter (no argument when there is none). */
  build: (value?: number) => LibrarySpec;
  /** The continuous parameter, fitted by a 1-D search over its range. */
  continuous?: { name: string; range: Range };
  /** What the learned kernel must look like for this call to be worth a try (guide.ts); default 'any'. */
  expect?: Expect;
  /** The kernel's width when the variant fixes it (an explicit ksize): a learned kernel much wider rules it out. */
  width?: number;
  /**
   * The kernel's symmetry left-right and up-down, +1 even or -1 odd (a derivative of odd order along
   * an axis is odd along it): a learned kernel clearly of the other symmetry rules the call out.
   */
  parity?: readonly [number, number];
  /** The output is never negative for a non-negative input (blurs, gradient magnitudes): negative targets rule it out. */
  nonNegative?: boolean;
  /** OpenCV's scale and delta, fitted by linear least squares on the response at scale 1, delta 0. */
  affine?: boolean;
  /** The field that holds the border mode and the values to try, the library's default first. */
  border?: { key: 'border' | 'mode'; values: readonly string[] };
  /** Narrower variants to fit when the fitted call is not exact (scipy's truncate): fields replacing this variant's. */
  refine?: (spec: LibrarySpec) => Partial<Variant>[];
}

const SIGMA: Range = { min: 0.3, max: 10, log: true };
/** The symmetry of a derivative of orders (dx, dy). */
const orders = (dx: number, dy: number): readonly [number, number] => [dx % 2 ? -1 : 1, dy % 2 ? -1 : 1];
const derivative = (dx: number, dy: number) => ({ expect: 'derivative', parity: orders(dx, dy) }) as const;
const BLUR = { expect: 'lowpass', nonNegative: true } as const;
const ND_MODES = ['reflect', 'mirror', 'nearest', 'wrap', 'constant'] as const;

/** Every variant the libraries admit for inputs of depth `inDepth` and targets of depth `outDepth`. */
export function variantsFor(inDepth: Depth, outDepth: Depth, free: FreeKernel[]): Variant[] {
  const eightBit = inDepth === 'u8' && outDepth === 'u8';
  return [
    ...opencvVariants(inDepth, outDepth, free),
    ...scipyVariants(inDepth, outDepth, free),
    ...(outDepth === (inDepth === 'f32' ? 'f32' : 'f64') ? skimageVariants(inDepth) : []),
    ...(eightBit ? pillowVariants(free) : []),
    ...(eightBit ? imageMagickVariants() : []),
  ];
}

/** How many non-default arguments a call spells out: a tie between equivalent calls goes to the plainer one. */
export function explicitness(call: string): number {
  return (call.match(/=|astype/g) ?? []).length;
}

/** The kernel's weights as numbers (w / d), as a person would type them. */
function freeRows(k: FreeKernel): number[][] {
  return k.weights.map((r) => r.map((v) => v / k.denominator));
}

// ---------------------------------------------------------------------------------------------
// OpenCV

function opencvVariants(inDepth: Depth, outDepth: Depth, free: FreeKernel[]): Variant[] {
  // replicate before reflect: for 3x3 kernels the two agree everywhere, and replicate is what people type.
  const border = { key: 'border', values: ['reflect101', 'replicate', 'reflect', 'constant'] } as const;
  const v = (fn: string, rank: 0 | 1 | 2, build: (value?: number) => Omit<OpenCvSpec, 'library' | 'depth'>, extra: Partial<Variant> = {}): Variant => ({
    library: 'OpenCV',
    fn,
    rank,
    build: (value) => ({ library: 'OpenCV', ...build(value), depth: outDepth }),
    border,
    ...extra,
  });
  const out: Variant[] = [];
  // Default apertures first: where two apertures give one kernel (Sobel dx=dy=1: ksize 1 and 3), the default is named.
  for (const ksize of [3, 1, 5, 7]) {
    for (const [dx, dy] of [[1, 0], [0, 1], [2, 0], [0, 2], [1, 1]]) out.push(v('Sobel', 0, () => ({ op: 'sobel', dx, dy, ksize }), { ...derivative(dx, dy), affine: true }));
  }
  for (const ksize of [1, 3, 5, 7]) out.push(v('Laplacian', 0, () => ({ op: 'laplacian', ksize }), { ...derivative(2, 2), affine: true }));
  for (const [dx, dy] of [[1, 0], [0, 1]]) out.push(v('Scharr', 0, () => ({ op: 'scharr', dx, dy }), { ...derivative(dx, dy), affine: true }));
  // GaussianBlur has no ddepth: the output keeps the input's depth, or the depth it was widened to.
  const widened = outDepth === inDepth || (outDepth !== 'u8' && (inDepth === 'u8' || (inDepth !== 'f64' && outDepth === 'f64') || (inDepth !== 'f32' && outDepth === 'f32')));
  if (widened) {
    const sigma = { continuous: { name: 'sigma', range: SIGMA }, ...BLUR } as const;
    out.push(v('GaussianBlur', 1, (s) => ({ op: 'gaussian', ksize: 0, sigma: s }), sigma));
    for (let ksize = 3; ksize <= 15; ksize += 2) {
      out.push(v('GaussianBlur', 0, () => ({ op: 'gaussian', ksize, sigma: 0 }), { ...BLUR, width: ksize }));
      out.push(v('GaussianBlur', 1, (s) => ({ op: 'gaussian', ksize, sigma: s }), { ...sigma, width: ksize }));
    }
  }
  for (const ksize of [2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15]) out.push(v(outDepth === inDepth ? 'blur' : 'boxFilter', 0, () => ({ op: 'box', ksize }), { ...BLUR, width: ksize }));
  for (const k of free) out.push(v('filter2D', 2, () => ({ op: 'kernel', kernel: freeRows(k) }), { affine: true }));
  return out;
}

// ---------------------------------------------------------------------------------------------
// scipy.ndimage

function scipyVariants(inDepth: Depth, outDepth: Depth, free: FreeKernel[]): Variant[] {
  const output = outDepth === inDepth ? {} : { output: outDepth };
  const border = { key: 'mode', values: ND_MODES } as const;
  const v = (rank: 0 | 1 | 2, build: (value?: number) => Omit<ScipySpec, 'library' | 'output'>, extra: Partial<Variant> = {}): Variant => {
    const spec = (value?: number) => ({ library: 'scipy.ndimage', ...build(value), ...output }) as ScipySpec;
    return { library: 'scipy.ndimage', fn: spec(1).fn, rank, build: spec, border, ...extra };
  };
  const out: Variant[] = [];
  // axis 0 is y: the derivative of order 1 along y.
  for (const axis of [0, 1]) {
    const along = axis === 0 ? derivative(0, 1) : derivative(1, 0);
    out.push(v(0, () => ({ fn: 'sobel', axis }), along), v(0, () => ({ fn: 'prewitt', axis }), along));
  }
  out.push(v(0, () => ({ fn: 'laplace' }), derivative(2, 2)));
  out.push(v(1, (s) => ({ fn: 'gaussian_filter', sigma: s as number }), { continuous: { name: 'sigma', range: SIGMA }, ...BLUR, refine: truncations }));
  for (const size of [2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15]) out.push(v(0, () => ({ fn: 'uniform_filter', size }), { ...BLUR, width: size }));
  // correlate has no offset; an integer output truncates, which moves a fitted bias by up to -1: let the re-filtering judge.
  for (const k of free) out.push(v(2, () => ({ fn: 'correlate', weights: freeRows(k) })));
  return out;
}

/**
 * A Gaussian cut at other radii than truncate 4 gives (scipy and skimage: radius int(truncate *
 * sigma + 0.5)): one variant per radius from about sigma to two past the default, sigma refitted
 * near the first fit (the cut renormalises the kernel), printed with the simplest truncate that
 * gives that radius.
 */
function truncations(spec: LibrarySpec): Partial<Variant>[] {
  const fitted = spec as Extract<LibrarySpec, { fn: 'gaussian_filter' | 'gaussian' }>;
  const sigma = fitted.sigma as number;
  const usual = gaussianRadius(sigma, 4);
  const out: Partial<Variant>[] = [];
  for (let r = Math.max(1, Math.round(sigma)); r <= usual + 2; r++) {
    if (r === usual) continue;
    out.push({
      build: (s) => ({ ...fitted, sigma: s as number, truncate: truncateFor(r, s as number) }) as LibrarySpec,
      continuous: { name: 'sigma', range: { min: sigma / 1.3, max: sigma * 1.3, log: true } },
      expect: 'any',
    });
  }
  return out;
}

/** The simplest truncate t with int(t * sigma + 0.5) == r. */
export function truncateFor(r: number, sigma: number): number {
  const t = simplestIn((r - 0.5) / sigma, (r + 0.5) / sigma);
  return gaussianRadius(sigma, t) === r ? t : (r + 0.25) / sigma;
}

// ---------------------------------------------------------------------------------------------
// skimage.filters

function skimageVariants(inDepth: Depth): Variant[] {
  const v = (fn: SkimageSpec['fn'], rank: 0 | 1, extra: Partial<Variant> = {}, params: Partial<SkimageSpec> = {}): Variant => ({
    library: 'skimage.filters',
    fn,
    rank,
    build: () => ({ library: 'skimage.filters', fn, ...params }) as SkimageSpec,
    ...extra,
  });
  const modes = { key: 'mode', values: ND_MODES } as const;
  const out: Variant[] = [];
  // The gradient magnitudes are not linear: no learned kernel says anything about them.
  for (const fn of ['sobel', 'scharr', 'prewitt'] as const) out.push(v(fn, 0, { border: modes, nonNegative: true }));
  out.push(v('farid', 0, { nonNegative: true }));
  // _h: the derivative along y (horizontal edges); _v along x.
  for (const fn of ['sobel_h', 'sobel_v', 'scharr_h', 'scharr_v', 'prewitt_h', 'prewitt_v', 'farid_h', 'farid_v'] as const) out.push(v(fn, 0, fn.endsWith('_h') ? derivative(0, 1) : derivative(1, 0)));
  // gaussian's default mode is 'nearest' (not scipy's 'reflect'); preserve_range matters only for integer input.
  for (const preserve of inDepth === 'f32' || inDepth === 'f64' ? [false] : [false, true]) {
    out.push({
      library: 'skimage.filters',
      fn: 'gaussian',
      rank: 1,
      build: (s) => ({ library: 'skimage.filters', fn: 'gaussian', sigma: s, ...(preserve ? { preserve_range: true } : {}) }),
      continuous: { name: 'sigma', range: SIGMA },
      ...BLUR,
      border: { key: 'mode', values: ['nearest', 'reflect', 'mirror', 'wrap', 'constant'] },
      refine: truncations,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pillow

function pillowVariants(free: FreeKernel[]): Variant[] {
  const v = (fn: string, rank: 0 | 1 | 2, build: (value?: number) => PillowSpec, extra: Partial<Variant> = {}): Variant => ({ library: 'Pillow', fn, rank, build, ...extra });
  const out: Variant[] = PILLOW_NAMED_FILTER_NAMES.map((fn) => v(fn, 0, () => ({ library: 'Pillow', fn })));
  out.push(v('GaussianBlur', 1, (r) => ({ library: 'Pillow', fn: 'GaussianBlur', radius: r as number }), { continuous: { name: 'radius', range: SIGMA }, expect: 'lowpass' }));
  out.push(v('BoxBlur', 1, (r) => ({ library: 'Pillow', fn: 'BoxBlur', radius: r as number }), { continuous: { name: 'radius', range: { min: 0.2, max: 10, log: true } }, expect: 'lowpass' }));
  out.push(v('UnsharpMask', 0, () => ({ library: 'Pillow', fn: 'UnsharpMask', radius: 2, percent: 150, threshold: 3 })));
  for (const k of free) {
    const n = k.weights.length;
    if (n !== 3 && n !== 5) continue;
    // Pillow applies its kernel upside down (pillow.ts): the fitted correlation kernel flipped is what to type.
    const kernel = k.weights.slice().reverse().flat();
    const sum = kernel.reduce((a, b) => a + b, 0);
    const scale = sum === k.denominator ? {} : { scale: k.denominator };
    out.push(v('Kernel', 2, () => ({ library: 'Pillow', fn: 'Kernel', size: n, kernel, ...scale, ...(k.bias !== 0 ? { offset: k.bias } : {}) })));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ImageMagick

function imageMagickVariants(): Variant[] {
  const v = (fn: string, rank: 0 | 1, build: (value?: number) => ImageMagickSpec, extra: Partial<Variant> = {}): Variant => ({ library: 'ImageMagick', fn, rank, build, ...extra });
  const sigma = (expect: Expect) => ({ continuous: { name: 'sigma', range: SIGMA }, expect });
  const out: Variant[] = [
    v('-blur', 1, (s) => ({ library: 'ImageMagick', op: '-blur', radius: 0, sigma: s as number }), sigma('lowpass')),
    v('-gaussian-blur', 1, (s) => ({ library: 'ImageMagick', op: '-gaussian-blur', radius: 0, sigma: s as number }), sigma('lowpass')),
    v('-sharpen', 1, (s) => ({ library: 'ImageMagick', op: '-sharpen', radius: 0, sigma: s as number }), sigma('even')),
    v('-unsharp', 0, () => ({ library: 'ImageMagick', op: '-unsharp', radius: 0, sigma: 1, gain: 1, threshold: 0.05 })),
  ];
  const kernels: ImKernelSpec[] = [];
  for (const name of ['Sobel', 'Prewitt', 'Roberts', 'Compass', 'Kirsch'] as const) {
    for (let angle = 0; angle < 360; angle += 45) kernels.push(angle === 0 ? { name } : { name, angle });
  }
  for (const type of IM_LAPLACIAN_TYPES) kernels.push({ name: 'Laplacian', type });
  for (const kernel of kernels) {
    for (const bias of [undefined, 50]) {
      const spec: ImageMagickSpec = { library: 'ImageMagick', op: '-morphology', method: 'Convolve', kernel, ...(bias !== undefined ? { bias } : {}) };
      out.push(v('-morphology Convolve', 0, () => spec, { expect: 'derivative' }));
    }
  }
  return out;
}

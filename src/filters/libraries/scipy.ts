/**
 * scipy.ndimage's linear filters (Debian python3-scipy 1.10.1, numpy 1.24.2, x86-64 with
 * AVX512), reproduced to the bit: the Python wrappers of scipy/ndimage/_filters.py over the C core
 * in ndimage-core.ts. See docs/other-libraries.md for the semantics and what was measured.
 *
 * The rules that decide the bits:
 *  - output dtype: the input's unless `output` is given; every 1-D pass of a separable filter
 *    (gaussian_filter, uniform_filter, sobel, prewitt) stores its result in that dtype and the next
 *    pass reads it back, so an integer output is truncated (toward zero) and wrapped (mod 2^bits)
 *    after every pass, and a float32 output is rounded to float32 after every pass.
 *  - arithmetic: float64 throughout a pass, summed in the C code's order (ndimage-core.ts).
 *  - Gaussian kernels: _gaussian_kernel1d's numpy arithmetic, including numpy's SIMD exp and the
 *    way OpenBLAS evaluates the derivative polynomial (gaussianKernel1d below).
 */
import { KernelLearnError } from '../../errors.js';
import { isDepth, type Depth, type Image } from '../../image.js';
import { fusedMultiplyAdd } from '../kernels.js';
import {
  correlate1dCore,
  correlateNdCore,
  isNdMode,
  ndAsType,
  ndFromImage,
  ndToImage,
  normalizeAxis,
  normalizeSequence,
  uniformFilter1dCore,
  type NdArray,
  type NdMode,
  type NdWeights,
} from './ndimage-core.js';
import { numpyAdd, pairwiseSum, svmlExp } from './numpy.js';
import { OUTPUT_VALUES, pyCall, pyDtype, type PyValue } from './python.js';
import type { SearchSpace } from './common.js';

/** Weights for correlate/convolve: nested arrays with one level per image axis (2 for grey, 3 for colour). */
export type NestedWeights = number[][] | number[][][];

interface ScipyCommon {
  library: 'scipy.ndimage';
  /** numpy's `output=` dtype; default the input image's depth. */
  output?: Depth;
  /** The value outside the image for mode 'constant'. Default 0. */
  cval?: number;
}

/** One scipy.ndimage call. Parameter names, defaults and meanings are scipy's. */
export type ScipySpec =
  | (ScipyCommon & { fn: 'correlate1d' | 'convolve1d'; weights: number[]; axis?: number; mode?: NdMode; origin?: number })
  | (ScipyCommon & { fn: 'correlate' | 'convolve'; weights: NestedWeights; mode?: NdMode; origin?: number | number[] })
  | (ScipyCommon & { fn: 'sobel' | 'prewitt'; axis?: number; mode?: NdMode | NdMode[] })
  | (ScipyCommon & { fn: 'laplace'; mode?: NdMode | NdMode[] })
  | (ScipyCommon & {
      fn: 'gaussian_filter';
      sigma: number | number[];
      order?: number | number[];
      mode?: NdMode | NdMode[];
      truncate?: number;
      radius?: number | number[];
    })
  | (ScipyCommon & { fn: 'gaussian_filter1d'; sigma: number; axis?: number; order?: number; mode?: NdMode; truncate?: number; radius?: number })
  | (ScipyCommon & { fn: 'uniform_filter'; size?: number | number[]; mode?: NdMode | NdMode[]; origin?: number | number[] })
  | (ScipyCommon & { fn: 'uniform_filter1d'; size: number; axis?: number; mode?: NdMode; origin?: number });

export type ScipyFn = ScipySpec['fn'];
export const SCIPY_FNS: readonly ScipyFn[] = [
  'correlate1d',
  'convolve1d',
  'correlate',
  'convolve',
  'sobel',
  'prewitt',
  'laplace',
  'gaussian_filter',
  'gaussian_filter1d',
  'uniform_filter',
  'uniform_filter1d',
];

/** The longest 1-D kernel we build (scipy has no limit; this stops a typo from running for hours). */
const MAX_TAPS = 1023;

function fail(what: string, message: string): never {
  throw new KernelLearnError(`${what}: ${message}`);
}

function checkFinite(what: string, name: string, v: unknown): void {
  const values = Array.isArray(v) ? v : [v];
  for (const x of values) if (typeof x !== 'number' || !Number.isFinite(x)) fail(what, `${name}=${String(x)} must be a finite number`);
}

function checkInt(what: string, name: string, v: number, min = -Infinity): void {
  if (!Number.isInteger(v) || v < min) fail(what, `${name}=${v} must be a whole number${min > -Infinity ? ` >= ${min}` : ''}`);
}

/** A single mode (the 1-D functions and correlate/convolve take no sequence). */
function singleMode(what: string, mode: NdMode | readonly NdMode[] | undefined): NdMode {
  if (Array.isArray(mode)) fail(what, 'a sequence of modes is not supported here (only a single mode)');
  return modes(what, mode, 1)[0];
}

function modes(what: string, mode: NdMode | readonly NdMode[] | undefined, ndim: number): NdMode[] {
  const list = normalizeSequence<NdMode>(mode ?? 'reflect', ndim, 'mode', what);
  for (const m of list) if (!isNdMode(m)) fail(what, `mode '${String(m)}' is not known; use reflect, mirror, nearest, wrap or constant (or grid-mirror, grid-wrap, grid-constant)`);
  return list;
}

/** scipy's _invalid_origin for a kernel of length n: -(n // 2) <= origin <= (n - 1) // 2. */
function checkKernelOrigin(what: string, origin: number, n: number): void {
  checkInt(what, 'origin', origin);
  if (origin < -(n >> 1) || origin > (n - 1) >> 1) fail(what, `invalid origin ${origin}: it must satisfy -(len(weights) // 2) <= origin <= (len(weights)-1) // 2 (${-(n >> 1)}..${(n - 1) >> 1} here)`);
}

// ---------------------------------------------------------------------------------------------
// Gaussian kernels (scipy.ndimage._filters._gaussian_kernel1d)

/**
 * x . q for one row [1, x, x^2, ...] as OpenBLAS's dgemv_t evaluates numpy's int-matrix.dot(q) on
 * this machine (measured against scipy for radius 1..40): with 4 columns (order 3) each product is
 * rounded and the products are added in order; with fewer (orders 1 and 2) the columns go through
 * a scalar loop of fused multiply-adds. Orders 0 and 1 come out the same either way.
 */
function polyRow(x: number, q: Float64Array): number {
  let s = 0;
  let xk = 1;
  for (let k = 0; k < q.length; k++) {
    s = q.length === 4 ? s + xk * q[k] : fusedMultiplyAdd(xk, q[k], s);
    xk *= x;
  }
  return s;
}

/**
 * _gaussian_kernel1d(sigma, order, radius) as numpy computes it: phi = exp(-0.5/sigma^2 * x^2)
 * (numpy's SIMD exp), divided by its pairwise sum; for order > 0 multiplied by the polynomial q(x)
 * obtained by applying (d/dx - x/sigma^2) `order` times to 1. Not reversed (gaussian_filter1d
 * reverses it, because it correlates). Bit-identical to scipy for orders 0..3.
 */
export function gaussianKernel1d(sigma: number, order: number, radius: number): Float64Array {
  const n = 2 * radius + 1;
  const sigma2 = sigma * sigma;
  const c = -0.5 / sigma2;
  const phi = new Float64Array(n);
  for (let i = 0; i < n; i++) phi[i] = svmlExp(c * (i - radius) ** 2);
  const sum = pairwiseSum(phi);
  for (let i = 0; i < n; i++) phi[i] /= sum;
  if (order === 0) return phi;
  // q'(x) + q(x) p'(x) as a matrix on the coefficients of q: superdiagonal 1..order, subdiagonal 1/-sigma2.
  let q = new Float64Array(order + 1);
  q[0] = 1;
  const down = 1 / -sigma2;
  for (let step = 0; step < order; step++) {
    const next = new Float64Array(order + 1);
    for (let i = 0; i <= order; i++) {
      // Row i has 1/-sigma2 at column i-1 and (i+1) at column i+1. Order 3 (4 columns): OpenBLAS rounds
      // each product and adds them in column order; orders 1 and 2 have one non-zero term per row.
      const left = i > 0 ? down * q[i - 1] : 0;
      const right = i < order ? (i + 1) * q[i + 1] : 0;
      next[i] = left + right;
    }
    q = next;
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = polyRow(i - radius, q) * phi[i];
  return out;
}

/** gaussian_filter1d's radius: int(truncate * sigma + 0.5) unless radius is given. */
export function gaussianRadius(sigma: number, truncate: number, radius?: number): number {
  return radius ?? Math.trunc(truncate * sigma + 0.5);
}

// ---------------------------------------------------------------------------------------------
// The functions (scipy/ndimage/_filters.py)

function gaussian1d(what: string, a: NdArray, sigma: number, axis: number, order: number, mode: NdMode, cval: number, truncate: number, radius: number | undefined, out: Depth): NdArray {
  checkFinite(what, 'sigma', sigma);
  if (!(sigma > 0)) fail(what, `sigma=${sigma} is not reproduced by gaussian_filter1d (use sigma > 0)`);
  checkInt(what, 'order', order, 0);
  if (order > 3) fail(what, `order=${order} is not reproduced (orders 0..3 are)`);
  const lw = gaussianRadius(sigma, truncate, radius);
  if (!Number.isInteger(lw) || lw < 0) fail(what, `radius ${lw} (int(truncate * sigma + 0.5)) must be a nonnegative integer`);
  if (2 * lw + 1 > MAX_TAPS) fail(what, `a kernel of ${2 * lw + 1} taps is too long (at most ${MAX_TAPS})`);
  const weights = gaussianKernel1d(sigma, order, lw).reverse();
  return correlate1dCore(a, weights, axis, mode, cval, 0, out);
}

function correlate1dCall(what: string, a: NdArray, weights: number[], axis: number, mode: NdMode, cval: number, origin: number, convolve: boolean, out: Depth): NdArray {
  checkFinite(what, 'weights', weights);
  if (weights.length < 1) fail(what, 'no filter weights given');
  let w = weights;
  let o = origin;
  if (convolve) {
    // convolve1d: reverse the weights and mirror the origin (one more for even lengths).
    w = weights.slice().reverse();
    o = -origin - (weights.length % 2 === 0 ? 1 : 0);
  }
  checkKernelOrigin(what, o, w.length);
  return correlate1dCore(a, Float64Array.from(w), normalizeAxis(axis, a.shape.length, what), mode, cval, o, out);
}

/** Nested arrays to C-order weights, checked rectangular with one level per image axis. */
function weightsOf(what: string, nested: NestedWeights, ndim: number): NdWeights {
  const shape: number[] = [];
  let level: unknown = nested;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  if (shape.length !== ndim || shape.some((s) => s < 1)) {
    fail(what, `filter weights array has incorrect shape: ${shape.length}-D weights for a ${ndim}-D image (${ndim === 2 ? 'one channel: 2-D weights' : 'H x W x C: 3-D weights'})`);
  }
  const data = (nested as unknown[]).flat(ndim - 1) as unknown[];
  const size = shape.reduce((p, s) => p * s, 1);
  if (data.length !== size || data.some((v) => Array.isArray(v))) fail(what, 'weights must be a rectangular nested array');
  checkFinite(what, 'weights', data);
  return { shape, data: Float64Array.from(data as number[]) };
}

function correlateCall(what: string, a: NdArray, nested: NestedWeights, mode: NdMode, cval: number, origin: number | number[], convolve: boolean, out: Depth): NdArray {
  const ndim = a.shape.length;
  let w = weightsOf(what, nested, ndim);
  const origins = normalizeSequence(origin, ndim, 'origin', what);
  if (convolve) {
    // convolve: flip every axis and mirror the origins (one more for even sizes).
    w = { shape: w.shape, data: w.data.slice().reverse() };
    for (let i = 0; i < ndim; i++) origins[i] = -origins[i] - (w.shape[i] % 2 === 0 ? 1 : 0);
  }
  origins.forEach((o, i) => checkKernelOrigin(what, o, w.shape[i]));
  return correlateNdCore(a, w, mode, cval, origins, out);
}

/** sobel/prewitt: the derivative [-1, 0, 1] along `axis`, then the smoothing along every other axis, in place. */
function derivative(a: NdArray, smooth: number[], axis: number, ms: NdMode[], cval: number, out: Depth): NdArray {
  let r = correlate1dCore(a, [-1, 0, 1], axis, ms[axis], cval, 0, out);
  for (let i = 0; i < a.shape.length; i++) if (i !== axis) r = correlate1dCore(r, smooth, i, ms[i], cval, 0, out);
  return r;
}

/** laplace: [1, -2, 1] along axis 0 into the output, then each other axis into a temporary added with numpy's `+=`. */
function laplace(a: NdArray, ms: NdMode[], cval: number, out: Depth): NdArray {
  const r = correlate1dCore(a, [1, -2, 1], 0, ms[0], cval, 0, out);
  for (let i = 1; i < a.shape.length; i++) {
    const t = correlate1dCore(a, [1, -2, 1], i, ms[i], cval, 0, out);
    for (let j = 0; j < r.data.length; j++) r.data[j] = numpyAdd(r.data[j], t.data[j], out);
  }
  return r;
}

function gaussianFilter(what: string, a: NdArray, s: Extract<ScipySpec, { fn: 'gaussian_filter' }>, cval: number, out: Depth): NdArray {
  const ndim = a.shape.length;
  const sigmas = normalizeSequence(s.sigma, ndim, 'sigma', what);
  const orders = normalizeSequence(s.order ?? 0, ndim, 'order', what);
  const radii = normalizeSequence<number | undefined>(s.radius, ndim, 'radius', what);
  const ms = modes(what, s.mode, ndim);
  checkFinite(what, 'sigma', sigmas);
  const truncate = s.truncate ?? 4;
  checkFinite(what, 'truncate', truncate);
  let r = a;
  let any = false;
  for (let i = 0; i < ndim; i++) {
    // Axes with sigma <= 1e-15 are skipped entirely (their order and radius are ignored).
    if (!(sigmas[i] > 1e-15)) continue;
    if (radii[i] !== undefined) checkInt(what, 'radius', radii[i] as number, 0);
    r = gaussian1d(what, r, sigmas[i], i, orders[i], ms[i], cval, truncate, radii[i], out);
    any = true;
  }
  return any ? r : ndAsType(a, out);
}

function uniformFilter(what: string, a: NdArray, size: number | number[], origin: number | number[], mode: NdMode | NdMode[] | undefined, cval: number, out: Depth): NdArray {
  const ndim = a.shape.length;
  const sizes = normalizeSequence(size, ndim, 'size', what);
  const origins = normalizeSequence(origin, ndim, 'origin', what);
  const ms = modes(what, mode, ndim);
  let r = a;
  let any = false;
  for (let i = 0; i < ndim; i++) {
    checkFinite(what, 'size', sizes[i]);
    if (!(sizes[i] > 1)) continue; // sizes <= 1 are skipped, as in scipy
    r = uniform1d(what, r, sizes[i], i, ms[i], cval, origins[i], out);
    any = true;
  }
  return any ? r : ndAsType(a, out);
}

function uniform1d(what: string, a: NdArray, size: number, axis: number, mode: NdMode, cval: number, origin: number, out: Depth): NdArray {
  const n = Math.trunc(size); // uniform_filter passes int(size)
  checkInt(what, 'size', n, 1);
  if (n > MAX_TAPS) fail(what, `size=${n} is too large (at most ${MAX_TAPS})`);
  checkInt(what, 'origin', origin);
  if ((n >> 1) + origin < 0 || (n >> 1) + origin >= n) fail(what, `invalid origin ${origin} for size ${n}: size // 2 + origin must be in 0..size-1`);
  return uniformFilter1dCore(a, n, axis, mode, cval, origin, out);
}

/**
 * Applies a scipy.ndimage call to an image: (H, W) for one channel, (H, W, C) otherwise (see
 * ndimage-core.ts). The result has the library's output dtype as its depth (the input's unless
 * spec.output is given), with values exactly as scipy stores them.
 */
export function applyScipy(image: Image, spec: ScipySpec): Image {
  if (spec.library !== 'scipy.ndimage' || !(SCIPY_FNS as readonly string[]).includes(spec.fn)) {
    fail(`${String(spec.library)}.${String(spec.fn)}`, `not a scipy.ndimage call we reproduce (${SCIPY_FNS.join(', ')})`);
  }
  const what = scipyCallString(spec);
  if (spec.output !== undefined && !isDepth(spec.output)) fail(what, `output ${String(spec.output)} is not one of u8, s16, u16, f32, f64`);
  const a = ndFromImage(image);
  const out = spec.output ?? image.depth;
  const cval = spec.cval ?? 0;
  checkFinite(what, 'cval', cval);
  const ndim = a.shape.length;
  const axis = (v: number | undefined) => normalizeAxis(v ?? -1, ndim, what);
  switch (spec.fn) {
    case 'correlate1d':
    case 'convolve1d':
      return ndToImage(correlate1dCall(what, a, spec.weights, spec.axis ?? -1, singleMode(what, spec.mode), cval, spec.origin ?? 0, spec.fn === 'convolve1d', out));
    case 'correlate':
    case 'convolve':
      return ndToImage(correlateCall(what, a, spec.weights, singleMode(what, spec.mode), cval, spec.origin ?? 0, spec.fn === 'convolve', out));
    case 'sobel':
      return ndToImage(derivative(a, [1, 2, 1], axis(spec.axis), modes(what, spec.mode, ndim), cval, out));
    case 'prewitt':
      return ndToImage(derivative(a, [1, 1, 1], axis(spec.axis), modes(what, spec.mode, ndim), cval, out));
    case 'laplace':
      return ndToImage(laplace(a, modes(what, spec.mode, ndim), cval, out));
    case 'gaussian_filter':
      return ndToImage(gaussianFilter(what, a, spec, cval, out));
    case 'gaussian_filter1d': {
      const truncate = spec.truncate ?? 4;
      checkFinite(what, 'truncate', truncate);
      if (spec.radius !== undefined) checkInt(what, 'radius', spec.radius, 0);
      return ndToImage(gaussian1d(what, a, spec.sigma, axis(spec.axis), spec.order ?? 0, singleMode(what, spec.mode), cval, truncate, spec.radius, out));
    }
    case 'uniform_filter':
      return ndToImage(uniformFilter(what, a, spec.size ?? 3, spec.origin ?? 0, spec.mode, cval, out));
    case 'uniform_filter1d':
      return ndToImage(uniform1d(what, a, spec.size, axis(spec.axis), singleMode(what, spec.mode), cval, spec.origin ?? 0, out));
  }
}

/** Leaves out a value equal to scipy's default, so printed calls show only what was chosen. */
function unlessDefault<T extends PyValue>(v: T | undefined, dflt: PyValue): T | undefined {
  return v === undefined || JSON.stringify(v) === JSON.stringify(dflt) ? undefined : v;
}

/**
 * The call in scipy's syntax, e.g. `scipy.ndimage.gaussian_filter(x, sigma=1.5, mode='nearest')`.
 * Required arguments always appear, optional ones only when they differ from scipy's defaults, in
 * the order of scipy's signature, all as keywords.
 */
export function scipyCallString(spec: ScipySpec): string {
  const name = `scipy.ndimage.${spec.fn}`;
  const tail = (mode: PyValue | undefined) =>
    [
      ['output', pyDtype(spec.output)],
      ['mode', unlessDefault(mode, 'reflect')],
      ['cval', unlessDefault(spec.cval, 0)],
    ] as const;
  switch (spec.fn) {
    case 'correlate1d':
    case 'convolve1d':
      return pyCall(name, [['weights', spec.weights], ['axis', unlessDefault(spec.axis, -1)], ...tail(spec.mode), ['origin', unlessDefault(spec.origin, 0)]]);
    case 'correlate':
    case 'convolve':
      return pyCall(name, [['weights', spec.weights], ...tail(spec.mode), ['origin', unlessDefault(spec.origin, 0)]]);
    case 'sobel':
    case 'prewitt':
      return pyCall(name, [['axis', unlessDefault(spec.axis, -1)], ...tail(spec.mode)]);
    case 'laplace':
      return pyCall(name, tail(spec.mode));
    case 'gaussian_filter':
      return pyCall(name, [['sigma', spec.sigma], ['order', unlessDefault(spec.order, 0)], ...tail(spec.mode), ['truncate', unlessDefault(spec.truncate, 4)], ['radius', spec.radius]]);
    case 'gaussian_filter1d':
      return pyCall(name, [['sigma', spec.sigma], ['axis', unlessDefault(spec.axis, -1)], ['order', unlessDefault(spec.order, 0)], ...tail(spec.mode), ['truncate', unlessDefault(spec.truncate, 4)], ['radius', spec.radius]]);
    case 'uniform_filter':
      return pyCall(name, [['size', unlessDefault(spec.size, 3)], ...tail(spec.mode), ['origin', unlessDefault(spec.origin, 0)]]);
    case 'uniform_filter1d':
      return pyCall(name, [['size', spec.size], ['axis', unlessDefault(spec.axis, -1)], ...tail(spec.mode), ['origin', unlessDefault(spec.origin, 0)]]);
  }
}

// ---------------------------------------------------------------------------------------------
// The parameter space a search walks

const MODE_PARAM = {
  kind: 'discrete',
  values: ['reflect', 'mirror', 'nearest', 'wrap', 'constant'],
  default: 'reflect',
  note: "grid-mirror, grid-wrap and grid-constant give the same results as reflect, wrap and constant in these filters; sequences (one mode per axis) are allowed where scipy allows them (not for correlate/convolve)",
} as const;
const OUTPUT_PARAM = {
  kind: 'discrete',
  values: OUTPUT_VALUES,
  default: null,
  note: 'null: the input dtype (uint8 in, uint8 out: truncated and wrapped, not rounded or clipped)',
} as const;
const CVAL_PARAM = { kind: 'continuous', min: -1e6, max: 1e6, scale: 'linear', default: 0, note: "only with mode 'constant'; the border value, in the input's units" } as const;
const AXIS_PARAM = { kind: 'discrete', values: [0, 1, -1], default: -1, note: 'axes of (H, W) or (H, W, C): 0 = y, 1 = x, -1 = the last axis (x for grey, the channel axis for colour; 2 is also valid for colour)' } as const;
const SIGMA_PARAM = { kind: 'continuous', min: 0.3, max: 10, scale: 'log', note: 'one value, or one per axis (0 skips an axis: (s, s, 0) blurs each channel of a colour image on its own)' } as const;
const TRUNCATE_PARAM = {
  kind: 'continuous',
  min: 1,
  max: 8,
  scale: 'linear',
  default: 4,
  note: 'acts only through radius = int(truncate * sigma + 0.5): search the radius (an integer) and report the default truncate when it gives the same radius',
} as const;
const ORIGIN_NOTE = 'integers with -(n // 2) <= origin <= (n - 1) // 2 for a kernel of n taps (one per axis allowed): shifts the kernel by -origin';

/** What a search should enumerate (discrete) and fit (continuous, kernel) for one scipy.ndimage function. */
export function scipySearchSpace(fn: ScipyFn): SearchSpace {
  const base = { mode: MODE_PARAM, output: OUTPUT_PARAM, cval: CVAL_PARAM };
  const space = (params: SearchSpace['params'], note?: string): SearchSpace => ({ library: 'scipy.ndimage', fn, params: { ...params, ...base }, ...(note ? { note } : {}) });
  switch (fn) {
    case 'correlate1d':
    case 'convolve1d':
      return space(
        { weights: { kind: 'kernel', note: '1-D weights of any length >= 1, fitted by least squares' }, axis: AXIS_PARAM, origin: { kind: 'discrete', values: [0, -1, 1], default: 0, note: ORIGIN_NOTE } },
        'convolve1d(w, origin=o) == correlate1d(w[::-1], origin=-o (-1 more for even lengths)): search one of the two',
      );
    case 'correlate':
    case 'convolve':
      return space(
        { weights: { kind: 'kernel', note: 'weights with one dimension per image axis (2-D for grey, 3-D for colour), fitted by least squares; |w| <= 2.2e-16 counts as 0' }, origin: { kind: 'discrete', values: [0, -1, 1], default: 0, note: ORIGIN_NOTE } },
        'convolve(w, origin=o) == correlate(flipped w, origin=-o (-1 more for even sizes)): search one of the two',
      );
    case 'sobel':
    case 'prewitt':
      return space({ axis: AXIS_PARAM }, 'the derivative [-1, 0, 1] along axis, then [1, 2, 1] (prewitt [1, 1, 1]) along every other axis; unnormalised');
    case 'laplace':
      return space({}, '[1, -2, 1] along every axis, summed');
    case 'gaussian_filter':
      return space({
        sigma: SIGMA_PARAM,
        order: { kind: 'discrete', values: [0, 1, 2, 3], default: 0, note: 'per axis: derivative-of-Gaussian order (orders above 3 are not reproduced)' },
        truncate: TRUNCATE_PARAM,
        radius: { kind: 'discrete', values: [null, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20], default: null, note: 'overrides truncate; null: int(truncate * sigma + 0.5)' },
      });
    case 'gaussian_filter1d':
      return space({
        sigma: { ...SIGMA_PARAM, note: 'one value (> 0)' },
        axis: AXIS_PARAM,
        order: { kind: 'discrete', values: [0, 1, 2, 3], default: 0 },
        truncate: TRUNCATE_PARAM,
        radius: { kind: 'discrete', values: [null, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20], default: null },
      });
    case 'uniform_filter':
      return space({
        size: { kind: 'discrete', values: [2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15], default: 3, note: 'one value or one per axis; sizes <= 1 skip an axis' },
        origin: { kind: 'discrete', values: [0, -1, 1], default: 0, note: 'size // 2 + origin must be in 0..size-1; even sizes put the extra tap before the centre at origin 0' },
      });
    case 'uniform_filter1d':
      return space({
        size: { kind: 'discrete', values: [2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15] },
        axis: AXIS_PARAM,
        origin: { kind: 'discrete', values: [0, -1, 1], default: 0 },
      });
  }
}

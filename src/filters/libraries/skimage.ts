/**
 * skimage.filters' linear filters (Debian python3-skimage 0.19.3 over scipy 1.10.1), reproduced to
 * the bit: the edge filters of skimage/filters/edges.py and gaussian of skimage/_shared/filters.py,
 * over the scipy.ndimage core in ndimage-core.ts. See docs/other-libraries.md.
 *
 * The rules that decide the bits:
 *  - input: float32 and float64 images are used as they are; integer images go through
 *    img_as_float (x * (1/255) for uint8, x * (1/65535) for uint16, max(x * (1/32767), -1) for
 *    int16, all in float64), except that gaussian(preserve_range=True) only casts them to float64.
 *  - output: float32 for a float32 input, float64 otherwise; every step is numpy arithmetic in
 *    that dtype (squares, sums, sqrt and the division by sqrt(ndim) of the magnitudes).
 *  - the edge filters are scipy.ndimage.convolve with the full N-D kernel (mode 'reflect', cval
 *    always 0: 0.19 accepts a cval but does not pass it on); gaussian is scipy's gaussian_filter
 *    with mode 'nearest' and sigma 0 along a channel axis.
 */
import { KernelLearnError } from '../../errors.js';
import { type Image } from '../../image.js';
import { correlateNdCore, isNdMode, ndFromImage, ndLike, ndToImage, normalizeSequence, type NdArray, type NdMode, type NdWeights } from './ndimage-core.js';
import { cCast } from './numpy.js';
import { pyCall, type PyValue } from './python.js';
import type { SearchSpace } from './common.js';
import { applyScipy } from './scipy.js';

export type SkimageEdgeFn = 'sobel' | 'scharr' | 'prewitt';
export type SkimageDirectionalFn = 'sobel_h' | 'sobel_v' | 'scharr_h' | 'scharr_v' | 'prewitt_h' | 'prewitt_v' | 'farid' | 'farid_h' | 'farid_v';

/** One skimage.filters call. Parameter names, defaults and meanings are skimage 0.19's. */
export type SkimageSpec =
  | { library: 'skimage.filters'; fn: SkimageEdgeFn; axis?: number | number[]; mode?: NdMode }
  | { library: 'skimage.filters'; fn: SkimageDirectionalFn }
  | {
      library: 'skimage.filters';
      fn: 'gaussian';
      sigma?: number | number[];
      mode?: NdMode | NdMode[];
      cval?: number;
      preserve_range?: boolean;
      truncate?: number;
      channel_axis?: number | null;
    };

export type SkimageFn = SkimageSpec['fn'];
export const SKIMAGE_FNS: readonly SkimageFn[] = [
  'sobel', 'sobel_h', 'sobel_v', 'scharr', 'scharr_h', 'scharr_v', 'prewitt', 'prewitt_h', 'prewitt_v', 'farid', 'farid_h', 'farid_v', 'gaussian',
];

/** The smoothing factor of each edge filter (edges.py); the edge factor is [1, 0, -1] for all. */
const SMOOTH: Readonly<Record<SkimageEdgeFn, readonly number[]>> = {
  sobel: [1 / 4, 2 / 4, 1 / 4],
  scharr: [3 / 16, 10 / 16, 3 / 16],
  prewitt: [1 / 3, 1 / 3, 1 / 3], // np.full(3, 1/3)
};
const EDGE = [1, 0, -1];

/** Farid's 5-tap pair as skimage spells them (Farid & Simoncelli 2004). */
const FARID_P = [0.0376593171958126, 0.249153396177344, 0.426374573253687, 0.249153396177344, 0.0376593171958126];
const FARID_D1 = [0.109603762960254, 0.276690988455557, 0, -0.276690988455557, -0.109603762960254];

function fail(what: string, message: string): never {
  throw new KernelLearnError(`${what}: ${message}`);
}

/** The float image skimage filters: floats as they are, integers through img_as_float (or astype(float) with preserve_range). */
function asFloat(a: NdArray, preserveRange = false): NdArray {
  if (a.dtype === 'f32' || a.dtype === 'f64') return a;
  const out = ndLike(a, 'f64');
  // img_as_float multiplies by the double 1/imax (not a division), then clamps int16 at -1.
  const scale = preserveRange ? 1 : 1 / { u8: 255, u16: 65535, s16: 32767 }[a.dtype];
  for (let i = 0; i < a.data.length; i++) {
    const v = a.data[i] * scale;
    out.data[i] = a.dtype === 's16' && !preserveRange ? Math.max(v, -1) : v;
  }
  return out;
}

/** scipy.ndimage.convolve(image, kernel, mode): correlation with the kernel flipped along every axis (odd sizes: origin 0). */
function convolve(a: NdArray, kernel: NdWeights, mode: NdMode): NdArray {
  return correlateNdCore(a, { shape: kernel.shape, data: kernel.data.slice().reverse() }, mode, 0, kernel.shape.map(() => 0), a.dtype);
}

/**
 * The kernel _generic_edge_filter builds for one edge axis: the edge factor along `edgeDim` times
 * the smoothing factor along every axis of range(ndim) other than `edgeDim`, multiplied in that
 * order. Like skimage, a negative edgeDim places the edge factor from the end (numpy reshape) but
 * is not removed from the smoothing axes, so axis=-1 also smooths along the last axis.
 */
function edgeKernel(ndim: number, edgeDim: number, smooth: readonly number[]): NdWeights {
  const shape = new Array<number>(ndim).fill(3);
  const size = 3 ** ndim;
  const data = new Float64Array(size);
  const edgeAxis = edgeDim < 0 ? edgeDim + ndim : edgeDim;
  for (let t = 0; t < size; t++) {
    const idx = Array.from({ length: ndim }, (_, a) => Math.floor(t / 3 ** (ndim - 1 - a)) % 3);
    let v = EDGE[idx[edgeAxis]];
    for (let a = 0; a < ndim; a++) if (a !== edgeDim) v *= smooth[idx[a]];
    data[t] = v;
  }
  return { shape, data };
}

/** _generic_edge_filter: one axis gives the convolution; several give sqrt(sum of squares) / sqrt(ndim), in the image's float dtype. */
function edgeFilter(what: string, a0: NdArray, smooth: readonly number[], axis: number | number[] | undefined, mode: NdMode): NdArray {
  const a = asFloat(a0);
  const ndim = a.shape.length;
  const axes = axis === undefined ? a.shape.map((_, i) => i) : Array.isArray(axis) ? axis : [axis];
  for (const ax of axes) if (!Number.isInteger(ax) || ax < -ndim || ax >= ndim) fail(what, `axis ${ax} is out of bounds for an array of dimension ${ndim}`);
  const magnitude = axes.length > 1;
  const t = a.dtype;
  const out = ndLike(a, t);
  for (const ax of axes) {
    const r = convolve(a, edgeKernel(ndim, ax, smooth), mode);
    for (let i = 0; i < r.data.length; i++) {
      const v = magnitude ? cCast(r.data[i] * r.data[i], t) : r.data[i];
      out.data[i] = cCast(out.data[i] + v, t);
    }
  }
  if (magnitude) {
    const root = cCast(Math.sqrt(ndim), t); // np.sqrt(ndim) is a float64 scalar, cast to a float32 array's dtype
    for (let i = 0; i < out.data.length; i++) out.data[i] = cCast(cCast(Math.sqrt(out.data[i]), t) / root, t);
  }
  return out;
}

function farid(a0: NdArray, which: 'h' | 'v' | 'magnitude'): NdArray {
  const a = asFloat(a0);
  const h: NdWeights = { shape: [5, 5], data: new Float64Array(25) };
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) h.data[i * 5 + j] = FARID_D1[i] * FARID_P[j];
  const v: NdWeights = { shape: [5, 5], data: new Float64Array(25) };
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) v.data[i * 5 + j] = h.data[j * 5 + i];
  if (which === 'h') return convolve(a, h, 'reflect');
  if (which === 'v') return convolve(a, v, 'reflect');
  // farid: np.sqrt(farid_h**2 + farid_v**2); out /= np.sqrt(2), in the image's float dtype.
  const t = a.dtype;
  const gh = convolve(a, h, 'reflect');
  const gv = convolve(a, v, 'reflect');
  const root = cCast(Math.SQRT2, t);
  const out = ndLike(a, t);
  for (let i = 0; i < out.data.length; i++) {
    const s = cCast(cCast(gh.data[i] * gh.data[i], t) + cCast(gv.data[i] * gv.data[i], t), t);
    out.data[i] = cCast(cCast(Math.sqrt(s), t) / root, t);
  }
  return out;
}

/** skimage.filters.gaussian: sigma 0 on the channel axis (auto for H x W x 3), float input, then scipy's gaussian_filter. */
function gaussian(what: string, a: NdArray, s: Extract<SkimageSpec, { fn: 'gaussian' }>): Image {
  const ndim = a.shape.length;
  let sigma: number | number[] = s.sigma ?? 1;
  let channelAxis = s.channel_axis ?? null;
  if (ndim === 3 && a.shape[2] === 3 && channelAxis === null) channelAxis = -1; // skimage warns and does this
  const sigmas = Array.isArray(sigma) ? sigma : [sigma];
  if (sigmas.some((v) => typeof v !== 'number' || !Number.isFinite(v))) fail(what, 'sigma values must be finite numbers');
  if (sigmas.some((v) => v < 0)) fail(what, 'Sigma values less than zero are not valid');
  if (channelAxis !== null) {
    if (!Number.isInteger(channelAxis) || channelAxis < -ndim || channelAxis >= ndim) fail(what, `channel_axis ${channelAxis} is out of bounds for an array of dimension ${ndim}`);
    if (!Array.isArray(sigma)) sigma = new Array<number>(ndim - 1).fill(sigma);
    if (sigma.length === ndim - 1) {
      sigma = sigma.slice();
      sigma.splice(((channelAxis % ndim) + ndim) % ndim, 0, 0);
    }
  }
  if (s.mode !== undefined) for (const m of normalizeSequence(s.mode, ndim, 'mode', what)) if (!isNdMode(m)) fail(what, `mode '${String(m)}' is not known`);
  const floatImage = ndToImage(asFloat(a, s.preserve_range ?? false));
  return applyScipy(floatImage, {
    library: 'scipy.ndimage',
    fn: 'gaussian_filter',
    sigma,
    mode: s.mode ?? 'nearest',
    cval: s.cval ?? 0,
    truncate: s.truncate ?? 4,
  });
}

/**
 * Applies a skimage.filters call to an image ((H, W) for one channel, (H, W, C) otherwise, as in
 * ndimage-core.ts). The result is float32 for a float32 image and float64 otherwise. Directional
 * filters and farid need a one-channel image (skimage's check_nD(image, 2)).
 */
export function applySkimage(image: Image, spec: SkimageSpec): Image {
  if (spec.library !== 'skimage.filters' || !(SKIMAGE_FNS as readonly string[]).includes(spec.fn)) {
    fail(`${String(spec.library)}.${String(spec.fn)}`, `not a skimage.filters call we reproduce (${SKIMAGE_FNS.join(', ')})`);
  }
  const what = skimageCallString(spec);
  const a = ndFromImage(image);
  if (spec.fn === 'gaussian') return gaussian(what, a, spec);
  if (spec.fn === 'sobel' || spec.fn === 'scharr' || spec.fn === 'prewitt') {
    const mode = spec.mode ?? 'reflect';
    if (!isNdMode(mode)) fail(what, `mode '${String(mode)}' is not known; use reflect, mirror, nearest, wrap or constant`);
    return ndToImage(edgeFilter(what, a, SMOOTH[spec.fn], spec.axis, mode));
  }
  if (a.shape.length !== 2) fail(what, `${spec.fn} needs a 2-D (one-channel) image; this one has ${image.channels} channels (skimage's check_nD)`);
  const [base, dir] = spec.fn.split('_') as [string, string | undefined];
  if (base === 'farid') return ndToImage(farid(a, dir === 'h' ? 'h' : dir === 'v' ? 'v' : 'magnitude'));
  return ndToImage(edgeFilter(what, a, SMOOTH[base as SkimageEdgeFn], dir === 'h' ? 0 : 1, 'reflect'));
}

function unlessDefault<T extends PyValue>(v: T | undefined, dflt: PyValue): T | undefined {
  return v === undefined || JSON.stringify(v) === JSON.stringify(dflt) ? undefined : v;
}

/** The call in skimage's syntax, e.g. `skimage.filters.sobel_h(x)`; defaults left out, keywords in signature order. */
export function skimageCallString(spec: SkimageSpec): string {
  const name = `skimage.filters.${spec.fn}`;
  switch (spec.fn) {
    case 'sobel':
    case 'scharr':
    case 'prewitt':
      return pyCall(name, [['axis', spec.axis], ['mode', unlessDefault(spec.mode, 'reflect')]]);
    case 'gaussian':
      return pyCall(name, [
        ['sigma', unlessDefault(spec.sigma, 1)],
        ['mode', unlessDefault(spec.mode, 'nearest')],
        ['cval', unlessDefault(spec.cval, 0)],
        ['preserve_range', unlessDefault(spec.preserve_range, false)],
        ['truncate', unlessDefault(spec.truncate, 4)],
        ['channel_axis', unlessDefault(spec.channel_axis, null)],
      ]);
    default:
      return pyCall(name, []);
  }
}

/** What a search should enumerate (discrete) and fit (continuous) for one skimage.filters function. */
export function skimageSearchSpace(fn: SkimageFn): SearchSpace {
  const modes = ['reflect', 'mirror', 'nearest', 'wrap', 'constant'] as const;
  const output = 'output: float32 for float32 input, float64 otherwise (integer input scaled by img_as_float: uint8 / 255)';
  switch (fn) {
    case 'sobel':
    case 'scharr':
    case 'prewitt':
      return {
        library: 'skimage.filters',
        fn,
        params: {
          axis: { kind: 'discrete', values: [null, 0, 1, [0, 1]], default: null, note: 'null: every axis (a colour image is a 3-D volume here); several axes give sqrt(sum of squares) / sqrt(ndim)' },
          mode: { kind: 'discrete', values: modes, default: 'reflect' },
        },
        note: `${output}; kernels normalised (sobel smoothing [1, 2, 1] / 4, scharr [3, 10, 3] / 16, prewitt 1/3 each); cval has no effect in 0.19`,
      };
    case 'gaussian':
      return {
        library: 'skimage.filters',
        fn,
        params: {
          sigma: { kind: 'continuous', min: 0.3, max: 10, scale: 'log', default: 1, note: 'one value, or one per spatial axis' },
          mode: { kind: 'discrete', values: modes, default: 'nearest' },
          cval: { kind: 'continuous', min: -1e6, max: 1e6, scale: 'linear', default: 0, note: "only with mode 'constant', in the float image's units (uint8 / 255 unless preserve_range)" },
          preserve_range: { kind: 'discrete', values: [false, true], default: false, note: 'true keeps integer values as they are (astype(float)); false scales them (uint8 / 255); no effect on float input' },
          truncate: { kind: 'continuous', min: 1, max: 8, scale: 'linear', default: 4, note: 'acts only through radius = int(truncate * sigma + 0.5)' },
          channel_axis: { kind: 'discrete', values: [null, -1], default: null, note: 'null on an H x W x 3 image means -1 (skimage warns); -1 blurs each channel on its own' },
        },
        note: output,
      };
    default:
      return { library: 'skimage.filters', fn, params: {}, note: `${output}; one-channel images only; _h is the derivative along y (axis 0), _v along x` };
  }
}

/**
 * identify MODEL.json: with no images to re-filter, compare the model's kernel with each call's
 * linear kernel instead, fitting the continuous parameters (sigma, radius; OpenCV's scale) to the
 * kernel. A call's kernel: OpenCV's from filterKernel (the kernel OpenCV applies, fixed-point for
 * 8-bit Gaussians), Pillow's and ImageMagick's linear forms, and for scipy and skimage the
 * response to an impulse (a 1 in the middle of zeros, of the model's input dtype, so skimage's
 * 1/255 for 8-bit inputs is part of it). Nonlinear calls (skimage's gradient magnitudes) have none.
 */
import { KernelLearnError } from '../errors.js';
import { createImage, isDepth, type Depth } from '../image.js';
import { filterKernel, kernelRows, type Kernel2D } from '../filters/kernels.js';
import { applyLibraryCall, filterSpecOf, libraryCallString, libraryLinearForm, type LibrarySpec } from '../filters/libraries/index.js';
import type { Conv2dSpec, Network } from '../nn/network.js';
import { snapKernel } from './guide.js';
import { minimize1d, simpleNumbersNear, type Range } from './numbers.js';
import { explicitness, LIBRARIES, variantsFor, type FreeKernel, type Library, type Variant } from './variants.js';

export interface KernelMatch {
  library: Library;
  function: string;
  params: Record<string, unknown>;
  call: string;
  /** The largest |model tap - call tap| (both centred, zero outside their support). */
  maxTapError: number;
  /** |model bias - the call's offset| (Pillow's rounding adds nothing, ImageMagick's truncation -0.5). */
  biasError: number;
}

export interface KernelIdentifyResult {
  /** The closest call when its largest tap error is within 1% of the model's largest tap, else null. */
  best: KernelMatch | null;
  candidates: KernelMatch[];
  kernel: number[][];
  bias: number;
}

/** A call's linear kernel and offset, or null when it has none (nonlinear, or refused). */
export function callKernel(spec: LibrarySpec, inDepth: Depth, radius: number): { kernel: Kernel2D; offset: number } | null {
  try {
    switch (spec.library) {
      case 'OpenCV':
        return { kernel: filterKernel(filterSpecOf(spec)), offset: spec.delta ?? 0 };
      case 'Pillow':
      case 'ImageMagick': {
        const form = libraryLinearForm(spec);
        return { kernel: form.kernel, offset: form.offset - (form.quantize === 'floor' ? 0.5 : 0) };
      }
      default:
        return impulseKernel(spec, inDepth, radius);
    }
  } catch (err) {
    if (err instanceof KernelLearnError) return null;
    throw err;
  }
}

/** scipy and skimage: the response to a unit impulse, turned by 180 degrees (a correlation kernel). */
function impulseKernel(spec: LibrarySpec, inDepth: Depth, radius: number): { kernel: Kernel2D; offset: number } | null {
  if (spec.library === 'skimage.filters' && ['sobel', 'scharr', 'prewitt', 'farid'].includes(spec.fn)) return null;
  const n = 2 * radius + 1;
  const impulse = createImage(n, n, 1, inDepth);
  impulse.data[radius * n + radius] = 1;
  // A zero border, and (scipy) a float output that no integer dtype truncates.
  const zero = spec.library === 'scipy.ndimage' ? { mode: 'constant', output: 'f64' } : spec.library === 'skimage.filters' && ['sobel', 'scharr', 'prewitt', 'gaussian'].includes(spec.fn) ? { mode: 'constant' } : {};
  const out = applyLibraryCall(impulse, { ...spec, ...zero } as LibrarySpec);
  return { kernel: { kh: n, kw: n, data: Float64Array.from(out.data).reverse() }, offset: 0 };
}

/** Tap (i, j) of k in a centred h x w frame. */
function tap(k: Kernel2D, h: number, w: number, i: number, j: number): number {
  const y = i - ((h - k.kh) >> 1);
  const x = j - ((w - k.kw) >> 1);
  return y >= 0 && y < k.kh && x >= 0 && x < k.kw ? k.data[y * k.kw + x] : 0;
}

/** Sum of squares and largest |a - scale * b| over the common centred frame. */
export function kernelError(a: Kernel2D, b: Kernel2D, scale = 1): { sse: number; max: number } {
  const h = Math.max(a.kh, b.kh);
  const w = Math.max(a.kw, b.kw);
  let sse = 0, max = 0;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const e = Math.abs(tap(a, h, w, i, j) - scale * tap(b, h, w, i, j));
      sse += e * e;
      max = Math.max(max, e);
    }
  }
  return { sse, max };
}

/**
 * A bracket for a continuous parameter from the learned kernel alone (no image is filtered): the
 * value whose kernel comes closest to the learned one inside the learned kernel's frame (8-bit
 * targets hide a blur's faint tails from the learner, so taps outside it are not compared), give
 * or take `slack`. Null when the call has no linear kernel.
 */
export function guidedRange(v: Variant, learned: Kernel2D, inDepth: Depth, range: Range, slack = 1.08): Range | null {
  const radius = Math.max(learned.kh, learned.kw) + 2;
  const sse = (p: number): number => {
    const c = callKernel(v.build(p), inDepth, radius);
    if (!c) return Infinity;
    let e = 0;
    for (let i = 0; i < learned.kh; i++) for (let j = 0; j < learned.kw; j++) e += (learned.data[i * learned.kw + j] - tap(c.kernel, learned.kh, learned.kw, i, j)) ** 2;
    return e;
  };
  const { x, value } = minimize1d(sse, range, 8, 1e-4);
  return Number.isFinite(value) ? { min: Math.max(range.min, x / slack), max: Math.min(range.max, x * slack), log: true } : null;
}

interface KernelFit {
  spec: LibrarySpec;
  sse: number;
  max: number;
  offset: number;
}

/** A variant's spec fitted to the model's kernel: the continuous parameter, or OpenCV's scale. */
function fitToKernel(v: Variant, k: Kernel2D, bias: number, inDepth: Depth, radius: number): KernelFit | null {
  const at = (spec: LibrarySpec): KernelFit | null => {
    const c = callKernel(spec, inDepth, radius);
    return c ? { spec, ...kernelError(k, c.kernel), offset: c.offset } : null;
  };
  const asGood = (a: KernelFit | null, bar: KernelFit): a is KernelFit => a !== null && a.max <= Math.max(bar.max * 1.05, 1e-6);
  if (v.continuous) {
    const { x } = minimize1d((p) => at(v.build(p))?.sse ?? Infinity, v.continuous.range, 12, 1e-6);
    const raw = at(v.build(x));
    return raw && (simpleNumbersNear(x).map((p) => at(v.build(p))).find((f): f is KernelFit => asGood(f, raw)) ?? raw);
  }
  const raw = at(v.build());
  if (!raw || !v.affine) return raw;
  const unit = callKernel(raw.spec, inDepth, radius)!.kernel;
  let uu = 0, ku = 0;
  for (let i = 0; i < unit.data.length; i++) uu += unit.data[i] ** 2;
  const h = Math.max(k.kh, unit.kh);
  const w = Math.max(k.kw, unit.kw);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) ku += tap(k, h, w, i, j) * tap(unit, h, w, i, j);
  if (!(uu > 0)) return raw;
  const scaled = (scale: number): KernelFit => ({ spec: { ...raw.spec, scale, delta: simpleNumbersNear(bias, 0, 0.5)[0] } as LibrarySpec, ...kernelError(k, unit, scale), offset: bias });
  const best = scaled(ku / uu);
  return simpleNumbersNear(ku / uu).map(scaled).find((f) => asGood(f, best)) ?? best;
}

/** The model's one convolution as a kernel and bias (channel 0 to 0; a shared-channel model has one). */
function modelKernel(model: Network): { kernel: Kernel2D; bias: number } {
  const convs = model.layers.filter((l): l is Conv2dSpec => l.type === 'conv2d');
  if (convs.length !== 1 || model.layers[0] !== convs[0]) {
    throw new KernelLearnError(`identify: the model has ${convs.length} convolution layers${convs.length === 1 ? ' after other layers' : ''}; identify compares one kernel with library calls: give a linear model (kernel-learn train --arch linear)`);
  }
  const conv = convs[0];
  const [kh, kw] = conv.kernelSize;
  return { kernel: { kh, kw, data: Float64Array.from(conv.weights[0][0].flat()) }, bias: conv.bias ? conv.bias[0] : 0 };
}

/**
 * The calls whose linear kernels come closest to a model's kernel, closest first. `depths` are the
 * dtypes the model was trained on (the model file's training record), which decide the libraries
 * as for pairs; unknown depths admit every library.
 */
export function identifyKernel(model: Network, depths: { input?: string; target?: string } = {}, count = 8): KernelIdentifyResult {
  const { kernel, bias } = modelKernel(model);
  const inDepth: Depth = depths.input && isDepth(depths.input) ? depths.input : 'u8';
  const outDepths: Depth[] = depths.target && isDepth(depths.target) ? [depths.target] : ['u8', 'f64'];
  const snapped = snapKernel(kernel);
  const free: FreeKernel[] = snapped ? [{ ...snapped, bias: simpleNumbersNear(bias, 0, 0.5)[0] }] : [];
  const radius = Math.max(kernel.kh, kernel.kw) + 2;
  const matches: (KernelMatch & { rank: number })[] = [];
  for (const v of outDepths.flatMap((d) => variantsFor(inDepth, d, free))) {
    const f = fitToKernel(v, kernel, bias, inDepth, radius);
    if (!f) continue;
    const { library: _library, ...params } = f.spec as unknown as Record<string, unknown>;
    const call = libraryCallString(f.spec, inDepth);
    if (matches.some((m) => m.call === call)) continue;
    matches.push({ library: v.library, function: v.fn, params, call, maxTapError: f.max, biasError: Math.abs(bias - f.offset), rank: v.rank });
  }
  // Errors equal to two digits tie (float noise in a sum must not pick between equal kernels): the plainer call first.
  const rounded = (v: number): number => Number(v.toPrecision(2));
  matches.sort((a, b) => rounded(a.maxTapError) - rounded(b.maxTapError) || a.rank - b.rank || explicitness(a.call) - explicitness(b.call) || LIBRARIES.indexOf(a.library) - LIBRARIES.indexOf(b.library));
  const candidates = matches.slice(0, count).map(({ rank: _rank, ...m }) => m);
  let largest = 0;
  for (const v of kernel.data) largest = Math.max(largest, Math.abs(v));
  const best = candidates.length > 0 && candidates[0].maxTapError <= 0.01 * largest ? candidates[0] : null;
  return { best, candidates, kernel: kernelRows(kernel), bias };
}

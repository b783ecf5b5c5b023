/**
 * Pillow's ImageFilter calls, reproduced to the bit (Pillow 9.4, Debian python3-pil, x86-64):
 * the named kernels (BLUR ... SMOOTH_MORE), Kernel(size 3 or 5), BoxBlur, GaussianBlur and
 * UnsharpMask on mode 'L' images, and on 'RGB' images channel by channel (Pillow runs the same
 * arithmetic on each band). Checked against the real library by test/pillow-imagemagick.test.ts
 * (fixtures from tools/make_pillow_imagemagick_golden.py); docs/pillow-imagemagick.md has the story.
 *
 * Kernel filters (libImaging/Filter.c, ImagingFilter3x3/5x5):
 *  - weights are float32, each divided by float32(scale) in float32 (_imaging.c _filter);
 *  - the sum is float32, accumulated in Pillow's order: offset + 0.5 first, then the row BELOW
 *    the pixel with kernel[0..size), ..., the row ABOVE last; inside a row left to right. So the
 *    kernel is applied upside down: the effective correlation kernel is the given one flipped
 *    vertically (measured; the built-in kernels but EMBOSS are symmetric, so only it shows this);
 *  - the result is clipped to 0..255 and truncated, i.e. floor(sum + 0.5): round half up;
 *  - the outer 1 (3x3) or 2 (5x5) rows and columns are copied from the input unfiltered, and an
 *    image narrower or lower than the kernel comes back unchanged.
 * BoxBlur / GaussianBlur (libImaging/BoxBlur.c): separable running box sums in 32-bit integers,
 * weights in 24-bit fixed point (a fractional radius weights the two far taps by the fraction),
 * edges replicated, each 1-D pass rounded half up to 8 bits before the next; all horizontal
 * passes run first, then all vertical ones. GaussianBlur(r) is three such box passes per axis
 * with a box radius from r in float32 (Gwosdek et al. 2011, "extended box filters").
 * UnsharpMask (libImaging/UnsharpMask.c): in + (in - blur) * percent / 100 in C integers
 * (division truncates toward zero) where |in - blur| > threshold, else in; blur = GaussianBlur.
 */
import { KernelLearnError } from '../../errors.js';
import { type Image } from '../../image.js';
import { type Kernel2D } from '../kernels.js';
import { type SearchSpace, type LinearForm, checkRange, formatNumber, u8Image, u8Planes } from './common.js';

const fround = Math.fround;

/** The named filters of PIL.ImageFilter. */
export type PillowNamedFilter =
  | 'BLUR'
  | 'CONTOUR'
  | 'DETAIL'
  | 'EDGE_ENHANCE'
  | 'EDGE_ENHANCE_MORE'
  | 'EMBOSS'
  | 'FIND_EDGES'
  | 'SHARPEN'
  | 'SMOOTH'
  | 'SMOOTH_MORE';

export type PillowSpec =
  | { library: 'Pillow'; fn: PillowNamedFilter }
  /** ImageFilter.Kernel((size, size), kernel, scale, offset); scale defaults to the kernel's sum. */
  | { library: 'Pillow'; fn: 'Kernel'; size: 3 | 5; kernel: readonly number[]; scale?: number; offset?: number }
  | { library: 'Pillow'; fn: 'GaussianBlur'; radius: number }
  | { library: 'Pillow'; fn: 'BoxBlur'; radius: number }
  | { library: 'Pillow'; fn: 'UnsharpMask'; radius: number; percent: number; threshold: number };

interface KernelArgs {
  size: 3 | 5;
  scale: number;
  offset: number;
  kernel: readonly number[];
}

/** PIL/ImageFilter.py's filterargs for each named filter: (size, size), scale, offset, kernel. */
export const PILLOW_NAMED_FILTERS: Readonly<Record<PillowNamedFilter, Readonly<KernelArgs>>> = {
  BLUR: { size: 5, scale: 16, offset: 0, kernel: [1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1] },
  CONTOUR: { size: 3, scale: 1, offset: 255, kernel: [-1, -1, -1, -1, 8, -1, -1, -1, -1] },
  DETAIL: { size: 3, scale: 6, offset: 0, kernel: [0, -1, 0, -1, 10, -1, 0, -1, 0] },
  EDGE_ENHANCE: { size: 3, scale: 2, offset: 0, kernel: [-1, -1, -1, -1, 10, -1, -1, -1, -1] },
  EDGE_ENHANCE_MORE: { size: 3, scale: 1, offset: 0, kernel: [-1, -1, -1, -1, 9, -1, -1, -1, -1] },
  EMBOSS: { size: 3, scale: 1, offset: 128, kernel: [-1, 0, 0, 0, 1, 0, 0, 0, 0] },
  FIND_EDGES: { size: 3, scale: 1, offset: 0, kernel: [-1, -1, -1, -1, 8, -1, -1, -1, -1] },
  SHARPEN: { size: 3, scale: 16, offset: 0, kernel: [-2, -2, -2, -2, 32, -2, -2, -2, -2] },
  SMOOTH: { size: 3, scale: 13, offset: 0, kernel: [1, 1, 1, 1, 5, 1, 1, 1, 1] },
  SMOOTH_MORE: { size: 5, scale: 100, offset: 0, kernel: [1, 1, 1, 1, 1, 1, 5, 5, 5, 1, 1, 5, 44, 5, 1, 1, 5, 5, 5, 1, 1, 1, 1, 1, 1] },
};
export const PILLOW_NAMED_FILTER_NAMES = Object.keys(PILLOW_NAMED_FILTERS) as PillowNamedFilter[];

const WHO = 'Pillow';

// ---------------------------------------------------------------------------------------------
// Kernel filters (Filter.c)

/** The filterargs of a kernel spec, with Kernel's default scale (Python's sum of the kernel). */
function kernelArgs(spec: PillowSpec): KernelArgs {
  if (spec.fn === 'Kernel') {
    const { size, kernel } = spec;
    if (size !== 3 && size !== 5) throw new KernelLearnError(`${WHO}: Kernel size ${size as number} is not supported (Pillow takes (3, 3) or (5, 5))`);
    if (kernel.length !== size * size) throw new KernelLearnError(`${WHO}: a ${size}x${size} Kernel needs ${size * size} weights, got ${kernel.length}`);
    if (!kernel.every(Number.isFinite)) throw new KernelLearnError(`${WHO}: Kernel weights must be finite numbers`);
    const scale = spec.scale ?? kernel.reduce((a, b) => a + b);
    if (scale === 0 || !Number.isFinite(scale)) {
      throw new KernelLearnError(`${WHO}: Kernel scale ${scale} (the default is the kernel's sum): Pillow divides by it; give a non-zero scale`);
    }
    return { size, scale, offset: spec.offset ?? 0, kernel };
  }
  return PILLOW_NAMED_FILTERS[spec.fn as PillowNamedFilter];
}

/** The float32 weights Pillow multiplies with: float32(k) / float32(scale), in float32. */
function float32Weights(args: KernelArgs): Float32Array {
  const s = fround(args.scale);
  return Float32Array.from(args.kernel, (k) => fround(fround(k) / s));
}

/**
 * ImagingFilter3x3 / 5x5 on one 8-bit plane. Row r of the kernel multiplies the image row
 * y + half - r (the kernel's first row meets the row below the pixel).
 */
function filterPlane(src: Uint8Array, dst: Uint8Array, w: number, h: number, k: Float32Array, size: number, offset: number): void {
  dst.set(src); // the edge band (and a too-small image) stays as the input
  const half = size >> 1;
  if (w < size || h < size) return;
  const start = fround(fround(offset) + 0.5); // "Add one time for rounding"
  for (let y = half; y < h - half; y++) {
    for (let x = half; x < w - half; x++) {
      let ss = start;
      for (let r = 0; r < size; r++) {
        const row = (y + half - r) * w + x - half;
        let line = fround(src[row] * k[r * size]);
        for (let c = 1; c < size; c++) line = fround(line + fround(src[row + c] * k[r * size + c]));
        ss = fround(ss + line);
      }
      // clip8: <= 0 -> 0, >= 255 -> 255, else the C cast truncates.
      dst[y * w + x] = ss <= 0 ? 0 : ss >= 255 ? 255 : Math.trunc(ss);
    }
  }
}

function applyKernelFilter(planes: Uint8Array, image: Image, args: KernelArgs): Uint8Array {
  const k = float32Weights(args);
  const n = image.width * image.height;
  const out = new Uint8Array(planes.length);
  for (let c = 0; c < image.channels; c++) {
    filterPlane(planes.subarray(c * n, (c + 1) * n), out.subarray(c * n, (c + 1) * n), image.width, image.height, k, args.size, args.offset);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Box blurs (BoxBlur.c)

/** The 24-bit fixed-point weights of one box pass: `ww` for the 2*radius+1 inner taps, `fw` for the two far ones. */
export interface PillowBoxWeights {
  radius: number;
  ww: number;
  fw: number;
}

/** ImagingHorizontalBoxBlur's weights for a float32 radius (float32 division, UINT32 casts). */
export function pillowBoxWeights(floatRadius: number): PillowBoxWeights {
  const r = fround(floatRadius);
  const radius = Math.trunc(r);
  const ww = Math.trunc(fround(16777216 / fround(fround(r * 2) + 1))) >>> 0;
  const fw = Math.floor((((16777216 - (radius * 2 + 1) * ww) % 2 ** 32) + 2 ** 32) % 2 ** 32 / 2);
  return { radius, ww, fw };
}

/**
 * ImagingGaussianBlur's box radius for `passes` box passes, in float32 as Pillow computes it
 * (sqrt in double, stored to float32): sigma^2 = r^2/passes, L = sqrt(12 sigma^2 + 1),
 * l = floor((L - 1)/2), a = (2l+1)(l(l+1) - 3 sigma^2) / (6(sigma^2 - (l+1)^2)); radius l + a.
 */
export function pillowGaussianBoxRadius(radius: number, passes = 3): number {
  const r = fround(radius);
  const sigma2 = fround(fround(r * r) / passes);
  const L = fround(Math.sqrt(12.0 * sigma2 + 1.0));
  const l = fround(Math.floor((L - 1.0) / 2.0));
  let a = fround(fround(2 * l + 1) * fround(fround(l * fround(l + 1)) - fround(3 * sigma2)));
  a = fround(a / fround(6 * fround(sigma2 - fround(fround(l + 1) * fround(l + 1)))));
  return fround(l + a);
}

/**
 * One 1-D pass over `n` samples at `stride` (1 for a row, the width for a column), in place.
 * Pillow keeps a running UINT32 sum; this computes the same sums from prefix sums over the
 * edge-replicated line: bulk = ww * sum(|d| <= radius) + fw * (far left + far right), stored
 * as (bulk + 2^23) >> 24 in UINT32 arithmetic.
 */
function boxPassLine(data: Uint8Array, start: number, stride: number, n: number, wts: PillowBoxWeights, ext: Float64Array): void {
  const { radius, ww, fw } = wts;
  const pad = radius + 1;
  const len = n + 2 * pad;
  // ext[i + 1] = sum of the extended line up to index i (extended index i is position i - pad).
  ext[0] = 0;
  for (let i = 0; i < len; i++) {
    const p = Math.min(Math.max(i - pad, 0), n - 1);
    ext[i + 1] = ext[i] + data[start + p * stride];
  }
  for (let x = 0; x < n; x++) {
    const e = x + pad; // extended index of position x
    const acc = ext[e + radius + 1] - ext[e - radius];
    const far = ext[e - radius] - ext[e - radius - 1] + (ext[e + radius + 2] - ext[e + radius + 1]);
    const bulk = (acc * ww + far * fw) % 2 ** 32;
    data[start + x * stride] = Math.floor(((bulk + 2 ** 23) % 2 ** 32) / 2 ** 24) & 255;
  }
}

/** ImagingBoxBlur: `passes` horizontal passes, then `passes` vertical ones, each stored at 8 bits. */
function boxBlurPlanes(planes: Uint8Array, image: Image, floatRadius: number, passes: number): Uint8Array {
  const { width: w, height: h, channels } = image;
  const wts = pillowBoxWeights(floatRadius);
  const out = Uint8Array.from(planes);
  const ext = new Float64Array(Math.max(w, h) + 2 * wts.radius + 4);
  for (let c = 0; c < channels; c++) {
    const base = c * w * h;
    for (let i = 0; i < passes; i++) for (let y = 0; y < h; y++) boxPassLine(out, base + y * w, 1, w, wts, ext);
    for (let i = 0; i < passes; i++) for (let x = 0; x < w; x++) boxPassLine(out, base + x, w, h, wts, ext);
  }
  return out;
}

/** ImagingUnsharpMask over every sample: C int arithmetic, `/` truncating toward zero. */
function unsharpPlanes(planes: Uint8Array, blurred: Uint8Array, percent: number, threshold: number): Uint8Array {
  const out = new Uint8Array(planes.length);
  for (let i = 0; i < planes.length; i++) {
    const diff = planes[i] - blurred[i];
    if (Math.abs(diff) > threshold) {
      const v = planes[i] + Math.trunc((diff * percent) / 100);
      out[i] = v >= 255 ? 255 : v <= 0 ? 0 : v;
    } else {
      out[i] = planes[i];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The public calls

function checkSpec(spec: PillowSpec): void {
  if (spec.library !== 'Pillow') throw new KernelLearnError(`${WHO}: not a Pillow spec (library ${String(spec.library)})`);
  switch (spec.fn) {
    case 'GaussianBlur':
    case 'BoxBlur':
      checkRange(WHO, `${spec.fn} radius`, spec.radius, 0, 1e4);
      return;
    case 'UnsharpMask':
      checkRange(WHO, 'UnsharpMask radius', spec.radius, 0, 1e4);
      // Pillow parses percent and threshold as C ints ("fii"); a float is a TypeError there.
      if (!Number.isInteger(spec.percent) || !Number.isInteger(spec.threshold)) {
        throw new KernelLearnError(`${WHO}: UnsharpMask percent and threshold must be integers (Pillow parses them as C ints), got ${spec.percent} and ${spec.threshold}`);
      }
      return;
    case 'Kernel':
      kernelArgs(spec);
      return;
    default:
      if (!Object.hasOwn(PILLOW_NAMED_FILTERS, spec.fn)) throw new KernelLearnError(`${WHO}: unknown filter ${String(spec.fn)} (expected one of ${PILLOW_NAMED_FILTER_NAMES.join(', ')}, Kernel, GaussianBlur, BoxBlur, UnsharpMask)`);
  }
}

/**
 * `image.filter(<spec>)` as Pillow computes it, on an 8-bit image (1 channel = mode 'L',
 * 3 = 'RGB'; any channel count works, each channel filtered alike). Returns a u8 image.
 */
export function applyPillow(image: Image, spec: PillowSpec): Image {
  checkSpec(spec);
  const planes = u8Planes(image, WHO);
  switch (spec.fn) {
    case 'GaussianBlur':
      return u8Image(image, boxBlurPlanes(planes, image, pillowGaussianBoxRadius(spec.radius, 3), 3));
    case 'BoxBlur':
      return u8Image(image, boxBlurPlanes(planes, image, spec.radius, 1));
    case 'UnsharpMask': {
      const blurred = boxBlurPlanes(planes, image, pillowGaussianBoxRadius(spec.radius, 3), 3);
      return u8Image(image, unsharpPlanes(planes, blurred, spec.percent, spec.threshold));
    }
    default:
      return u8Image(image, applyKernelFilter(planes, image, kernelArgs(spec)));
  }
}

/** The call in Pillow's own syntax, e.g. `image.filter(ImageFilter.GaussianBlur(2))`. */
export function pillowCallString(spec: PillowSpec): string {
  checkSpec(spec);
  const f = formatNumber;
  switch (spec.fn) {
    case 'GaussianBlur':
    case 'BoxBlur':
      return `image.filter(ImageFilter.${spec.fn}(${f(spec.radius)}))`;
    case 'UnsharpMask':
      return `image.filter(ImageFilter.UnsharpMask(radius=${f(spec.radius)}, percent=${f(spec.percent)}, threshold=${f(spec.threshold)}))`;
    case 'Kernel': {
      const extra = (spec.scale !== undefined ? `, scale=${f(spec.scale)}` : '') + (spec.offset !== undefined ? `, offset=${f(spec.offset)}` : '');
      return `image.filter(ImageFilter.Kernel((${spec.size}, ${spec.size}), [${spec.kernel.map(f).join(', ')}]${extra}))`;
    }
    default:
      return `image.filter(ImageFilter.${spec.fn})`;
  }
}

// ---------------------------------------------------------------------------------------------
// What a search and a learner need

/** The parameter space of each Pillow call. */
export function pillowParameterSpace(): SearchSpace[] {
  const radius = { kind: 'continuous', min: 0.3, max: 10, scale: 'log' } as const;
  return [
    {
      library: 'Pillow',
      fn: 'named',
      params: { fn: { kind: 'discrete', values: PILLOW_NAMED_FILTER_NAMES } },
      note: 'ten fixed kernels: enumerate and verify each',
    },
    {
      library: 'Pillow',
      fn: 'Kernel',
      params: {
        size: { kind: 'discrete', values: [3, 5] },
        kernel: { kind: 'kernel', sizes: [3, 5], note: 'applied upside down (see pillowLinearForm); fit kernel/scale as one set of weights' },
        offset: { kind: 'continuous', min: -255, max: 255, scale: 'linear', note: 'fit with the weights (a bias term)' },
      },
      note: 'edge band of 1 (3x3) or 2 (5x5) pixels kept from the input; fit away from it. Only kernel/scale matters, so report scale as the common denominator of the fitted weights',
    },
    {
      library: 'Pillow',
      fn: 'GaussianBlur',
      params: { radius: { ...radius, note: 'the output changes in steps: only the float32 box radius l + a and its 24-bit weights matter' } },
      note: 'radius is the Gaussian sigma; three box passes per axis',
    },
    {
      library: 'Pillow',
      fn: 'BoxBlur',
      params: { radius: { kind: 'continuous', min: 0, max: 10, scale: 'linear', note: 'whole part = box half-width, fraction = weight of the two far taps; steps of 2^-24 in the weights' } },
      note: 'one box pass per axis; integer radii are the common case: try them first',
    },
    {
      library: 'Pillow',
      fn: 'UnsharpMask',
      params: {
        radius,
        percent: { kind: 'continuous', min: 0, max: 500, scale: 'linear', note: 'an integer in Pillow' },
        threshold: { kind: 'continuous', min: 0, max: 255, scale: 'linear', note: 'an integer in Pillow; samples with |in - blur| <= threshold are left unchanged' },
      },
      note: 'defaults radius=2, percent=150, threshold=3',
    },
  ];
}

/** The 1-D weights of one box pass, in units of 1 (sum slightly below 1: Pillow's truncation). */
function boxWeights1D(floatRadius: number): Float64Array {
  const { radius, ww, fw } = pillowBoxWeights(floatRadius);
  const k = new Float64Array(2 * radius + 3);
  k.fill(ww / 2 ** 24);
  k[0] = k[k.length - 1] = fw / 2 ** 24;
  return k;
}

function convolve1D(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length - 1);
  for (let i = 0; i < a.length; i++) for (let j = 0; j < b.length; j++) out[i + j] += a[i] * b[j];
  return out;
}

function separable(k1: Float64Array): Kernel2D {
  const n = k1.length;
  const data = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = k1[i] * k1[j];
  return { kh: n, kw: n, data };
}

/**
 * The linear form of a Pillow call. Kernel filters: the kernel flipped upside down and divided
 * by scale, exact (one rounding) with the edge kept. Blurs: the product of the box passes with
 * edges replicated, not exact (each pass is rounded to 8 bits). UnsharpMask has no linear form
 * (its threshold); its linear part for threshold 0 is (1 + p) delta - p GaussianBlur, p = percent/100.
 */
export function pillowLinearForm(spec: PillowSpec): LinearForm {
  checkSpec(spec);
  switch (spec.fn) {
    case 'GaussianBlur':
    case 'BoxBlur':
    case 'UnsharpMask': {
      const passes = spec.fn === 'BoxBlur' ? 1 : 3;
      const box = boxWeights1D(spec.fn === 'BoxBlur' ? spec.radius : pillowGaussianBoxRadius(spec.radius, 3));
      let k1 = box;
      for (let i = 1; i < passes; i++) k1 = convolve1D(k1, box);
      const blur = separable(k1);
      if (spec.fn !== 'UnsharpMask') {
        return { kernel: blur, offset: 0, quantize: 'round', edge: 'replicate', margin: 0, exact: false, note: `${passes} box pass(es) per axis, each rounded half up to 8 bits; horizontal passes first` };
      }
      const p = spec.percent / 100;
      const data = blur.data.map((v) => -p * v);
      data[(data.length - 1) / 2] += 1 + p;
      return { kernel: { kh: blur.kh, kw: blur.kw, data }, offset: 0, quantize: 'floor', edge: 'replicate', margin: 0, exact: false, note: 'linear only where |in - blur| > threshold (elsewhere the input); blur rounded to 8 bits, the product truncated toward zero' };
    }
    default: {
      const args = kernelArgs(spec);
      const { size } = args;
      const data = new Float64Array(size * size);
      for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) data[(size - 1 - r) * size + c] = args.kernel[r * size + c] / args.scale;
      return { kernel: { kh: size, kw: size, data }, offset: args.offset, quantize: 'round', edge: 'kept', margin: size >> 1, exact: true, note: 'float32 weights and sum, then floor(sum + 0.5) clipped to 0..255 (float32 decides exact .5 ties); the kernel as given is applied upside down; an image smaller than the kernel is returned unchanged' };
    }
  }
}

/**
 * ImageMagick 6 convolution calls, reproduced to the bit (Debian `imagemagick` 6.9.11-60 Q16,
 * non-HDRI, no OpenCL): `convert in.png <op> out.png` with an 8-bit PNG in and out, for
 * -blur, -gaussian-blur, -sharpen, -unsharp, -convolve and -morphology Convolve|Correlate
 * with the named kernels of imagemagick-kernels.ts. Checked against the real tool by
 * test/pillow-imagemagick.test.ts; docs/pillow-imagemagick.md has the story.
 *
 * The arithmetic (magick/morphology.c MorphologyPrimitive, magick/effect.c):
 *  - read: an 8-bit sample v becomes the 16-bit quantum 257 v (ScaleCharToQuantum); grey PNGs
 *    stay grey (colorspace Gray), so no gamma or colour conversion touches the values;
 *  - convolve: a float64 sum starting at the bias (0 unless -define convolve:bias), over kernel
 *    rows then columns, with the kernel reflected (true convolution; -convolve and Correlate
 *    reflect it first, so they correlate); taps outside the image read the nearest edge pixel
 *    (virtual-pixel Edge, the default = replicate); NaN taps are skipped;
 *  - store: ClampToQuantum, i.e. 0 below 0, 65535 above, else (unsigned short)(sum + 0.5): round
 *    half up, at 16 bits. Negative responses (Sobel) are clipped to 0 (non-HDRI), not wrapped;
 *  - multi-kernel ops (-blur, -unsharp: a horizontal then a vertical 1-D Blur kernel) store the
 *    first pass at 16 bits before the second;
 *  - write (PNG): the PNG encoder first calls SetImageDepth(image, 8), which in a non-HDRI build
 *    maps q to floor(255 q / 65535) (ScaleQuantumToAny truncates) and back to 257 times that,
 *    so the 8-bit PNG holds floor(q / 257): truncated, not rounded. Measured: Unity:0.5 on a
 *    0..255 ramp gives 0, 1, 1, 2, ... in a PNG but 0, 1, 2, 2, ... in a PGM, whose writer
 *    rounds (ScaleQuantumToChar). We reproduce PNG output.
 * -unsharp RxS+gain+threshold: blur as -blur, then where |2 (in - blur)| < 65535 threshold the
 * input, else in + gain (in - blur), in float64 on the quanta, stored with ClampToQuantum.
 */
import { KernelLearnError } from '../../errors.js';
import { type Image } from '../../image.js';
import { borderIndexTable } from '../border.js';
import {
  type ImKernel,
  type ImKernelSpec,
  IM_FREICHEN_TYPES,
  IM_LAPLACIAN_TYPES,
  MAGICK_EPSILON,
  buildImKernel,
  imKernelString,
  rotateKernelInfo,
  scaleKernelInfo,
  sharpenKernel,
  unityAddKernelInfo,
} from './imagemagick-kernels.js';
import { type Kernel2D } from '../kernels.js';
import { type SearchSpace, type LinearForm, checkRange, formatNumber, shellQuote, u8Image, u8Planes } from './common.js';

const WHO = 'ImageMagick';
const QUANTUM_RANGE = 65535;

/** -define convolve:scale='{factor}{flag}[,{unity}]': scale (after an optional normalisation), then add a unity kernel. */
export interface ImConvolveScale {
  /** Multiplies the (normalised) kernel; default 1. */
  factor?: number;
  /** '!' divide by the kernel's sum (or its positive sum when it sums to zero); '^' positive and negative parts separately. */
  normalize?: '!' | '^';
  /** Added to the kernel's origin tap after scaling (blends in the input). */
  unity?: number;
}

export type ImageMagickSpec =
  | { library: 'ImageMagick'; op: '-blur' | '-gaussian-blur' | '-sharpen'; radius: number; sigma: number }
  | { library: 'ImageMagick'; op: '-unsharp'; radius: number; sigma: number; gain: number; threshold: number }
  /** -morphology Convolve|Correlate <kernel>, with optional -define convolve:scale / convolve:bias. */
  | { library: 'ImageMagick'; op: '-morphology'; method: 'Convolve' | 'Correlate'; kernel: ImKernelSpec; scale?: ImConvolveScale; bias?: number }
  /** -convolve <kernel>: the kernel divided by its sum (unless ~0), then correlated. */
  | { library: 'ImageMagick'; op: '-convolve'; kernel: ImKernelSpec; scale?: ImConvolveScale; bias?: number };

// ---------------------------------------------------------------------------------------------
// The convolution (MorphologyPrimitive, ConvolveMorphology)

/** ClampToQuantum (non-HDRI): NaN and <= 0 -> 0, >= 65535 -> 65535, else truncate(q + 0.5). */
export function clampToQuantum(q: number): number {
  if (Number.isNaN(q) || q <= 0.0) return 0;
  if (q >= QUANTUM_RANGE) return QUANTUM_RANGE;
  return Math.trunc(q + 0.5);
}

/** ScaleQuantumToChar for Q16: ((q + 128) - ((q + 128) >> 8)) >> 8, i.e. q / 257 rounded (what PGM/PPM writers store). */
export function scaleQuantumToChar(q: number): number {
  const t = q + 128;
  return (t - (t >> 8)) >> 8;
}

/** What an 8-bit PNG stores for quantum q: ScaleQuantumToAny(q, 255) = (size_t)((double) 255 q / 65535), i.e. floor(q / 257). */
export function quantumToPngByte(q: number): number {
  return Math.trunc((255 * q) / QUANTUM_RANGE);
}

/**
 * One ConvolveMorphology pass on a plane of quanta: output (x, y) sums, from `bias`, over
 * v = 0..h-1 and u = 0..w-1, values[last - (v w + u)] * in(x - offx + u, y - offy + v) with the
 * origin reflected (offx = w - 1 - kx), in ImageMagick's order; coordinates clamp to the image.
 */
function convolvePlane(src: Float64Array, width: number, height: number, k: ImKernel, bias: number): Float64Array {
  const offx = k.width - k.x - 1;
  const offy = k.height - k.y - 1;
  const rows = borderIndexTable(height, offy, k.height - 1 - offy, 'replicate');
  const cols = borderIndexTable(width, offx, k.width - 1 - offx, 'replicate');
  const last = k.width * k.height - 1;
  // The taps that are not NaN, in ImageMagick's order (the sum's order decides float ties).
  const tv: number[] = [];
  const tu: number[] = [];
  const tw: number[] = [];
  for (let v = 0; v < k.height; v++) {
    for (let u = 0; u < k.width; u++) {
      const w = k.values[last - (v * k.width + u)];
      if (Number.isNaN(w)) continue;
      tv.push(v);
      tu.push(u);
      tw.push(w);
    }
  }
  const n = tw.length;
  const weights = Float64Array.from(tw);
  const dx = Int32Array.from(tu);
  const rowBase = new Int32Array(n);
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let t = 0; t < n; t++) rowBase[t] = rows[y + tv[t]] * width;
    for (let x = 0; x < width; x++) {
      let sum = bias;
      for (let t = 0; t < n; t++) sum += weights[t] * src[rowBase[t] + cols[x + dx[t]]];
      out[y * width + x] = clampToQuantum(sum);
    }
  }
  return out;
}

/** Quanta planes (257 v) of an 8-bit image, one Float64Array per channel. */
function toQuanta(planes: Uint8Array, image: Image): Float64Array[] {
  const n = image.width * image.height;
  const out: Float64Array[] = [];
  for (let c = 0; c < image.channels; c++) out.push(Float64Array.from(planes.subarray(c * n, (c + 1) * n), (v) => v * 257));
  return out;
}

function toU8(quanta: Float64Array[], image: Image): Image {
  const n = image.width * image.height;
  const out = new Uint8Array(n * image.channels);
  quanta.forEach((q, c) => {
    for (let i = 0; i < n; i++) out[c * n + i] = quantumToPngByte(q[i]);
  });
  return u8Image(image, out);
}

// ---------------------------------------------------------------------------------------------
// The kernels each op applies (in order; each pass stored at 16 bits)

/** BlurImageChannel: "blur:RxS;blur:RxS+90": a horizontal then a vertical 1-D kernel. */
function blurKernels(radius: number, sigma: number): ImKernel[] {
  return [buildImKernel({ name: 'Blur', radius, sigma }), buildImKernel({ name: 'Blur', radius, sigma, angle: 90 })];
}

/** -define convolve:scale, as MorphologyImageChannel applies it (ScaleGeometryKernelInfo). */
function applyConvolveScale(k: ImKernel, s: ImConvolveScale): void {
  scaleKernelInfo(k, s.factor ?? 1.0, s.normalize ?? '');
  if (s.unity !== undefined) unityAddKernelInfo(k, s.unity);
}

/** -convolve's normalisation (mogrify.c): divide by the sum unless it is ~0; meta data untouched. */
function normalizeForConvolve(k: ImKernel): void {
  let gamma = 0.0;
  for (let i = 0; i < k.values.length; i++) gamma += k.values[i];
  gamma = 1.0 / (Math.abs(gamma) <= MAGICK_EPSILON ? 1.0 : gamma);
  for (let i = 0; i < k.values.length; i++) k.values[i] *= gamma;
}

/** The kernels an op convolves with, in order, after normalisation, scaling and reflection. */
export function imageMagickKernels(spec: ImageMagickSpec): ImKernel[] {
  checkSpec(spec);
  switch (spec.op) {
    case '-blur':
    case '-unsharp':
      return blurKernels(spec.radius, spec.sigma);
    case '-gaussian-blur':
      return [buildImKernel({ name: 'Gaussian', radius: spec.radius, sigma: spec.sigma })];
    case '-sharpen':
      return [sharpenKernel(spec.radius, spec.sigma)];
    case '-convolve':
    case '-morphology': {
      const k = buildImKernel(spec.kernel);
      if (spec.op === '-convolve') normalizeForConvolve(k);
      if (spec.scale) applyConvolveScale(k, spec.scale);
      // Correlation is a convolution with the kernel turned by 180 degrees (RotateKernelInfo,
      // which leaves the symmetric named kernels as they are).
      if (spec.op === '-convolve' || spec.method === 'Correlate') rotateKernelInfo(k, 180);
      return [k];
    }
  }
}

/** The bias in quanta: -define convolve:bias=P% is P * 65536 / 100 (StringToDoubleInterval). */
function biasQuanta(spec: ImageMagickSpec): number {
  if ((spec.op === '-morphology' || spec.op === '-convolve') && spec.bias !== undefined) return spec.bias * ((QUANTUM_RANGE + 1.0) / 100.0);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The public calls

function checkSpec(spec: ImageMagickSpec): void {
  if (spec.library !== 'ImageMagick') throw new KernelLearnError(`${WHO}: not an ImageMagick spec (library ${String(spec.library)})`);
  switch (spec.op) {
    case '-unsharp':
      checkRange(WHO, '-unsharp gain', spec.gain, -1e3, 1e3);
      checkRange(WHO, '-unsharp threshold', spec.threshold, 0, 1);
    // fall through
    case '-blur':
    case '-gaussian-blur':
    case '-sharpen':
      checkRange(WHO, `${spec.op} radius`, spec.radius, 0, 200);
      checkRange(WHO, `${spec.op} sigma`, spec.sigma, 0, 100);
      return;
    case '-morphology':
      if (spec.method !== 'Convolve' && spec.method !== 'Correlate') throw new KernelLearnError(`${WHO}: -morphology method ${String(spec.method)} is not supported (Convolve or Correlate)`);
    // fall through
    case '-convolve':
      if (spec.bias !== undefined) checkRange(WHO, 'convolve:bias (percent)', spec.bias, -1e4, 1e4);
      return;
    default:
      throw new KernelLearnError(`${WHO}: unknown op ${String((spec as { op: unknown }).op)} (expected -blur, -gaussian-blur, -sharpen, -unsharp, -convolve or -morphology)`);
  }
}

/**
 * `convert in.png <op> out.png` as ImageMagick 6.9.11 Q16 computes it, on an 8-bit image
 * (1 channel = a grey PNG; 3 = RGB, each channel alike). Returns a u8 image.
 */
export function applyImageMagick(image: Image, spec: ImageMagickSpec): Image {
  const kernels = imageMagickKernels(spec);
  const planes = u8Planes(image, WHO);
  const input = toQuanta(planes, image);
  const bias = biasQuanta(spec);
  const { width, height } = image;
  let q = input;
  for (const k of kernels) q = q.map((p) => convolvePlane(p, width, height, k, bias));
  if (spec.op === '-unsharp') {
    const limit = QUANTUM_RANGE * spec.threshold;
    q = q.map((blurred, c) =>
      blurred.map((b, i) => {
        const p = input[c][i];
        const diff = p - b;
        return clampToQuantum(Math.abs(2.0 * diff) < limit ? p : p + diff * spec.gain);
      }),
    );
  }
  return toU8(q, image);
}

function scaleString(s: ImConvolveScale): string {
  const head = (s.factor !== undefined ? formatNumber(s.factor) : '') + (s.normalize ?? '');
  return (head === '' ? '1' : head) + (s.unity !== undefined ? `,${formatNumber(s.unity)}` : '');
}

/** The arguments after the input file name, as argv entries. */
export function imageMagickArgs(spec: ImageMagickSpec): string[] {
  checkSpec(spec);
  const f = formatNumber;
  switch (spec.op) {
    case '-blur':
    case '-gaussian-blur':
    case '-sharpen':
      return [spec.op, `${f(spec.radius)}x${f(spec.sigma)}`];
    case '-unsharp':
      return [spec.op, `${f(spec.radius)}x${f(spec.sigma)}+${f(spec.gain)}+${f(spec.threshold)}`];
    case '-morphology':
    case '-convolve': {
      const defines: string[] = [];
      if (spec.scale) defines.push('-define', `convolve:scale=${scaleString(spec.scale)}`);
      if (spec.bias !== undefined) defines.push('-define', `convolve:bias=${f(spec.bias)}%`);
      const op = spec.op === '-morphology' ? ['-morphology', spec.method] : ['-convolve'];
      return [...defines, ...op, imKernelString(spec.kernel)];
    }
  }
}

/** The shell command, e.g. `convert in.png -gaussian-blur 0x1.5 out.png` (arguments quoted as Python's shlex.join). */
export function imageMagickCallString(spec: ImageMagickSpec, input = 'in.png', output = 'out.png'): string {
  return ['convert', input, ...imageMagickArgs(spec), output].map(shellQuote).join(' ');
}

// ---------------------------------------------------------------------------------------------
// What a search and a learner need

/** The parameter space of each ImageMagick call. */
export function imageMagickParameterSpace(): SearchSpace[] {
  const sigma = { kind: 'continuous', min: 0.3, max: 10, scale: 'log' } as const;
  const radius = { kind: 'discrete', values: [0, 1, 2, 3, 4, 5, 6, 8, 10], note: '0 = from sigma (GetOptimalKernelWidth); r in (0, 1) gives 3 taps; r >= 1 gives floor(2r + 1) taps in Debian\'s build (-sharpen: 2 ceil(r) + 1); whole numbers are the common case, and an even Gaussian width is undefined in ImageMagick' } as const;
  const angle = { kind: 'discrete', values: [0, 45, 90, 135, 180, 225, 270, 315] } as const;
  const op = (fn: string, params: SearchSpace['params'], note: string): SearchSpace => ({ library: 'ImageMagick', fn, params, note });
  return [
    op('-blur', { radius, sigma }, 'separable 1-D Blur kernels (Gaussian binned at 3x resolution), horizontal pass stored at 16 bits'),
    op('-gaussian-blur', { radius, sigma }, '2-D sampled Gaussian, normalised'),
    op('-sharpen', { radius, sigma }, '2-D: minus a Gaussian, centre -2 x its sum, normalised'),
    op('-unsharp', { radius, sigma, gain: { kind: 'continuous', min: 0, max: 5, scale: 'linear' }, threshold: { kind: 'continuous', min: 0, max: 0.5, scale: 'linear', note: 'fraction of the range; 0 = linear' } }, 'defaults sigma 1, gain 1, threshold 0.05'),
    op('-morphology Convolve (edge kernels)', { kernel: { kind: 'discrete', values: ['Sobel', 'Prewitt', 'Roberts', 'Compass', 'Kirsch', 'FreiChen'] }, angle }, 'unnormalised; negative responses clip to 0 unless convolve:bias (try 50%) is set'),
    op('-morphology Convolve Laplacian', { type: { kind: 'discrete', values: IM_LAPLACIAN_TYPES } }, 'unnormalised, negative responses clip to 0'),
    op('-morphology Convolve FreiChen', { type: { kind: 'discrete', values: IM_FREICHEN_TYPES }, angle }, 'type 10 (a list of nine kernels) is not supported'),
    op('-morphology Convolve Gaussian|LoG|Blur', { radius, sigma }, 'Blur also takes an angle (0 or 90)'),
    op('-morphology Convolve DoG', { radius, sigma1: sigma, sigma2: sigma }, 'normalised positive and negative parts separately'),
    op('-morphology Convolve shapes', { kernel: { kind: 'discrete', values: ['Square', 'Diamond', 'Disk', 'Plus', 'Cross', 'Octagon', 'Rectangle', 'Binomial'] }, radius: { kind: 'discrete', values: [1, 2, 3, 4, 5] }, scale: { kind: 'discrete', values: ['', '!'], note: "convolve:scale: '!' makes a mean filter" } }, 'flat shapes sum their pixels unless normalised'),
    op('-convolve / -morphology Convolve user kernel', { kernel: { kind: 'kernel', sizes: [3, 5, 7] } }, '-convolve divides by the sum; Convolve flips the kernel (true convolution), Correlate and -convolve do not'),
  ];
}

function kernel2D(k: ImKernel, flip: boolean): Kernel2D {
  // Convolve applies values reflected; as a correlation kernel (8-bit units equal quanta units) flip it back.
  const n = k.values.length;
  const data = Float64Array.from({ length: n }, (_, i) => k.values[flip ? n - 1 - i : i]).map((v) => (Number.isNaN(v) ? 0 : v));
  return { kh: k.height, kw: k.width, data };
}

/** The product of 2-D correlation kernels applied one after the other (centres at the origins). */
function composeKernels(ks: Kernel2D[]): Kernel2D {
  return ks.reduce((a, b) => {
    const kh = a.kh + b.kh - 1;
    const kw = a.kw + b.kw - 1;
    const data = new Float64Array(kh * kw);
    for (let i = 0; i < a.kh; i++) for (let j = 0; j < a.kw; j++) for (let p = 0; p < b.kh; p++) for (let q = 0; q < b.kw; q++) data[(i + p) * kw + j + q] += a.data[i * a.kw + j] * b.data[p * b.kw + q];
    return { kh, kw, data };
  });
}

/**
 * The linear form of an ImageMagick call: the correlation kernel (origin at the centre for all
 * ops here except off-centre user kernels, Rectangle, Comet and even-width Blur, whose kernel is
 * padded so that the origin lands in the centre), edges replicated. The 8-bit PNG holds
 * floor(q / 257) of q = round-half-up(257 s), s = sum k * in + bias / 257, which is exactly
 * floor(s + 1/514): so quantize 'floor' with offset bias/257 + 1/514. Exact for one-kernel ops;
 * -blur rounds between its two passes, -unsharp thresholds (its linear part is
 * (1 + gain) delta - gain blur).
 */
export function imageMagickLinearForm(spec: ImageMagickSpec): LinearForm {
  const ks = imageMagickKernels(spec).map((k) => centred(kernel2D(k, true), k));
  let kernel = composeKernels(ks);
  let note = 'float64 sum, rounded half up to 16 bits (clipped to 0..65535), truncated to 8 bits by the PNG writer';
  if (spec.op === '-blur') note = 'two 1-D passes, the first stored at 16 bits (round half up)';
  if (spec.op === '-unsharp') {
    const data = kernel.data.map((v) => -spec.gain * v);
    data[(data.length - 1) / 2] += 1 + spec.gain;
    kernel = { kh: kernel.kh, kw: kernel.kw, data };
    note = 'linear only where |in - blur| >= threshold/2 of the range (elsewhere the input); blur passes stored at 16 bits';
  }
  return { kernel, offset: biasQuanta(spec) / 257 + 1 / 514, quantize: 'floor', edge: 'replicate', margin: 0, exact: ks.length === 1 && spec.op !== '-unsharp', note };
}

/** Pads a correlation kernel so that the tool's origin becomes the centre tap. */
function centred(k2: Kernel2D, k: ImKernel): Kernel2D {
  // After flipping, the origin of the correlation kernel is (width - 1 - x, height - 1 - y).
  const ox = k.width - 1 - k.x;
  const oy = k.height - 1 - k.y;
  const rx = Math.max(ox, k.width - 1 - ox);
  const ry = Math.max(oy, k.height - 1 - oy);
  const kw = 2 * rx + 1;
  const kh = 2 * ry + 1;
  if (kw === k2.kw && kh === k2.kh) return k2;
  const data = new Float64Array(kw * kh);
  for (let i = 0; i < k2.kh; i++) for (let j = 0; j < k2.kw; j++) data[(i - oy + ry) * kw + (j - ox + rx)] = k2.data[i * k2.kw + j];
  return { kh, kw, data };
}

/**
 * scipy.ndimage's C core (scipy 1.10.1 scipy/ndimage/src/ni_filters.c and ni_support.c) in
 * TypeScript: the 1-D correlation and uniform filter that run line by line through a float64
 * line buffer, and the N-D correlation. Each computes its sums in double in the same order as the
 * C code and stores every result with a C cast into the output dtype (numpy.ts cCast), so float64
 * results are bit-identical and integer outputs are truncated and wrapped exactly as scipy does.
 *
 * Arrays: an Image is seen as the numpy array its file holds, (H, W) for one channel and (H, W, C)
 * otherwise (files hold HWC, as numpy does), so axis 0 is y, axis 1 is x and axis 2 the channel.
 * Scalar parameters apply to every axis of that array, as in scipy: a 3-channel image is a 3-D
 * array and scipy filters across its channels too unless told otherwise (sigma=(s, s, 0)).
 */
import { KernelLearnError } from '../../errors.js';
import { createImage, type Depth, type Image } from '../../image.js';
import { type BorderMode, borderIndexTable } from '../border.js';
import { cCast } from './numpy.js';

/** scipy.ndimage's boundary modes for filters. The grid-* names are aliases in the filters (ni_support.c). */
export type NdMode = 'reflect' | 'mirror' | 'nearest' | 'wrap' | 'constant' | 'grid-mirror' | 'grid-wrap' | 'grid-constant';
export const ND_MODES: readonly NdMode[] = ['reflect', 'mirror', 'nearest', 'wrap', 'constant', 'grid-mirror', 'grid-wrap', 'grid-constant'];

/**
 * The OpenCV border each scipy mode equals for filters (NI_ExtendLine and NI_InitFilterOffsets):
 * reflect = grid-mirror = BORDER_REFLECT (dcba|abcd|dcba), mirror = BORDER_REFLECT_101
 * (dcb|abcd|cba; a 1-pixel line repeats), nearest = BORDER_REPLICATE, wrap = grid-wrap =
 * BORDER_WRAP, constant = grid-constant = BORDER_CONSTANT with cval.
 */
export const BORDER_OF_MODE: Readonly<Record<NdMode, BorderMode>> = {
  reflect: 'reflect',
  'grid-mirror': 'reflect',
  mirror: 'reflect101',
  nearest: 'replicate',
  wrap: 'wrap',
  'grid-wrap': 'wrap',
  constant: 'constant',
  'grid-constant': 'constant',
};

export function isNdMode(s: unknown): s is NdMode {
  return typeof s === 'string' && (ND_MODES as readonly string[]).includes(s);
}

/** A numpy array of dtype `dtype`, values held as float64 (each exactly representable in dtype). */
export interface NdArray {
  shape: number[];
  /** In elements. */
  strides: number[];
  dtype: Depth;
  data: Float64Array;
}

/** The Image as its numpy array (shares no memory with it). */
export function ndFromImage(image: Image): NdArray {
  const { width: w, height: h, channels: c } = image;
  const data = Float64Array.from(image.data);
  if (c === 1) return { shape: [h, w], strides: [w, 1], dtype: image.depth, data };
  return { shape: [h, w, c], strides: [w, 1, w * h], dtype: image.depth, data };
}

/** Back to an Image (planar storage is how ndFromImage laid the array out). */
export function ndToImage(a: NdArray): Image {
  const [h, w, c = 1] = a.shape;
  const out = createImage(w, h, c, a.dtype);
  out.data.set(a.data);
  return out;
}

/** A zeroed array of the same shape and layout. */
export function ndLike(a: NdArray, dtype: Depth): NdArray {
  return { shape: a.shape.slice(), strides: a.strides.slice(), dtype, data: new Float64Array(a.data.length) };
}

/** Every sample through cCast into `dtype` (numpy's astype, and scipy's `output[...] = input`). */
export function ndAsType(a: NdArray, dtype: Depth): NdArray {
  const out = ndLike(a, dtype);
  for (let i = 0; i < a.data.length; i++) out.data[i] = cCast(a.data[i], dtype);
  return out;
}

function fail(message: string): never {
  throw new KernelLearnError(message);
}

/** numpy's normalize_axis_index: -ndim <= axis < ndim, negative counts from the end. */
export function normalizeAxis(axis: number, ndim: number, what: string): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= ndim) fail(`${what}: axis ${axis} is out of bounds for an array of dimension ${ndim}`);
  return axis < 0 ? axis + ndim : axis;
}

/** scipy's _normalize_sequence: a scalar for every axis, or a sequence of exactly ndim values. */
export function normalizeSequence<T>(v: T | readonly T[], ndim: number, name: string, what: string): T[] {
  if (!Array.isArray(v)) return new Array<T>(ndim).fill(v as T);
  if (v.length !== ndim) fail(`${what}: ${name} has ${v.length} values; a sequence needs one per axis (${ndim} for this image)`);
  return (v as readonly T[]).slice();
}

/** Calls fn with the offset of the first sample of every line along `axis`, in C order of the other axes. */
function forEachLine(a: NdArray, axis: number, fn: (base: number) => void): void {
  const others = a.shape.map((_, i) => i).filter((i) => i !== axis);
  const idx = new Array<number>(others.length).fill(0);
  const count = others.reduce((n, i) => n * a.shape[i], 1);
  for (let line = 0; line < count; line++) {
    let base = 0;
    for (let k = 0; k < others.length; k++) base += idx[k] * a.strides[others[k]];
    fn(base);
    for (let k = others.length - 1; k >= 0; k--) {
      if (++idx[k] < a.shape[others[k]]) break;
      idx[k] = 0;
    }
  }
}

/**
 * The line buffer of NI_ArrayToLineBuffer + NI_ExtendLine: the line's values as doubles with
 * `before` and `after` samples of border added. The mode's index table equals NI_ExtendLine's
 * copies for every length (including borders longer than the line), so it is built once per axis.
 */
class LineBuffer {
  readonly buf: Float64Array;
  private readonly table: Int32Array;
  constructor(
    private readonly a: NdArray,
    private readonly axis: number,
    before: number,
    after: number,
    mode: NdMode,
    private readonly cval: number,
  ) {
    const len = a.shape[axis];
    this.table = borderIndexTable(len, before, after, BORDER_OF_MODE[mode]);
    this.buf = new Float64Array(this.table.length);
  }
  load(base: number): Float64Array {
    const { table, buf, cval } = this;
    const stride = this.a.strides[this.axis];
    const data = this.a.data;
    for (let i = 0; i < table.length; i++) buf[i] = table[i] < 0 ? cval : data[base + table[i] * stride];
    return buf;
  }
}

/** Writes one computed line into `out` with the C cast of NI_LineBufferToArray. */
function storeLine(out: NdArray, axis: number, base: number, line: Float64Array): void {
  const stride = out.strides[axis];
  for (let i = 0; i < line.length; i++) out.data[base + i * stride] = cCast(line[i], out.dtype);
}

/**
 * How NI_Correlate1D sums an odd kernel: symmetric (w[c+i] == w[c-i] within DBL_EPSILON) and
 * antisymmetric kernels pair the samples first, using the left half of the weights.
 */
function symmetryOf(w: ArrayLike<number>): 1 | -1 | 0 {
  const n = w.length;
  if (!(n & 1)) return 0;
  const c = n >> 1;
  let sym = true;
  for (let i = 1; i <= c && sym; i++) if (Math.abs(w[c + i] - w[c - i]) > Number.EPSILON) sym = false;
  if (sym) return 1;
  for (let i = 1; i <= c; i++) if (Math.abs(w[c + i] + w[c - i]) > Number.EPSILON) return 0;
  return -1;
}

/**
 * NI_Correlate1D: out[i] = sum_k w[k] * x[i + k - (n//2 + origin)] along `axis`, in the C code's
 * order: symmetric kernels x[c]*w[c] + sum_{j=-c..-1} (x[c+j] + x[c-j]) * w[c+j] (antisymmetric:
 * the difference); any other kernel starts with the last tap and adds the others from the first.
 * The caller checks -(n//2) <= origin <= (n-1)//2, as scipy's correlate1d does.
 */
export function correlate1dCore(input: NdArray, weights: ArrayLike<number>, axis: number, mode: NdMode, cval: number, origin: number, dtype: Depth): NdArray {
  const n = weights.length;
  const size1 = n >> 1;
  const size2 = n - size1 - 1;
  const len = input.shape[axis];
  const sym = symmetryOf(weights);
  const out = ndLike(input, dtype);
  const lines = new LineBuffer(input, axis, size1 + origin, size2 - origin, mode, cval);
  const line = new Float64Array(len);
  forEachLine(input, axis, (base) => {
    const x = lines.load(base);
    for (let l = 0; l < len; l++) {
      const c = l + size1; // x[c + j] is the sample under weights[size1 + j]
      let s: number;
      if (sym !== 0) {
        s = x[c] * weights[size1];
        for (let j = -size1; j < 0; j++) s += (sym > 0 ? x[c + j] + x[c - j] : x[c + j] - x[c - j]) * weights[size1 + j];
      } else {
        s = x[c + size2] * weights[size1 + size2];
        for (let j = -size1; j < size2; j++) s += x[c + j] * weights[size1 + j];
      }
      line[l] = s;
    }
    storeLine(out, axis, base, line);
  });
  return out;
}

/**
 * NI_UniformFilter1D: a running mean over `size` samples starting size//2 + origin before each
 * output, as scipy 1.10's C code computes it: a running sum (the first window summed left to
 * right, then `sum += entering - leaving`), each output that sum / size. For integer-valued
 * input the sum stays exact, so only the division rounds.
 */
export function uniformFilter1dCore(input: NdArray, size: number, axis: number, mode: NdMode, cval: number, origin: number, dtype: Depth): NdArray {
  const size1 = size >> 1;
  const size2 = size - size1 - 1;
  const len = input.shape[axis];
  const out = ndLike(input, dtype);
  const lines = new LineBuffer(input, axis, size1 + origin, size2 - origin, mode, cval);
  const line = new Float64Array(len);
  forEachLine(input, axis, (base) => {
    const x = lines.load(base);
    let sum = 0;
    for (let i = 0; i < size; i++) sum += x[i];
    line[0] = sum / size;
    for (let l = 1; l < len; l++) {
      sum += x[l + size - 1] - x[l - 1];
      line[l] = sum / size;
    }
    storeLine(out, axis, base, line);
  });
  return out;
}

/** N-D weights, C order (last axis fastest), as numpy holds them. */
export interface NdWeights {
  shape: number[];
  data: Float64Array;
}

/**
 * NI_Correlate: out[i] = sum_k w[k] * x[i + k - (shape//2 + origin)] over every axis. Weights with
 * |w| <= DBL_EPSILON are dropped (the footprint), the rest summed from 0 in C order; a tap outside
 * the array under mode constant adds w * cval. Every output is cast to dtype.
 * We loop over taps outermost (each tap adds to every output's running sum): every output still
 * receives its terms in the same order from the same 0, so the sums are the C code's, bit for bit.
 * Not reproduced: scipy's mode 'reflect' offsets read outside the array when the kernel reaches an
 * exact multiple of 4x the axis length past the edge (NI_InitFilterOffsets); we keep reflecting.
 */
export function correlateNdCore(input: NdArray, weights: NdWeights, mode: NdMode, cval: number, origins: number[], dtype: Depth): NdArray {
  const ndim = input.shape.length;
  if (ndim < 1 || ndim > 3 || weights.shape.length !== ndim) throw new Error('correlateNdCore: 1 to 3 axes, weights with as many');
  const border = BORDER_OF_MODE[mode];
  // tables[a][i + k] = source index along axis a of output i under tap k (-1: outside, constant mode)
  const tables = input.shape.map((len, a) => {
    const orgn = (weights.shape[a] >> 1) + origins[a];
    return borderIndexTable(len, orgn, weights.shape[a] - 1 - orgn, border);
  });
  // Three loop levels, the contiguous x axis (stride 1) innermost; missing levels have length 1.
  const levels = input.shape.map((_, a) => a).sort((a, b) => input.strides[b] - input.strides[a]);
  while (levels.length < 3) levels.unshift(-1);
  const len = levels.map((a) => (a < 0 ? 1 : input.shape[a]));
  const stride = levels.map((a) => (a < 0 ? 0 : input.strides[a]));
  const offs = len.map((n) => new Int32Array(n));
  const acc = new Float64Array(input.data.length);
  const x = input.data;
  const k = new Array<number>(ndim).fill(0);
  for (let t = 0; t < weights.data.length; t++, nextIndex(k, weights.shape)) {
    const w = weights.data[t];
    if (!(Math.abs(w) > Number.EPSILON)) continue;
    for (let l = 0; l < 3; l++) {
      const a = levels[l];
      for (let i = 0; i < len[l]; i++) {
        const src = a < 0 ? 0 : tables[a][i + k[a]];
        offs[l][i] = src < 0 ? -1 : src * stride[l];
      }
    }
    const [o0, o1, o2] = offs;
    for (let i0 = 0; i0 < len[0]; i0++) {
      for (let i1 = 0; i1 < len[1]; i1++) {
        const at = i0 * stride[0] + i1 * stride[1];
        const src = o0[i0] + o1[i1];
        const outside = (o0[i0] | o1[i1]) < 0;
        for (let i2 = 0; i2 < len[2]; i2++) {
          acc[at + i2 * stride[2]] += w * (outside || o2[i2] < 0 ? cval : x[src + o2[i2]]);
        }
      }
    }
  }
  const out = ndLike(input, dtype);
  for (let i = 0; i < acc.length; i++) out.data[i] = cCast(acc[i], dtype);
  return out;
}

/** Advances a C-order multi-index within shape (the last axis fastest). */
function nextIndex(idx: number[], shape: readonly number[]): void {
  for (let a = shape.length - 1; a >= 0; a--) {
    if (++idx[a] < shape[a]) return;
    idx[a] = 0;
  }
}

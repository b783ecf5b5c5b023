/**
 * OpenCV's filter calls as a library beside scipy.ndimage, skimage.filters, Pillow and ImageMagick:
 * the reference filters of ops.ts (cv2.Sobel, Scharr, Laplacian, GaussianBlur, blur/boxFilter,
 * filter2D; see spec.ts) with a call string in cv2's own syntax and a search space, so that
 * `identify` treats all five libraries alike. The arithmetic is applyFilter's, unchanged.
 *
 * Call strings (tools/make_corpus.py prints the same text):
 *   cv2.Sobel(x, cv2.CV_16S, 1, 0, ksize=3)              ksize always shown; scale, delta, borderType
 *   cv2.Scharr(x, cv2.CV_32F, 0, 1)                      only when they differ from OpenCV's defaults
 *   cv2.Laplacian(x, cv2.CV_16S, ksize=1)                (1, 0, BORDER_REFLECT_101)
 *   cv2.GaussianBlur(x, (5, 5), 1.5)                     x.astype(np.float32) when the spec's depth is
 *   cv2.GaussianBlur(x, (0, 0), 1.3)                       not the input's (GaussianBlur keeps the depth)
 *   cv2.blur(x, (5, 5))                                  output depth = the input's; else
 *   cv2.boxFilter(x, cv2.CV_32F, (3, 3))                   boxFilter with its ddepth (normalize=True)
 *   cv2.filter2D(x, cv2.CV_8U, np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float32))
 *                                                        scale folded into the kernel (filter2D has none)
 */
import { type Depth, type Image } from '../../image.js';
import { type BorderMode } from '../border.js';
import { applyFilter } from '../ops.js';
import { resolveFilterSpec, type FilterSpec } from '../spec.js';
import { type SearchSpace, formatNumber } from './common.js';
import { NUMPY_DTYPE } from './numpy.js';

/** One OpenCV call: a FilterSpec (defaults are OpenCV's; depth defaults to f32 as in spec.ts). */
export type OpenCvSpec = { library: 'OpenCV' } & FilterSpec;

const CV_DEPTH: Readonly<Record<Depth, string>> = { u8: 'cv2.CV_8U', s16: 'cv2.CV_16S', u16: 'cv2.CV_16U', f32: 'cv2.CV_32F', f64: 'cv2.CV_64F' };
const CV_BORDER: Readonly<Record<BorderMode, string>> = {
  reflect101: 'cv2.BORDER_REFLECT_101',
  reflect: 'cv2.BORDER_REFLECT',
  replicate: 'cv2.BORDER_REPLICATE',
  constant: 'cv2.BORDER_CONSTANT',
  wrap: 'cv2.BORDER_WRAP',
};

/** The FilterSpec part of an OpenCV spec. */
export function filterSpecOf(spec: OpenCvSpec): FilterSpec {
  const { library: _library, ...rest } = spec;
  return rest;
}

/** The OpenCV call on an image: applyFilter, whose result has the spec's output depth. */
export function applyOpenCv(image: Image, spec: OpenCvSpec): Image {
  return applyFilter(image, filterSpecOf(spec));
}

/**
 * The call in cv2's syntax for an input `x` of depth `inputDepth` (default: the spec's own depth,
 * so GaussianBlur and blur print without a conversion). Numbers print as JavaScript and Python
 * both print them (shortest round trip).
 */
export function opencvCallString(spec: OpenCvSpec, inputDepth?: Depth): string {
  const s = resolveFilterSpec(filterSpecOf(spec));
  const f = formatNumber;
  const folded = s.op === 'kernel';
  let tail = '';
  if (s.scale !== 1 && !folded) tail += `, scale=${f(s.scale)}`;
  if (s.delta !== 0) tail += `, delta=${f(s.delta)}`;
  if (s.border !== 'reflect101') tail += `, borderType=${CV_BORDER[s.border]}`;
  const ddepth = CV_DEPTH[s.depth];
  const src = inputDepth ?? s.depth;
  switch (s.op) {
    case 'sobel':
      return `cv2.Sobel(x, ${ddepth}, ${s.dx}, ${s.dy}, ksize=${s.ksize}${tail})`;
    case 'scharr':
      return `cv2.Scharr(x, ${ddepth}, ${s.dx}, ${s.dy}${tail})`;
    case 'laplacian':
      return `cv2.Laplacian(x, ${ddepth}, ksize=${s.ksize}${tail})`;
    case 'gaussian': {
      const x = src === s.depth ? 'x' : `x.astype(np.${NUMPY_DTYPE[s.depth]})`;
      return `cv2.GaussianBlur(${x}, (${s.ksize}, ${s.ksize}), ${f(s.sigma)}${tail})`;
    }
    case 'box':
      return src === s.depth ? `cv2.blur(x, (${s.ksize}, ${s.ksize})${tail})` : `cv2.boxFilter(x, ${ddepth}, (${s.ksize}, ${s.ksize})${tail})`;
    case 'kernel': {
      const rows = s.kernel.map((r) => `[${r.map((v) => f(v * s.scale)).join(', ')}]`).join(', ');
      return `cv2.filter2D(x, ${ddepth}, np.array([${rows}], np.float32)${tail})`;
    }
  }
}

/** What a search enumerates and fits for each OpenCV call. */
export function opencvSearchSpace(): SearchSpace[] {
  const border = { kind: 'discrete', values: ['reflect101', 'reflect', 'replicate', 'constant'], default: 'reflect101', note: 'borderType; BORDER_WRAP is refused by these filters (but GaussianBlur on 8/16 bits)' } as const;
  const ddepth = { kind: 'discrete', values: ['u8', 's16', 'u16', 'f32', 'f64'], note: 'the output depth: the targets\' dtype decides it' } as const;
  const scale = { kind: 'continuous', min: -1e4, max: 1e4, scale: 'linear', default: 1, note: 'fitted by linear least squares with delta from the response at scale 1, then the simplest number that re-filters as well' } as const;
  const delta = { kind: 'continuous', min: -1e5, max: 1e5, scale: 'linear', default: 0 } as const;
  const op = (fn: string, params: SearchSpace['params'], note: string): SearchSpace => ({ library: 'OpenCV', fn, params: { ...params, border }, note });
  return [
    op('Sobel', { dx: { kind: 'discrete', values: [0, 1, 2] }, dy: { kind: 'discrete', values: [0, 1, 2] }, ksize: { kind: 'discrete', values: [1, 3, 5, 7], default: 3 }, scale, delta, ddepth }, 'orders below the aperture; dx + dy >= 1'),
    op('Scharr', { dx: { kind: 'discrete', values: [0, 1] }, dy: { kind: 'discrete', values: [0, 1] }, scale, delta, ddepth }, 'dx + dy == 1'),
    op('Laplacian', { ksize: { kind: 'discrete', values: [1, 3, 5, 7], default: 1 }, scale, delta, ddepth }, 'ksize 1 and 3 are 3x3 kernels'),
    op(
      'GaussianBlur',
      { ksize: { kind: 'discrete', values: [0, 3, 5, 7, 9, 11, 13, 15], note: '0: from sigma (cvRound(sigma * (u8 ? 3 : 4) * 2 + 1) | 1)' }, sigma: { kind: 'continuous', min: 0.3, max: 10, scale: 'log', note: '0 with ksize > 0: 0.3 ((ksize - 1) / 2 - 1) + 0.8' } },
      'no ddepth: the output has the input\'s depth (or the depth the input was converted to: x.astype(np.float32))',
    ),
    op('blur / boxFilter', { ksize: { kind: 'discrete', values: [2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15] }, ddepth }, 'normalize=True; even sizes anchor at ksize/2'),
    op('filter2D', { kernel: { kind: 'kernel', sizes: [3, 5], note: 'fitted by least squares, then snapped to integers over a small common denominator' }, delta, ddepth }, 'a correlation (no flip), anchor at the centre'),
  ];
}

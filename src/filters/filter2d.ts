/**
 * The plain reference correlation, in float64. Written for clarity, not speed: src/kernels/ holds
 * the fast versions and tests hold them equal to this.
 *
 *   out(c, y, x) = delta + scale * sum_{i,j} k[i][j] * src(c, B(y + i - ay), B(x + j - ax))
 *
 * B is cv::borderInterpolate for the border mode (a constant border reads 0), and the anchor
 * (ax, ay) defaults to (floor(kw/2), floor(kh/2)) as in cv::filter2D. This is correlation, not
 * convolution: the kernel is not flipped (cv2.filter2D, torch conv2d). Channels are filtered
 * independently, as OpenCV does for multi-channel images. Any image size works, including 1x1
 * and kernels larger than the image (borderInterpolate folds far-away indices back in).
 */
import { type Image } from '../image.js';
import { type BorderMode, borderIndexTable } from './border.js';
import { type Kernel2D } from './kernels.js';

export interface CorrelateOptions {
  border: BorderMode;
  /** Multiplies the sum (default 1). */
  scale?: number;
  /** Added after scaling (default 0). */
  delta?: number;
  /** Anchor inside the kernel; default (floor(kw/2), floor(kh/2)). */
  anchor?: { x: number; y: number };
}

function checkAnchor(ax: number, ay: number, kw: number, kh: number): void {
  if (!(Number.isInteger(ax) && Number.isInteger(ay) && ax >= 0 && ax < kw && ay >= 0 && ay < kh)) {
    throw new RangeError(`anchor (${ax}, ${ay}) is outside the ${kw}x${kh} kernel`);
  }
}

/** 2-D correlation of one plane (width x height, row-major) into `out`, float64 sums. */
export function correlatePlane(
  src: ArrayLike<number>,
  width: number,
  height: number,
  kernel: Kernel2D,
  border: BorderMode,
  out: Float64Array,
  anchorX = kernel.kw >> 1,
  anchorY = kernel.kh >> 1,
): void {
  const { kh, kw, data: k } = kernel;
  checkAnchor(anchorX, anchorY, kw, kh);
  // rowIdx[y + i] is the source row read for output row y and kernel row i (-1 = zero row).
  const rowIdx = borderIndexTable(height, anchorY, kh - 1 - anchorY, border);
  const colIdx = borderIndexTable(width, anchorX, kw - 1 - anchorX, border);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let i = 0; i < kh; i++) {
        const sy = rowIdx[y + i];
        if (sy < 0) continue;
        const base = sy * width;
        for (let j = 0; j < kw; j++) {
          const sx = colIdx[x + j];
          if (sx >= 0) s += k[i * kw + j] * src[base + sx];
        }
      }
      out[y * width + x] = s;
    }
  }
}

/** 1-D correlation along each row (the row pass of a separable filter): correlatePlane with a 1 x n kernel. */
export function correlateRowsPlane(src: ArrayLike<number>, width: number, height: number, kx: ArrayLike<number>, border: BorderMode, out: Float64Array, anchor = kx.length >> 1): void {
  correlatePlane(src, width, height, { kh: 1, kw: kx.length, data: Float64Array.from(kx) }, border, out, anchor, 0);
}

/** 1-D correlation down each column (the column pass of a separable filter): correlatePlane with an n x 1 kernel. */
export function correlateColsPlane(src: ArrayLike<number>, width: number, height: number, ky: ArrayLike<number>, border: BorderMode, out: Float64Array, anchor = ky.length >> 1): void {
  correlatePlane(src, width, height, { kh: ky.length, kw: 1, data: Float64Array.from(ky) }, border, out, 0, anchor);
}

function finish(out: Float64Array, scale: number, delta: number): void {
  if (scale === 1 && delta === 0) return;
  for (let i = 0; i < out.length; i++) out[i] = out[i] * scale + delta;
}

function planes(image: Image): { plane: number; out: Image } {
  const plane = image.width * image.height;
  const out: Image = {
    width: image.width,
    height: image.height,
    channels: image.channels,
    depth: 'f64',
    data: new Float64Array(plane * image.channels),
  };
  return { plane, out };
}

/** cv::filter2D in float64: 2-D correlation of every channel; result depth f64. */
export function correlate(image: Image, kernel: Kernel2D, opts: CorrelateOptions): Image {
  const { plane, out } = planes(image);
  const ax = opts.anchor?.x ?? kernel.kw >> 1;
  const ay = opts.anchor?.y ?? kernel.kh >> 1;
  const dst = out.data as Float64Array;
  for (let c = 0; c < image.channels; c++) {
    const src = image.data.subarray(c * plane, (c + 1) * plane);
    correlatePlane(src, image.width, image.height, kernel, opts.border, dst.subarray(c * plane, (c + 1) * plane), ax, ay);
  }
  finish(dst, opts.scale ?? 1, opts.delta ?? 0);
  return out;
}

/**
 * cv::sepFilter2D in float64: the row pass with kx, then the column pass with ky (the 2-D kernel
 * is ky (x) kx). With float64 intermediates the order does not change the result beyond rounding;
 * it is kept for parity with OpenCV's FilterEngine. Result depth f64.
 */
export function correlateSeparable(image: Image, ky: ArrayLike<number>, kx: ArrayLike<number>, opts: CorrelateOptions): Image {
  const { plane, out } = planes(image);
  const ax = opts.anchor?.x ?? kx.length >> 1;
  const ay = opts.anchor?.y ?? ky.length >> 1;
  const dst = out.data as Float64Array;
  const tmp = new Float64Array(plane);
  for (let c = 0; c < image.channels; c++) {
    const src = image.data.subarray(c * plane, (c + 1) * plane);
    correlateRowsPlane(src, image.width, image.height, kx, opts.border, tmp, ax);
    correlateColsPlane(tmp, image.width, image.height, ky, opts.border, dst.subarray(c * plane, (c + 1) * plane), ay);
  }
  finish(dst, opts.scale ?? 1, opts.delta ?? 0);
  return out;
}

/**
 * Sample depths and OpenCV's cv::saturate_cast.
 *
 * OpenCV rounds with cvRound, which on x86-64 is the SSE2 instruction cvtsd2si under the default
 * rounding mode: round half to even (0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> -0). A value whose
 * rounded result does not fit an int32 (and NaN, and +-Infinity) becomes the "integer indefinite"
 * INT_MIN, which then saturates to the low end of the target range: saturate_cast<uchar>(NaN) and
 * saturate_cast<uchar>(1e10) are both 0 on x86, not 255. We reproduce that rather than "fix" it,
 * because these filters are the ground truth for OpenCV-made datasets. The golden tests pin the
 * half-to-even behaviour (tools/make_golden.py).
 */
import { createImage, INTEGER_RANGE, type Depth, type Image } from '../image.js';

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/** Round half to even, the IEEE default rounding (what lrint/cvtsd2si do). Exact for every double. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // rounds half up: 2.5 -> 3, -2.5 -> -2
  // Math.round(x) - x is exactly 0.5 only at a tie (the subtraction is exact there); then pick the even neighbour.
  if (r - x === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/** cv::cvRound on x86-64: half to even, INT_MIN when the result is not a representable int32. */
export function cvRound(x: number): number {
  if (!Number.isFinite(x)) return INT_MIN;
  const r = roundHalfEven(x);
  // + 0 turns -0 (from -0.5 or -0.3) into 0: an int has no negative zero.
  return r > INT_MAX || r < INT_MIN ? INT_MIN : r + 0;
}

/**
 * cv::saturate_cast<T>(value) for a value computed in float or double.
 *   u8/s16/u16: cvRound, then clamp to the range.
 *   f32: the nearest float32 (a C++ (float) cast; out-of-range values become +-Infinity).
 *   f64: unchanged.
 * Integer inputs (already whole) go through unchanged apart from the clamp, as in OpenCV.
 */
export function saturateCast(value: number, depth: Depth): number {
  return castTo(value, depth, (v, d) => {
    const [lo, hi] = INTEGER_RANGE[d];
    const r = cvRound(v);
    return r < lo ? lo : r > hi ? hi : r;
  });
}

/**
 * A double stored at `depth`: unchanged for f64, the nearest float32 for f32 (a C++ (float) cast),
 * and `toInteger`'s rule for the integer depths (where libraries differ: OpenCV saturates, C wraps).
 */
export function castTo(value: number, depth: Depth, toInteger: (v: number, depth: 'u8' | 's16' | 'u16') => number): number {
  if (depth === 'f64') return value;
  if (depth === 'f32') return Math.fround(value);
  return toInteger(value, depth);
}

/**
 * Mat::convertTo(dst, depth) without scale: every sample through saturateCast. Converting to the
 * image's own depth still copies (callers may mutate the result).
 */
export function convertDepth(image: Image, depth: Depth): Image {
  const out = createImage(image.width, image.height, image.channels, depth);
  const src = image.data;
  const dst = out.data;
  if (depth === 'f64' || depth === 'f32') {
    dst.set(src); // Float32Array.set rounds to nearest float32 exactly like saturate_cast<float>
  } else {
    for (let i = 0; i < src.length; i++) dst[i] = saturateCast(src[i], depth);
  }
  return out;
}

import { KernelLearnError } from '../errors.js';
import type { Image } from '../image.js';

/**
 * Refuses an image holding NaN or +-Infinity (only float files can): one bad value would turn a
 * fitted kernel, a loss or a whole output into NaN. The message names the file and the first bad
 * pixel in reading order, and how many there are.
 */
export function assertFinite(image: Image, file: string): void {
  const { width, height, channels, data } = image;
  if (image.depth !== 'f32' && image.depth !== 'f64') return; // integer samples are always finite
  if (allFinite(data)) return;
  const plane = width * height;
  let first = -1;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) {
      // NaN - NaN and Inf - Inf are NaN; every finite v gives 0.
      count++;
      if (first < 0 || pixelOrder(i, plane, channels) < pixelOrder(first, plane, channels)) first = i;
    }
  }
  if (first < 0) return;
  const c = Math.floor(first / plane);
  const p = first - c * plane;
  const x = p % width;
  const y = Math.floor(p / width);
  const v = data[first];
  const what = Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  throw new KernelLearnError(
    `${file}: pixel (x=${x}, y=${y}${channels > 1 ? `, channel ${c}` : ''}) is ${what}` +
      `${count > 1 ? ` (${count} non-finite values in all)` : ''}; replace NaN and Inf (e.g. numpy.nan_to_num) and save the file again`,
  );
}

/**
 * True when every value is finite: v * 0 is (+-)0 for finite v and NaN for NaN and +-Infinity, so
 * the sums stay 0 exactly when all are finite. Four independent sums and no branch per value run
 * 2-3x faster than testing each value (the streaming apply checks every input band).
 */
function allFinite(data: ArrayLike<number>): boolean {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const n4 = data.length & ~3;
  for (let i = 0; i < n4; i += 4) {
    s0 += data[i] * 0;
    s1 += data[i + 1] * 0;
    s2 += data[i + 2] * 0;
    s3 += data[i + 3] * 0;
  }
  for (let i = n4; i < data.length; i++) s0 += data[i] * 0;
  return s0 + s1 + s2 + s3 === 0;
}

/** Position in reading order (row by row, channels of a pixel together), as a file stores them. */
function pixelOrder(i: number, plane: number, channels: number): number {
  const c = Math.floor(i / plane);
  return (i - c * plane) * channels + c;
}

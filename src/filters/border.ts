/**
 * Border modes with OpenCV's semantics (cv::borderInterpolate). Names are OpenCV's, lower-cased:
 *   reflect101  gfedcb|abcdefgh|gfedcba   (BORDER_REFLECT_101, OpenCV's BORDER_DEFAULT)
 *   reflect     fedcba|abcdefgh|hgfedcb   (BORDER_REFLECT)
 *   replicate   aaaaaa|abcdefgh|hhhhhhh   (BORDER_REPLICATE)
 *   constant    000000|abcdefgh|0000000   (BORDER_CONSTANT with value 0)
 *   wrap        cdefgh|abcdefgh|abcdefg   (BORDER_WRAP)
 */
export type BorderMode = 'reflect101' | 'reflect' | 'replicate' | 'constant' | 'wrap';
export const BORDER_MODES: readonly BorderMode[] = ['reflect101', 'reflect', 'replicate', 'constant', 'wrap'];

export function isBorderMode(s: string): s is BorderMode {
  return (BORDER_MODES as readonly string[]).includes(s);
}

/**
 * Maps a coordinate outside [0, len) to the source index it reads, or -1 for a constant border.
 * A line-for-line port of cv::borderInterpolate, including its loop for kernels wider than the image.
 */
export function borderInterpolate(p: number, len: number, mode: BorderMode): number {
  if (p >= 0 && p < len) return p;
  switch (mode) {
    case 'replicate':
      return p < 0 ? 0 : len - 1;
    case 'reflect':
    case 'reflect101': {
      const delta = mode === 'reflect101' ? 1 : 0;
      if (len === 1) return 0;
      do {
        if (p < 0) p = -p - 1 + delta;
        else p = len - 1 - (p - len) - delta;
      } while (p < 0 || p >= len);
      return p;
    }
    case 'wrap':
      if (p < 0) p -= Math.trunc((p - len + 1) / len) * len;
      if (p >= len) p %= len;
      return p;
    case 'constant':
      return -1;
  }
}

/**
 * Source indices for a padded line: entry i is the index read for coordinate i - before,
 * for i in [0, len + before + after). -1 marks a constant (zero) sample.
 */
export function borderIndexTable(len: number, before: number, after: number, mode: BorderMode): Int32Array {
  const table = new Int32Array(len + before + after);
  for (let i = 0; i < table.length; i++) table[i] = borderInterpolate(i - before, len, mode);
  return table;
}

import type { Image, Rect } from '../image.js';

/** One training example: an input image and the same image after the filter to learn. */
export interface ImagePair {
  /** The file name without folder and extension; inputs and targets are paired by it. */
  stem: string;
  input: Image;
  target: Image;
  inputFile?: string;
  targetFile?: string;
  /**
   * The rectangle of the target that holds the filter's output, when only part of it does: a
   * target of another size placed in its input's frame (train/align.ts). Absent: all of it.
   */
  known?: Rect;
}

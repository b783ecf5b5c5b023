import type { Image } from '../image.js';

/** One training example: an input image and the same image after the filter to learn. */
export interface ImagePair {
  /** The file name without folder and extension; inputs and targets are paired by it. */
  stem: string;
  input: Image;
  target: Image;
  inputFile?: string;
  targetFile?: string;
}

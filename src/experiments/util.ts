import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { syntheticImages } from '../data/synthetic.js';
import type { Model } from '../nn/model.js';
import { trainFilter } from '../train/index.js';
import type { ImagePair } from '../data/pairs.js';
import { applyFilter } from '../filters/ops.js';
import type { FilterSpec } from '../filters/spec.js';
import type { Image } from '../image.js';

export const SOBEL_DX: FilterSpec = { op: 'sobel', dx: 1, dy: 0, ksize: 3 };

/** Sobel dx's taps, row by row (what cv2.Sobel(dx=1, dy=0, ksize=3) correlates with). */
export const SOBEL_TAPS = [-1, 0, 1, -2, 0, 2, -1, 0, 1];

/** Largest |tap - Sobel dx's tap| of a 3x3 kernel given row by row. */
export const sobelKernelError = (w: ArrayLike<number>): number => Math.max(...SOBEL_TAPS.map((s, i) => Math.abs(w[i]! - s)));

export function pairsFor(images: Image[], spec: FilterSpec): ImagePair[] {
  return images.map((input, i) => ({ stem: `img${i}`, input, target: applyFilter(input, spec) }));
}

/** Largest |a - b| over all samples (same shapes). */
export function maxAbsDiff(a: Image, b: Image): number {
  if (a.data.length !== b.data.length) throw new Error('maxAbsDiff: shapes differ');
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  return m;
}

/** Largest |target| (to state errors relative to the signal). */
export function maxAbs(a: Image): number {
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]!));
  return m;
}

/** The Sobel dx model the size experiments share: exact fit on four 64x64 synthetic images. */
export function trainSobelOnCrops(): Model {
  return trainFilter(pairsFor(syntheticImages(4, { width: 64, height: 64, seed: 0 }), SOBEL_DX), { arch: 'linear', ksize: 3, solver: 'exact', border: 'auto', seed: 0 }).model;
}

export const ms = (t0: number): number => Math.round((performance.now() - t0) * 10) / 10;

/** The package root, from dist/src/experiments/ (or src/experiments/ under a TS loader). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return dir;
}

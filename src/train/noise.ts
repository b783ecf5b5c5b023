/**
 * The noise a perfect fit still leaves: the yardstick of every "is this better, or only noise?"
 * rule in the trainer (the kernel size, one kernel for every colour channel, a snapped kernel).
 *
 * Targets are stored with finite precision. Integer targets carry their rounding: uniform noise of
 * step^2 / 12 per pixel (step 1 for u8/u16/s16), and two fits that each carry it differ by up to
 * twice that. Float32 targets carry ~1e-15 of their mean square after an exact fit (the relative
 * term). A candidate whose held-out MSE is within `noiseFloor` of another's is no better.
 */

import type { Image } from '../image.js';
import type { GramStats } from '../kernels/gram.js';

/** Quantisation step of a target depth: 1 for integer depths (and 'mixed' ones), 0 for float. */
export function depthStep(depth: string): number {
  return depth === 'u8' || depth === 'u16' || depth === 's16' || depth === 'mixed' ? 1 : 0;
}

/** max(1e-12 * mean(y^2), 2 * step^2 / 12): see the header. */
export function noiseFloor(meanSquare: number, step: number): number {
  return Math.max(1e-12 * meanSquare, (2 * step * step) / 12);
}

/**
 * The noise allowance of --ksize auto (support.ts): max(1e-12 * mean(y^2), 0.1 * step^2 / 12). A
 * size is worth it while it takes off more than a tenth of the targets' rounding noise; nested
 * fits on the same pixels differ by far less than the rounding noise itself.
 */
export function sizeFloor(meanSquare: number, step: number): number {
  return Math.max(1e-12 * meanSquare, (0.1 * step * step) / 12);
}

/** Mean square of every target pixel of the pairs (all channels). */
export function meanSquare(pairs: { target: Image }[]): number {
  let sum = 0;
  let n = 0;
  for (const p of pairs) for (const v of p.target.data) (sum += v * v), n++;
  return n > 0 ? sum / n : 0;
}

/** Mean square of the targets behind Gram statistics (over pixels and output channels). */
export function statsMeanSquare(st: GramStats): number {
  let meanSq = 0;
  for (let o = 0; o < st.cout; o++) meanSq += st.yty[o] / (st.n * st.cout);
  return meanSq;
}

/**
 * The residual one fit leaves at best (not the difference of two): step^2 / 12 + 1e-11 * mean(y^2),
 * the floor the residual diagnosis compares with (diagnostics.ts).
 */
export function residualFloor(meanSquare: number, step: number): number {
  return (step * step) / 12 + 1e-11 * meanSquare;
}

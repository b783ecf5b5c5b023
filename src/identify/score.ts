/**
 * How a re-filtered image is compared with its target, and the sets of pixels a search compares.
 *
 * The rule (docs/identify.md): a pixel matches when it is the target's value exactly (integer
 * targets: u8, s16, u16) or within FLOAT_TOLERANCE of the targets' peak |value| (float targets:
 * f32, f64; the libraries' float arithmetic is reproduced to the last bit in most calls, OpenCV's
 * SIMD sums to ~1e-7 relative). `fraction` is the share of matching samples; `maxAbsError` the
 * largest |re-filtered - target|.
 */
import { KernelLearnError } from '../errors.js';
import { cropImage, integerRange, type Depth, type Image } from '../image.js';
import { applyLibraryCall, type LibrarySpec } from '../filters/libraries/index.js';

/** Float targets: a sample matches within this share of the largest |target| over all pairs. */
export const FLOAT_TOLERANCE = 1e-6;

export interface Score {
  /** Share of compared samples that match (see the header). */
  fraction: number;
  maxAbsError: number;
  mse: number;
  samples: number;
}

/** What "match" means for these targets: an absolute tolerance (0 for integer targets). */
export interface Comparison {
  depth: Depth;
  integer: boolean;
  tolerance: number;
  /** The integer depth's limits (saturated samples), or null for floats. */
  range: { lo: number; hi: number } | null;
}

export function comparisonFor(targets: Image[]): Comparison {
  const depth = targets[0].depth;
  const range = integerRange(depth);
  let peak = 0;
  for (const t of targets) for (const v of t.data) peak = Math.max(peak, Math.abs(v));
  return { depth, integer: range !== null, tolerance: range ? 0 : FLOAT_TOLERANCE * peak, range };
}

/**
 * Re-filtered images and targets, compared on the samples at least `margin` pixels inside every
 * edge (margin 0: all of them), accumulated over every image.
 */
export function scoreImages(outs: Image[], targets: Image[], margin: number, cmp: Comparison): Score {
  let sse = 0;
  let worst = 0;
  let good = 0;
  let n = 0;
  for (let k = 0; k < outs.length; k++) {
    const { width: w, height: h, channels } = targets[k];
    const o = outs[k].data;
    const t = targets[k].data;
    for (let c = 0; c < channels; c++) {
      for (let y = margin; y < h - margin; y++) {
        for (let i = (c * h + y) * w + margin, end = (c * h + y) * w + w - margin; i < end; i++) {
          const e = Math.abs(o[i] - t[i]);
          if (e <= cmp.tolerance) good++;
          if (e > worst || e !== e) worst = e !== e ? Infinity : e;
          sse += e * e;
          n++;
        }
      }
    }
  }
  return { fraction: n > 0 ? good / n : 0, maxAbsError: worst, mse: n > 0 ? sse / n : Infinity, samples: n };
}

/** Better first: more matching samples, then the smaller largest error, then the smaller MSE. */
export function compareScores(a: Score, b: Score): number {
  return b.fraction - a.fraction || a.maxAbsError - b.maxAbsError || a.mse - b.mse;
}

/**
 * A set of pairs a search filters again and again: crops for the interior fit (`margin` keeps the
 * compared samples away from the crop's edges, where the border mode would decide), or whole
 * images (margin 0) for the border choice and the verification.
 */
export interface PixelSet {
  inputs: Image[];
  targets: Image[];
  margin: number;
}

/** Compared samples start this far inside a fit crop (kernels up to 2 * FIT_MARGIN + 1 wide see no crop edge). */
const FIT_MARGIN = 20;

/**
 * Crops of up to `count` pairs spread over the list: the centre `side` x `side` of each (96: enough
 * samples to tell calls apart, few enough to be quick), with a margin that leaves at least half of
 * each side to compare.
 */
export function fitSet(inputs: Image[], targets: Image[], count: number, side = 96): PixelSet {
  const picks = spread(inputs.length, count);
  const crop = (img: Image): Image => {
    const w = Math.min(img.width, side);
    const h = Math.min(img.height, side);
    return cropImage(img, (img.width - w) >> 1, (img.height - h) >> 1, w, h);
  };
  const cropped = picks.map((i) => crop(inputs[i]));
  const smallest = Math.min(...cropped.map((c) => Math.min(c.width, c.height)));
  return { inputs: cropped, targets: picks.map((i) => crop(targets[i])), margin: Math.min(FIT_MARGIN, Math.floor(smallest / 4)) };
}

/** Up to `count` whole pairs spread over the list (margin 0). */
export function wholeSet(inputs: Image[], targets: Image[], count = inputs.length): PixelSet {
  const picks = spread(inputs.length, count);
  return { inputs: picks.map((i) => inputs[i]), targets: picks.map((i) => targets[i]), margin: 0 };
}

function spread(n: number, count: number): number[] {
  if (count >= n) return Array.from({ length: n }, (_, i) => i);
  if (count === 1) return [n >> 1];
  return Array.from({ length: count }, (_, k) => Math.round((k * (n - 1)) / (count - 1)));
}

/**
 * The call re-filtering every input of the set, scored against the targets; null when the library
 * refuses the call for these images (an OpenCV depth pair it lacks, a kernel larger than Pillow
 * takes, ...): such a call cannot have made the targets.
 */
export function scoreCall(spec: LibrarySpec, set: PixelSet, cmp: Comparison): Score | null {
  const outs: Image[] = [];
  for (const x of set.inputs) {
    let y: Image;
    try {
      y = applyLibraryCall(x, spec);
    } catch (err) {
      if (err instanceof KernelLearnError) return null;
      throw err;
    }
    if (y.depth !== cmp.depth) return null;
    outs.push(y);
  }
  return scoreImages(outs, set.targets, set.margin, cmp);
}

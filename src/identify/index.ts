/**
 * identify: name the library call that made a set of targets from their inputs, in that library's
 * own syntax, and prove it by re-filtering every input with the call exactly (its dtype, rounding
 * and border) and counting the target samples it reproduces. docs/identify.md tells the story.
 *
 *   identifyPairs(pairs)        input/target pairs -> the calls that best re-make the targets
 *   identifyKernel(model)       a learned model's kernel -> the calls whose kernels are closest
 */
import type { ImagePair } from '../data/pairs.js';
import { KernelLearnError } from '../errors.js';
import { kernelRows } from '../filters/kernels.js';
import { learnGuide, fitSmallKernel, snapKernel } from './guide.js';
import { comparisonFor, fitSet, scoreCall, wholeSet, type Comparison, type PixelSet } from './score.js';
import { searchCalls, type IdentifiedCall, type SearchContext } from './search.js';
import { variantsFor, type FreeKernel } from './variants.js';

export { type IdentifiedCall } from './search.js';
export { FLOAT_TOLERANCE } from './score.js';
export { identifyKernel, type KernelMatch, type KernelIdentifyResult } from './kernel.js';

/** A call is named as the one that made the targets when it reproduces at least this share of their samples. */
export const MATCH_FRACTION = 0.999;

export interface IdentifyResult {
  /** The top candidate when it reproduces >= MATCH_FRACTION of the target samples, else null ("no known call"). */
  best: IdentifiedCall | null;
  /** Every call verified on all pairs, best evidence first (ties: the simpler call first). */
  candidates: IdentifiedCall[];
  /** trainFilter's exact least-squares kernel (rows) and bias: what a learner sees; null if it could not be fitted. */
  learned: LearnedKernel | null;
}

export interface LearnedKernel {
  kernel: number[][];
  bias: number;
  /**
   * When no call is named: how much of the targets cv2.filter2D with exactly this kernel and bias
   * re-makes (a free kernel, not a named call; absent when OpenCV lacks the dtype pair). High means
   * "a linear kernel, just not one a library names"; low means the filter is not a kernel.
   */
  filter2D?: { fraction: number; maxAbsError: number };
}

/** Pairs pulled apart and checked: one input depth, one target depth, inputs and targets alike in size and channels. */
function checkPairs(pairs: ImagePair[]): void {
  if (pairs.length === 0) throw new KernelLearnError('identify: no image pairs given');
  const first = pairs[0];
  for (const p of pairs) {
    const where = p.targetFile ?? p.stem;
    if (p.input.width !== p.target.width || p.input.height !== p.target.height) {
      throw new KernelLearnError(`${where}: is ${p.target.width}x${p.target.height} but its input is ${p.input.width}x${p.input.height}; identify compares each target with its re-filtered input, so they need the same size`);
    }
    if (p.input.channels !== p.target.channels) {
      throw new KernelLearnError(`${where}: has ${p.target.channels} channels but its input has ${p.input.channels}; the calls identify knows filter each channel into itself`);
    }
    if (p.input.depth !== first.input.depth || p.target.depth !== first.target.depth) {
      const [what, a, b] = p.input.depth !== first.input.depth ? ['inputs', p.input.depth, first.input.depth] : ['targets', p.target.depth, first.target.depth];
      throw new KernelLearnError(`${where}: the ${what} mix dtypes (${a} here, ${b} in ${first.stem}); one call gives one dtype: keep the ${what} of one run together`);
    }
  }
}

/** The small kernels the pairs fit (3x3 and 5x5, unsaturated samples), snapped to integers over a denominator. */
function freeKernels(fit: PixelSet, cmp: Comparison): FreeKernel[] {
  const out: FreeKernel[] = [];
  for (const n of [3, 5]) {
    const f = fitSmallKernel(fit, n, cmp);
    const snapped = f && snapKernel(f.kernel);
    if (!f || !snapped) continue;
    // An offset a person typed is a whole number (128) or a short decimal.
    const bias = Math.abs(f.bias - Math.round(f.bias)) < 0.25 ? Math.round(f.bias) + 0 : Number(f.bias.toFixed(2));
    if (!out.some((k) => JSON.stringify(k.weights) === JSON.stringify(snapped.weights) && k.denominator === snapped.denominator)) out.push({ ...snapped, bias });
  }
  return out;
}

/**
 * The library calls that best re-make the targets from the inputs, each verified on every pair.
 * Pairs must be input/target images of one size each (loadPairs gives them); 8-bit, 16-bit and
 * float dtypes as the files hold them.
 */
export function identifyPairs(pairs: ImagePair[]): IdentifyResult {
  checkPairs(pairs);
  const inputs = pairs.map((p) => p.input);
  const targets = pairs.map((p) => p.target);
  const inDepth = inputs[0].depth;
  const cmp = comparisonFor(targets);
  const fit = fitSet(inputs, targets, 3);
  const variants = variantsFor(inDepth, cmp.depth, freeKernels(fit, cmp));
  const guide = learnGuide(pairs);
  const quick = fitSet(inputs, targets, 1, 64);
  const negativeTargets = !inputs.some((x) => x.data.some((v) => v < 0)) && targets.some((t) => t.data.some((v) => v < 0));
  const ctx: SearchContext = { inDepth, cmp, guide, quick, fit, border: wholeSet(inputs, targets, 1), all: wholeSet(inputs, targets), negativeTargets };
  const candidates = searchCalls(variants, ctx);
  // Every library refused every call for this pair of dtypes (none of them gives such targets from such inputs).
  if (candidates.length === 0) throw new KernelLearnError(`${pairs[0].targetFile ?? pairs[0].stem}: no library call we know turns ${inDepth} inputs into ${cmp.depth} targets; check that the targets are a call's own output, in its own dtype`);
  const best = candidates.length > 0 && candidates[0].fraction >= MATCH_FRACTION ? candidates[0] : null;
  if (!guide) return { best, candidates, learned: null };
  const learned: LearnedKernel = { kernel: kernelRows(guide.kernel), bias: guide.bias };
  if (!best) {
    const score = scoreCall({ library: 'OpenCV', op: 'kernel', kernel: learned.kernel, delta: learned.bias, depth: cmp.depth }, ctx.all, cmp);
    if (score) learned.filter2D = { fraction: score.fraction, maxAbsError: score.maxAbsError };
  }
  return { best, candidates, learned };
}

/**
 * trainFilter: the one entry point the CLI, the browser app and the tests use to learn a filter
 * from image pairs.
 *
 *   1. Check the pairs (sizes, channels, finite values) and split off validation data.
 *   2. Gram statistics of the training pixels (valid region only), the exact least-squares
 *      kernel from them; with ksize 'auto', the smallest size that validates as well as the
 *      largest tried (see chooseKernelSize).
 *   3. solver adam / sgd: gradient descent on random crops, with the exact optimum as the
 *      certificate and stopping rule.
 *   4. border 'auto': the border mode whose predictions of the border pixels match the targets.
 *   5. Held-out metrics on whole images, warnings, and the model.
 */

import type { ImagePair } from '../data/pairs.js';
import { KernelLearnError, UsageError } from '../errors.js';
import { isBorderMode, type BorderMode } from '../filters/border.js';
import { gramStats, subGram, type GramStats } from '../kernels/gram.js';
import { Conv2d, Sequential } from '../nn/layers.js';
import { KERNEL_LEARN_VERSION, MODEL_FORMAT, MODEL_VERSION, type Conv2dSpec, type Model, type TrainingSummary } from '../nn/model.js';
import { lossFromStats, nestWeights, solveExact, targetVariance, type ExactSolution } from './exact.js';
import { chooseBorder, validationMetrics, type BorderChoice } from './evaluate.js';
import { regionImages, splitPairs, type Region } from './regions.js';
import { trainGd, convCoef, type HistoryEntry, type ProgressEvent } from './trainer.js';

export type { ProgressEvent, HistoryEntry } from './trainer.js';

export interface TrainOptions {
  /** 'linear': one convolution (with bias), the right network for any linear shift-invariant filter. */
  arch: 'linear';
  /** Odd kernel size, or 'auto' to find the filter's support (up to 9 x 9, bounded by the images). */
  ksize: number | 'auto';
  /** auto = exact for the linear arch. adam / sgd also solve exactly, as their certificate. */
  solver: 'auto' | 'exact' | 'adam' | 'sgd';
  border: BorderMode | 'auto';
  /** Seeds the validation split, the initial weights and the crops: same seed, same model bytes. */
  seed: number;
  /** Fit a bias (default true). */
  bias?: boolean;
  /** Gradient steps at most (default 5000). */
  maxSteps?: number;
  /** Validation evaluations (every 25 steps) without improvement before stopping (default 10). */
  patience?: number;
  /** Stop when the excess loss over the exact optimum, relative to the target variance, is below this (default 1e-12). */
  tolerance?: number;
  /** Share of pairs (or of the only image's longer side) held out (default 0.2). */
  validationFraction?: number;
  /** Gradient-descent learning rate in the internally scaled problem (defaults: see trainer.ts). */
  learningRate?: number;
  onProgress?: (e: ProgressEvent) => void;
}

export interface TrainResult {
  model: Model;
  history: HistoryEntry[];
  /** Training MSE of the exact least-squares optimum (linear arch). */
  exactLoss?: number;
  stopReason: string;
  steps: number;
  /** Wall time of the whole trainFilter call, in ms (not stored in the model: it would break byte-identical models). */
  trainMs: number;
  warnings: string[];
}

/** Largest kernel --ksize auto tries: covers Sobel/Laplacian 7 with a margin, at ~0.3 s of Gram per Mpx. */
export const AUTO_KSIZE_MAX = 9;
/** Condition number above which the images are called too flat to identify the kernel. */
export const CONDITION_WARNING = 1e8;
/** Validation R² below which the filter is called not linear shift-invariant. */
export const R2_WARNING = 0.99;

function checkPairs(pairs: ImagePair[]): { cin: number; cout: number } {
  if (pairs.length === 0) throw new KernelLearnError('no image pairs to train on');
  const first = pairs[0];
  const cin = first.input.channels;
  const cout = first.target.channels;
  for (const p of pairs) {
    const { input: i, target: t } = p;
    if (i.width !== t.width || i.height !== t.height) {
      throw new KernelLearnError(`${p.stem}: the input is ${i.width}x${i.height} but the target is ${t.width}x${t.height}; a target must have its input's size`);
    }
    if (i.channels !== cin) {
      throw new KernelLearnError(`${p.stem}: the input has ${i.channels} channels but ${first.stem}'s has ${cin}; all inputs need the same number of channels`);
    }
    if (t.channels !== cout) {
      throw new KernelLearnError(`${p.stem}: the target has ${t.channels} channels but ${first.stem}'s has ${cout}; all targets need the same number of channels`);
    }
    for (const [what, img] of [['input', i], ['target', t]] as const) {
      for (let k = 0; k < img.data.length; k++) {
        if (!Number.isFinite(img.data[k])) throw new KernelLearnError(`${p.stem}: the ${what} has a non-finite value (NaN or infinity); fix or remove that pair`);
      }
    }
  }
  return { cin, cout };
}

function checkOptions(o: TrainOptions): void {
  if (o.arch !== 'linear') throw new UsageError(`arch "${String(o.arch)}" is not supported; use linear`);
  if (o.ksize !== 'auto' && !(Number.isInteger(o.ksize) && o.ksize >= 1 && o.ksize % 2 === 1)) {
    throw new UsageError(`kernel size ${o.ksize}: use an odd size (1, 3, 5, ...) or auto`);
  }
  if (!['auto', 'exact', 'adam', 'sgd'].includes(o.solver)) throw new UsageError(`solver "${o.solver}": use auto, exact, adam or sgd`);
  if (o.border !== 'auto' && !isBorderMode(o.border)) throw new UsageError(`border "${o.border}": use auto or an OpenCV border mode`);
  const positive = (v: number | undefined, name: string, integer: boolean): void => {
    if (v !== undefined && !(v > 0 && (!integer || Number.isInteger(v)))) throw new UsageError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`);
  };
  positive(o.maxSteps, 'maxSteps', true);
  positive(o.patience, 'patience', true);
  positive(o.tolerance, 'tolerance', false);
  positive(o.learningRate, 'learningRate', false);
  if (o.validationFraction !== undefined && !(o.validationFraction > 0 && o.validationFraction < 1)) {
    throw new UsageError(`validationFraction must be between 0 and 1, got ${o.validationFraction}`);
  }
}

const minSide = (r: Region): number => Math.min(r.x1 - r.x0, r.y1 - r.y0);
const largestOddUpTo = (n: number): number => (n % 2 === 1 ? n : n - 1);

/**
 * --ksize auto: fit every odd size up to the largest on the same pixels (centred sub-blocks of
 * one Gram), then keep the smallest size whose validation MSE is within noise of the best:
 *   mse_k <= 1.01 * min_k mse_k + 1e-12 * mean(y^2)
 * The 1% covers sampling noise between nested fits on the same pixels; the absolute floor covers
 * the rounding floor of float32 targets (an exact fit of any size reaches it). Larger sizes can
 * only win by explaining real structure the smaller one misses.
 */
function chooseKernelSize(train: GramStats, val: GramStats | null): { k: number; candidates: { ksize: number; mse: number }[] } {
  const judge = val && val.n > 0 ? val : train;
  const candidates: { ksize: number; mse: number }[] = [];
  for (let k = 1; k <= train.kh; k += 2) {
    const sol = solveExact(subGram(train, k, k));
    candidates.push({ ksize: k, mse: lossFromStats(subGram(judge, k, k), sol.coef) });
  }
  let meanSq = 0;
  for (let o = 0; o < judge.cout; o++) meanSq += judge.yty[o] / (judge.n * judge.cout);
  const best = Math.min(...candidates.map((c) => c.mse));
  const k = candidates.find((c) => c.mse <= 1.01 * best + 1e-12 * meanSq)!.ksize;
  return { k, candidates };
}

const toF32 = (v: number): number => Math.fround(v) + 0; // + 0 turns -0 into 0

export function trainFilter(pairs: ImagePair[], options: TrainOptions): TrainResult {
  const t0 = performance.now();
  checkOptions(options);
  const { cin, cout } = checkPairs(pairs);
  const bias = options.bias ?? true;
  const solver = options.solver === 'auto' ? 'exact' : options.solver;
  const warnings: string[] = [];

  // 1. Split. The largest kernel we will fit sets how thin a band may be.
  const largestSide = Math.max(...pairs.map((p) => Math.min(p.input.width, p.input.height)));
  const kWanted = options.ksize === 'auto' ? Math.min(AUTO_KSIZE_MAX, largestOddUpTo(largestSide)) : options.ksize;
  const split = splitPairs(pairs, options.validationFraction ?? 0.2, options.seed, Math.max(kWanted, 1));
  const { train, val } = split;
  const trainFit = Math.max(...train.map(minSide));
  if (trainFit < kWanted) {
    const k = kWanted;
    throw new KernelLearnError(`the training images are too small for a ${k}x${k} kernel: at least one needs ${k}x${k} pixels (largest usable side: ${trainFit})`);
  }
  if (split.kind === 'none') warnings.push('no held-out data (one image, too small to cut a validation band): the validation metrics are on the training image');

  // 2. Exact solve (and the kernel size).
  const trainImgs = regionImages(train);
  const bigTrain = gramStats(trainImgs, kWanted, kWanted, bias);
  const bigVal = val.length > 0 ? gramStats(regionImages(val), kWanted, kWanted, bias) : null;
  let k = kWanted;
  let kernelSizeChoice: TrainingSummary['kernelSizeChoice'];
  if (options.ksize === 'auto') {
    const choice = chooseKernelSize(bigTrain, bigVal);
    k = choice.k;
    kernelSizeChoice = { chosen: k, candidates: choice.candidates };
    if (k === kWanted && kWanted > 1) warnings.push(`the chosen kernel size ${k} is the largest tried: the filter may reach further than ${k}x${k}`);
  }
  // For a fixed size, all training pixels count (the auto path compared sizes on a common region).
  const stats = options.ksize === 'auto' && k !== kWanted ? gramStats(trainImgs, k, k, bias) : bigTrain;
  const exact: ExactSolution = solveExact(stats);
  if (exact.conditionNumber > CONDITION_WARNING) {
    const cond = Number.isFinite(exact.conditionNumber) ? exact.conditionNumber.toExponential(1) : 'infinite';
    warnings.push(`the training images are too flat to identify a ${k}x${k} kernel (window correlation condition number ${cond}): some combinations of taps are guesses; train on images with more texture or noise`);
  }

  // 3. The weights: exact, or by gradient descent.
  let coef: Float64Array[] = exact.coef;
  let history: HistoryEntry[];
  let steps = 0;
  let stopReason = 'exact least-squares solve';
  if (solver === 'exact') {
    const valLoss = bigVal && bigVal.n > 0 ? lossFromStats(subGram(bigVal, k, k), exact.coef) : undefined;
    history = [{ step: 0, trainLoss: exact.loss, ...(valLoss !== undefined ? { valLoss } : {}) }];
    // One solve: reported once, as step 1 of 1 (history keeps step 0: no gradient steps were taken).
    options.onProgress?.({ solver, step: 1, maxSteps: 1, trainLoss: exact.loss, valLoss });
  } else {
    const net = new Sequential([new Conv2d({ inChannels: cin, outChannels: cout, kh: k, kw: k, bias })]);
    const gd = trainGd(net, train, val, {
      solver,
      seed: options.seed,
      maxSteps: options.maxSteps ?? 5000,
      patience: options.patience ?? 10,
      tolerance: options.tolerance ?? 1e-12,
      learningRate: options.learningRate,
      certificate: { stats, optimum: exact.coef, variance: targetVariance(stats) },
      onProgress: options.onProgress,
    });
    coef = convCoef(gd.convs[0], cout);
    history = gd.history;
    steps = gd.steps;
    stopReason = gd.stopReason;
  }

  // The model holds float32 weights (the network computes in float32); all judging uses them.
  const taps = cin * k * k;
  const flatW = new Float64Array(cout * taps);
  for (let o = 0; o < cout; o++) for (let f = 0; f < taps; f++) flatW[o * taps + f] = toF32(coef[o][f]);
  const flatB = bias ? coef.map((c) => toF32(c[taps])) : null;

  // 4. Border.
  let border: BorderMode;
  let borderChoice: BorderChoice | undefined;
  if (options.border === 'auto') {
    borderChoice = chooseBorder(train, flatW, flatB, cin, cout, k, k);
    border = borderChoice.chosen;
    if (borderChoice.borderPixels === 0 && k > 1) warnings.push('no border pixels to judge the border mode by: using reflect101');
  } else {
    border = options.border;
  }

  // 5. Model and metrics.
  const conv: Conv2dSpec = {
    type: 'conv2d',
    inChannels: cin,
    outChannels: cout,
    kernelSize: [k, k],
    weights: nestWeights(Array.from({ length: cout }, (_, o) => flatW.subarray(o * taps, (o + 1) * taps)), cout, cin, k, k),
    bias: flatB,
  };
  const depthOf = (d: string[]): string => (d.every((x) => x === d[0]) ? d[0] : 'mixed');
  const training: TrainingSummary = {
    pairs: pairs.length,
    pixels: pairs.reduce((s, p) => s + p.input.width * p.input.height, 0),
    inputDepth: depthOf(pairs.map((p) => p.input.depth)),
    targetDepth: depthOf(pairs.map((p) => p.target.depth)),
    solver,
    steps,
    stopReason,
    seed: options.seed,
    validation: {
      kind: split.kind,
      pairs: split.kind === 'pairs' ? val.length : 0,
      pixels: val.reduce((s, r) => s + (r.x1 - r.x0) * (r.y1 - r.y0), 0),
    },
    ...(kernelSizeChoice ? { kernelSizeChoice } : {}),
    ...(borderChoice ? { borderChoice } : {}),
    conditionNumber: exact.conditionNumber,
  };
  const model: Model = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    arch: options.arch,
    inputChannels: cin,
    outputChannels: cout,
    border,
    layers: [conv],
    training,
    metrics: { validation: { mse: 0, psnr: null, r2: 1 }, exactLoss: exact.loss },
    createdBy: `kernel-learn ${KERNEL_LEARN_VERSION}`,
  };
  const { targetVaries, ...metrics } = validationMetrics(model, val.length > 0 ? val : train);
  model.metrics.validation = metrics;
  const r2 = metrics.r2;
  if (r2 < R2_WARNING && targetVaries) {
    warnings.push(
      `validation R² is ${r2.toFixed(4)}: the filter does not look like a linear shift-invariant ${k}x${k} kernel (or the targets are noisy or saturated); the model reproduces it only approximately`,
    );
  }
  return { model, history, exactLoss: exact.loss, stopReason, steps, trainMs: performance.now() - t0, warnings };
}

/**
 * trainFilter: the one entry point the CLI, the browser app and the tests use to learn a filter
 * from image pairs.
 *
 *   1. Check the pairs (sizes, channels, finite values) and split off validation data.
 *   2. Gram statistics of the training pixels (valid region only), the exact least-squares
 *      kernel from them; with ksize 'auto', the smallest size that validates as well as the
 *      largest tried (support.ts). Colour: one shared kernel or full cross-channel kernels
 *      (options.channels). Output stages instead of a plain linear fit when asked: a clamp with
 *      a censored loss for saturated integer targets (censored.ts), abs or magnitude (abs.ts).
 *   3. solver adam / sgd: gradient descent on random crops, with the exact optimum as the
 *      certificate and stopping rule.
 *   4. border 'auto': the border mode whose predictions of the border pixels match the targets.
 *   5. Held-out metrics on whole images; the model's compact forms (forms.ts: separable, snapped;
 *      --arch separable and --snap store them); zero taps; the residual diagnosis (diagnostics.ts)
 *      and the warnings.
 *
 * arch 'auto' (chooseArch) runs the linear fit and, when its residual is more than rounding, the
 * output stages the data allows; arch 'deep' trains a conv-relu-conv stack (deep.ts).
 */

import type { ImagePair } from '../data/pairs.js';
import type { Image } from '../image.js';
import { KernelLearnError, UsageError } from '../errors.js';
import { BORDER_MODES, isBorderMode, type BorderMode } from '../filters/border.js';
import { gramStats, subGram, type GramCache, type GramPair, type GramStats } from '../kernels/gram.js';
import { Conv2d, Sequential } from '../nn/layers.js';
import { KERNEL_LEARN_VERSION, MODEL_FORMAT, MODEL_VERSION, serializeModel, type Conv2dSpec, type Model, type TrainingSummary } from '../nn/model.js';
import { coefStdErrors, excessLoss, lossFromStats, nestWeights, solveExact, targetVariance, type ExactSolution } from './exact.js';
import { formAccuracy, fullLayer, reportForms, separableLayers, withLayers, type FormReport } from './forms.js';
import { trainDeep } from './deep.js';
import { ABS_KSIZE_MAX, fitAbs, fitMagnitude, type MagnitudeFit } from './abs.js';
import { fitCensored, saturatedShare } from './censored.js';
import { integerRange } from '../image.js';
import { autoKsizeLimit, chooseKernelSize, chooseSizeByLoss, depthStep, findZeroTaps, type ZeroTaps } from './support.js';
import { diagnoseResidual, residualWarnings, type ResidualDiagnostics } from './diagnostics.js';
import { chooseBorder, memoPredict, validationMetrics, type BorderChoice } from './evaluate.js';
import { regionImages, splitPairs, type Region } from './regions.js';
import { trainGd, convCoef, type HistoryEntry, type ProgressEvent } from './trainer.js';

export type { ProgressEvent, HistoryEntry } from './trainer.js';

export interface TrainOptions {
  /**
   * 'linear': one convolution (with bias), the right network for any linear shift-invariant filter.
   * 'separable': the same fit stored as a rank-r sum of (kh x 1 then 1 x kw) convolutions, r chosen
   * from the kernel's singular values (see forms.ts).
   * 'auto': the linear fit, and when its residual is more than rounding (diagnostics.ts), the
   * output stages the data allows (clamp for saturated integer targets, abs and magnitude for
   * non-negative one-channel targets), keeping the one with the lowest held-out MSE if it at
   * least halves the linear one's (see chooseArch); `archChoice` says what was tried and why.
   * 'deep': conv (k x k, 8 channels) - relu - conv (3 x 3) trained by Adam, for filters that are
   * not linear (deep.ts); the linear fit's held-out MSE is reported beside it (forms).
   */
  arch: 'linear' | 'separable' | 'auto' | 'deep';
  /**
   * Store the kernel snapped to scale * integers when that is within noise of the fit and keeps the
   * held-out MSE (see forms.ts); otherwise the fitted kernel, with a warning. Default false.
   */
  snap?: boolean;
  /**
   * Colour (inputs and targets with the same channel count C > 1): 'full' fits every (out, in)
   * kernel (C x C kernels, cross-channel taps included; the default); 'shared' fits one kernel
   * applied to each channel alone, as OpenCV filters colour images (a 1-channel model, which
   * apply runs per channel); 'auto' takes 'shared' when it validates as well as 'full'
   * (MSE within 1.01 x full + the noise floor of --ksize auto), see channelChoice.
   */
  channels?: 'full' | 'shared' | 'auto';
  /**
   * Saturated integer targets (e.g. cv2.Sobel to CV_8U): 'auto' detects targets at the depth's
   * limits (>= 0.1% of pixels, one output channel) and fits conv + clamp with the censored loss
   * (exact solver; see censored.ts); 'off' (default) fits them as they are, and a warning
   * suggests 'auto' when saturation spoils the fit.
   */
  clamp?: 'auto' | 'off';
  /**
   * Fit y = |k * x + b| (then clamped to the depth's limits for integer targets): the targets of
   * cv2.convertScaleAbs. The kernel is found up to its sign (see abs.ts). One output channel,
   * exact solver, kernels up to 7x7 (auto: up to 5x5).
   */
  abs?: boolean;
  /**
   * Fit y = sqrt((a * x + ba)^2 + (b * x + bb)^2) (then clamped for integer targets): gradient
   * magnitude targets. A two-output conv and a magnitude stage; the pair is found up to a rotation
   * and reported in a canonical form (see abs.ts fitMagnitude). One target channel, exact solver,
   * kernels up to 7x7 (auto: up to 5x5).
   */
  magnitude?: boolean;
  /** Odd kernel size, or 'auto' to find the filter's support (up to 15 x 15, bounded by the images: see support.ts). */
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
  /** The taps of the fitted kernel that are zero within noise (see support.ts). */
  zeroTaps: ZeroTaps;
  /** Is the filter a linear shift-invariant kernel? Residual statistics (see diagnostics.ts). */
  diagnostics: ResidualDiagnostics;
  /** False when the images are too flat to identify the kernel (condition number above CONDITION_WARNING). */
  identifiable: boolean;
  /** Every model form (full, separable, snapped) with its size and held-out accuracy (see forms.ts). */
  forms: FormReport[];
  /** [kh, kw] of the fitted kernel (for separable models, of the kernel the two convs make). */
  kernelSize: [number, number];
  /** Colour data (C in = C out > 1): the held-out MSE of one shared kernel vs full cross-channel kernels, and the choice. */
  channelChoice?: { chosen: 'full' | 'shared'; fullMse: number; sharedMse: number; shareable: boolean };
  /** arch 'auto': the candidates tried (held-out MSE) and why the chosen one won. */
  archChoice?: { chosen: string; candidates: { arch: string; mse: number }[]; reason: string };
}

/** arch 'deep' (see TrainOptions.arch and deep.ts). */
function trainDeepFilter(pairs: ImagePair[], options: TrainOptions): TrainResult {
  const t0 = performance.now();
  const { cin, cout } = checkPairs(pairs);
  const warnings: string[] = [];
  const k = options.ksize === 'auto' ? 3 : options.ksize;
  const linear = trainLinear(pairs, { ...options, arch: 'linear', solver: 'exact', ksize: k + 2, onProgress: undefined }, { cin, cout });
  let solver: 'adam' | 'sgd' = options.solver === 'sgd' ? 'sgd' : 'adam';
  if (options.solver === 'exact') warnings.push('--arch deep has no exact solver: trained with adam');
  solver = solver === 'sgd' ? 'sgd' : 'adam';
  const split = splitPairs(pairs, options.validationFraction ?? 0.2, options.seed, k + 2);
  const { train, val } = split;
  if (Math.max(...train.map(minSide)) < k + 2) throw new KernelLearnError(`the training images are too small for --arch deep with ${k}x${k} kernels (receptive field ${k + 2}x${k + 2})`);
  const deep = trainDeep(train, val, {
    cin, cout, k, bias: options.bias ?? true, solver, seed: options.seed,
    maxSteps: options.maxSteps ?? 5000, patience: options.patience ?? 10, learningRate: options.learningRate, onProgress: options.onProgress,
  });
  const border: BorderMode = options.border === 'auto' ? 'reflect101' : options.border;
  if (options.border === 'auto') warnings.push('--arch deep does not detect the border mode: using reflect101');
  const depthOf = (d: string[]): string => (d.every((x) => x === d[0]) ? d[0] : 'mixed');
  const model: Model = {
    format: MODEL_FORMAT, version: MODEL_VERSION, arch: 'deep', inputChannels: cin, outputChannels: cout, border,
    layers: deep.layers,
    training: {
      pairs: pairs.length,
      pixels: pairs.reduce((s, p) => s + p.input.width * p.input.height, 0),
      inputDepth: depthOf(pairs.map((p) => p.input.depth)),
      targetDepth: depthOf(pairs.map((p) => p.target.depth)),
      solver, steps: deep.gd.steps, stopReason: deep.gd.stopReason, seed: options.seed,
      validation: { kind: split.kind, pairs: split.kind === 'pairs' ? val.length : 0, pixels: val.reduce((s, r) => s + (r.x1 - r.x0) * (r.y1 - r.y0), 0) },
    },
    metrics: { validation: { mse: 0, psnr: null, r2: 1 } },
    createdBy: `kernel-learn ${KERNEL_LEARN_VERSION}`,
  };
  const judge = val.length > 0 ? val : train;
  const { targetVaries: _tv, ...metrics } = validationMetrics(model, judge);
  model.metrics.validation = metrics;
  const acc = formAccuracy(model, judge);
  const deepForm: FormReport = { form: 'deep', params: deep.params, bytes: 4 * deep.params, fileBytes: new TextEncoder().encode(serializeModel(model)).length, ...acc };
  const linearMse = linear.forms[0].mse;
  if (!(acc.mse < linearMse)) warnings.push(`--arch deep: held-out MSE ${acc.mse.toPrecision(3)} is no better than the linear ${k + 2}x${k + 2} fit's ${linearMse.toPrecision(3)}: the filter may be linear (use --arch auto), or train longer (--max-steps)`);
  const diagnostics = diagnoseResidual(model, [...train, ...val], k + 2, k + 2, Math.max(...pairs.map((p) => depthStep(p.target.depth))));
  return {
    model, history: deep.gd.history, stopReason: deep.gd.stopReason, steps: deep.gd.steps, trainMs: performance.now() - t0, warnings,
    zeroTaps: { count: 0, of: 0, taps: [], mask: [] }, diagnostics, identifiable: linear.identifiable,
    forms: [{ ...linear.forms[0] }, deepForm], kernelSize: [k + 2, k + 2],
  };
}

/** arch 'auto' (see TrainOptions.arch). */
function chooseArch(pairs: ImagePair[], options: TrainOptions, shape: { cin: number; cout: number }, context: TrainContext): TrainResult {
  const t0 = performance.now();
  const plain: TrainOptions = { ...options, arch: 'linear', clamp: 'off', abs: false, magnitude: false };
  const linear = trainLinear(pairs, plain, shape, context);
  const mse = (r: TrainResult): number => r.model.metrics.validation.mse;
  const candidates: { arch: string; mse: number; result: TrainResult }[] = [{ arch: 'linear', mse: mse(linear), result: linear }];
  const done = (r: TrainResult, arch: string, reason: string): TrainResult => ({
    ...r,
    trainMs: performance.now() - t0,
    archChoice: { chosen: arch, candidates: candidates.map(({ arch: a, mse: m }) => ({ arch: a, mse: m })), reason },
  });
  if (!linear.diagnostics.significant || !linear.identifiable) {
    return done(linear, 'linear', linear.identifiable ? 'the linear fit leaves only rounding noise' : 'the images are too flat to compare architectures');
  }
  const oneChannel = pairs.every((p) => p.target.channels === 1);
  const nonNegative = pairs.every((p) => p.target.data.every((v) => v >= 0));
  const depth = pairs[0].target.depth;
  const lim = pairs.every((p) => p.target.depth === depth) ? integerRange(depth) : null;
  // Stages need small kernels (auto for abs/magnitude tries sizes up to 5).
  const k = options.ksize === 'auto' ? 1 : options.ksize;
  const tries: { arch: string; over: Partial<TrainOptions> }[] = [];
  if (lim && oneChannel) tries.push({ arch: 'linear+clamp', over: { clamp: 'auto' } });
  if (oneChannel && nonNegative && k <= ABS_KSIZE_MAX) {
    tries.push({ arch: 'linear+abs', over: { abs: true } }, { arch: 'linear+magnitude', over: { magnitude: true } });
  }
  for (const t of tries) {
    try {
      const r = trainLinear(pairs, { ...plain, ...t.over }, shape, context);
      if (t.arch === 'linear+clamp' && !r.model.layers.some((l) => l.type === 'clamp')) continue; // not saturated
      candidates.push({ arch: t.arch, mse: mse(r), result: r });
    } catch (e) {
      if (!(e instanceof KernelLearnError)) throw e;
    }
  }
  const best = candidates.reduce((a, b) => (b.mse < a.mse ? b : a));
  if (best.arch === 'linear' || !(best.mse <= 0.5 * candidates[0].mse)) {
    return done(linear, 'linear', `no output stage halves the linear fit's held-out MSE (${candidates.map((c) => `${c.arch} ${c.mse.toPrecision(3)}`).join(', ')}): the filter is kept linear, with its warnings`);
  }
  return done(best.result, best.arch, `${best.arch} has held-out MSE ${best.mse.toPrecision(3)} against ${candidates[0].mse.toPrecision(3)} for the plain linear fit`);
}

export { AUTO_KSIZE_MAX } from './support.js';
/** Condition number above which the images are called too flat to identify the kernel. */
export const CONDITION_WARNING = 1e8;
/** Share of target pixels at an integer depth's limits from which the targets count as saturated. */
export const SATURATION_SHARE = 1e-3;
/** Largest kernel --ksize auto tries for saturated targets (the censored fit's Gram is O(n p^2)). */
export const CENSORED_KSIZE_MAX = 7;
/** Largest kernel --ksize auto tries with an abs stage. */
export const ABS_AUTO_KSIZE_MAX = 5;

/** Mean of (min(|k.x + b|, hi) - y)^2 over the valid pixels (one output channel). */
function absLoss(pairs: GramPair[], coef: ArrayLike<number>, k: number, bias: boolean, hi: number): number {
  let s = 0, n = 0;
  for (const { input, target } of pairs) {
    const { width: W, height: H, channels: cin } = input;
    const plane = W * H;
    for (let y = 0; y + k <= H; y++) {
      for (let x = 0; x + k <= W; x++) {
        let v = bias ? coef[cin * k * k] : 0;
        for (let c = 0; c < cin; c++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) v += coef[(c * k + i) * k + j] * input.data[c * plane + (y + i) * W + x + j];
        const d = Math.min(Math.abs(v), hi) - target.data[(y + (k >> 1)) * W + x + (k >> 1)];
        s += d * d;
        n++;
      }
    }
  }
  return n > 0 ? s / n : 0;
}

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
      if (!allFinite(img.data)) throw new KernelLearnError(`${p.stem}: the ${what} has a non-finite value (NaN or infinity); fix or remove that pair`);
    }
  }
  return { cin, cout };
}

/** No NaN and no infinity (v - v is NaN exactly for those): one tight loop per array. */
function allFinite(a: ArrayLike<number>): boolean {
  for (let k = 0; k < a.length; k++) {
    const v = a[k];
    if (v - v !== 0) return false;
  }
  return true;
}

function checkOptions(o: TrainOptions): void {
  if (!['linear', 'separable', 'auto', 'deep'].includes(o.arch)) throw new UsageError(`arch "${String(o.arch)}" is not supported; use auto, linear, separable or deep`);
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
  if (o.channels !== undefined && !['full', 'shared', 'auto'].includes(o.channels)) throw new UsageError(`channels "${String(o.channels)}": use full, shared or auto`);
  if (o.clamp !== undefined && !['auto', 'off'].includes(o.clamp)) throw new UsageError(`clamp "${String(o.clamp)}": use auto or off`);
  if (o.abs && o.magnitude) throw new UsageError('abs and magnitude output stages exclude each other; choose one');
}

/** Each region as C one-channel regions (channel c of input and target), for a kernel shared by the channels. */
function channelRegions(regions: Region[]): Region[] {
  const cache = new Map<ImagePair, ImagePair[]>();
  const out: Region[] = [];
  for (const r of regions) {
    let parts = cache.get(r.pair);
    if (!parts) {
      const { input, target, stem } = r.pair;
      const plane = input.width * input.height;
      const one = (im: Image, c: number): Image => ({ ...im, channels: 1, data: im.data.subarray(c * plane, (c + 1) * plane) });
      parts = Array.from({ length: input.channels }, (_, c) => ({ ...r.pair, stem: `${stem}[${c}]`, input: one(input, c), target: one(target, c) }));
      cache.set(r.pair, parts);
    }
    for (const pair of parts) out.push({ ...r, pair });
  }
  return out;
}

const minSide = (r: Region): number => Math.min(r.x1 - r.x0, r.y1 - r.y0);
const largestOddUpTo = (n: number): number => (n % 2 === 1 ? n : n - 1);

const toF32 = (v: number): number => Math.fround(v) + 0; // + 0 turns -0 into 0

/** How a caller can help trainFilter without changing its result. */
export interface TrainContext {
  /** Gram statistics of single pairs computed ahead (e.g. while other files decoded); used when they fit. */
  gramCache?: GramCache;
}

export function trainFilter(pairs: ImagePair[], options: TrainOptions, context: TrainContext = {}): TrainResult {
  const t0 = performance.now();
  checkOptions(options);
  if (options.arch === 'deep') return trainDeepFilter(pairs, options);
  // The pairs are checked once here (the finiteness check reads every pixel); the fits that
  // arch auto and deep run inside go straight to trainLinear.
  const shape = checkPairs(pairs);
  if (options.arch === 'auto') return chooseArch(pairs, options, shape, context);
  return trainLinear(pairs, options, shape, context, t0);
}

/** The linear fit (arch linear or separable, with any output stage) of checked pairs. */
function trainLinear(pairs: ImagePair[], options: TrainOptions, shape: { cin: number; cout: number }, context: TrainContext = {}, t0 = performance.now()): TrainResult {
  let { cin, cout } = shape;
  const bias = options.bias ?? true;
  let solver = options.solver === 'auto' ? 'exact' : options.solver;
  const warnings: string[] = [];

  // 1. Split. The largest kernel we will fit sets how thin a band may be.
  const share = 1 - (options.validationFraction ?? 0.2);
  let kWanted = options.ksize === 'auto' ? autoKsizeLimit(pairs.map((p) => p.input), cin, bias, share) : options.ksize;
  const split = splitPairs(pairs, options.validationFraction ?? 0.2, options.seed, Math.max(kWanted, 1));
  let { train, val } = split;
  const valPixels = val.reduce((s, r) => s + (r.x1 - r.x0) * (r.y1 - r.y0), 0);
  const trainFit = Math.max(...train.map(minSide));
  if (options.ksize === 'auto') kWanted = Math.max(1, Math.min(kWanted, largestOddUpTo(trainFit)));
  if (trainFit < kWanted) {
    const k = kWanted;
    throw new KernelLearnError(`the training images are too small for a ${k}x${k} kernel: at least one needs ${k}x${k} pixels (largest usable side: ${trainFit})`);
  }
  if (split.kind === 'none') warnings.push('no held-out data (one image, too small to cut a validation band): the validation metrics are on the training image');

  // 2. Exact solve (and the kernel size).
  const targetStep = Math.max(...pairs.map((p) => depthStep(p.target.depth)));
  const depths = new Set(pairs.map((p) => p.target.depth));
  const limits = depths.size === 1 ? integerRange(pairs[0].target.depth) : null;
  const saturation = limits && cout === 1 ? saturatedShare(regionImages(train), limits.lo, limits.hi) : 0;
  const absStage = options.abs === true;
  if (absStage && cout !== 1) throw new UsageError(`an abs output stage is fitted for one output channel; the targets have ${cout}`);
  const magStage = options.magnitude === true;
  if (magStage && (cout !== 1 || absStage)) throw new UsageError(`a magnitude stage is fitted for one target channel, without --abs`);
  const censored = !absStage && !magStage && limits !== null && saturation >= SATURATION_SHARE && options.clamp === 'auto';
  const trainImgs = regionImages(train);
  let k = kWanted;
  let kernelSizeChoice: TrainingSummary['kernelSizeChoice'];
  let stats: GramStats;
  let valStats: GramStats | null = null;
  let censoredExact: ExactSolution | null = null;
  let exactReason = 'exact least-squares solve';
  if (magStage) {
    const hi = limits ? limits.hi : Infinity;
    if (solver !== 'exact') {
      warnings.push(`a magnitude stage is fitted by the exact solver, not ${solver}`);
      solver = 'exact';
    }
    const magLoss = (judge: GramPair[], fit: MagnitudeFit, kk: number): number => {
      let sse = 0, n = 0;
      for (const { input, target } of judge) {
        const W = input.width, H = input.height, plane = W * H;
        for (let y = 0; y + kk <= H; y++) {
          for (let x = 0; x + kk <= W; x++) {
            const v = fit.coef.map((c) => {
              let s = bias ? c[cin * kk * kk] : 0;
              for (let ci = 0; ci < cin; ci++) for (let i = 0; i < kk; i++) for (let j = 0; j < kk; j++) s += c[(ci * kk + i) * kk + j] * input.data[ci * plane + (y + i) * W + x + j];
              return s;
            });
            const d = Math.min(Math.hypot(v[0], v[1]), hi) - target.data[(y + (kk >> 1)) * W + x + (kk >> 1)];
            sse += d * d;
            n++;
          }
        }
      }
      return n > 0 ? sse / n : 0;
    };
    if (options.ksize === 'auto') {
      const valImgs = val.length > 0 ? regionImages(val) : trainImgs;
      const choice = chooseSizeByLoss(Math.min(kWanted, ABS_AUTO_KSIZE_MAX), (kk) => magLoss(valImgs, fitMagnitude(trainImgs, kk, bias, hi), kk), meanSquare(valImgs), targetStep);
      k = choice.k;
      kernelSizeChoice = { chosen: k, candidates: choice.candidates };
    } else if (k > ABS_KSIZE_MAX) {
      throw new UsageError(`a magnitude stage is fitted for kernels up to ${ABS_KSIZE_MAX}x${ABS_KSIZE_MAX}; use a smaller --ksize`);
    }
    const fit = fitMagnitude(trainImgs, k, bias, hi);
    exactReason = 'exact lifted least squares (magnitude: top-2 eigenvectors)';
    // The window statistics still say how well the images condition the kernels.
    stats = gramStats(trainImgs, k, k, bias);
    const sol = solveExact(stats);
    censoredExact = { ...sol, coef: [...fit.coef], weights: nestWeights(fit.coef, 2, cin, k, k), bias: bias ? fit.coef.map((c) => c[cin * k * k]) : null, loss: magLoss(trainImgs, fit, k) };
  } else if (absStage) {
    const hi = limits ? limits.hi : Infinity;
    if (solver !== 'exact') {
      warnings.push(`an abs output stage is fitted by the exact solver, not ${solver}`);
      solver = 'exact';
    }
    if (options.ksize === 'auto') {
      const valImgs = val.length > 0 ? regionImages(val) : trainImgs;
      const choice = chooseSizeByLoss(Math.min(kWanted, ABS_AUTO_KSIZE_MAX), (kk) => absLoss(valImgs, fitAbs(trainImgs, kk, bias, hi).solution.coef[0], kk, bias, hi), meanSquare(valImgs), targetStep);
      k = choice.k;
      kernelSizeChoice = { chosen: k, candidates: choice.candidates };
    } else if (k > ABS_KSIZE_MAX) {
      throw new UsageError(`an abs output stage is fitted for kernels up to ${ABS_KSIZE_MAX}x${ABS_KSIZE_MAX}; use a smaller --ksize`);
    }
    const fit = fitAbs(trainImgs, k, bias, hi);
    exactReason = `exact lifted least squares, then ${fit.rounds} sign rounds (abs)`;
    stats = fit.stats;
    censoredExact = fit.solution;
  } else if (censored) {
    const { lo, hi } = limits;
    if (solver !== 'exact') {
      warnings.push(`saturated targets are fitted by the exact censored solver, not ${solver}`);
      solver = 'exact';
    }
    if (options.ksize === 'auto') {
      // Sizes by the censored loss on held-out pixels, same rule as the linear case (support.ts).
      const valImgs = val.length > 0 ? regionImages(val) : trainImgs;
      const choice = chooseSizeByLoss(Math.min(kWanted, CENSORED_KSIZE_MAX), (kk) => fitCensored(trainImgs, kk, bias, lo, hi, false).loss(valImgs), meanSquare(valImgs), targetStep);
      k = choice.k;
      kernelSizeChoice = { chosen: k, candidates: choice.candidates };
    }
    const fit = fitCensored(trainImgs, k, bias, lo, hi);
    exactReason = `exact censored least squares (${fit.rounds} active-set rounds)`;
    stats = fit.stats;
    censoredExact = fit.solution;
  } else {
  const cache = context.gramCache;
  const bigTrain = gramStats(trainImgs, kWanted, kWanted, bias, cache);
  const bigVal = val.length > 0 ? gramStats(regionImages(val), kWanted, kWanted, bias, cache) : null;
  if (options.ksize === 'auto') {
    const choice = chooseKernelSize(bigTrain, bigVal, targetStep);
    k = choice.k;
    kernelSizeChoice = { chosen: k, candidates: choice.candidates };
    if (k === kWanted && kWanted > 1) warnings.push(`the chosen kernel size ${k} is the largest tried: the filter may reach further than ${k}x${k}`);
  }
  // For a fixed size, all training pixels count (the auto path compared sizes on a common region).
  stats = options.ksize === 'auto' && k !== kWanted ? gramStats(trainImgs, k, k, bias, cache) : bigTrain;
  valStats = bigVal && bigVal.n > 0 ? subGram(bigVal, k, k) : null;
  }

  // Colour: one kernel shared by the channels, or full cross-channel kernels.
  let channelChoice: TrainResult['channelChoice'];
  if (cin === cout && cin > 1 && (options.channels ?? 'full') !== 'full') {
    const splitTrain = channelRegions(train);
    const sharedStats = gramStats(regionImages(splitTrain), k, k, bias);
    const shared = solveExact(sharedStats, { condition: false });
    const full = solveExact(stats, { condition: false });
    const judge = valStats ?? stats;
    const judgeOpt = solveExact(judge, { condition: false });
    const per = k * k;
    const embedded = Array.from({ length: cout }, (_, o) => {
      const c = new Float64Array(judge.p);
      for (let t = 0; t < per; t++) c[o * per + t] = shared.coef[0][t];
      if (bias) c[judge.p - 1] = shared.coef[0][per];
      return c;
    });
    const fullMse = judgeOpt.loss + excessLoss(judge, full.coef, judgeOpt.coef);
    const sharedMse = judgeOpt.loss + excessLoss(judge, embedded, judgeOpt.coef);
    let meanSq = 0;
    for (let o = 0; o < judge.cout; o++) meanSq += judge.yty[o] / (judge.n * judge.cout);
    const shareable = sharedMse <= 1.01 * fullMse + Math.max(1e-12 * meanSq, (2 * targetStep * targetStep) / 12);
    const chosen = options.channels === 'shared' || shareable ? 'shared' : 'full';
    channelChoice = { chosen, fullMse, sharedMse, shareable };
    if (chosen === 'shared') {
      train = splitTrain;
      val = channelRegions(val);
      cin = cout = 1;
      stats = sharedStats;
      valStats = val.length > 0 ? gramStats(regionImages(val), k, k, bias) : null;
      if (!shareable) warnings.push(`--channels shared: one kernel for every channel fits worse than full cross-channel kernels (held-out MSE ${sharedMse.toExponential(3)} vs ${fullMse.toExponential(3)})`);
    }
  }
  const exact: ExactSolution = censoredExact ?? solveExact(stats);
  const convOut = magStage ? 2 : cout; // the conv's outputs (after --channels shared, cout may be 1)
  if (exact.conditionNumber > CONDITION_WARNING) {
    const cond = Number.isFinite(exact.conditionNumber) ? exact.conditionNumber.toExponential(1) : 'infinite';
    warnings.push(`the training images are too flat to identify a ${k}x${k} kernel (window correlation condition number ${cond}): some combinations of taps are guesses; train on images with more texture or noise`);
  }

  // Standard errors of a magnitude pair are not those of a linear fit: none are claimed (zeros).
  const stdErrors = magStage ? exact.coef.map((c) => new Float64Array(c.length)) : coefStdErrors(stats, exact);
  const zeroTaps = findZeroTaps(exact.coef, stdErrors, cin, k, k);

  // 3. The weights: exact, or by gradient descent.
  let coef: Float64Array[] = exact.coef;
  let history: HistoryEntry[];
  let steps = 0;
  let stopReason = exactReason;
  if (solver === 'exact') {
    const valLoss = valStats && !magStage ? lossFromStats(valStats, exact.coef) : undefined;
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
  const flatW = new Float64Array(convOut * taps);
  for (let o = 0; o < convOut; o++) for (let f = 0; f < taps; f++) flatW[o * taps + f] = toF32(coef[o][f]);
  const flatB = bias ? coef.map((c) => toF32(c[taps])) : null;

  // 4. Border.
  let border: BorderMode;
  let borderChoice: BorderChoice | undefined;
  if (options.border === 'auto' && magStage) {
    // Two kernels feed one output: each mode is judged by running the model on the training images.
    const probe = (mode: BorderMode): Model => ({
      format: MODEL_FORMAT, version: MODEL_VERSION, arch: 'linear', inputChannels: cin, outputChannels: 1, border: mode,
      layers: [
        { type: 'conv2d', inChannels: cin, outChannels: 2, kernelSize: [k, k], weights: nestWeights([flatW.subarray(0, taps), flatW.subarray(taps)], 2, cin, k, k), bias: flatB },
        { type: 'magnitude', groupSize: 2 },
        ...(limits ? [{ type: 'clamp' as const, min: limits.lo, max: limits.hi }] : []),
      ],
      training: { pairs: 0, pixels: 0, inputDepth: '', targetDepth: '', solver: 'exact', steps: 0, stopReason: '', seed: 0, validation: { kind: 'none', pairs: 0, pixels: 0 } },
      metrics: { validation: { mse: 0, psnr: null, r2: 1 } },
      createdBy: '',
    });
    const candidates = BORDER_MODES.map((mode) => ({ border: mode, mse: formAccuracy(probe(mode), train).mse }));
    const best = Math.min(...candidates.map((c) => c.mse));
    const tied = candidates.filter((c) => c.mse <= best * (1 + 1e-6) + 1e-300).map((c) => c.border);
    border = tied.includes('reflect101') ? 'reflect101' : tied[0];
    borderChoice = { chosen: border, candidates, borderPixels: train.reduce((s, r) => s + (r.x1 - r.x0) * (r.y1 - r.y0), 0) };
  } else if (options.border === 'auto') {
    const lim = limits;
    const clampTo = (v: number): number => (lim ? Math.min(lim.hi, Math.max(lim.lo, v)) : v);
    const post = absStage ? (v: number) => clampTo(Math.abs(v)) : censored ? clampTo : undefined;
    borderChoice = chooseBorder(train, flatW, flatB, cin, cout, k, k, post);
    border = borderChoice.chosen;
    if (borderChoice.borderPixels === 0 && k > 1) warnings.push('no border pixels to judge the border mode by: using reflect101');
  } else {
    border = options.border;
  }

  // 5. Model and metrics.
  const conv: Conv2dSpec = {
    type: 'conv2d',
    inChannels: cin,
    outChannels: convOut,
    kernelSize: [k, k],
    weights: nestWeights(Array.from({ length: convOut }, (_, o) => flatW.subarray(o * taps, (o + 1) * taps)), convOut, cin, k, k),
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
      pixels: valPixels,
    },
    ...(kernelSizeChoice ? { kernelSizeChoice } : {}),
    ...(borderChoice ? { borderChoice } : {}),
    conditionNumber: exact.conditionNumber,
  };
  const model: Model = {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    arch: 'linear',
    inputChannels: cin,
    outputChannels: cout,
    border,
    layers: [conv],
    training,
    metrics: { validation: { mse: 0, psnr: null, r2: 1 }, exactLoss: exact.loss },
    createdBy: `kernel-learn ${KERNEL_LEARN_VERSION}`,
  };
  // Saturated targets: the clamp is the model's output stage (and stays with every form).
  if (absStage) model.layers.push({ type: 'abs' });
  if (magStage) model.layers.push({ type: 'magnitude', groupSize: 2 });
  if (censored || ((absStage || magStage) && limits)) model.layers.push({ type: 'clamp', min: limits!.lo, max: limits!.hi });
  const tail = model.layers.slice(1);
  // Model forms: the full fit is judged as is, then separable and snapped forms of it.
  const judgeRegions = val.length > 0 ? val : train;
  const formInput = { coef, se: stdErrors, cin, cout: convOut, kh: k, kw: k, bias };
  // Each model runs once per image however often it is judged (full form, metrics, diagnosis).
  const predict = memoPredict();
  const { forms, separable, snapped } = reportForms(model, formInput, judgeRegions, predict);
  let snapAccepted = false;
  if (options.snap) {
    const full = forms[0];
    const snap = forms.find((f) => f.form === 'snapped');
    let meanSq = 0, count = 0;
    for (const r of judgeRegions) for (const v of r.pair.target.data) { meanSq += v * v; count++; }
    const floor = Math.max(1e-12 * (count > 0 ? meanSq / count : 0), (2 * targetStep * targetStep) / 12);
    if (snap && snap.mse <= 1.01 * full.mse + floor) {
      model.layers = [fullLayer(formInput, snapped.coef), ...tail];
      snapAccepted = true;
    } else {
      warnings.push(`--snap: the kernel is not scale x small integers within noise${snap ? ' (the snapped kernel loses held-out accuracy)' : ''}; the fitted kernel is kept`);
    }
  }
  if (options.arch === 'separable') {
    const sep = withLayers(model, 'separable', [...(snapAccepted ? separableLayers({ ...formInput, coef: snapped.coef }, snapped).layers : separable.layers), ...tail]);
    model.arch = sep.arch;
    model.layers = sep.layers;
  }
  const { targetVaries, ...metrics } = validationMetrics(model, judgeRegions, predict);
  model.metrics.validation = metrics;
  const r2 = metrics.r2;
  if (r2 < R2_WARNING && targetVaries) {
    warnings.push(
      `validation R² is ${r2.toFixed(4)}: the filter does not look like a linear shift-invariant ${k}x${k} kernel (or the targets are noisy or saturated); the model reproduces it only approximately`,
    );
  }
  const diagnostics = diagnoseResidual(model, [...train, ...val], k, k, targetStep, predict);
  // On images too flat to identify the kernel, the ridge (not the filter) shapes the residual.
  const identifiable = !(exact.conditionNumber > CONDITION_WARNING);
  if (identifiable) warnings.push(...residualWarnings(diagnostics, r2, k));
  // The hint needs more pixels at the limits than the inputs have there (a median of an image
  // with white regions is white there too, without any saturation).
  const inputShare = limits ? saturatedShare(regionImages(train).map((p) => ({ input: p.input, target: p.input })), limits.lo, limits.hi) : 0;
  if (limits && !censored && !absStage && !magStage && saturation >= Math.max(SATURATION_SHARE, 2 * inputShare) && diagnostics.significant) {
    warnings.push(
      `${(100 * saturation).toFixed(1)}% of the target pixels sit at the ${pairs[0].target.depth} limits (${limits.lo} or ${limits.hi}): if the filter's output was saturated, train with clamp auto (--clamp auto) to fit a clamped model with a censored loss`,
    );
  }
  return { model, history, exactLoss: exact.loss, stopReason, steps, trainMs: performance.now() - t0, warnings, zeroTaps, diagnostics, identifiable, forms, kernelSize: [k, k], ...(channelChoice ? { channelChoice } : {}) };
}

/** Mean square of the targets: the scale of support.ts's noise floor. */
function meanSquare(pairs: GramPair[]): number {
  let sum = 0;
  let n = 0;
  for (const p of pairs) for (const v of p.target.data) (sum += v * v), n++;
  return n > 0 ? sum / n : 0;
}

/**
 * What trainFilter takes and gives back, and the checks of both ends: options first (usage errors,
 * exit code 2), then the pairs (one line naming the pair, exit code 1).
 */

import type { ImagePair } from '../data/pairs.js';
import { KernelLearnError, UsageError } from '../errors.js';
import { isBorderMode, type BorderMode } from '../filters/border.js';
import type { GramCache } from '../kernels/gram.js';
import type { Model } from '../nn/model.js';
import type { Alignment } from './align.js';
import type { ChannelChoice } from './channels.js';
import type { ResidualDiagnostics } from './diagnostics.js';
import type { FormReport } from './forms.js';
import type { SplitRecord } from './regions.js';
import { DEEP_MAX_DEPTH, DEEP_MAX_DILATION, DEEP_MAX_WIDTH } from './limits.js';
import { KSIZE_MAX, type Support, type ZeroTaps } from './support.js';
import type { HistoryEntry, ProgressEvent } from './trainer.js';

export interface TrainOptions {
  /**
   * 'linear': one convolution (with bias), the right network for any linear shift-invariant filter.
   * 'separable': the same fit stored as a rank-r sum of (kh x 1 then 1 x kw) convolutions, r chosen
   * from the kernel's singular values (see forms.ts).
   * 'auto': the linear fit, and when its residual is more than rounding (diagnostics.ts), the
   * output stages the data allows (clamp for saturated integer targets, abs and magnitude for
   * non-negative one-channel targets), keeping the one with the lowest held-out MSE if it at
   * least halves the linear one's (see chooseArch); `archChoice` says what was tried and why.
   * 'curve-after', 'curve-before', 'curves': the kernel with a pointwise curve after it, before
   * it, or both, y = g(k * f(x) + b) (stages/curves.ts); auto tries them too.
   * 'deep': a small context-aggregation network (conv k x k, then dilated 3x3 convs, relu after
   * each, then a 1x1 conv; identity-initialised) trained by Adam, for filters that are not linear
   * (deep.ts; its shape in `deep`); the exact linear fit's held-out MSE is reported beside it (forms).
   */
  arch: TrainArch;
  /**
   * arch 'deep' only: `depth` relu layers (default 4) of `width` channels (default 16, at least
   * twice the input channels), layer i dilated by dilations[i] (default CAN's 1, 2, 4, ..., then 1).
   */
  deep?: { depth?: number; width?: number; dilations?: number[] };
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
  /**
   * Kernel size: n (n x n), [kh, kw], odd or even, up to 31 each (the anchor at (kh >> 1, kw >> 1), as
   * OpenCV's); or 'auto' to find the filter's support (square, up to 31 x 31, bounded by the images:
   * see support.ts).
   */
  ksize: number | [number, number] | 'auto';
  /** auto = exact for the linear arch. adam / sgd also solve exactly, as their certificate. */
  solver: 'auto' | 'exact' | 'adam' | 'sgd';
  border: BorderMode | 'auto';
  /**
   * 'auto' (default): targets of another size than their inputs (a 'valid' or 'full' convolution),
   * or shifted by up to 16 pixels, are aligned to them (align.ts) and the model keeps the
   * alignment; 'off': targets must have their inputs' size and are taken as they are.
   */
  align?: 'auto' | 'off';
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

/**
 * Why training stopped: the exact solve (solved), the gap to the exact optimum below tolerance
 * (converged), no validation improvement for `patience` evaluations (plateau), the step limit
 * (max-steps), or a non-finite loss (diverged).
 */
export type StopKind = 'solved' | 'converged' | 'plateau' | 'max-steps' | 'diverged';

export interface TrainResult {
  model: Model;
  history: HistoryEntry[];
  /** Training MSE of the exact least-squares optimum (linear arch). */
  exactLoss?: number;
  /** Why training stopped, in words (stored in the model as training.stopReason). */
  stopReason: string;
  /** Why training stopped, as a kind (see StopKind). */
  stop: StopKind;
  steps: number;
  /** Wall time of the whole trainFilter call, in ms (not stored in the model: it would break byte-identical models). */
  trainMs: number;
  warnings: string[];
  /** The taps of the fitted kernel that are zero within noise (see support.ts). */
  zeroTaps: ZeroTaps;
  /** The tight box of the non-zero taps and its offset from the kernel's anchor (see support.ts). */
  support: Support;
  /** Is the filter a linear shift-invariant kernel? Residual statistics (see diagnostics.ts). */
  diagnostics: ResidualDiagnostics;
  /** False when the images are too flat to identify the kernel (condition number above CONDITION_WARNING). */
  identifiable: boolean;
  /** Every model form (full, separable, snapped) with its size and held-out accuracy (see forms.ts). */
  forms: FormReport[];
  /** [kh, kw] of the fitted kernel (for separable models, of the kernel the two convs make). */
  kernelSize: [number, number];
  /** Colour data (C in = C out > 1): the held-out MSE of one shared kernel vs full cross-channel kernels, and the choice. */
  channelChoice?: ChannelChoice;
  /** arch 'auto': the candidates tried (held-out MSE) and why the chosen one won. */
  archChoice?: { chosen: string; candidates: { arch: string; mse: number }[]; reason: string };
  /** Which pixels trained and which were held out (indices into the pairs given to trainFilter, in the inputs' frame). */
  split: SplitRecord;
  /** Where the targets sit relative to their inputs (align.ts); also in the model unless 'same'. */
  alignment: Alignment;
}

/** What one fit gives (trainFilter adds the alignment it found before fitting). */
export type FitResult = Omit<TrainResult, 'alignment'>;

/** How a caller can help trainFilter without changing its result. */
export interface TrainContext {
  /** Gram statistics of single pairs computed ahead (e.g. while other files decoded); used when they fit. */
  gramCache?: GramCache;
}

export function checkPairs(pairs: ImagePair[]): { cin: number; cout: number } {
  if (pairs.length === 0) throw new KernelLearnError('no image pairs to train on');
  const first = pairs[0];
  const cin = first.input.channels;
  const cout = first.target.channels;
  for (const p of pairs) {
    const { input: i, target: t } = p;
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

/** The architectures train fits (the model file's arch: nn/model.ts Arch). */
export const TRAIN_ARCHS = ['auto', 'linear', 'separable', 'curve-after', 'curve-before', 'curves', 'deep'] as const;
export type TrainArch = (typeof TRAIN_ARCHS)[number];

export function checkOptions(o: TrainOptions): void {
  if (!(TRAIN_ARCHS as readonly string[]).includes(o.arch)) throw new UsageError(`arch "${String(o.arch)}" is not supported; use ${TRAIN_ARCHS.join(', ')}`);
  const side = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= KSIZE_MAX;
  const sizeOk = o.ksize === 'auto' || side(o.ksize) || (Array.isArray(o.ksize) && o.ksize.length === 2 && o.ksize.every(side));
  if (!sizeOk) throw new UsageError(`kernel size ${String(o.ksize)}: use a size from 1 to ${KSIZE_MAX} (n, or [height, width]), or auto`);
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
  if ((o.abs || o.magnitude) && o.arch.startsWith('curve')) throw new UsageError(`--arch ${o.arch} has its own output curve; leave out --${o.abs ? 'abs' : 'magnitude'}`);
  if (o.align !== undefined && !['auto', 'off'].includes(o.align)) throw new UsageError(`align "${String(o.align)}": use auto or off`);
  checkDeepOptions(o.deep);
}

/** Usage errors in TrainOptions.deep (channel counts are checked when the data is known, in deep.ts). */
function checkDeepOptions(o: TrainOptions['deep']): void {
  if (o === undefined) return;
  const int = (v: number | undefined, name: string, max: number): void => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= max)) throw new UsageError(`deep ${name} must be an integer from 1 to ${max}, got ${v}`);
  };
  int(o.depth, 'depth', DEEP_MAX_DEPTH);
  int(o.width, 'width', DEEP_MAX_WIDTH);
  if (o.dilations === undefined) return;
  if (!Array.isArray(o.dilations) || o.dilations.length === 0) throw new UsageError('deep dilations must be a list of integers, one per relu layer');
  for (const d of o.dilations) int(d, 'dilation', DEEP_MAX_DILATION);
  if (o.depth !== undefined && o.dilations.length !== o.depth) throw new UsageError(`deep dilations has ${o.dilations.length} entries but depth is ${o.depth}: give one per relu layer`);
}

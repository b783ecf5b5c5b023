/**
 * An output stage: what comes after the one convolution of a linear fit, and how the pair is fitted
 * exactly. The pipeline (../pipeline.ts) does everything else the same way for every stage: the
 * split, the colour choice, gradient descent, the border, the network, the judging.
 *
 *   linear     y = k * x + b                       one Gram matrix, one solve (linear.ts)
 *   clamp      y = clamp(k * x + b, lo, hi)         censored least squares (clamp.ts)
 *   abs        y = clamp(|k * x + b|, lo, hi)       lifted least squares, then sign rounds (abs.ts)
 *   magnitude  y = clamp(|(a, b) * x + c|, lo, hi)  lifted least squares, top-2 eigenvectors (magnitude.ts)
 *   curves     y = g(k * f(x) + b)                  alternating least squares (curves.ts)
 *
 * Adding a stage: a file here that implements OutputStage, and one line in index.ts's STAGES (the
 * order --arch auto tries them in). docs/architecture.md walks through it.
 */

import { UsageError } from '../../errors.js';
import type { ImagePair } from '../../data/pairs.js';
import type { GramCache, GramPair, GramStats } from '../../kernels/gram.js';
import type { LayerSpec } from '../../nn/network.js';
import type { CurvesRecord, TrainingSummary } from '../../nn/model.js';
import type { ExactSolution } from '../exact.js';
import { meanSquare } from '../noise.js';
import { chooseSizeByLoss } from '../support.js';

/** A kernel's height and width (odd or even; the anchor at (kh >> 1, kw >> 1), as OpenCV's). */
export interface KernelSize {
  kh: number;
  kw: number;
}

/** "5x5", "31x1": a size as people write it. */
export const sizeLabel = ({ kh, kw }: KernelSize): string => `${kh}x${kw}`;

/** An odd square size. */
export const square = (k: number): KernelSize => ({ kh: k, kw: k });

/** An integer depth's range, where the targets were saturated. */
export interface Range {
  lo: number;
  hi: number;
}

/** What a stage fits from: the training (and held-out) regions as stand-alone images. */
export interface StageData {
  train: GramPair[];
  /** Held-out regions, or null when nothing is held out. */
  val: GramPair[] | null;
  cin: number;
  cout: number;
  bias: boolean;
  /** The targets' integer range (all of one depth), or null for float targets. */
  limits: Range | null;
  /** The targets' quantisation step (noise.ts). */
  targetStep: number;
  /** Gram statistics computed ahead (the CLI computes them while files decode). */
  cache?: GramCache;
}

/** What --arch auto knows when it decides which stages are worth a try. */
export interface StageFacts {
  pairs: ImagePair[];
  cout: number;
  limits: Range | null;
  /** Share of the training targets at the limits (one target channel; 0 otherwise). */
  saturation: number;
  ksize: KernelSize | 'auto';
}

export interface StageFit {
  size: KernelSize;
  /** Per conv output: taps in weight order, then the bias. Absent for linear fits: the pipeline solves `stats` after the colour choice. */
  solution?: ExactSolution;
  /** The statistics the conditioning and the standard errors come from. */
  stats: GramStats;
  /** Held-out statistics (linear fits): the exact solve's validation loss. */
  valStats: GramStats | null;
  /** How the exact solver got there: the run's stop reason. */
  reason: string;
  /** --ksize auto: the candidates and the choice. */
  sizeChoice?: TrainingSummary['kernelSizeChoice'];
  warnings: string[];
  /**
   * Stages whose layers depend on the fit (the curves): the layers before and after the conv and
   * the border search's response map, in place of outputLayers and responseMap; and the curves as
   * people read them (the model's training.curves).
   */
  around?: { before: LayerSpec[]; after: LayerSpec[]; responseMap: ((v: number) => number) | undefined | null };
  curves?: CurvesRecord;
}

export interface OutputStage {
  /** The name --arch auto reports (archChoice). */
  readonly name: 'linear' | 'linear+clamp' | 'linear+abs' | 'linear+magnitude' | 'curve-after' | 'curve-before' | 'curves';
  /** For stages only the exact solver fits: the warning's start when another solver was asked for. */
  readonly exactOnly?: string;
  /** Whether the taps have the standard errors of a linear least-squares fit (zero taps, forms). */
  readonly linearErrors: boolean;
  /** Conv outputs for `cout` target channels. */
  convOutputs(cout: number): number;
  /** --arch auto tries the stage only where this holds (cheap checks of the targets). */
  worthTrying(facts: StageFacts): boolean;
  /** Refuses targets the stage cannot fit when it was asked for by name (a UsageError). */
  check(cout: number, ksize: KernelSize | 'auto'): void;
  /** The fit of size `wanted`, or with `auto` of the size it chooses up to `wanted` (square then). */
  fit(data: StageData, wanted: KernelSize, auto: boolean): StageFit;
  /** The layers after the conv. */
  outputLayers(limits: Range | null): LayerSpec[];
  /**
   * The map from one conv response to the output, for the border search (evaluate.ts
   * chooseBorder): undefined for the identity, null when several responses make one output
   * (then each border mode is judged by running the network).
   */
  responseMap(limits: Range | null): ((v: number) => number) | undefined | null;
}

/**
 * --ksize auto for the stages with no shared Gram matrix: the held-out loss of a fit at each odd
 * square size up to min(wanted, maxAuto) (support.ts chooseSizeByLoss: the smallest size within
 * noise of the best); a fixed size stays as it is.
 */
export function sizeByLoss(
  data: StageData, wanted: KernelSize, auto: boolean, maxAuto: number, heldOutLoss: (size: KernelSize, judge: GramPair[]) => number,
): { size: KernelSize; sizeChoice?: StageFit['sizeChoice'] } {
  if (!auto) return { size: wanted };
  const judge = data.val ?? data.train;
  const choice = chooseSizeByLoss(Math.min(wanted.kh, maxAuto), (k) => heldOutLoss(square(k), judge), meanSquare(judge), data.targetStep);
  return { size: square(choice.k), sizeChoice: { chosen: choice.k, candidates: choice.candidates } };
}

/** Refuses a kernel larger than a stage fits, or (`squareOnly`) one that is not square. */
export function checkKernelLimit(ksize: KernelSize | 'auto', max: number, what: string, squareOnly = false): void {
  if (ksize === 'auto') return;
  if (squareOnly && ksize.kh !== ksize.kw) throw new UsageError(`${what} is fitted for square kernels; the --ksize ${sizeLabel(ksize)} is not`);
  if (ksize.kh > max || ksize.kw > max) throw new UsageError(`${what} is fitted for kernels up to ${max}x${max}; use a smaller --ksize`);
}

/**
 * Messages between the page (main.ts) and the training worker (worker.ts).
 * Images travel as the library's planar Image; their pixel buffers are transferred, not copied.
 */
import type { Image } from '../../src/image.js';
import type { FilterSpec } from '../../src/filters/spec.js';
import type { CurvesRecord } from '../../src/nn/curve.js';
import type { Alignment } from '../../src/train/align.js';
import type { Support } from '../../src/train/support.js';

/** Where the training pairs come from. */
export type ImageSource =
  | { kind: 'synthetic'; count: number; width: number; height: number; seed: number }
  /** Decoded images (the built-in photographs, or uploads); a pair without a target gets one from the job's filter. */
  | { kind: 'images'; pairs: { stem: string; input: Image; target?: Image }[] };

export interface TrainJob {
  source: ImageSource;
  /** The filter that makes missing targets and is shown as the true kernel; null when every target was uploaded. */
  filter: FilterSpec | null;
  /**
   * Targets from `filter` are the gradient magnitude sqrt(f(x)^2 + g(x)^2), g the filter with dx and
   * dy swapped (Sobel magnitude: filter is Sobel dx); the true kernels shown are f and g.
   */
  magnitudeTarget: boolean;
  /**
   * A tone curve around the filter for the targets it makes: 'gamma' = 255 (blur / 255)^(1/2.2) in
   * float32; 'srgb' = the blur done in linear light (sRGB decode, blur, encode), rounded to 8 bits.
   */
  targetCurve: 'gamma' | 'srgb' | null;
  /**
   * 'magnitude': trainFilter's linear arch with the magnitude stage (two convs, sqrt of the sum of
   * squares); 'curve-after' and 'curves': the curve stages (pointwise curves around the kernel).
   */
  arch: 'linear' | 'magnitude' | 'curve-after' | 'curves';
  ksize: number | 'auto';
  solver: 'exact' | 'adam' | 'sgd';
  seed: number;
}

export type ToWorker = { type: 'train'; job: TrainJob };

/** A kernel per (output, input) channel pair, row-major. */
export interface KernelView {
  out: number;
  in: number;
  kh: number;
  kw: number;
  data: number[];
}

export interface ImageView {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

export interface DoneMessage {
  type: 'done';
  modelJson: string;
  onnx: Uint8Array | null;
  onnxError: string | null;
  stopReason: string;
  converged: boolean;
  solver: string;
  steps: number;
  trainMs: number;
  /** Worker time for the whole job: making images and targets, training, predicting. */
  jobMs: number;
  exactLoss: number | null;
  learned: KernelView[];
  bias: number[] | null;
  /** The curves around the kernel of a curve-stage model (training.curves), or null. */
  curves: CurvesRecord | null;
  trueKernels: KernelView[] | null;
  border: string;
  /** The network's layers in words: "conv 3x3", "conv 3x3 (2 outputs) → magnitude", ... */
  layers: string;
  /** The tight box of the kernel's non-zero taps (the library's TrainResult.support). */
  support: Support;
  /** Where the targets sit relative to their inputs (TrainResult.alignment; mode 'same' when they match). */
  alignment: Alignment;
  r2: number;
  psnr: number | null;
  warnings: string[];
  history: { step: number; trainLoss: number; valLoss?: number }[];
  /** The first pair, for the input / target / prediction / error views (the prediction in the target's frame). */
  stem: string;
  pairs: number;
  input: ImageView;
  target: ImageView;
  prediction: ImageView;
}

export type FromWorker =
  | { type: 'phase'; text: string }
  | { type: 'truth'; trueKernels: KernelView[] | null }
  /** The first pair, as soon as it exists (the prediction comes with 'done'). */
  | { type: 'pair'; stem: string; pairs: number; input: ImageView; target: ImageView }
  | {
      type: 'progress';
      solver: string;
      step: number;
      maxSteps: number;
      trainLoss: number;
      valLoss?: number;
      /** The current weights [out][in][kh][kw] in data units, when the trainer reports them. */
      kernel?: KernelView[];
    }
  | DoneMessage
  | { type: 'error'; message: string };

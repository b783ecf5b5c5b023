import type { Experiment } from './types.js';
import { experiment as largeImages } from './large-images.js';
import { experiment as fullyConvolutional } from './fully-convolutional.js';
import { experiment as modelSize } from './model-size.js';
import { experiment as edges } from './edges.js';
import { experiment as optimisations } from './optimisations.js';
import { experiment as trainingComplete } from './training-complete.js';
import { experiment as randomKernels } from './random-kernels.js';
import { experiment as deeper } from './deeper.js';
import { experiment as depthWidth } from './depth-width.js';
import { experiment as saturation } from './saturation.js';
import { experiment as conditioning } from './conditioning.js';
import { experiment as batchCrop } from './batch-crop.js';
import { experiment as frameworks } from './frameworks.js';
import { experiment as kernelSupport } from './kernel-support.js';
import { experiment as diagnosis } from './diagnosis.js';
import { experiment as forms } from './forms.js';
import { experiment as jpegTargets } from './jpeg.js';

/** In the order docs/answers.md takes them, then docs/any-filter.md's. */
export const EXPERIMENTS: Experiment[] = [largeImages, edges, fullyConvolutional, optimisations, batchCrop, frameworks, modelSize, trainingComplete, deeper, depthWidth, randomKernels, saturation, conditioning, kernelSupport, diagnosis, forms, jpegTargets];

export function findExperiment(name: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.name === name);
}
export type { Experiment, ExperimentResult, Row } from './types.js';
export { markdownTable } from './types.js';
export { recordRun, type RunRecord } from './record.js';

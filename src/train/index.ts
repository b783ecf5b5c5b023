/**
 * trainFilter: the one entry point the CLI, the browser app and the tests use to learn a filter
 * from image pairs. The options are checked first, then the pairs, then one of:
 *
 *   arch linear / separable   one output stage through the pipeline (pipeline.ts): the plain
 *                             linear fit, or the stage --clamp auto / --abs / --magnitude asks for
 *   arch auto                 the linear fit and every stage worth trying (arch.ts)
 *   arch deep                 a conv-relu-conv stack by gradient descent (deep.ts)
 *
 * docs/architecture.md shows where each step lives and how to add a stage.
 */

import type { ImagePair } from '../data/pairs.js';
import { chooseArch } from './arch.js';
import { fitDeep } from './deep.js';
import { checkOptions, checkPairs, type TrainContext, type TrainOptions, type TrainResult } from './options.js';
import { fitStage, prepare, requestedStage } from './pipeline.js';

export type { StopKind, TrainContext, TrainOptions, TrainResult } from './options.js';
export type { ProgressEvent, HistoryEntry } from './trainer.js';
export { AUTO_KSIZE_MAX, KSIZE_MAX, type Support } from './support.js';
export { CONDITION_WARNING, R2_WARNING } from './judge.js';
export { SATURATION_SHARE, CENSORED_KSIZE_MAX } from './stages/clamp.js';
export { ABS_AUTO_KSIZE_MAX, ABS_KSIZE_MAX } from './stages/lifted.js';

export function trainFilter(pairs: ImagePair[], options: TrainOptions, context: TrainContext = {}): TrainResult {
  const t0 = performance.now();
  checkOptions(options);
  if (options.arch === 'deep') return fitDeep(pairs, options);
  // The pairs are checked once here (the finiteness check reads every pixel).
  const shape = checkPairs(pairs);
  if (options.arch === 'auto') return chooseArch(pairs, options, shape, context);
  const data = prepare(pairs, options, shape);
  return { ...fitStage(data, requestedStage(data), context), trainMs: performance.now() - t0 };
}

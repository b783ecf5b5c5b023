/**
 * trainFilter: the one entry point the CLI, the browser app and the tests use to learn a filter
 * from image pairs. The options are checked first, then the pairs, then one of:
 *
 *   arch linear / separable   one output stage through the pipeline (pipeline.ts): the plain
 *                             linear fit, or the stage --clamp auto / --abs / --magnitude asks for
 *   arch auto                 the linear fit and every stage worth trying (arch.ts)
 *   arch deep                 a small CAN (dilated 3x3 convs, identity start) by Adam (deep.ts)
 *
 * docs/architecture.md shows where each step lives and how to add a stage.
 */

import type { ImagePair } from '../data/pairs.js';
import { chooseArch } from './arch.js';
import { fitDeep } from './deep.js';
import { KernelLearnError } from '../errors.js';
import { alignPair, findAlignment, SAME, shifted, type Alignment } from './align.js';
import { checkOptions, checkPairs, type FitResult, type TrainContext, type TrainOptions, type TrainResult } from './options.js';
import { fitStage, prepare, requestedStage } from './pipeline.js';
import type { Support } from './support.js';

export type { StopKind, TrainArch, TrainContext, TrainOptions, TrainResult } from './options.js';
export { TRAIN_ARCHS } from './options.js';
export type { Alignment } from './align.js';
export type { ProgressEvent, HistoryEntry } from './trainer.js';
export { AUTO_KSIZE_MAX, KSIZE_MAX, type Support } from './support.js';
export { CONDITION_WARNING, R2_WARNING } from './judge.js';
export { SATURATION_SHARE, CENSORED_KSIZE_MAX } from './stages/clamp.js';
export { ABS_AUTO_KSIZE_MAX, ABS_KSIZE_MAX } from './stages/lifted.js';

export function trainFilter(pairs: ImagePair[], options: TrainOptions, context: TrainContext = {}): TrainResult {
  const t0 = performance.now();
  checkOptions(options);
  // The pairs are checked once here (the finiteness check reads every pixel), then aligned.
  const shape = checkPairs(pairs);
  let alignment = options.align === 'off' ? sameSizes(pairs) : findAlignment(pairs);
  const fit = (a: Alignment): FitResult => fitArch(pairs.map((p) => alignPair(p, a)), options, shape, context);
  let result = fit(alignment);
  const centring = options.align === 'off' || options.arch === 'deep' ? null : centringShift(result.support);
  if (centring) {
    const moved = shifted(alignment, centring[0], centring[1]);
    const again = fit(moved);
    if (again.model.metrics.validation.mse <= result.model.metrics.validation.mse * (1 + 1e-6) + 1e-300) [alignment, result] = [moved, again];
  }
  if (alignment.mode !== 'same') result.model.alignment = alignment;
  return { ...result, alignment, trainMs: performance.now() - t0 };
}

/** The arch's fit of aligned pairs. */
function fitArch(pairs: ImagePair[], options: TrainOptions, shape: { cin: number; cout: number }, context: TrainContext): FitResult {
  if (options.arch === 'deep') return fitDeep(pairs, options, shape);
  if (options.arch === 'auto') return chooseArch(pairs, options, shape, context);
  const data = prepare(pairs, options, shape);
  return fitStage(data, requestedStage(data), context);
}

/** How far to move the alignment to centre a kernel whose non-zero taps sit off-centre in an odd-sized box (align.ts step 4), or null. */
function centringShift({ box, offset }: Support): [number, number] | null {
  const dy = box.height % 2 === 1 ? offset[0] : 0, dx = box.width % 2 === 1 ? offset[1] : 0;
  return dy !== 0 || dx !== 0 ? [dy, dx] : null;
}

/** --align off: every target has its input's size. */
function sameSizes(pairs: ImagePair[]): Alignment {
  for (const { stem, input: i, target: t } of pairs) {
    if (i.width !== t.width || i.height !== t.height) {
      throw new KernelLearnError(`${stem}: the input is ${i.width}x${i.height} but the target is ${t.width}x${t.height}; with alignment off a target must have its input's size (align auto aligns crops, grown borders and shifts)`);
    }
  }
  return SAME;
}

/**
 * --arch auto: the plain linear fit, and when its residual is more than rounding (diagnostics.ts),
 * every output stage worth trying on these targets (stages/index.ts STAGES, in order). The stage
 * with the lowest held-out MSE (or a simpler one, earlier in STAGES, within 10% of it) wins if it
 * at least halves the linear fit's: a stage must explain structure, not shave noise. `archChoice` in the result says what was tried and why.
 */

import type { ImagePair } from '../data/pairs.js';
import { KernelLearnError } from '../errors.js';
import type { FitResult, TrainContext, TrainOptions } from './options.js';
import { fitStage, prepare } from './pipeline.js';
import { LINEAR, STAGES } from './stages/index.js';

/** How much more held-out MSE a simpler stage may have and still be chosen over a richer one. */
const OCCAM = 1.1;

export function chooseArch(pairs: ImagePair[], options: TrainOptions, shape: { cin: number; cout: number }, context: TrainContext): FitResult {
  const t0 = performance.now();
  const data = prepare(pairs, { ...options, arch: 'linear', clamp: 'off', abs: false, magnitude: false }, shape);
  const linear = fitStage(data, LINEAR, context);
  const mse = (r: FitResult): number => r.model.metrics.validation.mse;
  const candidates: { arch: string; mse: number; result: FitResult }[] = [{ arch: LINEAR.name, mse: mse(linear), result: linear }];
  const done = (r: FitResult, arch: string, reason: string): FitResult => ({
    ...r,
    trainMs: performance.now() - t0,
    archChoice: { chosen: arch, candidates: candidates.map(({ arch: a, mse: m }) => ({ arch: a, mse: m })), reason },
  });
  if (!linear.diagnostics.significant || !linear.identifiable) {
    return done(linear, 'linear', linear.identifiable ? 'the linear fit leaves only rounding noise' : 'the images are too flat to compare architectures');
  }
  for (const stage of STAGES) {
    if (stage === LINEAR || !stage.worthTrying(data)) continue;
    try {
      const r = fitStage(data, stage, context);
      candidates.push({ arch: stage.name, mse: mse(r), result: r });
    } catch (e) {
      if (!(e instanceof KernelLearnError)) throw e; // too few usable pixels for this stage: not a candidate
    }
  }
  // The simplest stage (the earliest in STAGES) within OCCAM of the lowest MSE: a curve may mimic a clamp.
  const lowest = Math.min(...candidates.slice(1).map((c) => c.mse));
  const best = candidates.slice(1).find((c) => c.mse <= OCCAM * lowest) ?? candidates[0];
  if (best.arch === 'linear' || !(best.mse <= 0.5 * candidates[0].mse)) {
    return done(linear, 'linear', `no output stage halves the linear fit's held-out MSE (${candidates.map((c) => `${c.arch} ${c.mse.toPrecision(3)}`).join(', ')}): the filter is kept linear, with its warnings`);
  }
  return done(best.result, best.arch, `${best.arch} has held-out MSE ${best.mse.toPrecision(3)} against ${candidates[0].mse.toPrecision(3)} for the plain linear fit`);
}

/**
 * How sure the fit is of each tap: the standard errors a model file keeps (training.stdErrors,
 * docs/model-format.md) and `train --json` / `inspect` / the report show.
 *
 * They are the exact solver's sigma^2 (X^T X)^-1 (exact.ts coefStdErrors), per tap and for the
 * bias, in the weights' layout [out][in][kh][kw]. They describe the least-squares kernel, so they
 * are written only where the stored kernel is that kernel (or a compact form of it, forms.ts):
 *   - the stage's fit is linear least squares (linear, clamp and abs: given the active set or the
 *     signs); the magnitude stage's two convs are found up to a rotation and claim none;
 *   - the weights are the exact optimum: the exact solver, or gradient descent certified against it
 *     (stop 'converged'); a descent stopped by its patience or step limit is somewhere else.
 * They assume independent noise of one variance in the targets. Where that fails they are too
 * small: JPEG targets (compression.ts says by how much the kernel is biased instead), or a filter
 * that is not a kernel at all (diagnostics.ts).
 */

import type { GramStats } from '../kernels/gram.js';
import type { StdErrors } from '../nn/model.js';
import { coefStdErrors, type ExactSolution } from './exact.js';
import type { StopKind } from './options.js';
import type { OutputStage } from './stages/index.js';

/** `{ stdErrors }` for the training record when they are known (see the header), else `{}`. */
export function stdErrorField(stage: OutputStage, stop: StopKind, stats: GramStats, exact: ExactSolution): { stdErrors?: StdErrors } {
  if (!stage.linearErrors || !(stop === 'solved' || stop === 'converged')) return {};
  const errors = stdErrorRecord(stats, coefStdErrors(stats, exact, { bias: true }));
  return errors ? { stdErrors: errors } : {};
}

/**
 * Per-output coefficient errors (taps in weight order, then the bias) as a record, in float32 like
 * the weights (so the model in memory is the one its file reads back as); undefined if any is not
 * finite (a singular fit).
 */
export function stdErrorRecord(stats: GramStats, se: Float64Array[]): StdErrors | undefined {
  const { cin, kh, kw, bias } = stats;
  if (se.some((row) => row.some((v) => !Number.isFinite(Math.fround(v))))) return undefined;
  const weights = se.map((row) =>
    Array.from({ length: cin }, (_, c) => Array.from({ length: kh }, (_, y) => Array.from({ length: kw }, (_, x) => Math.fround(row[(c * kh + y) * kw + x])))),
  );
  return { weights, bias: bias ? se.map((row) => Math.fround(row[cin * kh * kw])) : null };
}

/** The RMS of the taps' standard errors (bias left out), or undefined without them. */
export function tapErrorRms(errors: StdErrors | undefined): number | undefined {
  if (!errors) return undefined;
  const taps = errors.weights.flat(3);
  return Math.sqrt(taps.reduce((s, v) => s + v * v, 0) / taps.length);
}

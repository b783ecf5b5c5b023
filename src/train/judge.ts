/**
 * The last step of a fit: judge the network on held-out data and say what the data showed.
 *
 *   forms         the full kernel, its separable and snapped forms, each with its held-out
 *                 accuracy and size (forms.ts); --snap and --arch separable store one of them
 *   metrics       held-out MSE, PSNR and R² of the stored network (whole images, its border)
 *   diagnosis     is it a linear shift-invariant kernel at all? (diagnostics.ts)
 *   warnings      a poor R², a residual with structure, saturation the fit ignored
 *
 * The network is run once per image however often it is judged (memoPredict).
 */

import { createModel, type Model, type TrainingSummary } from '../nn/model.js';
import { convLayer, type Network } from '../nn/network.js';
import type { ChannelView } from './channels.js';
import { compressionWarnings } from './compression.js';
import { diagnoseResidual, residualWarnings, type ResidualDiagnostics } from './diagnostics.js';
import { memoPredict, validationMetrics, type Predict } from './evaluate.js';
import type { ExactSolution } from './exact.js';
import { aroundKernel, reportForms, separableLayers, type FormInput, type FormReport } from './forms.js';
import { meanSquare, noiseFloor } from './noise.js';
import type { TrainOptions } from './options.js';
import type { TrainData } from './pipeline.js';
import type { Region } from './regions.js';
import { SATURATION_SHARE, saturatedShare } from './stages/clamp.js';
import { LINEAR, type OutputStage } from './stages/index.js';
import { sizeLabel, type KernelSize } from './stages/stage.js';
import { tapErrorRms } from './uncertainty.js';

/** Condition number above which the images are called too flat to identify the kernel. */
export const CONDITION_WARNING = 1e8;
/**
 * Held-out PSNR from which a curve model's residual is taken as the resolution of its
 * piecewise-linear curves (32 knots), not as structure worth a warning.
 */
export const CURVE_RESOLUTION_DB = 70;
/** Validation R² below which the filter is called not linear shift-invariant. */
export const R2_WARNING = 0.99;

/** A fitted run, ready to judge. */
export interface Fitted {
  data: TrainData;
  stage: OutputStage;
  /** The regions and channel counts the fit ran on (after the colour choice). */
  view: ChannelView;
  size: KernelSize;
  network: Network;
  training: TrainingSummary;
  exact: ExactSolution;
  /** The fitted weights (float64, per conv output: taps then bias) and their standard errors. */
  coef: Float64Array[];
  stdErrors: Float64Array[];
  /** The run's warnings so far; the judge adds its own. */
  warnings: string[];
}

export interface Judged {
  model: Model;
  warnings: string[];
  diagnostics: ResidualDiagnostics;
  identifiable: boolean;
  forms: FormReport[];
}

export function judgeFit(fit: Fitted): Judged {
  const { data, view, exact, warnings } = fit;
  const { kh, kw } = fit.size;
  // The placeholder metrics are in the file sizes the forms report (the same bytes as before they are filled in).
  const model = createModel(fit.training.curves ? 'curves' : 'linear', fit.network, fit.training, { validation: { mse: 0, psnr: null, r2: 1 }, exactLoss: exact.loss });
  const regions = view.val.length > 0 ? view.val : view.train;
  const formInput: FormInput = { coef: fit.coef, se: fit.stdErrors, cin: view.cin, cout: fit.stage.convOutputs(view.cout), kh, kw, bias: data.bias };
  const predict = memoPredict();
  const forms = storeForm(model, formInput, regions, predict, data.options, data.targetStep, warnings);
  const { targetVaries, ...metrics } = validationMetrics(model, regions, predict);
  model.metrics.validation = metrics;
  if (metrics.r2 < R2_WARNING && targetVaries) {
    warnings.push(
      `validation R² is ${metrics.r2.toFixed(4)}: the filter does not look like a linear shift-invariant ${sizeLabel(fit.size)} kernel (or the targets are noisy or saturated); the model reproduces it only approximately`,
    );
  }
  const diagnostics = diagnoseResidual(model, [...view.train, ...view.val], kh, kw, data.targetStep, predict);
  // On images too flat to identify the kernel, the ridge (not the filter) shapes the residual.
  const identifiable = !(exact.conditionNumber > CONDITION_WARNING);
  if (identifiable) {
    if (!(fit.training.curves && (metrics.psnr ?? Infinity) >= CURVE_RESOLUTION_DB)) {
      const model = fit.training.curves ? `a ${sizeLabel(fit.size)} kernel with ${fit.stage.name === 'curves' ? 'curves before and after it' : `a curve ${fit.stage.name === 'curve-after' ? 'after' : 'before'} it`}` : undefined;
      warnings.push(...residualWarnings(diagnostics, metrics.r2, sizeLabel(fit.size), model));
    }
    const largest = Math.max(...fit.coef.map((c) => Math.max(...Array.from(c.subarray(0, c.length - (data.bias ? 1 : 0)), Math.abs))));
    warnings.push(...compressionWarnings(diagnostics.compression, { maxTap: largest, seRms: tapErrorRms(fit.training.stdErrors), colour: view.cout > 1 }));
  }
  if (fit.stage === LINEAR && diagnostics.significant) {
    const hint = saturationHint(data);
    if (hint) warnings.push(hint);
  }
  return { model, warnings, diagnostics, identifiable, forms };
}

/**
 * Reports every form of the fitted kernel and stores the one asked for (--snap, --arch
 * separable) in `model`; the output stages after the conv stay with every form.
 */
function storeForm(model: Model, f: FormInput, regions: Region[], predict: Predict, options: TrainOptions, targetStep: number, warnings: string[]): FormReport[] {
  const { head, tail } = aroundKernel(model);
  const { forms, separable, snapped } = reportForms(model, f, regions, predict);
  let snapAccepted = false;
  if (options.snap) {
    const snap = forms.find((x) => x.form === 'snapped');
    const floor = noiseFloor(meanSquare(regions.map((r) => r.pair)), targetStep);
    if (snap && snap.mse <= 1.01 * forms[0].mse + floor) {
      model.layers = [...head, convLayer(snapped.coef, f), ...tail];
      snapAccepted = true;
    } else {
      warnings.push(`--snap: the kernel is not scale x small integers within noise${snap ? ' (the snapped kernel loses held-out accuracy)' : ''}; the fitted kernel is kept`);
    }
  }
  if (options.arch === 'separable') {
    model.arch = 'separable';
    model.layers = [...head, ...(snapAccepted ? separableLayers({ ...f, coef: snapped.coef }, snapped).layers : separable.layers), ...tail];
  }
  return forms;
}

/**
 * A plain linear fit of integer targets with many pixels at the depth's limits: perhaps the filter
 * saturated. The hint needs more target pixels at the limits than the inputs have there (a median
 * of an image with white regions is white there too, without any saturation).
 */
function saturationHint(data: TrainData): string | null {
  const { limits, saturation } = data;
  if (!limits) return null;
  const inputShare = saturatedShare(data.images.train.map((p) => p.input), limits.lo, limits.hi);
  if (!(saturation >= Math.max(SATURATION_SHARE, 2 * inputShare))) return null;
  return `${(100 * saturation).toFixed(1)}% of the target pixels sit at the ${data.pairs[0].target.depth} limits (${limits.lo} or ${limits.hi}): if the filter's output was saturated, train with clamp auto (--clamp auto) to fit a clamped model with a censored loss`;
}

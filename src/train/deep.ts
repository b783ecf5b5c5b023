/**
 * --arch deep: a small conv-relu-conv stack (cin -> `hidden` channels, k x k; relu; hidden -> cout,
 * 3 x 3) trained by gradient descent (Adam by default) on random crops with the trainer of
 * trainer.ts (valid convs, scaled data, reduce-on-plateau, validation-plateau stopping; there is
 * no exact optimum to certify against). For filters that are not linear (median, morphology,
 * bilateral-like) this is the brief's "small nonlinear network"; the result reports the linear
 * fit's held-out MSE beside it, so the user sees what the extra parameters bought.
 *
 * fitDeep is the arch's whole run: the linear fit of a kernel the size of the stack's receptive
 * field, for comparison (its held-out MSE is the first form), then the split, the descent, the
 * metrics and the residual diagnosis.
 */

import type { ImagePair } from '../data/pairs.js';
import { KernelLearnError, UsageError } from '../errors.js';
import type { BorderMode } from '../filters/border.js';
import { Conv2d, Relu, Sequential } from '../nn/layers.js';
import { createModel, serializeModel } from '../nn/model.js';
import { convLayer, type Conv2dSpec, type LayerSpec } from '../nn/network.js';
import { compressionWarnings } from './compression.js';
import { diagnoseResidual } from './diagnostics.js';
import { validationMetrics } from './evaluate.js';
import { formAccuracy, type FormReport } from './forms.js';
import { depthStep } from './noise.js';
import type { FitResult, TrainOptions } from './options.js';
import { fitStage, prepare, requestedStage, runSummary } from './pipeline.js';
import { regionsArea, splitPairs, splitRecord, type Region } from './regions.js';
import { convCoef, trainGd, type GdResult } from './trainer.js';
import { tapErrorRms } from './uncertainty.js';

export function fitDeep(pairs: ImagePair[], options: TrainOptions, { cin, cout }: { cin: number; cout: number }): FitResult {
  const t0 = performance.now();
  const warnings: string[] = [];
  if (Array.isArray(options.ksize) && options.ksize[0] !== options.ksize[1]) throw new UsageError(`--arch deep takes a square --ksize (or auto), not ${options.ksize.join('x')}`);
  const k = options.ksize === 'auto' ? 3 : Array.isArray(options.ksize) ? options.ksize[0] : options.ksize;
  const linearData = prepare(pairs, { ...options, arch: 'linear', solver: 'exact', ksize: k + 2, onProgress: undefined }, { cin, cout });
  const linear = fitStage(linearData, requestedStage(linearData));
  if (options.solver === 'exact') warnings.push('--arch deep has no exact solver: trained with adam');
  const solver = options.solver === 'sgd' ? 'sgd' : 'adam';
  const split = splitPairs(pairs, options.validationFraction ?? 0.2, options.seed, k + 2);
  const { train, val } = split;
  if (Math.max(...train.map(minSide)) < k + 2) throw new KernelLearnError(`the training images are too small for --arch deep with ${k}x${k} kernels (receptive field ${k + 2}x${k + 2})`);
  const deep = trainDeep(train, val, {
    cin, cout, k, bias: options.bias ?? true, solver, seed: options.seed,
    maxSteps: options.maxSteps ?? 5000, patience: options.patience ?? 10, learningRate: options.learningRate, onProgress: options.onProgress,
  });
  const border: BorderMode = options.border === 'auto' ? 'reflect101' : options.border;
  if (options.border === 'auto') warnings.push('--arch deep does not detect the border mode: using reflect101');
  const training = {
    ...runSummary({ pairs, options }, solver, deep.gd.steps, deep.gd.stopReason),
    validation: { kind: split.kind, pairs: split.kind === 'pairs' ? val.length : 0, pixels: regionsArea(val) },
  };
  const model = createModel('deep', { inputChannels: cin, outputChannels: cout, border, layers: deep.layers }, training, { validation: { mse: 0, psnr: null, r2: 1 } });
  const judge = val.length > 0 ? val : train;
  const { targetVaries: _tv, ...metrics } = validationMetrics(model, judge);
  model.metrics.validation = metrics;
  const acc = formAccuracy(model, judge);
  const deepForm: FormReport = { form: 'deep', params: deep.params, bytes: 4 * deep.params, fileBytes: new TextEncoder().encode(serializeModel(model)).length, ...acc };
  const linearMse = linear.forms[0].mse;
  if (!(acc.mse < linearMse)) warnings.push(`--arch deep: held-out MSE ${acc.mse.toPrecision(3)} is no better than the linear ${k + 2}x${k + 2} fit's ${linearMse.toPrecision(3)}: the filter may be linear (use --arch auto), or train longer (--max-steps)`);
  const diagnostics = diagnoseResidual(model, [...train, ...val], k + 2, k + 2, Math.max(...pairs.map((p) => depthStep(p.target.depth))));
  // The network learns what JPEG did to the targets too; the linear fit beside it says by how much its taps moved.
  const linearConv = linear.model.layers[0] as Conv2dSpec;
  const maxTap = Math.max(...linearConv.weights.flat(3).map(Math.abs));
  warnings.push(...compressionWarnings(diagnostics.compression, { maxTap, seRms: tapErrorRms(linear.model.training.stdErrors), colour: cout > 1 }));
  return {
    model, history: deep.gd.history, stopReason: deep.gd.stopReason, stop: deep.gd.stop, steps: deep.gd.steps, trainMs: performance.now() - t0, warnings,
    zeroTaps: { count: 0, of: 0, taps: [], mask: [] }, support: { kernel: [k + 2, k + 2], box: { top: 0, left: 0, height: k + 2, width: k + 2 }, offset: [0, 0] }, diagnostics, identifiable: linear.identifiable,
    forms: [{ ...linear.forms[0] }, deepForm], kernelSize: [k + 2, k + 2], split: splitRecord(split, pairs),
  };
}

const minSide = (r: Region): number => Math.min(r.x1 - r.x0, r.y1 - r.y0);

export const DEEP_HIDDEN = 8;

export interface DeepOptions {
  cin: number;
  cout: number;
  k: number;
  bias: boolean;
  solver: 'adam' | 'sgd';
  seed: number;
  maxSteps: number;
  patience: number;
  learningRate?: number;
  onProgress?: Parameters<typeof trainGd>[3]['onProgress'];
}

export function trainDeep(train: Region[], val: Region[], o: DeepOptions): { layers: LayerSpec[]; gd: GdResult; params: number } {
  const first = new Conv2d({ inChannels: o.cin, outChannels: DEEP_HIDDEN, kh: o.k, kw: o.k, bias: true });
  const second = new Conv2d({ inChannels: DEEP_HIDDEN, outChannels: o.cout, kh: 3, kw: 3, bias: o.bias });
  const net = new Sequential([first, new Relu(), second]);
  const gd = trainGd(net, train, val, {
    solver: o.solver,
    seed: o.seed,
    maxSteps: o.maxSteps,
    patience: o.patience,
    tolerance: 0,
    learningRate: o.learningRate,
    onProgress: o.onProgress,
  });
  const layers: LayerSpec[] = [
    convLayer(convCoef(gd.convs[0], DEEP_HIDDEN), { cin: o.cin, cout: DEEP_HIDDEN, kh: o.k, kw: o.k, bias: true }),
    { type: 'relu' },
    convLayer(convCoef(gd.convs[1], o.cout), { cin: DEEP_HIDDEN, cout: o.cout, kh: 3, kw: 3, bias: o.bias }),
  ];
  const params = DEEP_HIDDEN * (o.cin * o.k * o.k + 1) + o.cout * (DEEP_HIDDEN * 9 + (o.bias ? 1 : 0));
  return { layers, gd, params };
}

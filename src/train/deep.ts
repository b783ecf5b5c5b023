/**
 * --arch deep: a small context-aggregation network (CAN: Chen, Xu and Koltun, "Fast Image
 * Processing with Fully-Convolutional Networks", ICCV 2017), the honest deep baseline beside the
 * exact linear fit:
 *
 *   conv k x k (cin -> width), relu, then (depth - 1) x [conv 3x3 (width -> width), dilation d_i, relu],
 *   then conv 1x1 (width -> cout)
 *
 * with CAN's dilations by default (1, 2, 4, ..., 2^(depth-2), then 1: the receptive field grows
 * exponentially with depth at full resolution), trained by Adam on worker threads (trainer.ts,
 * parallel.ts) on random crops.
 *
 * Identity initialisation (CAN's): the untrained net is the identity map, in the data's own
 * units, so training learns the filter's residual from the identity, which is small for the image
 * operators this arch is for (blurs, tone curves, edge-aware smoothing). CAN sets every layer to
 * the identity; with a relu after each layer and centred inputs, one channel cannot carry a signed
 * value through, so each input channel c travels as the pair relu(x_c), relu(-x_c) (channels 2c and
 * 2c + 1: x = relu(x) - relu(-x) exactly), every hidden layer passes those pairs on unchanged (its
 * centre tap 1), and the 1x1 conv subtracts them, with the trainer's input and target scales folded
 * in (identityInit). The other width - 2 cin channels start as He-random features read by nothing
 * yet (their weights into the carrier channels and into the output are 0), so the net is exactly
 * the identity and still every weight has a gradient.
 *
 * No batch normalisation: CAN's adaptive BN (lambda x + mu BN(x)) is replaced by nothing. The
 * trainer already normalises what BN would: inputs centred and scaled to unit std, targets to
 * unit RMS; identity initialisation keeps activations at that scale through the layers (BN's job in
 * deep stacks), and these nets are at most a few layers deep. At inference BN is a per-channel affine
 * map that folds into the next conv, so it adds nothing the net could not represent; in training its
 * batch statistics would make a crop's gradient depend on the other crops of its batch, which would
 * break the per-crop sums that make the result independent of the thread count (parallel.ts).
 *
 * fitDeep is the arch's whole run: the exact linear fit of a kernel the size of the net's receptive
 * field (up to 31 x 31), for comparison (its held-out MSE is the first form), then the split, the
 * descent, the metrics and the residual diagnosis.
 */

import type { ImagePair } from '../data/pairs.js';
import { KernelLearnError, UsageError } from '../errors.js';
import type { BorderMode } from '../filters/border.js';
import { extent } from '../kernels/conv2d.js';
import { Conv2d, Relu, Sequential, type Layer } from '../nn/layers.js';
import { createModel, serializeModel } from '../nn/model.js';
import { convLayer, type Conv2dSpec, type LayerSpec } from '../nn/network.js';
import { compressionWarnings } from './compression.js';
import { diagnoseResidual } from './diagnostics.js';
import { validationMetrics } from './evaluate.js';
import { formAccuracy, type FormReport } from './forms.js';
import { DEEP_MAX_DILATION, KSIZE_MAX } from './limits.js';
import { depthStep } from './noise.js';
import type { FitResult, TrainOptions } from './options.js';
import { fitStage, prepare, requestedStage, runSummary } from './pipeline.js';
import { regionsArea, splitPairs, splitRecord, type Region } from './regions.js';
import { convCoef, trainGd, type GdResult, type Scaling } from './trainer.js';
import { tapErrorRms } from './uncertainty.js';

/** The net's shape: `depth` relu layers of `width` channels, the i-th with dilation dilations[i]. */
export interface DeepShape {
  depth: number;
  width: number;
  dilations: number[];
}

export const DEEP_DEPTH = 4;
export const DEEP_WIDTH = 16;
/**
 * Adam's rate in the trainer's scaled units: 0.1 (its default, right for one linear conv) diverges
 * or stalls a relu stack; `kernel-learn experiment depth-photos` trained at this rate.
 */
export const DEEP_LEARNING_RATE = 0.01;
/**
 * Crops per step and their side in valid outputs: 8 of 32 x 32, 8k outputs a step, a quarter of
 * the one-conv default. A deep step costs the channels squared per pixel, and Adam on a relu net
 * gains more from more steps than from smoother ones.
 */
export const DEEP_BATCH = 8;
export const DEEP_CROP = 32;

/** CAN's dilations for `depth` relu layers: 1, 2, 4, ... doubling, the last layer 1. */
export function canDilations(depth: number): number[] {
  return Array.from({ length: depth }, (_, i) => (i === depth - 1 ? 1 : Math.min(2 ** i, DEEP_MAX_DILATION)));
}

/** The shape --depth, --width and --dilations ask for, defaults filled in (checkOptions has checked them). */
export function deepShape(o: TrainOptions['deep']): DeepShape {
  const depth = o?.depth ?? (o?.dilations ? o.dilations.length : DEEP_DEPTH);
  return { depth, width: o?.width ?? DEEP_WIDTH, dilations: o?.dilations ?? canDilations(depth) };
}

/** The receptive field (side) of the net with a first kernel k x k. */
export const receptiveSide = (k: number, s: DeepShape): number => extent(k, s.dilations[0]) + s.dilations.slice(1).reduce((a, d) => a + 2 * d, 0);

/** Weights of the net: the first conv's, the hidden convs', the 1x1 conv's (biases included). */
export function deepParams(cin: number, cout: number, k: number, s: DeepShape, bias: boolean): number {
  return s.width * (cin * k * k + 1) + (s.depth - 1) * s.width * (9 * s.width + 1) + cout * (s.width + (bias ? 1 : 0));
}

export function fitDeep(pairs: ImagePair[], options: TrainOptions, { cin, cout }: { cin: number; cout: number }): FitResult {
  const t0 = performance.now();
  const warnings: string[] = [];
  if (Array.isArray(options.ksize) && options.ksize[0] !== options.ksize[1]) throw new UsageError(`--arch deep takes a square --ksize (or auto), not ${options.ksize.join('x')}`);
  const k = options.ksize === 'auto' ? 3 : Array.isArray(options.ksize) ? options.ksize[0] : options.ksize;
  const shape = deepShape(options.deep);
  if (shape.width < 2 * cin) throw new UsageError(`--arch deep needs --width of at least ${2 * cin} for ${cin}-channel inputs (two carrier channels per input channel), got ${shape.width}`);
  if (shape.dilations[0] > 1 && k % 2 === 0) throw new UsageError(`--arch deep: a dilated first layer needs an odd --ksize, got ${k}`);
  const rf = receptiveSide(k, shape);
  const minSide = Math.min(...pairs.map((p) => Math.min(p.input.width, p.input.height)));
  const linearK = Math.max(1, Math.min(rf, KSIZE_MAX, minSide));
  const linearData = prepare(pairs, { ...options, arch: 'linear', solver: 'exact', ksize: linearK, onProgress: undefined }, { cin, cout });
  const linear = fitStage(linearData, requestedStage(linearData));
  if (options.solver === 'exact') warnings.push('--arch deep has no exact solver: trained with adam');
  const solver = options.solver === 'sgd' ? 'sgd' : 'adam';
  const split = splitPairs(pairs, options.validationFraction ?? 0.2, options.seed, rf);
  const { train, val } = split;
  if (Math.max(...train.map(regionMinSide)) < rf) throw new KernelLearnError(`the training images are too small for --arch deep with this depth and dilation (receptive field ${rf}x${rf})`);
  const deep = trainDeep(train, val, {
    cin, cout, k, shape, bias: options.bias ?? true, solver, seed: options.seed,
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
  if (!(acc.mse < linearMse)) warnings.push(`--arch deep: held-out MSE ${acc.mse.toPrecision(3)} is no better than the linear ${linearK}x${linearK} fit's ${linearMse.toPrecision(3)}: the filter may be linear (use --arch auto), or train longer (--max-steps)`);
  const diagnostics = diagnoseResidual(model, [...train, ...val], rf, rf, Math.max(...pairs.map((p) => depthStep(p.target.depth))));
  // The network learns what JPEG did to the targets too; the linear fit beside it says by how much its taps moved.
  const linearConv = linear.model.layers[0] as Conv2dSpec;
  const maxTap = Math.max(...linearConv.weights.flat(3).map(Math.abs));
  warnings.push(...compressionWarnings(diagnostics.compression, { maxTap, seRms: tapErrorRms(linear.model.training.stdErrors), colour: cout > 1 }));
  return {
    model, history: deep.gd.history, stopReason: deep.gd.stopReason, stop: deep.gd.stop, steps: deep.gd.steps, trainMs: performance.now() - t0, warnings,
    zeroTaps: { count: 0, of: 0, taps: [], mask: [] }, support: { kernel: [rf, rf], box: { top: 0, left: 0, height: rf, width: rf }, offset: [0, 0] }, diagnostics, identifiable: linear.identifiable,
    forms: [{ ...linear.forms[0] }, deepForm], kernelSize: [rf, rf], split: splitRecord(split, pairs),
  };
}

const regionMinSide = (r: Region): number => Math.min(r.x1 - r.x0, r.y1 - r.y0);

export interface DeepOptions {
  cin: number;
  cout: number;
  /** The first conv's size. */
  k: number;
  shape: DeepShape;
  /** A bias on the last (1x1) conv. */
  bias: boolean;
  solver: 'adam' | 'sgd';
  seed: number;
  maxSteps: number;
  patience: number;
  learningRate?: number;
  onProgress?: Parameters<typeof trainGd>[3]['onProgress'];
}

/** The convs of the net, each with its shape, in order. */
function deepConvs(o: Pick<DeepOptions, 'cin' | 'cout' | 'k' | 'shape' | 'bias'>): Conv2d[] {
  const { cin, cout, k, shape } = o;
  const hidden = shape.dilations.map((d, i) => new Conv2d({
    inChannels: i === 0 ? cin : shape.width, outChannels: shape.width, kh: i === 0 ? k : 3, kw: i === 0 ? k : 3, bias: true, dilation: d, sums: 'f32',
  }));
  return [...hidden, new Conv2d({ inChannels: shape.width, outChannels: cout, kh: 1, kw: 1, bias: o.bias, sums: 'f32' })];
}

/** The net: each conv but the last followed by a relu. */
export function deepNet(o: Pick<DeepOptions, 'cin' | 'cout' | 'k' | 'shape' | 'bias'>): Sequential {
  const convs = deepConvs(o);
  return new Sequential(convs.flatMap((c, i): Layer[] => (i < convs.length - 1 ? [c, new Relu()] : [c])));
}

/** He-uniform values (gain sqrt 2 for the relu after) for the weights of output channel `o` of `conv`. */
function heRow(conv: Conv2d, o: number, rng: () => number): void {
  const per = conv.inChannels * conv.kh * conv.kw;
  const bound = Math.SQRT2 * Math.sqrt(3 / per);
  for (let i = 0; i < per; i++) conv.weight.value[o * per + i] = (2 * rng() - 1) * bound;
}

/**
 * CAN's identity initialisation (see the module comment), in the trainer's scaled units: input
 * x' = (x - mean) / std per channel, target y' = y / targetRms. Output o starts as input channel
 * o mod cin: y'_o = (std_c x'_c + mean_c) / targetRms, which is y_o = x_c in the data's units.
 */
export function identityInit(net: Sequential, rng: () => number, sc: Scaling): void {
  const convs = net.layers.filter((l): l is Conv2d => l instanceof Conv2d);
  const cin = convs[0].inChannels, carriers = 2 * cin;
  for (const conv of convs) {
    conv.weight.value.fill(0);
    conv.bias?.value.fill(0);
  }
  convs.slice(0, -1).forEach((conv, li) => {
    const taps = conv.kh * conv.kw, centre = (conv.kh >> 1) * conv.kw + (conv.kw >> 1);
    for (let o = 0; o < conv.outChannels; o++) {
      if (o >= carriers) { heRow(conv, o, rng); continue; }
      // Carrier o: +x_c or -x_c from the input (first layer), else itself from the layer before.
      const from = li === 0 ? o >> 1 : o;
      const sign = li === 0 && o % 2 === 1 ? -1 : 1;
      conv.weight.value[(o * conv.inChannels + from) * taps + centre] = sign;
    }
  });
  const last = convs[convs.length - 1];
  for (let o = 0; o < last.outChannels; o++) {
    const c = o % cin, scale = sc.std[c] / sc.targetRms;
    last.weight.value[o * last.inChannels + 2 * c] = scale;
    last.weight.value[o * last.inChannels + 2 * c + 1] = -scale;
    if (last.bias) last.bias.value[o] = sc.mean[c] / sc.targetRms;
  }
}

export function trainDeep(train: Region[], val: Region[], o: DeepOptions): { layers: LayerSpec[]; gd: GdResult; params: number } {
  const net = deepNet(o);
  const gd = trainGd(net, train, val, {
    solver: o.solver,
    seed: o.seed,
    maxSteps: o.maxSteps,
    patience: o.patience,
    tolerance: 0,
    learningRate: o.learningRate ?? DEEP_LEARNING_RATE,
    batchSize: DEEP_BATCH,
    cropSize: DEEP_CROP,
    initialise: identityInit,
    onProgress: o.onProgress,
  });
  const convs = deepConvs(o);
  const layers = convs.flatMap((c, i): LayerSpec[] => {
    const spec = convLayer(convCoef(gd.convs[i], c.outChannels), { cin: c.inChannels, cout: c.outChannels, kh: c.kh, kw: c.kw, bias: c.bias !== null, dilation: c.dilation });
    return i < convs.length - 1 ? [spec, { type: 'relu' }] : [spec];
  });
  return { layers, gd, params: deepParams(o.cin, o.cout, o.k, o.shape, o.bias) };
}

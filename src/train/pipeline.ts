/**
 * The fit of one output stage (stages/), as named steps:
 *
 *   prepare:   check -> split (regions.ts) -> the data every stage fits from
 *   fitStage:  choose the size and fit (the stage) -> colour (channels.ts) -> descend (exact, or
 *              Adam/SGD certified by the exact optimum: trainer.ts) -> border (evaluate.ts) ->
 *              build the network -> judge (judge.ts: forms, metrics, diagnostics, warnings)
 *
 * Every stage goes through the same steps; what differs is the stage's own fit, the layers it adds
 * after the conv and the map the border search applies to a conv response. `--arch auto` prepares
 * once and fits each stage worth trying (arch.ts).
 */

import type { ImagePair } from '../data/pairs.js';
import { KernelLearnError } from '../errors.js';
import { BORDER_MODES, type BorderMode } from '../filters/border.js';
import { integerRange } from '../image.js';
import type { GramPair, GramStats } from '../kernels/gram.js';
import { convArrays } from '../nn/apply.js';
import { Conv2d, Sequential } from '../nn/layers.js';
import type { TrainingSummary } from '../nn/model.js';
import { edgeRing } from '../nn/alignment.js';
import { convLayer, type Conv2dSpec, type Network } from '../nn/network.js';
import { chooseChannels, type ChannelChoice, type ChannelView } from './channels.js';
import { coefStdErrors, lossFromStats, solveExact, targetVariance, type ExactSolution } from './exact.js';
import { chooseBorder, type BorderChoice } from './evaluate.js';
import { formAccuracy } from './forms.js';
import { CONDITION_WARNING, judgeFit } from './judge.js';
import { depthStep, meanSquare, noiseFloor } from './noise.js';
import type { FitResult, StopKind, TrainContext, TrainOptions } from './options.js';
import { regionHeight, regionImages, regionsArea, regionWidth, splitPairs, splitRecord, type Region, type Split } from './regions.js';
import { saturatedShare } from './stages/clamp.js';
import { ABS, CLAMP, CURVE_AFTER, CURVE_BEFORE, CURVES, LINEAR, MAGNITUDE, type OutputStage, type StageFacts } from './stages/index.js';
import { sizeLabel, square, type KernelSize } from './stages/stage.js';
import { autoKsizeLimit, findZeroTaps, tightSupport } from './support.js';
import { convCoef, trainGd, type HistoryEntry } from './trainer.js';
import { stdErrorField } from './uncertainty.js';

/** What every stage of one run fits from (see prepare). */
export interface TrainData extends StageFacts {
  options: TrainOptions;
  cin: number;
  bias: boolean;
  split: Split;
  /** The kernel to fit: --ksize, or the largest square --ksize auto may try. */
  wanted: KernelSize;
  /** The split's regions as stand-alone images (for bands, copies). */
  images: { train: GramPair[]; val: GramPair[] | null };
  targetStep: number;
  /** Warnings every fit of the run carries (no held-out data). */
  warnings: string[];
}

const minSide = (r: Region): number => Math.min(r.x1 - r.x0, r.y1 - r.y0);
const largestOddUpTo = (n: number): number => (n % 2 === 1 ? n : n - 1);

/** Splits checked pairs and gathers what the stages need (the largest kernel, the targets' range). */
export function prepare(pairs: ImagePair[], options: TrainOptions, shape: { cin: number; cout: number }): TrainData {
  const { cin, cout } = shape;
  const bias = options.bias ?? true;
  const fraction = options.validationFraction ?? 0.2;
  const ksize = options.ksize === 'auto' ? 'auto' : kernelSizeOf(options.ksize);
  // The largest kernel we will fit sets how thin a band may be.
  const limit = ksize === 'auto' ? autoKsizeLimit(pairs.map((p) => p.input), cin, bias, 1 - fraction) : Math.max(ksize.kh, ksize.kw);
  const split = splitPairs(pairs, fraction, options.seed, Math.max(limit, 1));
  const fits = (r: Region, s: KernelSize): boolean => regionHeight(r) >= s.kh && regionWidth(r) >= s.kw;
  let wanted = ksize === 'auto' ? square(limit) : ksize;
  if (ksize === 'auto') wanted = square(Math.max(1, Math.min(limit, largestOddUpTo(Math.max(...split.train.map(minSide))))));
  if (!split.train.some((r) => fits(r, wanted))) {
    const largest = split.train.reduce((a, r) => (minSide(r) > minSide(a) ? r : a));
    throw new KernelLearnError(`the training images are too small for a ${sizeLabel(wanted)} kernel: at least one needs ${wanted.kh} rows and ${wanted.kw} columns (the largest is ${regionHeight(largest)}x${regionWidth(largest)} pixels)`);
  }
  const warnings = split.kind === 'none' ? ['no held-out data (one image, too small to cut a validation band): the validation metrics are on the training image'] : [];
  const depths = new Set(pairs.map((p) => p.target.depth));
  const limits = depths.size === 1 ? integerRange(pairs[0].target.depth) : null;
  const train = regionImages(split.train);
  const saturation = limits && cout === 1 ? saturatedShare(train.map((p) => p.target), limits.lo, limits.hi) : 0;
  return {
    pairs, options, cin, cout, bias, split, wanted, limits, saturation, ksize, warnings,
    images: { train, val: split.val.length > 0 ? regionImages(split.val) : null },
    targetStep: Math.max(...pairs.map((p) => depthStep(p.target.depth))),
  };
}

/** --ksize as a size: n is n x n, [kh, kw] as it is. */
export function kernelSizeOf(ksize: number | [number, number]): KernelSize {
  return typeof ksize === 'number' ? square(ksize) : { kh: ksize[0], kw: ksize[1] };
}

/** The stage the options ask for: --arch curve-*, --abs, --magnitude, --clamp auto on saturated targets, or the plain linear fit. */
export function requestedStage(data: TrainData): OutputStage {
  const o = data.options;
  if (o.arch === 'curve-after') return CURVE_AFTER;
  if (o.arch === 'curve-before') return CURVE_BEFORE;
  if (o.arch === 'curves') return CURVES;
  if (o.abs) return ABS;
  if (o.magnitude) return MAGNITUDE;
  if (o.clamp === 'auto' && CLAMP.worthTrying(data)) return CLAMP;
  return LINEAR;
}

/** The steps after prepare, for one stage (see the header). */
export function fitStage(data: TrainData, stage: OutputStage, context: TrainContext = {}): FitResult {
  const t0 = performance.now();
  const { options, bias, limits, targetStep } = data;
  stage.check(data.cout, data.ksize);
  const warnings = [...data.warnings];
  const solver = solverFor(stage, options.solver, warnings);
  const fit = stage.fit(
    { train: data.images.train, val: data.images.val, cin: data.cin, cout: data.cout, bias, limits, targetStep, cache: context.gramCache },
    data.wanted, data.ksize === 'auto',
  );
  warnings.push(...fit.warnings);
  // The layers around the conv: the stage's own, or (curves) the ones its fit made.
  const around = fit.around ?? { before: [], after: stage.outputLayers(limits), responseMap: stage.responseMap(limits) };
  const colour = colourStep(data, fit.stats, fit.valStats, fit.around !== undefined, warnings);
  const { view, stats } = colour;
  const exact = fit.solution ?? solveExact(stats);
  const { kh, kw } = fit.size;
  if (exact.conditionNumber > CONDITION_WARNING) {
    const cond = Number.isFinite(exact.conditionNumber) ? exact.conditionNumber.toExponential(1) : 'infinite';
    warnings.push(`the training images are too flat to identify a ${sizeLabel(fit.size)} kernel (window correlation condition number ${cond}): some combinations of taps are guesses; train on images with more texture or noise`);
  }
  const stdErrors = stage.linearErrors ? coefStdErrors(stats, exact) : exact.coef.map((c) => new Float64Array(c.length));
  const zeroTaps = findZeroTaps(exact.coef, stdErrors, view.cin, kh, kw);
  const weights = descend(view, { ...fit, stats, valStats: colour.valStats }, exact, solver, options);
  const conv = convLayer(weights.coef, { cin: view.cin, cout: stage.convOutputs(view.cout), kh, kw, bias });
  const network = (border: BorderMode): Network => ({ inputChannels: view.cin, outputChannels: view.cout, border, layers: [...around.before, conv, ...around.after] });
  const borderChoice = options.border === 'auto' ? searchBorder(view.train, around.responseMap, conv, network, warnings) : null;
  // What the weights leave inside (the exact optimum's loss, or gradient descent's on the same pixels).
  const insideMse = solver === 'exact' ? exact.loss : lossFromStats(stats, weights.coef);
  const edge = settleEdge(borderChoice, options.border, network, view, insideMse, data, warnings);
  const training: TrainingSummary = {
    ...runSummary(data, solver, weights.steps, weights.stopReason),
    validation: { kind: data.split.kind, pairs: data.split.kind === 'pairs' ? data.split.val.length : 0, pixels: regionsArea(data.split.val) },
    ...(fit.sizeChoice ? { kernelSizeChoice: fit.sizeChoice } : {}),
    ...(borderChoice ? { borderChoice } : {}),
    conditionNumber: exact.conditionNumber,
    ...(fit.curves ? { curves: fit.curves } : {}),
    ...stdErrorField(stage, weights.stop, stats, exact),
  };
  const judged = judgeFit({ data, stage, view: edge.view, size: fit.size, network: edge.network, training, exact, coef: weights.coef, stdErrors, warnings });
  return {
    ...judged, history: weights.history, exactLoss: exact.loss, stopReason: weights.stopReason, stop: weights.stop, steps: weights.steps,
    trainMs: performance.now() - t0, zeroTaps, support: tightSupport(zeroTaps, kh, kw), kernelSize: [kh, kw], ...(colour.choice ? { channelChoice: colour.choice } : {}), split: splitRecord(data.split, data.pairs),
  };
}

/** The solver that runs: auto is exact; stages only the exact solver fits say so and use it. */
function solverFor(stage: OutputStage, asked: TrainOptions['solver'], warnings: string[]): 'exact' | 'adam' | 'sgd' {
  const solver = asked === 'auto' ? 'exact' : asked;
  if (stage.exactOnly && solver !== 'exact') {
    warnings.push(`${stage.exactOnly}, not ${solver}`);
    return 'exact';
  }
  return solver;
}

/**
 * The colour step: full or shared kernels (channels.ts) when inputs and targets have C > 1
 * channels alike; a stage with curves (`curved`) keeps the full kernels its fit found.
 */
function colourStep(data: TrainData, stats: GramStats, valStats: GramStats | null, curved: boolean, warnings: string[]): { view: ChannelView; stats: GramStats; valStats: GramStats | null; choice?: ChannelChoice } {
  const view: ChannelView = { train: data.split.train, val: data.split.val, cin: data.cin, cout: data.cout };
  const mode = data.options.channels ?? 'full';
  if (!(data.cin === data.cout && data.cin > 1 && mode !== 'full')) return { view, stats, valStats };
  if (curved) {
    warnings.push(`--channels ${mode}: a curve stage fits full colour kernels; they are kept`);
    return { view, stats, valStats };
  }
  const chosen = chooseChannels(view, stats, valStats, mode, data.targetStep);
  if (chosen.warning) warnings.push(chosen.warning);
  return chosen;
}

interface Descent {
  /** Per conv output: taps, then the bias. */
  coef: Float64Array[];
  history: HistoryEntry[];
  steps: number;
  stopReason: string;
  stop: StopKind;
}

/** The weights: the exact optimum itself, or gradient descent certified against it. */
function descend(view: ChannelView, fit: { size: KernelSize; stats: GramStats; valStats: GramStats | null; reason: string }, exact: ExactSolution, solver: 'exact' | 'adam' | 'sgd', options: TrainOptions): Descent {
  if (solver === 'exact') {
    const valLoss = fit.valStats ? lossFromStats(fit.valStats, exact.coef) : undefined;
    // One solve: reported once, as step 1 of 1 (history keeps step 0: no gradient steps were taken).
    options.onProgress?.({ solver, step: 1, maxSteps: 1, trainLoss: exact.loss, valLoss });
    return { coef: exact.coef, history: [{ step: 0, trainLoss: exact.loss, ...(valLoss !== undefined ? { valLoss } : {}) }], steps: 0, stopReason: fit.reason, stop: 'solved' };
  }
  const { cin, cout } = view;
  const net = new Sequential([new Conv2d({ inChannels: cin, outChannels: cout, kh: fit.size.kh, kw: fit.size.kw, bias: fit.stats.bias })]);
  const gd = trainGd(net, view.train, view.val, {
    solver,
    seed: options.seed,
    maxSteps: options.maxSteps ?? 5000,
    patience: options.patience ?? 10,
    tolerance: options.tolerance ?? 1e-12,
    learningRate: options.learningRate,
    certificate: { stats: fit.stats, optimum: exact.coef, variance: targetVariance(fit.stats) },
    onProgress: options.onProgress,
  });
  return { coef: convCoef(gd.convs[0], cout), history: gd.history, steps: gd.steps, stopReason: gd.stopReason, stop: gd.stop };
}

/**
 * --border auto: the mode whose predictions of the border pixels match the targets best. A stage
 * whose output is a map of one conv response goes through chooseBorder (border pixels only); one
 * that combines several responses (magnitude) runs the network in each mode.
 */
function searchBorder(
  train: Region[], map: ((v: number) => number) | undefined | null, conv: Conv2dSpec, network: (border: BorderMode) => Network, warnings: string[],
): BorderChoice {
  if (map === null) {
    const candidates = BORDER_MODES.map((mode) => ({ border: mode, mse: formAccuracy(network(mode), train).mse }));
    const best = Math.min(...candidates.map((c) => c.mse));
    const tied = candidates.filter((c) => c.mse <= best * (1 + 1e-6) + 1e-300).map((c) => c.border);
    return { chosen: tied.includes('reflect101') ? 'reflect101' : tied[0], candidates, borderPixels: regionsArea(train) };
  }
  const { weights, bias } = convArrays(conv);
  const [kh, kw] = conv.kernelSize;
  const choice = chooseBorder(train, weights, bias, conv.inChannels, conv.outChannels, kh, kw, map);
  if (choice.borderPixels === 0 && kh > 1) warnings.push("no target pixel's window leaves its image (the targets are cropped, or too small), so the border mode is not judged: using reflect101, which matters only where a window leaves the image");
  return choice;
}

/**
 * The network's edge from the border search: the mode chosen, or 'kept' (the conv pads with the
 * best mode, then the outer ring is the input's own); and the regions to judge on: all of them,
 * or, when no rule explains the targets' outer ring (the best one's MSE over 10x the fit's inside,
 * plus the targets' rounding), their interiors alone, with a warning.
 */
function settleEdge(
  choice: BorderChoice | null, fixed: BorderMode | 'auto', network: (border: BorderMode) => Network, view: ChannelView, insideMse: number, data: TrainData, warnings: string[],
): { network: Network; view: ChannelView } {
  if (!choice) return { network: network(fixed as BorderMode), view };
  const modes = choice.candidates.filter((c): c is { border: BorderMode; mse: number } => c.border !== 'kept');
  const padding = choice.chosen === 'kept' ? modes.reduce((a, b) => (b.mse < a.mse ? b : a)).border : choice.chosen;
  const net = choice.chosen === 'kept' ? { ...network(padding), edge: 'kept' as const } : network(padding);
  const best = Math.min(...choice.candidates.map((c) => c.mse));
  const floor = noiseFloor(meanSquare(data.images.train), data.targetStep);
  if (choice.borderPixels === 0 || best <= 10 * insideMse + floor) return { network: net, view };
  const { top, bottom, left, right } = edgeRing(net);
  const inside = (r: Region): Region => ({ ...r, y0: Math.max(r.y0, top), y1: Math.min(r.y1, r.pair.input.height - bottom), x0: Math.max(r.x0, left), x1: Math.min(r.x1, r.pair.input.width - right) });
  warnings.push(
    `no border rule explains the targets' outer ring (the best, ${choice.chosen}, leaves MSE ${best.toPrecision(3)} there against ${insideMse.toPrecision(3)} inside): ` +
      `the pixels whose window leaves the image are left out of the fit's judgement (held-out metrics, forms); apply computes them with ${choice.chosen}`,
  );
  return { network: net, view: { ...view, train: view.train.map(inside), val: view.val.map(inside) } };
}

/** The training record's fields every arch fills the same way. */
export function runSummary(data: { pairs: ImagePair[]; options: TrainOptions }, solver: 'exact' | 'adam' | 'sgd', steps: number, stopReason: string): Omit<TrainingSummary, 'validation'> {
  const { pairs } = data;
  const depthOf = (d: string[]): string => (d.every((x) => x === d[0]) ? d[0] : 'mixed');
  return {
    pairs: pairs.length,
    pixels: pairs.reduce((s, p) => s + p.input.width * p.input.height, 0),
    inputDepth: depthOf(pairs.map((p) => p.input.depth)),
    targetDepth: depthOf(pairs.map((p) => p.target.depth)),
    solver,
    steps,
    stopReason,
    seed: data.options.seed,
  };
}

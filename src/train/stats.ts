/**
 * Learning past one machine: the statistics of pairs computed anywhere (computeStats, one shard of
 * the pairs at a time: shardOf), added up (stats-file.ts mergeStats) and solved once
 * (trainFromStats). The exact fit needs nothing else: see the derivation in stats-file.ts.
 *
 * The same code as `train` at each step, so a model from shards is `train`'s model:
 *   pairs      checkPairs' rules, the alignment of targets of another size (align.ts), each
 *              pair's region (regions.ts wholeRegion). Same-size targets are taken as they are:
 *              train's search for a shifted one goes with a refit after the kernel is seen
 *              (index.ts centring), which statistics cannot do, and a search per shard could
 *              answer differently in different shards
 *   statistics gramStats of each pair (kernels/gram.ts), the bits `train` adds for that pair
 *   solve      solveExact (exact.ts); standard errors, zero taps and support as pipeline.ts does
 *   --ksize    auto: chooseKernelSize (support.ts), the rule `train` uses, on the sub-blocks of
 *              the files' largest size, judged on held-out statistics when there are some
 *
 * What needs pixels is not done from statistics: --border auto (the border pixels), --arch auto's
 * output stages (clamp, abs, magnitude, curves), the residual diagnosis and the report. The held-out
 * metrics are over the held-out pairs' valid pixels (windows inside the image), where `train`'s
 * run the model on whole images with its border.
 */

import type { ImagePair } from '../data/pairs.js';
import { KernelLearnError } from '../errors.js';
import type { BorderMode } from '../filters/border.js';
import { gramStats, subGram, type GramStats } from '../kernels/gram.js';
import { createModel, type Model, type ValidationMetrics } from '../nn/model.js';
import { convLayer } from '../nn/network.js';
import { alignPair, findAlignment, SAME, type Alignment } from './align.js';
import { coefStdErrors, lossFromStats, solveExact, type ExactSolution } from './exact.js';
import { CONDITION_WARNING } from './judge.js';
import { depthStep } from './noise.js';
import { checkPairs } from './options.js';
import { regionImages, wholeRegion } from './regions.js';
import { addSums, emptySums, gramOf, STATS_CONVENTION, type StatsFile, type StatsHeader } from './stats-file.js';
import { AUTO_KSIZE_ALWAYS, AUTO_PIXELS_PER_UNKNOWN, chooseKernelSize, findZeroTaps, tightSupport, type KernelSizeChoice, type Support, type ZeroTaps } from './support.js';
import { stdErrorRecord } from './uncertainty.js';

/**
 * Shard `index` of `count` (0-based) of items in a fixed order: the contiguous block
 * [floor(index N / count), floor((index + 1) N / count)). Contiguous, so shards merged in shard
 * order add the pairs in the order one run does; sizes differ by at most one.
 */
export function shardOf<T>(items: T[], index: number, count: number): T[] {
  if (!(Number.isSafeInteger(count) && count >= 1 && Number.isSafeInteger(index) && index >= 0 && index < count)) {
    throw new KernelLearnError(`shard ${index}/${count}: give --shard i/n with 0 <= i < n`, 2);
  }
  const lo = Math.floor((index * items.length) / count), hi = Math.floor(((index + 1) * items.length) / count);
  if (lo === hi) throw new KernelLearnError(`shard ${index}/${count} holds no pairs (there are only ${items.length}); use at most ${items.length} shards`);
  return items.slice(lo, hi);
}

export interface StatsOptions {
  kh: number;
  kw: number;
  ksize: StatsHeader['ksize'];
  role: StatsHeader['role'];
  shard: { index: number; count: number };
  align: 'auto' | 'off';
}

/** The statistics of `pairs` (one shard, or all of them) as a statistics file's contents. */
export function computeStats(pairs: ImagePair[], o: StatsOptions): StatsFile {
  const { cin, cout } = channelsOf(pairs);
  const alignment = o.align === 'off' || pairs.every(sameSize) ? sameSizes(pairs) : findAlignment(pairs);
  const p = cin * o.kh * o.kw + 1;
  const file: StatsFile = {
    header: {
      pairs: pairs.length, pixels: 0, rows: 0, kh: o.kh, kw: o.kw, ksize: o.ksize, cin, cout, bias: true, convention: STATS_CONVENTION,
      alignment, inputDepth: depthOf(pairs.map((q) => q.input.depth)), targetDepth: depthOf(pairs.map((q) => q.target.depth)),
      targetPeak: 0, role: o.role, shards: { count: o.shard.count, indices: [o.shard.index] },
    },
    xtx: emptySums(p * p), xty: emptySums(cout * p), yty: emptySums(cout),
  };
  for (const pair of pairs) {
    // The pair as `train` sees it: aligned, cut to the rectangle its target covers.
    const [region] = regionImages([wholeRegion(alignPair(pair, alignment))]);
    const st = gramStats([region], o.kh, o.kw, true);
    addSums(file.xtx, st.xtx);
    addSums(file.xty, st.xty);
    addSums(file.yty, st.yty);
    file.header.rows += st.n;
    file.header.pixels += pair.input.width * pair.input.height;
    file.header.targetPeak = Math.max(file.header.targetPeak, peakOf(region.target.data));
  }
  return file;
}

/**
 * max |v|: the only pass over the pixels besides the Gram's. Four running maxima, so that no
 * comparison waits on the one before (one chain is ~5x slower: as slow as a 3x3 Gram).
 */
function peakOf(d: ArrayLike<number>): number {
  let a = 0, b = 0, c = 0, e = 0;
  const n = d.length & ~3;
  for (let i = 0; i < n; i += 4) {
    a = Math.max(a, Math.abs(d[i]));
    b = Math.max(b, Math.abs(d[i + 1]));
    c = Math.max(c, Math.abs(d[i + 2]));
    e = Math.max(e, Math.abs(d[i + 3]));
  }
  for (let i = n; i < d.length; i++) a = Math.max(a, Math.abs(d[i]));
  return Math.max(a, b, c, e);
}

const sameSize = ({ input: i, target: t }: ImagePair): boolean => i.width === t.width && i.height === t.height;

/**
 * The channel counts every pair shares (checkPairs' refusals, without its pass over the pixels:
 * files come through loadPairs, which refuses non-finite values as it reads them).
 */
function channelsOf(pairs: ImagePair[]): { cin: number; cout: number } {
  if (pairs.length === 0) throw new KernelLearnError('no image pairs to compute statistics of');
  if (pairs.every((p) => p.input.channels === pairs[0].input.channels && p.target.channels === pairs[0].target.channels)) return { cin: pairs[0].input.channels, cout: pairs[0].target.channels };
  return checkPairs(pairs); // names the pair that differs
}

const depthOf = (d: string[]): string => (d.every((x) => x === d[0]) ? d[0] : 'mixed');

/** --align off: every target has its input's size (as trainFilter's check). */
function sameSizes(pairs: ImagePair[]): Alignment {
  for (const { stem, input: i, target: t } of pairs) {
    if (i.width !== t.width || i.height !== t.height) {
      throw new KernelLearnError(`${stem}: the input is ${i.width}x${i.height} but the target is ${t.width}x${t.height}; with alignment off a target must have its input's size (align auto aligns crops, grown borders and shifts)`);
    }
  }
  return SAME;
}

export interface StatsTrainOptions {
  /** A fixed size (at most the files'), or 'auto' (square files: their size is the largest tried). */
  ksize: { kh: number; kw: number } | 'auto';
  border: BorderMode;
  seed: number;
}

export interface StatsTrainResult {
  model: Model;
  kernelSize: [number, number];
  exact: ExactSolution;
  zeroTaps: ZeroTaps;
  support: Support;
  sizeChoice?: KernelSizeChoice;
  warnings: string[];
}

/** The model from merged training statistics (and held-out ones, when there are some). */
export function trainFromStats(train: StatsFile, val: StatsFile | null, o: StatsTrainOptions): StatsTrainResult {
  const big = gramOf(train), bigVal = val ? gramOf(val) : null;
  if (big.n === 0) throw new KernelLearnError(`the statistics hold no valid pixels: every training image is smaller than the ${big.kh}x${big.kw} kernel; compute them with a smaller --ksize or --auto-max`);
  const warnings: string[] = [];
  const size = chooseSize(big, bigVal && bigVal.n > 0 ? bigVal : null, train.header, o.ksize, warnings);
  const { stats, valStats } = size;
  const { kh, kw, cin, cout } = stats;
  const exact = solveExact(stats);
  if (exact.conditionNumber > CONDITION_WARNING) warnings.push(`the training images are too flat to identify a ${kh}x${kw} kernel (window correlation condition number ${exact.conditionNumber.toExponential(1)}): some combinations of taps are guesses; train on images with more texture or noise`);
  const se = coefStdErrors(stats, exact);
  const zeroTaps = findZeroTaps(exact.coef, se, cin, kh, kw);
  const conv = convLayer(exact.coef, { cin, cout, kh, kw, bias: true });
  const stdErrors = stdErrorRecord(stats, coefStdErrors(stats, exact, { bias: true }));
  if (!valStats) warnings.push('no held-out statistics (stats --validation, or train --val-stats): the validation metrics are on the training pixels');
  const judged = valStats ?? stats;
  const validation = statsMetrics(judged, conv.weights.flat(3), conv.bias!, (valStats ? val! : train).header.targetPeak);
  const depth = (a: string, b: string | undefined): string => (b === undefined || a === b ? a : 'mixed');
  const model = createModel('linear', { inputChannels: cin, outputChannels: cout, border: o.border, layers: [conv] }, {
    pairs: train.header.pairs + (val?.header.pairs ?? 0),
    pixels: train.header.pixels + (val?.header.pixels ?? 0),
    inputDepth: depth(train.header.inputDepth, val?.header.inputDepth),
    targetDepth: depth(train.header.targetDepth, val?.header.targetDepth),
    solver: 'exact', steps: 0, stopReason: 'exact least-squares solve from statistics', seed: o.seed,
    validation: { kind: valStats ? 'pairs' : 'none', pairs: val?.header.pairs ?? 0, pixels: val?.header.pixels ?? 0 },
    ...(size.choice ? { kernelSizeChoice: { chosen: size.choice.k, candidates: size.choice.candidates } } : {}),
    conditionNumber: exact.conditionNumber,
    ...(stdErrors ? { stdErrors } : {}),
  }, { validation, exactLoss: exact.loss });
  if (train.header.alignment.mode !== 'same') model.alignment = train.header.alignment;
  return { model, kernelSize: [kh, kw], exact, zeroTaps, support: tightSupport(zeroTaps, kh, kw), ...(size.choice ? { sizeChoice: size.choice } : {}), warnings };
}

/**
 * The kernel size and its statistics: the files' own, a centred sub-block for a smaller fixed
 * size, or --ksize auto's choice among the odd sizes up to the files' (support.ts chooseKernelSize;
 * above 9x9 only sizes with 20 training pixels per unknown, as autoKsizeLimit allows).
 */
function chooseSize(big: GramStats, bigVal: GramStats | null, h: StatsHeader, ksize: StatsTrainOptions['ksize'], warnings: string[]): { stats: GramStats; valStats: GramStats | null; choice?: KernelSizeChoice } {
  const sub = (st: GramStats | null, kh: number, kw: number): GramStats | null => (st && (st.kh !== kh || st.kw !== kw) ? subGram(st, kh, kw) : st);
  if (ksize !== 'auto') {
    if (ksize.kh > big.kh || ksize.kw > big.kw) throw new KernelLearnError(`--ksize ${ksize.kh}x${ksize.kw} is larger than the statistics' ${big.kh}x${big.kw}; compute them with --ksize ${ksize.kh}x${ksize.kw} (or --auto-max) to fit it`, 2);
    if (ksize.kh !== big.kh || ksize.kw !== big.kw) warnings.push(`the ${ksize.kh}x${ksize.kw} kernel is fitted on the ${big.kh}x${big.kw} statistics' pixels (its centred block), a few rows and columns fewer than its own valid region`);
    return { stats: sub(big, ksize.kh, ksize.kw)!, valStats: sub(bigVal, ksize.kh, ksize.kw) };
  }
  if (big.kh !== big.kw || big.kh % 2 === 0) throw new KernelLearnError(`--ksize auto needs statistics of an odd square size, these are ${big.kh}x${big.kw}; compute them with --auto-max N (odd)`, 2);
  let limit = 1;
  for (let k = 1; k <= big.kh; k += 2) if (k <= AUTO_KSIZE_ALWAYS || big.n >= AUTO_PIXELS_PER_UNKNOWN * (big.cin * k * k + 1)) limit = k;
  const choice = chooseKernelSize(sub(big, limit, limit)!, sub(bigVal, limit, limit), depthStep(h.targetDepth));
  const k = choice.k;
  if (k === limit && k > 1) warnings.push(`the chosen kernel size ${k} is the largest these statistics allow (${h.ksize === 'auto-max' ? `--auto-max ${big.kh}` : `${big.kh}x${big.kw}`}${limit < big.kh ? ', and the pixels per unknown' : ''}): the filter may reach further; compute them with a larger --auto-max`);
  return { stats: sub(big, k, k)!, valStats: sub(bigVal, k, k), choice };
}

/**
 * Held-out MSE, PSNR and R² from statistics, for the stored (float32) weights: the quadratic form
 * of exact.ts lossFromStats, and SST = y^T y - (sum y)^2 / n per channel (the bias feature's X^T y
 * is sum y). `weights` is [out][in][kh][kw] flattened.
 */
function statsMetrics(st: GramStats, weights: number[], bias: number[], peak: number): ValidationMetrics {
  const per = st.p - 1;
  const coef = bias.map((b, o) => Float64Array.from([...weights.slice(o * per, (o + 1) * per), b]));
  const mse = lossFromStats(st, coef);
  let sst = 0;
  for (let o = 0; o < st.cout; o++) sst += st.yty[o] - st.xty[o * st.p + per] ** 2 / st.n;
  const sse = mse * st.n * st.cout;
  const p = peak > 0 ? peak : 1;
  return { mse, psnr: mse > 0 ? 10 * Math.log10((p * p) / mse) : null, r2: sst > 0 ? 1 - sse / sst : sse === 0 ? 1 : 0 };
}

/**
 * Colour (inputs and targets with the same channel count C > 1): one kernel applied to each channel
 * alone, as OpenCV filters colour images, or full cross-channel kernels (C x C of them). Both are
 * exact least-squares fits of the same size; they are compared on held-out data from statistics
 * alone (the held-out optimum's MSE plus each fit's excess over it, exact.ts excessLoss, which does
 * not cancel). 'auto' keeps the shared kernel when it is within 1% + the noise floor of the full
 * one (noise.ts), so a filter that really mixes channels keeps its cross-channel taps.
 */

import type { ImagePair } from '../data/pairs.js';
import type { Image } from '../image.js';
import { gramStats, type GramStats } from '../kernels/gram.js';
import { excessLoss, solveExact } from './exact.js';
import { noiseFloor, statsMeanSquare } from './noise.js';
import { regionImages, type Region } from './regions.js';

export interface ChannelChoice {
  chosen: 'full' | 'shared';
  /** Held-out MSE of full cross-channel kernels and of one shared kernel. */
  fullMse: number;
  sharedMse: number;
  /** Whether the shared kernel validates as well as the full ones (see the header). */
  shareable: boolean;
}

/** The regions a fit runs on, and their channel counts. */
export interface ChannelView {
  train: Region[];
  val: Region[];
  cin: number;
  cout: number;
}

/** Each region as C one-channel regions (channel c of input and target), for a kernel shared by the channels. */
export function channelRegions(regions: Region[]): Region[] {
  const cache = new Map<ImagePair, ImagePair[]>();
  const out: Region[] = [];
  for (const r of regions) {
    let parts = cache.get(r.pair);
    if (!parts) {
      const { input, target, stem } = r.pair;
      const plane = input.width * input.height;
      const one = (im: Image, c: number): Image => ({ ...im, channels: 1, data: im.data.subarray(c * plane, (c + 1) * plane) });
      parts = Array.from({ length: input.channels }, (_, c) => ({ ...r.pair, stem: `${stem}[${c}]`, input: one(input, c), target: one(target, c) }));
      cache.set(r.pair, parts);
    }
    for (const pair of parts) out.push({ ...r, pair });
  }
  return out;
}

/**
 * Full or shared kernels of size k (see the header), given the full fit's training and held-out
 * statistics. Returns the view and statistics to go on with, the choice, and a warning when a
 * shared kernel was forced on data it does not fit.
 */
export function chooseChannels(
  view: ChannelView, stats: GramStats, valStats: GramStats | null, mode: 'shared' | 'auto', targetStep: number,
): { view: ChannelView; stats: GramStats; valStats: GramStats | null; choice: ChannelChoice; warning?: string } {
  const { kh, kw, bias } = stats;
  const splitTrain = channelRegions(view.train);
  const sharedStats = gramStats(regionImages(splitTrain), kh, kw, bias);
  const shared = solveExact(sharedStats, { condition: false });
  const full = solveExact(stats, { condition: false });
  const judge = valStats ?? stats;
  const judgeOpt = solveExact(judge, { condition: false });
  const per = kh * kw;
  const embedded = Array.from({ length: view.cout }, (_, o) => {
    const c = new Float64Array(judge.p);
    for (let t = 0; t < per; t++) c[o * per + t] = shared.coef[0][t];
    if (bias) c[judge.p - 1] = shared.coef[0][per];
    return c;
  });
  const fullMse = judgeOpt.loss + excessLoss(judge, full.coef, judgeOpt.coef);
  const sharedMse = judgeOpt.loss + excessLoss(judge, embedded, judgeOpt.coef);
  const shareable = sharedMse <= 1.01 * fullMse + noiseFloor(statsMeanSquare(judge), targetStep);
  const choice: ChannelChoice = { chosen: mode === 'shared' || shareable ? 'shared' : 'full', fullMse, sharedMse, shareable };
  if (choice.chosen === 'full') return { view, stats, valStats, choice };
  const val = channelRegions(view.val);
  return {
    view: { train: splitTrain, val, cin: 1, cout: 1 },
    stats: sharedStats,
    valStats: val.length > 0 ? gramStats(regionImages(val), kh, kw, bias) : null,
    choice,
    warning: shareable ? undefined : `--channels shared: one kernel for every channel fits worse than full cross-channel kernels (held-out MSE ${sharedMse.toExponential(3)} vs ${fullMse.toExponential(3)})`,
  };
}

/**
 * Gradient-descent training of a conv net (Adam or SGD with momentum) on random crops.
 *
 * - Loss: MSE over the VALID outputs of each crop (the net uses 'valid' convs and the target is
 *   cropped to match), so no border guess ever leaks into the kernel.
 * - Scaling: inputs are centred (when the first conv has a bias to absorb the mean) and scaled to
 *   unit std per channel, targets scaled to unit RMS. Without it the gradient of a u8 problem is
 *   ~1e4 times larger in the bias-like direction than in the others and no single learning rate
 *   fits both; with it, one set of defaults works for u8, u16 and float data alike. Every map is
 *   affine and the loss sees only valid pixels, so the scales fold back into the weights exactly
 *   at the end (see foldConvs): the model file holds weights in the data's own units.
 * - Schedule: a short linear warm-up (Adam's first steps are full-size in every coordinate), then
 *   reduce-on-plateau (halve the rate after `reduceAfter` evaluations without improvement). We
 *   chose it over a cosine schedule because the number of steps needed is not known in advance
 *   (it grows with the Gram's condition number) and training stops early: a cosine tied to
 *   maxSteps would still be at a high rate when the stopping rule fires, while reduce-on-plateau
 *   lowers the rate exactly when the loss stalls, which is what lets Adam settle within 1e-4 of
 *   the exact kernel instead of hovering around it.
 * - Stopping: (1) where the exact optimum is known (linear arch), when the excess loss over it,
 *   relative to the target variance, is below `tolerance`; (2) when the validation loss has not
 *   improved for `patience` evaluations; (3) after maxSteps. Plateau and max-steps stops restore
 *   the weights with the best validation loss.
 * - Threads: each crop's loss and gradient is computed on its own (parallel.ts) and the crops are
 *   summed in order, on worker threads when a step has enough work; the result is the same for any
 *   thread count.
 * - Determinism: seeded init and crops, fixed summation orders: same seed, same bytes.
 */

import type { GramStats } from '../kernels/gram.js';
import { Conv2d, describeLayers, initConv, receptiveField, type Param, type Sequential } from '../nn/layers.js';
import { createRng } from '../random.js';
import { excessLoss } from './exact.js';
import { Adam, Sgd, type Optimizer } from './gd.js';
import { GradientEngine, itemWork, threadsFor, type Item, type ItemSet } from './parallel.js';
import { regionHeight, regionWidth, type Region } from './regions.js';

export interface ProgressEvent {
  solver: string;
  step: number;
  maxSteps: number;
  trainLoss: number;
  valLoss?: number;
  /**
   * Gradient solvers: the first conv's current weights [out][in][kh][kw] in the data's units (for
   * a one-conv net, the kernel so far), at every report. Absent from the exact solver's report.
   */
  weights?: Float64Array;
}

export interface HistoryEntry {
  step: number;
  trainLoss: number;
  valLoss?: number;
}

export interface GdOptions {
  solver: 'adam' | 'sgd';
  seed: number;
  maxSteps: number;
  /** Evaluations without validation improvement before stopping. */
  patience: number;
  /** Relative excess loss over the exact optimum at which training is complete. */
  tolerance: number;
  /** Steps between validation evaluations. */
  evalEvery?: number;
  /** Learning rate in the scaled problem (defaults: adam 0.1, sgd 0.5 / fan-in of the first conv). */
  learningRate?: number;
  /** The exact optimum's statistics and coefficients (linear arch): the certificate and stopping rule. */
  certificate?: { stats: GramStats; optimum: Float64Array[]; variance: number };
  /** Side of the square crops in valid outputs (default 64, or the largest a region holds). */
  cropSize?: number;
  /** Crops per step (default: ~32k valid outputs per step, at most 64). */
  batchSize?: number;
  /** Sets the net's starting weights from the seeded rng and the data's scaling (default: initConv with gain 1, biases 0). */
  initialise?: (net: Sequential, rng: () => number, sc: Scaling) => void;
  /** Threads (default: threadsFor the step's work). Any count gives the same result (parallel.ts). */
  threads?: number;
  onProgress?: (e: ProgressEvent) => void;
}

/** A conv's weights [out][in][kh][kw] flat and its bias, in the data's units (float64). */
export interface FoldedConv {
  weights: Float64Array;
  bias: Float64Array | null;
}

export interface GdResult {
  convs: FoldedConv[];
  history: HistoryEntry[];
  steps: number;
  stopReason: string;
  /** converged: the gap to the exact optimum fell below tolerance; the others as in StopKind (options.ts). */
  stop: 'converged' | 'plateau' | 'max-steps' | 'diverged';
}

/** The data's scaling: x' = (x - mean) / std per input channel, y' = y / targetRms (see the header). */
export interface Scaling {
  mean: Float64Array; // per input channel (zeros when the first conv has no bias)
  std: Float64Array; // per input channel
  targetRms: number;
}

/** Per-channel input mean/std and target RMS over the training regions, summed in float64. */
function measureScaling(regions: Region[], cin: number, cout: number, center: boolean): Scaling {
  const s1 = new Float64Array(cin), s2 = new Float64Array(cin);
  let t2 = 0, n = 0;
  for (const r of regions) {
    const { input, target } = r.pair;
    const W = input.width, H = input.height;
    for (let y = r.y0; y < r.y1; y++) {
      for (let c = 0; c < cin; c++) {
        const o = (c * H + y) * W;
        for (let x = r.x0; x < r.x1; x++) { const v = input.data[o + x]; s1[c] += v; s2[c] += v * v; }
      }
      for (let c = 0; c < cout; c++) {
        const o = (c * H + y) * W;
        for (let x = r.x0; x < r.x1; x++) { const v = target.data[o + x]; t2 += v * v; }
      }
      n += r.x1 - r.x0;
    }
  }
  const mean = new Float64Array(cin), std = new Float64Array(cin);
  for (let c = 0; c < cin; c++) {
    const m = s1[c] / n;
    mean[c] = center ? m : 0;
    const v = s2[c] / n - (center ? m * m : 0);
    std[c] = v > 0 ? Math.sqrt(v) : 1;
  }
  const rms = Math.sqrt(t2 / (n * cout));
  return { mean, std, targetRms: rms > 0 ? rms : 1 };
}

/**
 * Copies the (it.h x it.w) window at (x0, y0) of the region's pair into `data` at the item's
 * place, scaled, and its valid target window (it.oh x it.ow, offset by the anchor (kh >> 1, kw >> 1)).
 * Exported for bench/adam-bench.ts.
 */
export function extract(r: Region, x0: number, y0: number, it: Item, kh: number, kw: number, sc: Scaling, data: Float32Array): void {
  const { input, target } = r.pair;
  const W = input.width, H = input.height;
  for (let c = 0; c < input.channels; c++) {
    const m = sc.mean[c], inv = 1 / sc.std[c];
    for (let y = 0; y < it.h; y++) {
      const src = (c * H + y0 + y) * W + x0;
      const dst = it.xAt + (c * it.h + y) * it.w;
      for (let j = 0; j < it.w; j++) data[dst + j] = (input.data[src + j] - m) * inv;
    }
  }
  const ay = kh >> 1, ax = kw >> 1;
  const invT = 1 / sc.targetRms;
  for (let c = 0; c < target.channels; c++) {
    for (let y = 0; y < it.oh; y++) {
      const src = (c * H + y0 + ay + y) * W + x0 + ax;
      const dst = it.tAt + (c * it.oh + y) * it.ow;
      for (let j = 0; j < it.ow; j++) data[dst + j] = target.data[src + j] * invT;
    }
  }
}

interface Tile { r: Region; x0: number; y0: number; h: number; w: number }

/**
 * The validation set: each region cut into tiles of at most 128 x 128 valid outputs (tiles
 * overlap by the kernel margin so their outputs cover the region once), at most ~256k outputs in
 * all (an evenly spaced subset of tiles beyond that). Fixed for the whole run.
 */
function validationTiles(regions: Region[], kh: number, kw: number): Tile[] {
  const tiles: Tile[] = [];
  const side = 128;
  for (const r of regions) {
    if (regionHeight(r) < kh || regionWidth(r) < kw) continue;
    for (let y0 = r.y0; y0 + kh <= r.y1; y0 += side) {
      for (let x0 = r.x0; x0 + kw <= r.x1; x0 += side) {
        tiles.push({ r, x0, y0, h: Math.min(side + kh - 1, r.y1 - y0), w: Math.min(side + kw - 1, r.x1 - x0) });
      }
    }
  }
  const budget = 262144;
  const outputs = (tl: { h: number; w: number }): number => (tl.h - kh + 1) * (tl.w - kw + 1);
  const total = tiles.reduce((s, tl) => s + outputs(tl), 0);
  if (total <= budget) return tiles;
  const keep = Math.max(1, Math.floor((tiles.length * budget) / total));
  return Array.from({ length: keep }, (_, i) => tiles[Math.floor((i * tiles.length) / keep)]);
}

/** Items for `shapes` (input h x w each) laid out one after another from float `at`: each input, then its target. */
export function layItems(shapes: { h: number; w: number }[], cin: number, cout: number, kh: number, kw: number, at: number): ItemSet {
  const items = shapes.map(({ h, w }) => {
    const it: Item = { xAt: at, h, w, tAt: at + cin * h * w, oh: h - kh + 1, ow: w - kw + 1 };
    at = it.tAt + cout * it.oh * it.ow;
    return it;
  });
  return { items, count: items.reduce((s, it) => s + cout * it.oh * it.ow, 0) };
}

/**
 * The convs' weights in the data's units. The net computes y' = f(x') with x' = (x - mean) / std
 * per input channel and y = targetRms * y'. The first conv sees x': its weights divide by std and
 * its bias absorbs -sum(w * mean / std) (exact, because the loss only sees valid pixels, where
 * every tap reads real data). The last conv is multiplied by targetRms, which passes unchanged
 * through positively homogeneous output stages (relu, abs, magnitude).
 */
function foldConvs(convs: Conv2d[], masters: Float64Array[][], sc: Scaling): FoldedConv[] {
  return convs.map((conv, k) => {
    const w = Float64Array.from(masters[k][0]);
    const b = conv.bias ? Float64Array.from(masters[k][1]) : null;
    const taps = conv.kh * conv.kw;
    if (k === 0) {
      for (let o = 0; o < conv.outChannels; o++) {
        for (let c = 0; c < conv.inChannels; c++) {
          const base = (o * conv.inChannels + c) * taps;
          let sum = 0;
          for (let i = 0; i < taps; i++) {
            w[base + i] /= sc.std[c];
            sum += w[base + i];
          }
          if (b) b[o] -= sum * sc.mean[c];
        }
      }
    }
    if (k === convs.length - 1) {
      for (let i = 0; i < w.length; i++) w[i] *= sc.targetRms;
      if (b) for (let o = 0; o < b.length; o++) b[o] *= sc.targetRms;
    }
    return { weights: w, bias: b };
  });
}

/** Per-output coefficient vectors (taps, then bias) of a single folded conv, as the Gram statistics order them. */
export function convCoef(conv: FoldedConv, cout: number): Float64Array[] {
  const per = conv.weights.length / cout;
  return Array.from({ length: cout }, (_, o) => {
    const c = new Float64Array(per + (conv.bias ? 1 : 0));
    c.set(conv.weights.subarray(o * per, (o + 1) * per));
    if (conv.bias) c[per] = conv.bias[o];
    return c;
  });
}

/** The crop size for the whole run (64 x 64 valid outputs, opt.cropSize, or the largest crop some region holds) and the regions that hold it. */
function planCrops(train: Region[], kh: number, kw: number, side: number): { ch: number; cw: number; usable: Region[]; positions: number[]; total: number } {
  // Regions smaller than the crop are left to the exact solver and validation.
  let ch = 0, cw = 0;
  for (const r of train) {
    const h = Math.min(side + kh - 1, regionHeight(r)), w = Math.min(side + kw - 1, regionWidth(r));
    if (h >= kh && w >= kw && (ch === 0 || (h - kh + 1) * (w - kw + 1) > (ch - kh + 1) * (cw - kw + 1))) { ch = h; cw = w; }
  }
  if (ch === 0) throw new Error('trainGd: no training region holds the kernel');
  const usable = train.filter((r) => regionHeight(r) >= ch && regionWidth(r) >= cw);
  const positions = usable.map((r) => (regionHeight(r) - ch + 1) * (regionWidth(r) - cw + 1));
  return { ch, cw, usable, positions, total: positions.reduce((a, b) => a + b, 0) };
}

/** One gradient-descent run's state: the scaled data's items (in the engine's memory), the parameters and their float64 masters. */
class Descent {
  readonly convs: Conv2d[];
  readonly cout: number;
  readonly sc: Scaling;
  readonly masters: Float64Array[][];
  private readonly flatParams: Param[];
  readonly flatMasters: Float64Array[];
  private readonly crops: ReturnType<typeof planCrops>;
  readonly engine: GradientEngine;
  private readonly batch: ItemSet;
  private readonly cropRng: () => number;
  private readonly optimizer: Optimizer;
  private readonly kh: number;
  private readonly kw: number;
  trainAcc = 0;
  trainCount = 0;

  constructor(net: Sequential, train: Region[], val: Region[], opt: GdOptions) {
    this.convs = net.layers.filter((l): l is Conv2d => l instanceof Conv2d);
    const first = this.convs[0];
    const cin = first.inChannels;
    this.cout = this.convs[this.convs.length - 1].outChannels;
    const { kh, kw } = receptiveField(net);
    this.kh = kh;
    this.kw = kw;
    this.sc = measureScaling(train, cin, this.cout, first.bias !== null);
    this.crops = planCrops(train, kh, kw, opt.cropSize ?? 64);
    const { ch, cw } = this.crops;
    // ~32k valid outputs per step: enough pixels that the gradient is smooth, few enough for ~1 ms steps
    // (opt.batchSize overrides; `kernel-learn experiment batch-crop` measures the choice).
    const size = opt.batchSize ?? Math.max(1, Math.min(64, Math.round(32768 / ((ch - kh + 1) * (cw - kw + 1)))));
    this.batch = layItems(Array.from({ length: size }, () => ({ h: ch, w: cw })), cin, this.cout, kh, kw, 0);
    // Validation regions too small for the kernel leave no tiles: then the training regions stand in.
    let tiles = validationTiles(val, kh, kw);
    if (tiles.length === 0) tiles = validationTiles(train, kh, kw);
    const last = this.batch.items[size - 1];
    const valSet = layItems(tiles, cin, this.cout, kh, kw, last.tAt + this.cout * last.oh * last.ow);
    (opt.initialise ?? ((n, rng) => initConv(n, rng, 1)))(net, createRng(opt.seed), this.sc);
    const layers = describeLayers(net);
    const work = itemWork(layers, ch, cw) * size;
    this.engine = new GradientEngine(net, cin, this.cout, [this.batch, valSet], [true, false], opt.threads ?? threadsFor(work, size));
    tiles.forEach((tl, i) => extract(tl.r, tl.x0, tl.y0, valSet.items[i], kh, kw, this.sc, this.engine.data));
    this.cropRng = createRng((opt.seed ^ 0x6a09e667) >>> 0);
    const params = this.convs.map((c) => c.params());
    this.masters = params.map((ps) => ps.map((p) => Float64Array.from(p.value)));
    this.flatParams = params.flat();
    this.flatMasters = this.masters.flat();
    this.optimizer = opt.solver === 'adam' ? new Adam() : new Sgd(0.9);
  }

  /** One optimizer step at learning rate lr on a fresh batch of random crops. */
  step(lr: number): void {
    const { crops, kh, kw, sc } = this;
    const { cw, usable, positions, total } = crops;
    for (const it of this.batch.items) {
      let k = Math.floor(this.cropRng() * total);
      let ri = 0;
      while (k >= positions[ri]) k -= positions[ri++];
      const r = usable[ri];
      const span = regionWidth(r) - cw + 1;
      extract(r, r.x0 + (k % span), r.y0 + Math.floor(k / span), it, kh, kw, sc, this.engine.data);
    }
    const { loss, grads } = this.engine.run(0, true);
    this.trainAcc += loss;
    this.trainCount++;
    this.optimizer.step(this.flatMasters, grads!, lr);
    for (let i = 0; i < this.flatParams.length; i++) this.flatParams[i].value.set(this.flatMasters[i]);
  }

  /** MSE on the validation tiles (scaled units). */
  evaluate(): number {
    return this.engine.run(1, false).loss;
  }

  /** The mean training loss since the last call, in the data's units. */
  takeTrainLoss(): number {
    const loss2 = this.sc.targetRms * this.sc.targetRms;
    const loss = (this.trainAcc / this.trainCount) * loss2;
    this.trainAcc = 0;
    this.trainCount = 0;
    return loss;
  }

  folded(): FoldedConv[] {
    return foldConvs(this.convs, this.masters, this.sc);
  }

  /** The gap to the exact optimum relative to the target variance (linear arch). */
  gap(certificate: NonNullable<GdOptions['certificate']>): number {
    const { stats, optimum, variance } = certificate;
    return excessLoss(stats, convCoef(this.folded()[0], this.cout), optimum) / (variance > 0 ? variance : 1);
  }
}

export function trainGd(net: Sequential, train: Region[], val: Region[], opt: GdOptions): GdResult {
  const d = new Descent(net, train, val, opt);
  try {
    return descend(d, opt);
  } finally {
    d.engine.close();
  }
}

/** The steps, evaluations and stopping rules of trainGd. */
function descend(d: Descent, opt: GdOptions): GdResult {
  const first = d.convs[0];
  const lr0 = opt.learningRate ?? (opt.solver === 'adam' ? 0.1 : 0.5 / (first.inChannels * first.kh * first.kw + 1));
  const warmup = Math.min(50, Math.max(1, Math.floor(opt.maxSteps / 10)));
  const evalEvery = opt.evalEvery ?? 25;
  const reduceAfter = 3;
  const minImprovement = 1e-4; // relative
  const loss2 = d.sc.targetRms * d.sc.targetRms; // reported losses in the data's units
  const history: HistoryEntry[] = [];
  let best = Infinity;
  let bestMasters = d.flatMasters.map((m) => Float64Array.from(m));
  let sinceBest = 0;
  let lrScale = 1;
  let stop: GdResult['stop'] = 'max-steps';
  let stopReason = `max steps (${opt.maxSteps})`;
  let step = 0;
  while (step < opt.maxSteps) {
    step++;
    d.step(lr0 * lrScale * Math.min(1, step / warmup));
    if (step % evalEvery !== 0 && step !== opt.maxSteps) continue;
    const v = d.evaluate();
    const trainLoss = d.takeTrainLoss();
    history.push({ step, trainLoss, valLoss: v * loss2 });
    if (opt.onProgress) opt.onProgress({ solver: opt.solver, step, maxSteps: opt.maxSteps, trainLoss, valLoss: v * loss2, weights: d.folded()[0].weights });
    if (!Number.isFinite(v)) {
      [stop, stopReason] = ['diverged', `diverged at step ${step} (non-finite loss; try a smaller learning rate)`];
      break;
    }
    if (opt.certificate && d.gap(opt.certificate) < opt.tolerance) {
      [stop, stopReason] = ['converged', `gap to exact optimum < ${opt.tolerance} relative`];
      break;
    }
    if (v < best * (1 - minImprovement)) {
      best = v;
      bestMasters = d.flatMasters.map((m) => Float64Array.from(m));
      sinceBest = 0;
    } else {
      sinceBest++;
      if (sinceBest % reduceAfter === 0) lrScale *= 0.5;
      if (sinceBest >= opt.patience) {
        [stop, stopReason] = ['plateau', `validation plateau (patience ${opt.patience})`];
        break;
      }
    }
  }
  // Plateau and max-steps stops keep the weights with the best validation loss.
  if (stop !== 'converged' && best < Infinity) for (let i = 0; i < d.flatMasters.length; i++) d.flatMasters[i].set(bestMasters[i]);
  return { convs: d.folded(), history, steps: step, stopReason, stop };
}

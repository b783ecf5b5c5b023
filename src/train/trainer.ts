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
 * - Determinism: seeded init and crops, no threads, fixed summation orders: same seed, same bytes.
 */

import { tensor, type Tensor } from '../kernels/conv2d.js';
import type { GramStats } from '../kernels/gram.js';
import { Conv2d, initConv, receptiveField, zeroGrad, type Param, type Sequential } from '../nn/layers.js';
import { createRng } from '../random.js';
import { excessLoss } from './exact.js';
import { Adam, Sgd, type Optimizer } from './gd.js';
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

interface Scaling {
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

/** Copies a (ch x cw) window at (x0, y0) of `pair` into the batch, scaled; and its valid target window. */
function extract(
  r: Region, x0: number, y0: number, ch: number, cw: number, kh: number, kw: number,
  sc: Scaling, x: Tensor, xi: number, t: Tensor, ti: number,
): void {
  const { input, target } = r.pair;
  const W = input.width, H = input.height;
  for (let c = 0; c < x.c; c++) {
    const m = sc.mean[c], inv = 1 / sc.std[c];
    for (let y = 0; y < ch; y++) {
      const src = (c * H + y0 + y) * W + x0;
      const dst = ((xi * x.c + c) * ch + y) * cw;
      for (let j = 0; j < cw; j++) x.data[dst + j] = (input.data[src + j] - m) * inv;
    }
  }
  const oh = ch - kh + 1, ow = cw - kw + 1, ay = kh >> 1, ax = kw >> 1;
  const invT = 1 / sc.targetRms;
  for (let c = 0; c < t.c; c++) {
    for (let y = 0; y < oh; y++) {
      const src = (c * H + y0 + ay + y) * W + x0 + ax;
      const dst = ((ti * t.c + c) * oh + y) * ow;
      for (let j = 0; j < ow; j++) t.data[dst + j] = target.data[src + j] * invT;
    }
  }
}

/** Mean squared difference (float64), and optionally its gradient 2 (out - t) / N. */
function mse(out: Tensor, t: Tensor, grad?: Tensor): number {
  const n = out.data.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = out.data[i] - t.data[i];
    s += d * d;
    if (grad) grad.data[i] = (2 * d) / n;
  }
  return s / n;
}

/**
 * The validation set: each region cut into tiles of at most 128 x 128 valid outputs (tiles
 * overlap by the kernel margin so their outputs cover the region once), at most ~256k outputs in
 * all (an evenly spaced subset of tiles beyond that). Fixed for the whole run.
 */
function validationTiles(regions: Region[], kh: number, kw: number, cin: number, cout: number, sc: Scaling): { x: Tensor; t: Tensor }[] {
  const tiles: { r: Region; x0: number; y0: number; h: number; w: number }[] = [];
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
  let chosen = tiles;
  if (total > budget) {
    const keep = Math.max(1, Math.floor((tiles.length * budget) / total));
    chosen = Array.from({ length: keep }, (_, i) => tiles[Math.floor((i * tiles.length) / keep)]);
  }
  return chosen.map((tl) => {
    const x = tensor(1, cin, tl.h, tl.w);
    const t = tensor(1, cout, tl.h - kh + 1, tl.w - kw + 1);
    extract(tl.r, tl.x0, tl.y0, tl.h, tl.w, kh, kw, sc, x, 0, t, 0);
    return { x, t };
  });
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

/** One gradient-descent run's state: the scaled data, the batch tensors, the parameters and their float64 masters. */
class Descent {
  readonly convs: Conv2d[];
  readonly cout: number;
  readonly sc: Scaling;
  readonly masters: Float64Array[][];
  private readonly flatParams: Param[];
  readonly flatMasters: Float64Array[];
  private readonly crops: ReturnType<typeof planCrops>;
  private readonly x: Tensor;
  private readonly t: Tensor;
  private readonly grad: Tensor;
  private readonly valTiles: { x: Tensor; t: Tensor }[];
  private readonly cropRng: () => number;
  private readonly optimizer: Optimizer;
  private readonly kh: number;
  private readonly kw: number;
  trainAcc = 0;
  trainCount = 0;

  constructor(private readonly net: Sequential, train: Region[], val: Region[], opt: GdOptions) {
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
    const oh = ch - kh + 1, ow = cw - kw + 1;
    // ~32k valid outputs per step: enough pixels that the gradient is smooth, few enough for ~1 ms steps
    // (opt.batchSize overrides; `kernel-learn experiment batch-crop` measures the choice).
    const batch = opt.batchSize ?? Math.max(1, Math.min(64, Math.round(32768 / (oh * ow))));
    this.x = tensor(batch, cin, ch, cw);
    this.t = tensor(batch, this.cout, oh, ow);
    this.grad = tensor(batch, this.cout, oh, ow);
    // Validation regions too small for the kernel leave no tiles: then the training regions stand in.
    this.valTiles = validationTiles(val, kh, kw, cin, this.cout, this.sc);
    if (this.valTiles.length === 0) this.valTiles = validationTiles(train, kh, kw, cin, this.cout, this.sc);
    initConv(net, createRng(opt.seed), 1);
    this.cropRng = createRng((opt.seed ^ 0x6a09e667) >>> 0);
    const params = this.convs.map((c) => c.params());
    this.masters = params.map((ps) => ps.map((p) => Float64Array.from(p.value)));
    this.flatParams = params.flat();
    this.flatMasters = this.masters.flat();
    this.optimizer = opt.solver === 'adam' ? new Adam() : new Sgd(0.9);
  }

  /** One optimizer step at learning rate lr on a fresh batch of random crops. */
  step(lr: number): void {
    const { x, t, grad, crops, kh, kw, sc } = this;
    const { ch, cw, usable, positions, total } = crops;
    for (let b = 0; b < x.n; b++) {
      let k = Math.floor(this.cropRng() * total);
      let ri = 0;
      while (k >= positions[ri]) k -= positions[ri++];
      const r = usable[ri];
      const span = regionWidth(r) - cw + 1;
      extract(r, r.x0 + (k % span), r.y0 + Math.floor(k / span), ch, cw, kh, kw, sc, x, b, t, b);
    }
    zeroGrad(this.flatParams);
    const out = this.net.forward(x);
    this.trainAcc += mse(out, t, grad);
    this.trainCount++;
    this.net.backward(grad, false);
    this.optimizer.step(this.flatMasters, this.flatParams.map((p) => p.grad), lr);
    for (let i = 0; i < this.flatParams.length; i++) this.flatParams[i].value.set(this.flatMasters[i]);
  }

  /** MSE on the validation tiles (scaled units). */
  evaluate(): number {
    let s = 0, n = 0;
    for (const tile of this.valTiles) {
      const out = this.net.forward(tile.x);
      s += mse(out, tile.t) * out.data.length;
      n += out.data.length;
    }
    return s / n;
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

/**
 * Judging a fitted linear kernel on whole images: which border mode the targets were made with,
 * and the held-out metrics (over every pixel, border included, with the chosen border).
 */

import { BORDER_MODES, borderIndexTable, type BorderMode } from '../filters/border.js';
import { applyModel } from '../nn/apply.js';
import type { Image, Pixels } from '../image.js';
import type { ValidationMetrics } from '../nn/model.js';
import type { Network } from '../nn/network.js';
import type { Region } from './regions.js';

/** Runs a model on a whole image (applyModel, or a memo of it: see memoPredict). The result is read only. */
export type Predict = (network: Network, image: Image) => Image;

type MemoPredict = Predict & { residuals: WeakMap<Region[], Map<string, ResidualStats>> };

const modelKey = (model: Network): string => `${model.border}|${model.inputChannels}|${JSON.stringify(model.layers)}`;

/**
 * applyModel with a memory: the same model (same layers and border) on the same image object runs
 * once, and residualStats over the same regions is computed once. trainFilter judges one model
 * several times on the same images (held-out metrics, the full form's accuracy, the residual
 * diagnosis), and the conv is the cost of each; the predictions are the same bits every time, so
 * the results are unchanged.
 */
export function memoPredict(): Predict {
  const memo = new WeakMap<Image, Map<string, Image>>();
  const predict = ((model: Network, image: Image): Image => {
    const key = modelKey(model);
    let byModel = memo.get(image);
    if (!byModel) memo.set(image, (byModel = new Map()));
    let out = byModel.get(key);
    if (!out) byModel.set(key, (out = applyModel(model, image)));
    return out;
  }) as MemoPredict;
  predict.residuals = new WeakMap();
  return predict;
}

/** Sums over the pixels of a residualStats pass (see there). */
export interface ResidualStats {
  /** Pixels (times channels) summed. */
  n: number;
  /** Sum of (prediction - target)^2. */
  sse: number;
  /** Max |prediction - target| and max |target|. */
  maxErr: number;
  peak: number;
  /** Sum of target^2, of predictions, of predictions^2 (all channels). */
  y2: number;
  p1: number;
  p2: number;
  /** Per channel: sum of targets, of targets^2, and the count. */
  s1: Float64Array;
  s2: Float64Array;
  cn: Float64Array;
}

/** acc layout for residualRow: 0 sse, 1 maxErr, 2 peak, 3 y2, 4 p1, 5 p2, then per channel c: 6 + 2c sum y, 7 + 2c sum y^2. */
const ACC_CHANNELS = 6;

/**
 * Columns [x0, x1) of one row (offset o) into the sums `acc` (see ACC_CHANNELS; c the channel).
 * The sums are carried in locals and stored back, so the additions happen in the same order as in
 * a single loop over all pixels: the same bits.
 */
function residualRow(pred: ArrayLike<number>, t: ArrayLike<number>, o: number, x0: number, x1: number, acc: Float64Array, c: number): void {
  let sse = acc[0], maxErr = acc[1], peak = acc[2], y2 = acc[3], p1 = acc[4], p2 = acc[5];
  const ci = ACC_CHANNELS + 2 * c;
  let s1 = acc[ci], s2 = acc[ci + 1];
  for (let x = o + x0; x < o + x1; x++) {
    const tv = t[x];
    const pv = pred[x];
    const d = Math.abs(pv - tv);
    sse += d * d;
    maxErr = Math.max(maxErr, d);
    const at = Math.abs(tv);
    peak = Math.max(peak, at);
    y2 += tv * tv;
    p1 += pv;
    p2 += pv * pv;
    s1 += tv;
    s2 += tv * tv;
  }
  acc[0] = sse; acc[1] = maxErr; acc[2] = peak; acc[3] = y2; acc[4] = p1; acc[5] = p2;
  acc[ci] = s1; acc[ci + 1] = s2;
}

/**
 * One pass over the regions' pixels, in one fixed order (regions, channels, rows, columns) with
 * the model's predictions: the sums every judge of a fitted model needs (formAccuracy,
 * validationMetrics, diagnoseResidual). `channels` of each region: the model's outputs ('model')
 * or the target's ('target'); `interior`: only pixels whose kh x kw window lies inside the image.
 * One shared row loop, so the JIT optimises it once for all of them; with a memoPredict the
 * result is kept per (model, regions, options).
 */
export function residualStats(model: Network, regions: Region[], predict: Predict, channels: 'model' | 'target', interior?: { kh: number; kw: number }): ResidualStats {
  const memo = (predict as Partial<MemoPredict>).residuals;
  const key = `${channels}|${interior ? `${interior.kh}x${interior.kw}` : 'all'}|${modelKey(model)}`;
  const hit = memo?.get(regions)?.get(key);
  if (hit) return hit;
  let maxC = model.outputChannels;
  for (const r of regions) maxC = Math.max(maxC, r.pair.target.channels);
  const acc = new Float64Array(ACC_CHANNELS + 2 * maxC);
  const cn = new Float64Array(maxC);
  let n = 0;
  for (const r of regions) {
    const pred = predict(model, r.pair.input).data;
    const { target } = r.pair;
    const W = target.width, H = target.height;
    let { x0, x1, y0, y1 } = r;
    if (interior) {
      const ay = interior.kh >> 1, ax = interior.kw >> 1;
      y0 = Math.max(y0, ay);
      y1 = Math.min(y1, H - (interior.kh - 1 - ay));
      x0 = Math.max(x0, ax);
      x1 = Math.min(x1, W - (interior.kw - 1 - ax));
    }
    const nc = channels === 'model' ? model.outputChannels : target.channels;
    for (let c = 0; c < nc; c++) {
      for (let y = y0; y < y1; y++) {
        if (x1 > x0) residualRow(pred, target.data, (c * H + y) * W, x0, x1, acc, c);
      }
      const count = Math.max(0, y1 - y0) * Math.max(0, x1 - x0);
      cn[c] += count;
      n += count;
    }
  }
  const stats: ResidualStats = {
    n, sse: acc[0], maxErr: acc[1], peak: acc[2], y2: acc[3], p1: acc[4], p2: acc[5],
    s1: Float64Array.from({ length: maxC }, (_, c) => acc[ACC_CHANNELS + 2 * c]),
    s2: Float64Array.from({ length: maxC }, (_, c) => acc[ACC_CHANNELS + 2 * c + 1]),
    cn,
  };
  if (memo) {
    let byKey = memo.get(regions);
    if (!byKey) memo.set(regions, (byKey = new Map()));
    byKey.set(key, stats);
  }
  return stats;
}

/** A border mode, or 'kept': the border pixels are the input's own, unfiltered (Pillow's kernels). */
export type EdgeRule = BorderMode | 'kept';

export interface BorderChoice {
  chosen: EdgeRule;
  candidates: { border: EdgeRule; mse: number }[];
  borderPixels: number;
}

/**
 * Predicts every border pixel (one whose kh x kw window leaves the image) of the regions'
 * images under each border mode and keeps the mode with the lowest MSE against the targets.
 * The fit never saw these pixels (it uses the valid region only), so this is a fair test.
 * Modes within 1e-6 relative of the best (plus a rounding floor) tie, and a tie goes to
 * reflect101, OpenCV's default; the modes can tie exactly, e.g. for a 1-pixel-wide kernel row.
 * With cin = cout, 'kept' (the input's own pixel, unfiltered) is a candidate too, chosen only
 * when it beats every mode beyond a tie (an identity kernel ties with everything).
 * Each border pixel costs a convolution per mode, so large kernels on large images judge an evenly
 * spaced sample of them (every stride-th in scan order, about BORDER_WORK multiply-adds and
 * BORDER_PIXELS pixels at most): thousands of border pixels tell the modes apart as well as all of them.
 * `weights` is [cout][cin][kh][kw] flat (float32 values), `bias` [cout] or null; `post` the
 * model's output stages after the conv (abs, clamp, a curve), applied to each prediction; `pre`
 * (per input channel) the pointwise map before the conv (a curve stage's f), applied to the input
 * pixels the conv reads: the padded border repeats f(x) as the network's conv pads its input,
 * f(x). The 'kept' edge still compares the input's own pixels.
 */
export function chooseBorder(
  regions: Region[], weights: ArrayLike<number>, bias: ArrayLike<number> | null, cin: number, cout: number, kh: number, kw: number,
  post?: (v: number) => number, pre?: ((v: number) => number)[],
): BorderChoice {
  const sse = new Float64Array(BORDER_MODES.length);
  const keepable = cin === cout;
  let keptSse = 0;
  const borderPixels = borderPixelCount(regions, kh, kw);
  const stride = Math.max(1, Math.ceil((borderPixels * BORDER_MODES.length * cin * kh * kw * cout) / BORDER_WORK), Math.ceil(borderPixels / BORDER_PIXELS));
  let seen = 0;
  let count = 0, power = 0;
  const ay = kh >> 1, ax = kw >> 1;
  const mapped = new Map<Image, Pixels>();
  for (const r of regions) {
    const { input, target } = r.pair;
    const W = input.width, H = input.height;
    const src = pre ? mappedPixels(input, pre, mapped, kh, kw) : input.data;
    const tables = BORDER_MODES.map((m) => ({ rows: borderIndexTable(H, ay, kh - 1 - ay, m), cols: borderIndexTable(W, ax, kw - 1 - ax, m) }));
    const interiorEnd = W - (kw - 1 - ax); // columns [ax, interiorEnd) see no border horizontally
    for (let y = r.y0; y < r.y1; y++) {
      const rowInside = y >= ay && y < H - (kh - 1 - ay);
      for (let x = r.x0; x < r.x1; x++) {
        if (rowInside && x >= ax && x < interiorEnd) {
          x = interiorEnd; // skip the row's interior
          if (x >= r.x1) break;
        }
        if (seen++ % stride !== 0) continue;
        count += cout;
        for (let o = 0; o < cout; o++) {
          const tv = target.data[(o * H + y) * W + x];
          power += tv * tv;
          if (keepable) keptSse += (input.data[(o * H + y) * W + x] - tv) ** 2;
          for (let m = 0; m < BORDER_MODES.length; m++) {
            const { rows, cols } = tables[m];
            let s = bias ? bias[o] : 0;
            for (let c = 0; c < cin; c++) {
              for (let i = 0; i < kh; i++) {
                const iy = rows[y + i];
                if (iy < 0) continue;
                const base = (c * H + iy) * W;
                const wb = ((o * cin + c) * kh + i) * kw;
                for (let j = 0; j < kw; j++) {
                  const ix = cols[x + j];
                  if (ix >= 0) s += weights[wb + j] * src[base + ix];
                }
              }
            }
            const d = (post ? post(s) : s) - tv;
            sse[m] += d * d;
          }
        }
      }
    }
  }
  // count and power are read below through copies: a variable that a closure reads lives on the
  // heap, and the loop above would box a number at every += (several times slower).
  const pixels = count;
  const meanPower = power / count;
  if (pixels === 0) return { chosen: 'reflect101', candidates: BORDER_MODES.map((border) => ({ border, mse: 0 })), borderPixels: 0 };
  const modes = BORDER_MODES.map((border, m) => ({ border, mse: sse[m] / pixels }));
  const bestMse = Math.min(...modes.map((c) => c.mse));
  const tie = bestMse * (1 + 1e-6) + 1e-14 * meanPower;
  const tied = modes.filter((c) => c.mse <= tie).map((c) => c.border);
  const kept = keepable ? [{ border: 'kept' as const, mse: keptSse / pixels }] : [];
  const chosen = kept.length > 0 && kept[0].mse < bestMse - (tie - bestMse) ? 'kept' : tied.includes('reflect101') ? 'reflect101' : tied[0];
  return { chosen, candidates: [...modes, ...kept], borderPixels: count / cout };
}

/**
 * An input's pixels through the per-channel maps, once per image (memo): only those a border
 * pixel's kh x kw window reads (the first and last kh rows whole, the first and last kw columns
 * of the others); the rest stay 0, never read.
 */
function mappedPixels(input: Image, pre: ((v: number) => number)[], memo: Map<Image, Pixels>, kh: number, kw: number): Pixels {
  let out = memo.get(input);
  if (!out) {
    const { width: W, height: H } = input, plane = W * H;
    const f = new Float64Array(input.data.length);
    for (let c = 0; c < input.channels; c++) {
      const map = pre[c];
      for (let y = 0; y < H; y++) {
        const o = c * plane + y * W;
        const whole = y < kh || y >= H - kh;
        for (let x = 0; x < W; x++) {
          if (!whole && x === kw && W - kw > x) x = W - kw;
          f[o + x] = map(input.data[o + x]);
        }
      }
    }
    memo.set(input, (out = f));
  }
  return out;
}

/** Multiply-adds the border search spends at most (see chooseBorder): ~20-40 ms. */
const BORDER_WORK = 2e7;
/**
 * Border pixels it judges at most: the modes differ by far more than the noise at every one of
 * them, and the search runs once a fit, mostly before the JIT has compiled its loop (a 5x5 kernel
 * on the ~25 000 border pixels of six 512^2 images took ~0.1 s, a tenth of that once compiled).
 */
const BORDER_PIXELS = 8192;

/** Pixels of the regions whose kh x kw window leaves their image. */
function borderPixelCount(regions: Region[], kh: number, kw: number): number {
  let n = 0;
  for (const r of regions) {
    const { width: W, height: H } = r.pair.input;
    const iy = Math.max(0, Math.min(r.y1, H - (kh - 1 - (kh >> 1))) - Math.max(r.y0, kh >> 1));
    const ix = Math.max(0, Math.min(r.x1, W - (kw - 1 - (kw >> 1))) - Math.max(r.x0, kw >> 1));
    n += (r.y1 - r.y0) * (r.x1 - r.x0) - iy * ix;
  }
  return n;
}

/**
 * MSE, PSNR and R² of the model on the regions' pixels, the model run on each whole image (so
 * a band's pixels next to the cut see their real neighbours, and image borders use the model's
 * border mode). PSNR's peak is max |target| over the regions (1 if that is 0); psnr is null when
 * the MSE is 0. R² = 1 - SSE / SST with SST about each channel's mean over the regions.
 */
export function validationMetrics(model: Network, regions: Region[], predict: Predict = applyModel): ValidationMetrics & { targetVaries: boolean } {
  const cout = model.outputChannels;
  const { sse, n, peak, s1, s2, cn } = residualStats(model, regions, predict, 'model');
  let sst = 0;
  for (let c = 0; c < cout; c++) if (cn[c] > 0) sst += Math.max(0, s2[c] - (s1[c] * s1[c]) / cn[c]);
  const mse = n > 0 ? sse / n : 0;
  const p = peak > 0 ? peak : 1;
  return {
    mse,
    psnr: mse > 0 ? 10 * Math.log10((p * p) / mse) : null,
    r2: sst > 0 ? 1 - sse / sst : sse === 0 ? 1 : 0,
    targetVaries: sst > 0, // R² means something only then
  };
}

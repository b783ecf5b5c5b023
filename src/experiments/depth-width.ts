/**
 * Q7, in more detail than `deeper`: held-out PSNR by depth AND width of a conv-relu stack
 * (every conv 3x3; `hidden` relu layers of `width` channels), beside the exact linear fit with the
 * same receptive field, on a linear target (Sobel dx: depth only adds time) and three nonlinear
 * ones (gradient magnitude, 3x3 median, a bilateral filter with cv2.bilateralFilter's semantics).
 */
import type { ImagePair } from '../data/pairs.js';
import { syntheticImages } from '../data/synthetic.js';
import { bilateralFilter } from '../filters/bilateral.js';
import { applyFilter } from '../filters/ops.js';
import type { Image } from '../image.js';
import { applyModel } from '../nn/apply.js';
import { Conv2d, Relu, Sequential, type Layer } from '../nn/layers.js';
import { convLayer, type LayerSpec, type Network } from '../nn/network.js';
import { trainFilter } from '../train/index.js';
import { wholeRegion } from '../train/regions.js';
import { convCoef, trainGd, type FoldedConv } from '../train/trainer.js';
import { defineExperiment, type Row } from './types.js';
import { SOBEL_DX } from './util.js';
import { median3x3 } from './random-kernels.js';

const map = (img: Image, f: (v: number, i: number) => number): Image => ({ ...img, depth: 'f32', data: Float32Array.from(img.data, f) });

/** conv 3x3 (1 -> width), relu, then (hidden - 1) x [conv 3x3 (width -> width), relu], then conv 3x3 (width -> 1). */
function stack(hidden: number, width: number): Sequential {
  const layers: Layer[] = [];
  for (let h = 0; h < hidden; h++) layers.push(new Conv2d({ inChannels: h === 0 ? 1 : width, outChannels: width, kh: 3, kw: 3, bias: true }), new Relu());
  layers.push(new Conv2d({ inChannels: width, outChannels: 1, kh: 3, kw: 3, bias: true }));
  return new Sequential(layers);
}

function networkOf(convs: FoldedConv[], hidden: number, width: number): Network {
  const layers: LayerSpec[] = [];
  convs.forEach((c, k) => {
    const cin = k === 0 ? 1 : width, cout = k === hidden ? 1 : width;
    layers.push(convLayer(convCoef(c, cout), { cin, cout, kh: 3, kw: 3, bias: c.bias !== null }));
    if (k < hidden) layers.push({ type: 'relu' });
  });
  return { inputChannels: 1, outputChannels: 1, border: 'reflect101', layers };
}

/** PSNR (peak = max |target|) over the pixels at least `m` from the border, so no padding guess enters. */
function interiorPsnr(pred: Image, target: Image, m: number): number {
  let s = 0, n = 0, peak = 0;
  for (let y = m; y < target.height - m; y++)
    for (let x = m; x < target.width - m; x++) {
      const i = y * target.width + x;
      const d = pred.data[i]! - target.data[i]!;
      s += d * d;
      n++;
      peak = Math.max(peak, Math.abs(target.data[i]!));
    }
  return s === 0 ? Infinity : 10 * Math.log10((peak * peak) / (s / n));
}

/** Adam's rate in the trainer's scaled problem: its default 0.1 suits one linear conv, not a relu stack (0.1 left stacks at 2-10x the MSE of 0.02). */
const LR = 0.02;

const paramsOf = (hidden: number, width: number): number => width * 10 + (hidden - 1) * width * (9 * width + 1) + 9 * width + 1;

export const experiment = defineExperiment('depth-width', 'Q7: held-out PSNR by depth and width of a conv-relu stack vs one linear kernel, on Sobel, gradient magnitude, median and bilateral targets.', async ({ quick }) => {
  const size = quick ? 48 : 80;
  const steps = quick ? 250 : 800;
  const depths = quick ? [1, 2] : [1, 2, 3];
  const widths = quick ? [4, 8] : [4, 8, 16];
  const images = syntheticImages(5, { width: size, height: size, seed: 4 });
  const gx = images.map((im) => applyFilter(im, SOBEL_DX));
  const gy = images.map((im) => applyFilter(im, { op: 'sobel', dx: 0, dy: 1, ksize: 3 }));
  const targets: [string, string, Image[]][] = [
    ['Sobel dx (one kernel)', 'sobel', gx],
    ['magnitude sqrt(Gx^2 + Gy^2)', 'magnitude', gx.map((g, k) => map(g, (v, i) => Math.hypot(v, gy[k]!.data[i]!)))],
    ['3x3 median', 'median', images.map(median3x3)],
    ['bilateral d 5, sigmaColor 20, sigmaSpace 1.5', 'bilateral', images.map((im) => bilateralFilter(im, { d: 5, sigmaColor: 20, sigmaSpace: 1.5 }))],
  ];
  const margin = 1 + Math.max(...depths); // the deepest stack's receptive radius
  const table: Row[] = [];
  const claims: Record<string, number> = {};
  for (const [label, key, ts] of targets) {
    const pairs: ImagePair[] = images.map((input, i) => ({ stem: `i${i}`, input, target: ts[i]! }));
    // 3 images train, 1 validates (best weights, plateau), 1 is the held-out test image.
    const train = pairs.slice(0, 3), val = pairs.slice(3, 4), test = pairs[4]!;
    for (const hidden of depths) {
      const rf = 2 * hidden + 3;
      const lin = trainFilter([...train, ...val], { arch: 'linear', ksize: rf, solver: 'exact', border: 'reflect101', seed: 0, validationFraction: 0.25 });
      const linPsnr = interiorPsnr(applyModel(lin.model, test.input), test.target, margin);
      const row: Row = { target: label, 'relu layers': hidden, 'receptive field': `${rf}x${rf}`, 'linear PSNR dB': linPsnr };
      claims[`${key}Linear${hidden}`] = linPsnr;
      const msCells: string[] = [], paramCells: string[] = [];
      for (const width of widths) {
        const net = stack(hidden, width);
        const t0 = performance.now();
        const gd = trainGd(net, train.map(wholeRegion), val.map(wholeRegion), { solver: 'adam', seed: 0, maxSteps: steps, patience: 20, tolerance: 0, batchSize: 4, cropSize: 16, learningRate: LR });
        const ms = performance.now() - t0;
        const psnr = interiorPsnr(applyModel(networkOf(gd.convs, hidden, width), test.input), test.target, margin);
        row[`width ${width} PSNR dB`] = psnr;
        msCells.push(String(Math.round(ms)));
        paramCells.push(String(paramsOf(hidden, width)));
        claims[`${key}D${hidden}W${width}`] = psnr;
        claims[`${key}D${hidden}W${width}Ms`] = ms;
      }
      row['params (by width)'] = paramCells.join(' / ');
      row['train ms (by width)'] = msCells.join(' / ');
      claims[`${key}LinearMs${hidden}`] = lin.trainMs;
      row[`linear ms`] = Math.round(lin.trainMs);
      table.push(row);
    }
  }
  return {
    table,
    claims,
    notes: [
      `5 synthetic ${size}x${size} images: 3 train, 1 validates (keeps the best weights), 1 is held out; PSNR over the held-out image's pixels at least ${margin} from the border (peak = max |target|). Stacks: conv 3x3 (1 -> width), relu, [conv 3x3 (width -> width), relu] x (relu layers - 1), conv 3x3 (width -> 1); Adam at rate ${LR} (trainer's scaled units; otherwise its defaults), 4 crops of 16x16 per step, at most ${steps} steps (validation plateau: 20 evaluations). Linear: the exact least-squares kernel with the same receptive field (trainFilter on the 4 images that are not held out; it validates on one of them).`,
    ],
  };
});

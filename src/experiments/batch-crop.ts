/**
 * Q4, for the gradient solvers: how batch size and crop size change Adam and SGD on a Sobel dx
 * fit. One 3x3 conv trained by the project's trainer (trainer.ts: scaled data, warm-up,
 * reduce-on-plateau) on random crops of the training images, for a fixed number of steps;
 * reported: time and steps until the kernel is within 1e-2 and 1e-3 of Sobel's taps, and the
 * kernel error at the end (the noise floor the gradient's variance leaves).
 */
import { syntheticImages } from '../data/synthetic.js';
import { Conv2d, Sequential } from '../nn/layers.js';
import { createRng, normal } from '../random.js';
import { gramStats } from '../kernels/gram.js';
import { solveExact } from '../train/exact.js';
import { regionImages, wholeRegion } from '../train/regions.js';
import { trainGd } from '../train/trainer.js';
import { defineExperiment, type Row } from './types.js';
import { SOBEL_DX, pairsFor, sobelKernelError } from './util.js';

const SIGMA = 4;

export const experiment = defineExperiment('batch-crop', 'Q4: how do batch size and crop size change Adam and SGD? Time to a kernel accuracy and final error, by batch and crop.', async ({ quick }) => {
  const size = quick ? 80 : 160;
  const steps = quick ? 800 : 2000;
  const pairs = pairsFor(syntheticImages(5, { width: size, height: size, seed: 2 }), SOBEL_DX);
  const train = pairs.slice(0, 4).map(wholeRegion);
  const val = pairs.slice(4).map(wholeRegion);
  const configs: [number, number][] = quick
    ? [[1, 32], [16, 32], [4, 8], [4, 64]]
    : [[1, 32], [4, 32], [16, 32], [64, 32], [4, 8], [4, 16], [4, 64], [4, 128], [8, 64]];
  const noisyConfigs: [number, number][] = quick ? [[1, 32], [16, 32]] : [[1, 32], [16, 32], [4, 8], [4, 128], [8, 64]];
  // The same targets plus Gaussian noise: the gradient of a crop no longer vanishes at the optimum.
  const rng = createRng(17);
  const noisy = pairs.map((p) => ({ ...p, target: { ...p.target, data: Float32Array.from(p.target.data, (v) => v + SIGMA * normal(rng)) } }));
  let t2 = 0, tn = 0;
  for (const p of pairs) for (const v of p.target.data) { t2 += v * v; tn++; }
  const rms = Math.sqrt(t2 / tn);
  const noisyTrain = noisy.slice(0, 4).map(wholeRegion);
  const noisyVal = noisy.slice(4).map(wholeRegion);
  const te = performance.now();
  const exactNoisy = solveExact(gramStats(regionImages(noisyTrain), 3, 3, true));
  const exactMs = performance.now() - te;
  const table: Row[] = [];
  const claims: Record<string, number> = {};
  const runs: [string, [number, number][], typeof train, typeof val][] = [['exact', configs, train, val], [`+ noise ${SIGMA}`, noisyConfigs, noisyTrain, noisyVal]];
  for (const [targets, list, tr, va] of runs) {
    for (const solver of ['adam', 'sgd'] as const) {
      for (const [batch, crop] of list) {
        const reached: Record<string, { step: number; ms: number }> = {};
        const net = new Sequential([new Conv2d({ inChannels: 1, outChannels: 1, kh: 3, kw: 3, bias: true })]);
        const t0 = performance.now();
        const gd = trainGd(net, tr, va, {
          solver, seed: 0, maxSteps: steps, patience: 1e9, tolerance: 0, evalEvery: 10, batchSize: batch, cropSize: crop,
          onProgress: (e) => {
            if (!e.weights) return;
            const err = sobelKernelError(e.weights);
            for (const th of ['1e-2', '1e-3']) if (!reached[th] && err < Number(th)) reached[th] = { step: e.step, ms: performance.now() - t0 };
          },
        });
        const ms = performance.now() - t0;
        const finalErr = sobelKernelError(gd.convs[0]!.weights);
        const at = (th: string): string | number => (reached[th] ? Math.round(reached[th]!.ms) : `> ${Math.round(ms)}`);
        const st = (th: string): string | number => (reached[th] ? reached[th]!.step : `> ${steps}`);
        table.push({
          targets, solver, batch, 'crop (valid px)': `${crop}x${crop}`, 'px per step': batch * crop * crop,
          'ms per step': Number((ms / gd.steps).toPrecision(3)),
          'steps to 1e-2': st('1e-2'), 'ms to 1e-2': at('1e-2'), 'steps to 1e-3': st('1e-3'), 'ms to 1e-3': at('1e-3'),
          [`kernel error after ${steps} steps`]: finalErr,
        });
        const key = `${targets === 'exact' ? '' : 'noisy'}${solver}B${batch}C${crop}`;
        claims[`${key}Final`] = finalErr;
        claims[`${key}Steps1e2`] = reached['1e-2'] ? reached['1e-2']!.step : Infinity;
        claims[`${key}Steps1e3`] = reached['1e-3'] ? reached['1e-3']!.step : Infinity;
        claims[`${key}Ms1e3`] = reached['1e-3'] ? reached['1e-3']!.ms : Infinity;
        claims[`${key}MsPerStep`] = ms / gd.steps;
      }
    }
  }
  const exactNoisyErr = sobelKernelError(exactNoisy.coef[0]!);
  claims.noisyExactError = exactNoisyErr;
  table.push({ targets: `+ noise ${SIGMA}`, solver: 'exact least squares, same 4 images', batch: null, 'crop (valid px)': null, 'px per step': null, 'ms per step': null, 'steps to 1e-2': 0, 'ms to 1e-2': Math.round(exactMs), 'steps to 1e-3': 0, 'ms to 1e-3': null, [`kernel error after ${steps} steps`]: exactNoisyErr });
  return {
    table,
    claims,
    notes: [
      `Sobel dx on 4 synthetic ${size}x${size} training images, one more held out; a 3x3 conv + bias from the trainer's default init; ${steps} steps, evaluated every 10; the default learning rate in the scaled problem (Adam 0.1, SGD 0.05 with momentum 0.9), halved after 3 evaluations without improvement. "kernel error" = max |tap - Sobel tap|; the trainer keeps the weights with the best validation loss.`,
      `The noisy rows add Gaussian noise (sigma ${SIGMA}, ${((100 * SIGMA) / rms).toFixed(1)}% of the targets' RMS ${rms.toFixed(0)}) to the targets; the exact row is the least-squares kernel of the same noisy training images, where more steps and larger batches converge (its distance to Sobel is the noise's, not the solver's).`,
      'The trainer\'s default is 64x64 crops and as many as make ~32k pixels per step (8 of 64x64).',
    ],
  };
});

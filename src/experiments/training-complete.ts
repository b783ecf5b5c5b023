/**
 * Q6: how do you know training is complete? Adam on Sobel dx, recording every evaluation (25
 * steps), and for each stopping criterion the step it fires at, the time, and the error it leaves:
 * the gap to the exact least-squares optimum (the certificate only a linear model has), a
 * validation plateau (the usual rule), and the gradient norm.
 */
import type { ImagePair } from '../data/pairs.js';
import { syntheticImages } from '../data/synthetic.js';
import { trainFilter } from '../train/index.js';
import { defineExperiment, type Row } from './types.js';
import { SOBEL_DX, pairsFor, sobelKernelError } from './util.js';


interface Snapshot { step: number; ms: number; valLoss: number; weights: Float64Array }

/** Gradient of the mean squared error over the valid region w.r.t. the 9 taps (bias 0), made dimensionless by rms(x) rms(t). */
function gradNorm(pairs: ImagePair[], w: ArrayLike<number>): number {
  const g = new Float64Array(9);
  let n = 0, xx = 0, tt = 0;
  for (const { input, target } of pairs) {
    const W = input.width, H = input.height, x = input.data, t = target.data;
    for (let y = 1; y < H - 1; y++)
      for (let c = 1; c < W - 1; c++) {
        let p = 0;
        for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) p += w[i * 3 + j]! * x[(y + i - 1) * W + c + j - 1]!;
        const r = p - t[y * W + c]!;
        for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) g[i * 3 + j]! += 2 * r * x[(y + i - 1) * W + c + j - 1]!;
        xx += x[y * W + c]! ** 2;
        tt += t[y * W + c]! ** 2;
        n++;
      }
  }
  let s = 0;
  for (const v of g) s += (v / n) ** 2;
  return Math.sqrt(s) / Math.sqrt((xx / n) * (tt / n));
}


export const experiment = defineExperiment('training-complete', 'Q6: how do you know when training is complete? Steps, time and error left by each stopping criterion (Adam, Sobel dx).', async ({ quick }) => {
  const size = quick ? 48 : 96;
  const maxSteps = quick ? 1500 : 4000;
  const pairs = pairsFor(syntheticImages(5, { width: size, height: size, seed: 2 }), SOBEL_DX);
  let tv = 0, tn = 0;
  for (const p of pairs) for (const v of p.target.data) { tv += v * v; tn++; }
  const variance = tv / tn;
  const exact = trainFilter(pairs, { arch: 'linear', ksize: 3, solver: 'exact', border: 'reflect101', seed: 0 });
  const exactVal = exact.model.metrics.validation.mse;
  const snaps: Snapshot[] = [];
  const t0 = performance.now();
  const adam = trainFilter(pairs, {
    arch: 'linear', ksize: 3, solver: 'adam', border: 'reflect101', seed: 0, maxSteps, patience: 1e9, tolerance: 1e-300,
    onProgress: (e) => { if (e.weights && e.valLoss !== undefined) snaps.push({ step: e.step, ms: performance.now() - t0, valLoss: e.valLoss, weights: Float64Array.from(e.weights) }); },
  });
  const gap = (s: Snapshot): number => Math.max(0, s.valLoss - exactVal) / variance;
  const row = (criterion: string, s: Snapshot | undefined): Row =>
    s ? { criterion, 'fires at step': s.step, ms: Math.round(s.ms), 'max abs kernel error': sobelKernelError(s.weights), 'relative loss gap': gap(s) } : { criterion, 'fires at step': `not within ${maxSteps}`, ms: null, 'max abs kernel error': null, 'relative loss gap': null };
  const firstGap = (tol: number): Snapshot | undefined => snaps.find((s) => gap(s) < tol);
  // validation plateau: 10 evaluations (250 steps) without a 1% improvement of the best validation loss
  let plateau: Snapshot | undefined;
  let best = Infinity, since = 0;
  for (const s of snaps) {
    if (s.valLoss < best * 0.99) { best = s.valLoss; since = 0; } else if (++since >= 10) { plateau = s; break; }
  }
  const grads = snaps.map((s) => gradNorm(pairs.slice(0, 4), s.weights));
  const firstGrad = (tol: number): Snapshot | undefined => snaps[grads.findIndex((g) => g < tol)];
  const table: Row[] = [
    { criterion: 'exact least squares (normal equations, no steps)', 'fires at step': 0, ms: Math.round(exact.trainMs), 'max abs kernel error': sobelKernelError(exact.model.layers[0]!.type === 'conv2d' ? (exact.model.layers[0] as { weights: number[][][][] }).weights.flat(3) : []), 'relative loss gap': 0 },
    row('loss gap to exact optimum < 1e-3', firstGap(1e-3)),
    row('loss gap to exact optimum < 1e-6', firstGap(1e-6)),
    row('loss gap to exact optimum < 1e-9', firstGap(1e-9)),
    row('validation plateau (no 1% gain in 10 evals)', plateau),
    row('gradient norm < 1e-3', firstGrad(1e-3)),
    row('gradient norm < 1e-6', firstGrad(1e-6)),
    row(`step budget (${maxSteps})`, snaps[snaps.length - 1]),
  ];
  const g6 = firstGap(1e-6);
  return {
    table,
    claims: {
      gap6Step: g6?.step ?? -1,
      gap6KernelError: g6 ? sobelKernelError(g6.weights) : -1,
      plateauStep: plateau?.step ?? -1,
      plateauKernelError: plateau ? sobelKernelError(plateau.weights) : -1,
      finalKernelError: sobelKernelError(snaps[snaps.length - 1]!.weights),
      adamStopReason: adam.stopReason,
    },
    notes: [
      `Adam (default learning rate, random crops) on ${pairs.length} synthetic ${size}x${size} images, evaluated every 25 steps; "relative loss gap" = (validation MSE - exact optimum's) / mean target^2; kernel error against the true Sobel taps.`,
      'A linear model has a certificate no deep net has: the exact least-squares optimum, so "complete" can mean "within tol of the best any 3x3 kernel can do". trainFilter stops on that gap (--tolerance, default 1e-12) and falls back to a validation plateau (--patience) and the step budget.',
    ],
  };
});

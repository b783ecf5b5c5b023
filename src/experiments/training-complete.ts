/**
 * Q6: how do you know training is complete? Adam on a linear 3x3 model (no bias, so the
 * certificate and the bound below are over the 9 taps alone), run by trainFilter itself, on
 * float32 Sobel dx targets and on a blur rounded to 8 bits. At each evaluation:
 *
 *   - the certificate trainFilter stops on: the excess training MSE over the exact optimum w*,
 *     relative to the targets' mean square (`--tolerance`, default 1e-12);
 *   - the bound that gap gives on the taps: excess = (w - w*)' (G/N) (w - w*) >= lambda_min
 *     ||w - w*||², so ||w - w*|| <= sqrt(excess / lambda_min), G/N the training Gram over pixels;
 *   - the actual ||w - w*|| and the distance to the true kernel;
 *   - for 8-bit targets, the floor the rounding sets: rounding adds noise of variance 1/12 (a level
 *     squared), so the exact optimum itself sits off the true kernel by an excess of about
 *     (1/12) p / N in the same metric (p = 9 taps, N training pixels). Descent is done when its
 *     excess over w* is below that: further steps move the taps by less than the data pin them.
 *
 * Plus the rules trainFilter falls back to: its validation plateau (patience) with the certificate
 * off, and its default run (the certificate on).
 */
import type { ImagePair } from '../data/pairs.js';
import { syntheticImages } from '../data/synthetic.js';
import { applyFilter } from '../filters/ops.js';
import { gramStats, type GramStats } from '../kernels/gram.js';
import { symmetricEigen } from '../kernels/linalg.js';
import { createRng } from '../random.js';
import { excessLoss, lossFromStats, solveExact } from '../train/exact.js';
import { trainFilter } from '../train/index.js';
import { regionImages, splitPairs } from '../train/regions.js';
import type { Conv2dSpec } from '../nn/network.js';
import { defineExperiment, type Row } from './types.js';
import { SOBEL_DX, SOBEL_TAPS, pairsFor } from './util.js';

/** The gap thresholds the table reports (relative to the targets' mean square), and trainFilter's default tolerance. */
const GAPS = [1e-3, 1e-6, 1e-9];
const DEFAULT_TOLERANCE = 1e-12;
/** Uniform rounding to integers: noise of variance 1/12 (a level squared). */
const ROUNDING_VARIANCE = 1 / 12;

/** A positive 3x3 blur with non-integer taps summing to 1 (rounding it to 8 bits is not exact). */
function randomBlur(): number[] {
  const rng = createRng(8);
  const raw = Array.from({ length: 9 }, () => 0.2 + rng());
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((v) => v / sum);
}

interface Case { key: 'f32' | 'u8'; label: string; pairs: ImagePair[]; truth: number[] }

function cases(images: ReturnType<typeof syntheticImages>): Case[] {
  const blur = randomBlur();
  const kernel = [blur.slice(0, 3), blur.slice(3, 6), blur.slice(6, 9)];
  const u8 = images.map((input, i) => {
    const t = applyFilter(input, { op: 'kernel', kernel });
    return { stem: `img${i}`, input, target: { ...t, depth: 'u8' as const, data: Float32Array.from(t.data, (v) => Math.round(v)) } };
  });
  return [
    { key: 'f32', label: 'Sobel dx, float32', pairs: pairsFor(images, SOBEL_DX), truth: SOBEL_TAPS },
    { key: 'u8', label: '3x3 blur rounded to 8 bits', pairs: u8, truth: blur },
  ];
}

const taps = (layers: { type: string }[]): number[] => (layers.find((l) => l.type === 'conv2d') as Conv2dSpec).weights.flat(3);
const norm = (a: ArrayLike<number>, b: ArrayLike<number>): number => Math.sqrt(Array.from(a, (v, i) => (v - b[i]!) ** 2).reduce((s, x) => s + x, 0));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

/** The training split trainFilter makes (same fraction, seed and minimum side) and its 3x3 Gram without bias. */
function trainingStats(pairs: ImagePair[], seed: number): GramStats {
  return gramStats(regionImages(splitPairs(pairs, 0.2, seed, 3).train), 3, 3, false);
}

/** Everything the table says about one set of taps against the certificate. */
function judge(st: GramStats, opt: Float64Array, lambdaMin: number, truth: number[], w: ArrayLike<number>) {
  const meanSquare = st.yty[0]! / st.n;
  const excess = excessLoss(st, [Float64Array.from(w)], [opt]);
  return { gap: excess / meanSquare, excess, bound: Math.sqrt(excess / lambdaMin), distance: norm(w, opt), trueError: maxDiff(w, truth), floorShare: excess / roundingFloor(st) };
}

/** The excess over w* that rounding alone puts between w* and the true kernel, on average: (1/12) p / N. */
function roundingFloor(st: GramStats): number {
  return (ROUNDING_VARIANCE * st.p) / st.n;
}

export const experiment = defineExperiment('training-complete', 'Q6: how do you know when training is complete? trainFilter\'s certificate (the gap to the exact optimum), the bound it gives on the taps, its fallbacks, and the rounding floor of 8-bit targets.', async ({ quick }) => {
  const size = quick ? 48 : 96;
  const maxSteps = quick ? 1500 : 4000;
  const images = syntheticImages(5, { width: size, height: size, seed: 2 });
  const table: Row[] = [];
  const claims: Record<string, number | boolean | string> = { size, maxSteps, tolerance: DEFAULT_TOLERANCE };
  for (const c of cases(images)) {
    const base = { arch: 'linear' as const, ksize: 3, solver: 'adam' as const, border: 'reflect101' as const, seed: 0, bias: false };
    const st = trainingStats(c.pairs, 0);
    const opt = solveExact(st, { condition: false }).coef[0]!;
    const lambdaMin = Math.min(...symmetricEigen(Float64Array.from(st.xtx, (v) => v / st.n), st.p).map((e) => e.value));
    const exact = trainFilter(c.pairs, { ...base, solver: 'exact' });
    // trainFilter's exact solve must be the optimum computed here (the same training split).
    // (The model stores float32 taps: equal to float32 rounding.)
    claims[`${c.key}ExactAgrees`] = norm(taps(exact.model.layers), opt) < 1e-6 * Math.max(1, norm(opt, new Float64Array(9)));
    const row = (rule: string, step: number | string, w: ArrayLike<number>): Row => {
      const j = judge(st, opt, lambdaMin, c.truth, w);
      claims[`${c.key}WorstBoundRatio`] = Math.max(Number(claims[`${c.key}WorstBoundRatio`] ?? 0), j.bound > 0 ? j.distance / j.bound : 0);
      return {
        targets: c.label, rule, step, 'relative gap': j.gap, 'excess MSE': j.excess, 'lambda_min(G/N)': lambdaMin, 'bound sqrt(excess / lambda_min)': j.bound,
        '|w - w*|': j.distance, 'max |w - true taps|': j.trueError, ...(c.key === 'u8' ? { 'excess / rounding floor': j.floorShare } : {}),
      };
    };
    table.push(row('exact solve (no steps)', 0, opt));
    claims[`${c.key}LambdaMin`] = lambdaMin;
    claims[`${c.key}MeanSquare`] = st.yty[0]! / st.n;
    claims[`${c.key}ExactTrueError`] = maxDiff(opt, c.truth);
    // One long Adam run, certificate and plateau off, recording every evaluation.
    const snaps: { step: number; w: Float64Array }[] = [];
    trainFilter(c.pairs, { ...base, maxSteps, patience: 1e9, tolerance: 1e-300, onProgress: (e) => { if (e.weights) snaps.push({ step: e.step, w: Float64Array.from(e.weights) }); } });
    const judged = snaps.map((s) => ({ ...s, ...judge(st, opt, lambdaMin, c.truth, s.w) }));
    for (const g of GAPS) {
      const s = judged.find((x) => x.gap < g);
      table.push(s ? row(`first evaluation with gap < ${g.toExponential(0)}`, s.step, s.w) : { targets: c.label, rule: `first evaluation with gap < ${g.toExponential(0)}`, step: `not within ${maxSteps}` });
      claims[`${c.key}Gap${g}Step`] = s?.step ?? -1;
      claims[`${c.key}Gap${g}Distance`] = s?.distance ?? -1;
      claims[`${c.key}Gap${g}BoundRatio`] = s && s.bound > 0 ? s.distance / s.bound : -1;
    }
    if (c.key === 'u8') {
      const s = judged.find((x) => x.floorShare < 1);
      table.push(s ? row('first evaluation with excess < rounding floor', s.step, s.w) : { targets: c.label, rule: 'first evaluation with excess < rounding floor', step: `not within ${maxSteps}` });
      claims.u8DoneStep = s?.step ?? -1;
      claims.u8DoneTrueError = s?.trueError ?? -1;
      claims.u8BestFloorShare = Math.min(...judged.map((x) => x.floorShare));
      claims.u8Floor = roundingFloor(st);
      // The exact fit's residual is the rounding noise (1/12 if uniform and independent of the input),
      // and its own excess over the true kernel is what the floor predicts.
      claims.u8ResidualOverRounding = lossFromStats(st, [opt]) / ROUNDING_VARIANCE;
      claims.u8TruthOverFloor = excessLoss(st, [Float64Array.from(c.truth)], [opt]) / roundingFloor(st);
    }
    // trainFilter's own rules: the default run (certificate at 1e-12), then the plateau alone.
    const def = trainFilter(c.pairs, { ...base, maxSteps: 5000 });
    table.push(row(`trainFilter default: ${def.stopReason}`, def.steps, taps(def.model.layers)));
    const plateau = trainFilter(c.pairs, { ...base, maxSteps: 5000, tolerance: 1e-300 });
    table.push(row(`trainFilter, certificate off: ${plateau.stopReason}`, plateau.steps, taps(plateau.model.layers)));
    for (const [k, r] of [['Default', def], ['Plateau', plateau]] as const) {
      const j = judge(st, opt, lambdaMin, c.truth, taps(r.model.layers));
      Object.assign(claims, { [`${c.key}${k}Stop`]: r.stop, [`${c.key}${k}Steps`]: r.steps, [`${c.key}${k}Gap`]: j.gap, [`${c.key}${k}Distance`]: j.distance, [`${c.key}${k}TrueError`]: j.trueError, [`${c.key}${k}FloorShare`]: j.floorShare });
    }
  }
  return {
    table,
    claims,
    notes: [
      `5 synthetic ${size}x${size} images (trainFilter validates on one); a 3x3 kernel without bias, Adam at trainFilter's defaults (warm-up, rate halved after 3 evaluations without gain, evaluated every 25 steps). "relative gap": the excess training MSE over the exact optimum w* divided by the targets' mean square, the quantity trainFilter's --tolerance bounds; G/N: the training Gram matrix per pixel; |w - w*|: Euclidean, over the 9 taps; rounding floor (8-bit rows): (1/12) x 9 / N, the excess over w* that the rounding alone puts between w* and the true kernel on average (N training pixels).`,
      `The long run has the certificate and the plateau off (at most ${maxSteps} steps); the trainFilter rows are separate runs with the defaults (--tolerance 1e-12, --patience 10, --max-steps 5000) and with the certificate off (the plateau restores the best validation weights).`,
    ],
  };
});

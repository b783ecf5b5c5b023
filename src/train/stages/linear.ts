/**
 * The plain linear fit, y = k * x + b: one Gram matrix of the window taps (src/kernels/gram.ts) and
 * one exact solve, the stage every other one is judged against. With --ksize auto, one Gram of the
 * largest size of a stage serves every smaller size through its centred sub-blocks (support.ts
 * chooseKernelSize), on the same pixels; the sizes grow stage by stage (AUTO_KSIZE_STAGES) while
 * the largest one is the one chosen, and the chosen size is then fitted on all training pixels.
 */

import { gramStats, subGram, type GramPair, type GramStats } from '../../kernels/gram.js';
import { coefStdErrors, solveExact } from '../exact.js';
import { AUTO_KSIZE_STAGES, chooseKernelSize, KSIZE_MAX, neededSize, type KernelSizeChoice } from '../support.js';
import { square, type OutputStage, type StageData } from './stage.js';

export const LINEAR: OutputStage = {
  name: 'linear',
  linearErrors: true,
  convOutputs: (cout) => cout,
  worthTrying: () => true,
  check: () => undefined,
  fit(data, wanted, auto) {
    const { bias, cache } = data;
    if (!auto) {
      const stats = gramStats(data.train, wanted.kh, wanted.kw, bias, cache);
      const val = data.val ? gramStats(data.val, wanted.kh, wanted.kw, bias, cache) : null;
      return { size: wanted, stats, valStats: val && val.n > 0 ? val : null, reason: 'exact least-squares solve', warnings: [] };
    }
    const { choice, big, bigVal } = growSize(data, wanted.kh);
    const k = choice.k;
    const warnings = k === big.kh && k > 1 ? [reachWarning(big, k)] : [];
    // The chosen size refitted on all training pixels (the sizes were compared on a common region),
    // unless the common region already holds nearly all of them.
    const stats = k === big.kh ? big : validShare(data.train, big.kh, k) >= 0.9 ? subGram(big, k, k) : gramStats(data.train, k, k, bias, cache);
    const valStats = bigVal && bigVal.n > 0 ? subGram(bigVal, k, k) : null;
    return { size: square(k), stats, valStats, reason: 'exact least-squares solve', sizeChoice: { chosen: k, candidates: choice.candidates }, warnings };
  },
  outputLayers: () => [],
  responseMap: () => undefined,
};

/** The share of a k x k kernel's valid pixels that a K x K kernel's valid region holds. */
function validShare(pairs: GramPair[], K: number, k: number): number {
  const valid = (s: number): number => pairs.reduce((n, p) => n + Math.max(0, p.input.width - s + 1) * Math.max(0, p.input.height - s + 1), 0);
  return valid(k) > 0 ? valid(K) / valid(k) : 0;
}

/** The Grams of each stage up to `limit` in turn, until the chosen size is smaller than the stage's largest. */
function growSize(data: StageData, limit: number): { choice: KernelSizeChoice; big: GramStats; bigVal: GramStats | null } {
  const stages = [...AUTO_KSIZE_STAGES.filter((s) => s < limit), limit];
  const gram = (pairs: GramPair[], k: number): GramStats => gramStats(pairs, k, k, data.bias, data.cache);
  for (const K of stages) {
    const big = gram(data.train, K);
    const bigVal = data.val ? gram(data.val, K) : null;
    const choice = chooseKernelSize(big, bigVal, data.targetStep);
    if (choice.k < K || K === limit) return { choice, big, bigVal };
  }
  throw new Error('growSize: no stage'); // unreachable: the last stage returns
}

/** The warning when the chosen size is the largest tried: past KSIZE_MAX it names the size the filter needs. */
function reachWarning(big: GramStats, k: number): string {
  if (k < KSIZE_MAX) return `the chosen kernel size ${k} is the largest the images allow --ksize auto to try: the filter may reach further than ${k}x${k} (larger images let it try more, up to ${KSIZE_MAX}x${KSIZE_MAX})`;
  const sol = solveExact(big, { condition: false });
  const need = neededSize(sol.coef, coefStdErrors(big, sol), big.cin, k);
  return need === null
    ? `the filter reaches beyond ${k}x${k}, the largest kernel kernel-learn fits, and its taps do not fall off towards the edge: it may not be a compact kernel (a global or very wide operation?)`
    : `the filter reaches beyond ${k}x${k}, the largest kernel kernel-learn fits: its taps fall to the noise at about ${need}x${need} (extrapolated from the outer rings); the ${k}x${k} kernel leaves out its tails`;
}

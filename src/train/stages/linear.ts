/**
 * The plain linear fit, y = k * x + b: one Gram matrix of the window taps (src/kernels/gram.ts) and
 * one exact solve, the stage every other one is judged against. With --ksize auto, one Gram of the
 * largest size serves every smaller size through its centred sub-blocks (support.ts
 * chooseKernelSize), on the same pixels; the chosen size is then fitted on all training pixels.
 */

import { gramStats, subGram } from '../../kernels/gram.js';
import { chooseKernelSize } from '../support.js';
import type { OutputStage } from './stage.js';

export const LINEAR: OutputStage = {
  name: 'linear',
  linearErrors: true,
  convOutputs: (cout) => cout,
  worthTrying: () => true,
  check: () => undefined,
  fit(data, kWanted, auto) {
    const { bias, cache } = data;
    const bigTrain = gramStats(data.train, kWanted, kWanted, bias, cache);
    const bigVal = data.val ? gramStats(data.val, kWanted, kWanted, bias, cache) : null;
    const warnings: string[] = [];
    let k = kWanted;
    let sizeChoice;
    if (auto) {
      const choice = chooseKernelSize(bigTrain, bigVal, data.targetStep);
      k = choice.k;
      sizeChoice = { chosen: k, candidates: choice.candidates };
      if (k === kWanted && kWanted > 1) warnings.push(`the chosen kernel size ${k} is the largest tried: the filter may reach further than ${k}x${k}`);
    }
    // For a fixed size, all training pixels count (the auto path compared sizes on a common region).
    const stats = auto && k !== kWanted ? gramStats(data.train, k, k, bias, cache) : bigTrain;
    const valStats = bigVal && bigVal.n > 0 ? subGram(bigVal, k, k) : null;
    return { k, stats, valStats, reason: 'exact least-squares solve', sizeChoice, warnings };
  },
  outputLayers: () => [],
  responseMap: () => undefined,
};

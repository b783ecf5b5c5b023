/**
 * --arch deep: a small conv-relu-conv stack (cin -> `hidden` channels, k x k; relu; hidden -> cout,
 * 3 x 3) trained by gradient descent (Adam by default) on random crops with the trainer of
 * trainer.ts (valid convs, scaled data, reduce-on-plateau, validation-plateau stopping; there is
 * no exact optimum to certify against). For filters that are not linear (median, morphology,
 * bilateral-like) this is the brief's "small nonlinear network"; the result reports the linear
 * fit's held-out MSE beside it, so the user sees what the extra parameters bought.
 */

import { nestWeights } from './exact.js';
import { trainGd, type GdResult } from './trainer.js';
import type { Region } from './regions.js';
import { Conv2d, Relu, Sequential } from '../nn/layers.js';
import type { Conv2dSpec, LayerSpec } from '../nn/model.js';

export const DEEP_HIDDEN = 8;

export interface DeepOptions {
  cin: number;
  cout: number;
  k: number;
  bias: boolean;
  solver: 'adam' | 'sgd';
  seed: number;
  maxSteps: number;
  patience: number;
  learningRate?: number;
  onProgress?: Parameters<typeof trainGd>[3]['onProgress'];
}

const toF32 = (v: number): number => Math.fround(v) + 0;

export function trainDeep(train: Region[], val: Region[], o: DeepOptions): { layers: LayerSpec[]; gd: GdResult; params: number } {
  const first = new Conv2d({ inChannels: o.cin, outChannels: DEEP_HIDDEN, kh: o.k, kw: o.k, bias: true });
  const second = new Conv2d({ inChannels: DEEP_HIDDEN, outChannels: o.cout, kh: 3, kw: 3, bias: o.bias });
  const net = new Sequential([first, new Relu(), second]);
  const gd = trainGd(net, train, val, {
    solver: o.solver,
    seed: o.seed,
    maxSteps: o.maxSteps,
    patience: o.patience,
    tolerance: 0,
    learningRate: o.learningRate,
    onProgress: o.onProgress,
  });
  const spec = (c: { weights: Float64Array; bias: Float64Array | null }, cin: number, cout: number, k: number): Conv2dSpec => {
    const per = cin * k * k;
    return {
      type: 'conv2d', inChannels: cin, outChannels: cout, kernelSize: [k, k],
      weights: nestWeights(Array.from({ length: cout }, (_, j) => Array.from(c.weights.subarray(j * per, (j + 1) * per), toF32)), cout, cin, k, k),
      bias: c.bias ? Array.from(c.bias, toF32) : null,
    };
  };
  const layers: LayerSpec[] = [spec(gd.convs[0], o.cin, DEEP_HIDDEN, o.k), { type: 'relu' }, spec(gd.convs[1], DEEP_HIDDEN, o.cout, 3)];
  const params = DEEP_HIDDEN * (o.cin * o.k * o.k + 1) + o.cout * (DEEP_HIDDEN * 9 + (o.bias ? 1 : 0));
  return { layers, gd, params };
}

/**
 * Golden trainings: a fixed grid of trainFilter runs (every arch, auto and deep included; every
 * solver; ksize 3, 5 and auto; colour full, shared and auto; the clamp, abs and magnitude stages;
 * snap and separable; a few seeds; one-image band splits, no bias, explicit borders) whose model
 * bytes and result summaries were written before src/train was restructured. Each run is repeated
 * here and must give the same model file, byte for byte, and the same summary (everything
 * `train --json` prints from the result except the wall time).
 *
 * The pairs come from the reference filters on seeded synthetic images (both tested elsewhere
 * against OpenCV), so the grid needs no fixture images. A change that is meant to change a
 * trained model (a new size rule, say) rewrites the files on purpose:
 *   KL_WRITE_GOLDEN=1 node --test dist/test/golden-models.test.js   (npm run golden:models)
 * and the diff of test/fixtures/golden-models/ shows what changed.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ImagePair } from '../src/data/pairs.js';
import { syntheticImages } from '../src/data/synthetic.js';
import { bilateralFilter } from '../src/filters/bilateral.js';
import { applyFilter } from '../src/filters/ops.js';
import type { FilterSpec } from '../src/filters/spec.js';
import { cropImage, type Image } from '../src/image.js';
import { padImage } from '../src/nn/apply.js';
import { GramCache } from '../src/kernels/gram.js';
import { serializeModel } from '../src/nn/model.js';
import { trainFilter, type TrainOptions, type TrainResult } from '../src/train/index.js';

const DIR = path.join(process.cwd(), 'test', 'fixtures', 'golden-models');
const WRITE = process.env.KL_WRITE_GOLDEN === '1';

// ---------------------------------------------------------------------------------------------
// The data sets: 5 pairs of 48x48 synthetic images (4 train, 1 validates) unless said otherwise.

const grey = (n = 5, w = 48, h = 48, seed = 11): Image[] => syntheticImages(n, { width: w, height: h, seed });
const colour = (): Image[] => syntheticImages(5, { width: 48, height: 48, channels: 3, seed: 12 });

function filtered(images: Image[], spec: FilterSpec): ImagePair[] {
  return images.map((input, i) => ({ stem: `img${i}`, input, target: applyFilter(input, spec) }));
}

/** A pointwise map of each target (float32), saturated to u8 when asked. */
function mapped(pairs: ImagePair[], f: (v: number) => number, u8: boolean): ImagePair[] {
  return pairs.map((p) => {
    const data = new Float32Array(p.target.data.length);
    for (let i = 0; i < data.length; i++) {
      const v = f(p.target.data[i]);
      data[i] = u8 ? Math.min(255, Math.max(0, Math.round(v))) : v;
    }
    return { ...p, target: { ...p.target, depth: u8 ? 'u8' : 'f32', data } };
  });
}

/** sqrt(gx^2 + gy^2) of Sobel (float32, or u8 saturated). */
function magnitudePairs(images: Image[], u8: boolean): ImagePair[] {
  const gx = filtered(images, { op: 'sobel', dx: 1, dy: 0 });
  const gy = filtered(images, { op: 'sobel', dx: 0, dy: 1 });
  return gx.map((p, i) => {
    const data = new Float32Array(p.target.data.length);
    for (let j = 0; j < data.length; j++) {
      const v = Math.hypot(p.target.data[j], gy[i].target.data[j]);
      data[j] = u8 ? Math.min(255, Math.round(v)) : Math.fround(v);
    }
    return { ...p, target: { ...p.target, depth: u8 ? 'u8' : 'f32', data } };
  });
}

const MIX: number[][] = [[0.05, -0.2, 0.1], [0.3, 0.5, -0.25], [0, 0.15, 0.1]];

/** Colour targets whose channels mix: out c = kernel(in c) + 0.5 * kernel(in (c+1) % 3). */
function mixedColour(images: Image[]): ImagePair[] {
  return images.map((input, i) => {
    const t = applyFilter(input, { op: 'kernel', kernel: MIX });
    const plane = input.width * input.height;
    const data = new Float32Array(t.data.length);
    for (let c = 0; c < 3; c++) for (let j = 0; j < plane; j++) data[c * plane + j] = Math.fround(t.data[c * plane + j] + 0.5 * t.data[((c + 1) % 3) * plane + j]);
    return { stem: `img${i}`, input, target: { ...t, data } };
  });
}

type Maker = () => ImagePair[];
const DATA: Record<string, Maker> = {
  sobel: () => filtered(grey(), { op: 'sobel', dx: 1, dy: 0 }),
  sobelU8: () => filtered(grey(), { op: 'sobel', dx: 1, dy: 0, depth: 'u8' }),
  sobelAbsU8: () => mapped(filtered(grey(), { op: 'sobel', dx: 0, dy: 1 }), Math.abs, true),
  sobelAbs: () => mapped(filtered(grey(), { op: 'sobel', dx: 1, dy: 0 }), Math.abs, false),
  magnitude: () => magnitudePairs(grey(), false),
  magnitudeU8: () => magnitudePairs(grey(), true),
  gaussU8: () => filtered(grey(), { op: 'gaussian', ksize: 5, depth: 'u8' }),
  box5: () => filtered(grey(), { op: 'box', ksize: 5 }),
  constantBorder: () => filtered(grey(), { op: 'kernel', kernel: MIX, border: 'constant' }),
  replicateBorder: () => filtered(grey(), { op: 'laplacian', ksize: 3, border: 'replicate' }),
  rgbGauss: () => filtered(colour(), { op: 'gaussian', ksize: 3 }),
  rgbMix: () => mixedColour(colour()),
  bilateral: () => grey().map((input, i) => ({ stem: `img${i}`, input, target: bilateralFilter(input, { d: 5, sigmaColor: 30, sigmaSpace: 2 }) })),
  oneImage: () => filtered(grey(1, 64, 40), { op: 'scharr', dx: 0, dy: 1 }),
  validConv: () => grown(grey(), 2, 2, -4, -4),
  fullConv: () => grown(grey(), -2, -2, 4, 4),
};

/** MIX (3x3) through a zero-padded convolution, the output's rows [dy, dy + H + dh) and columns [dx, dx + W + dw) (train/align.ts). */
function grown(images: Image[], dy: number, dx: number, dh: number, dw: number): ImagePair[] {
  return images.map((input, i) => {
    const out = applyFilter(padImage(input, 8, 8, 8, 8, 'constant'), { op: 'kernel', kernel: MIX, border: 'constant' });
    return { stem: `img${i}`, input, target: cropImage(out, 8 + dx, 8 + dy, input.width + dw, input.height + dh) };
  });
}

interface Case {
  name: string;
  data: keyof typeof DATA;
  options: Partial<TrainOptions>;
  /** Train through a GramCache filled ahead (as the CLI's worker does). */
  cache?: boolean;
}

const base: TrainOptions = { arch: 'linear', ksize: 3, solver: 'exact', border: 'auto', seed: 0 };
const GD = { maxSteps: 150 };

const CASES: Case[] = [
  { name: 'sobel-linear-exact-k3', data: 'sobel', options: {} },
  { name: 'sobel-linear-exact-k5', data: 'sobel', options: { ksize: 5 } },
  { name: 'sobel-linear-exact-kauto', data: 'sobel', options: { ksize: 'auto' } },
  { name: 'sobel-linear-exact-k3-cache', data: 'sobel', options: {}, cache: true },
  { name: 'sobel-auto-kauto', data: 'sobel', options: { arch: 'auto', ksize: 'auto', solver: 'auto' } },
  { name: 'sobel-adam-k3-s0', data: 'sobel', options: { solver: 'adam', ...GD } },
  { name: 'sobel-adam-k3-s1', data: 'sobel', options: { solver: 'adam', seed: 1, ...GD } },
  { name: 'sobel-sgd-k3', data: 'sobel', options: { solver: 'sgd', ...GD } },
  { name: 'sobel-adam-kauto-lr', data: 'sobel', options: { solver: 'adam', ksize: 'auto', learningRate: 0.05, maxSteps: 100, patience: 3 } },
  { name: 'sobel-separable-k3', data: 'sobel', options: { arch: 'separable' } },
  { name: 'sobel-snap-k3', data: 'sobel', options: { snap: true } },
  { name: 'sobel-separable-snap-k5', data: 'sobel', options: { arch: 'separable', snap: true, ksize: 5 } },
  { name: 'box5-separable-kauto', data: 'box5', options: { arch: 'separable', ksize: 'auto' } },
  { name: 'gauss-u8-kauto', data: 'gaussU8', options: { ksize: 'auto' } },
  { name: 'gauss-u8-snap-k5', data: 'gaussU8', options: { ksize: 5, snap: true } },
  { name: 'constant-border-k3', data: 'constantBorder', options: {} },
  { name: 'replicate-nobias-k3', data: 'replicateBorder', options: { bias: false } },
  { name: 'replicate-fixed-border-k3', data: 'replicateBorder', options: { border: 'reflect' } },
  { name: 'rgb-full-k3', data: 'rgbGauss', options: { channels: 'full' } },
  { name: 'rgb-shared-k3', data: 'rgbGauss', options: { channels: 'shared' } },
  { name: 'rgb-auto-channels-k3', data: 'rgbGauss', options: { channels: 'auto' } },
  { name: 'rgb-mix-auto-channels-k3', data: 'rgbMix', options: { channels: 'auto' } },
  { name: 'rgb-mix-shared-k3', data: 'rgbMix', options: { channels: 'shared' } },
  { name: 'rgb-adam-k3', data: 'rgbGauss', options: { solver: 'adam', maxSteps: 75 } },
  { name: 'sat-plain-k3', data: 'sobelU8', options: {} },
  { name: 'sat-clamp-k3', data: 'sobelU8', options: { clamp: 'auto' } },
  { name: 'sat-clamp-kauto', data: 'sobelU8', options: { clamp: 'auto', ksize: 'auto' } },
  { name: 'sat-clamp-adam', data: 'sobelU8', options: { clamp: 'auto', solver: 'adam' } },
  { name: 'sat-auto-kauto', data: 'sobelU8', options: { arch: 'auto', ksize: 'auto', solver: 'auto' } },
  { name: 'abs-u8-k3', data: 'sobelAbsU8', options: { abs: true } },
  { name: 'abs-u8-kauto', data: 'sobelAbsU8', options: { abs: true, ksize: 'auto' } },
  { name: 'abs-f32-k3-sgd', data: 'sobelAbs', options: { abs: true, solver: 'sgd' } },
  { name: 'abs-auto-k3', data: 'sobelAbsU8', options: { arch: 'auto' } },
  { name: 'abs-auto-kauto', data: 'sobelAbs', options: { arch: 'auto', ksize: 'auto' } },
  { name: 'mag-f32-k3', data: 'magnitude', options: { magnitude: true } },
  { name: 'mag-f32-kauto', data: 'magnitude', options: { magnitude: true, ksize: 'auto' } },
  { name: 'mag-u8-k3-adam', data: 'magnitudeU8', options: { magnitude: true, solver: 'adam' } },
  { name: 'mag-auto-kauto', data: 'magnitude', options: { arch: 'auto', ksize: 'auto' } },
  { name: 'mag-u8-auto-k3', data: 'magnitudeU8', options: { arch: 'auto' } },
  { name: 'bilateral-auto-kauto', data: 'bilateral', options: { arch: 'auto', ksize: 'auto' } },
  { name: 'bilateral-linear-k5', data: 'bilateral', options: { ksize: 5 } },
  { name: 'deep-adam-k3', data: 'bilateral', options: { arch: 'deep', solver: 'adam', maxSteps: 100 } },
  { name: 'deep-sgd-k3-s2', data: 'magnitude', options: { arch: 'deep', solver: 'sgd', seed: 2, maxSteps: 100 } },
  { name: 'deep-exact-kauto', data: 'sobel', options: { arch: 'deep', solver: 'exact', ksize: 'auto', maxSteps: 50, border: 'replicate' } },
  { name: 'one-image-k3', data: 'oneImage', options: {} },
  { name: 'one-image-kauto-adam', data: 'oneImage', options: { ksize: 'auto', solver: 'adam', maxSteps: 100 } },
  { name: 'one-image-auto', data: 'oneImage', options: { arch: 'auto', ksize: 'auto', validationFraction: 0.3 } },
  { name: 'valid-conv-kauto', data: 'validConv', options: { ksize: 'auto' } },
  { name: 'full-conv-k5-auto-arch', data: 'fullConv', options: { arch: 'auto', ksize: 5 } },
  { name: 'sobel-even-4x2-k', data: 'sobel', options: { ksize: [4, 2] } },
];

/** Everything `train --json` prints from a result, except the wall time; and the loss history. */
function summary(r: TrainResult): unknown {
  return {
    stopReason: r.stopReason,
    steps: r.steps,
    exactLoss: r.exactLoss ?? null,
    warnings: r.warnings,
    kernelSize: r.kernelSize,
    identifiable: r.identifiable,
    zeroTaps: r.zeroTaps,
    diagnostics: r.diagnostics,
    forms: r.forms,
    channelChoice: r.channelChoice ?? null,
    archChoice: r.archChoice ?? null,
    history: r.history,
    alignment: r.alignment,
    support: r.support,
  };
}

/** JSON with every number printed in full (and non-finite numbers named), stable across runs. */
const stable = (v: unknown): string =>
  JSON.stringify(v, (_k, x) => (typeof x === 'number' && !Number.isFinite(x) ? `number:${x}` : x instanceof Float64Array || x instanceof Float32Array ? Array.from(x) : x), 1) + '\n';

function run(c: Case): { model: string; summary: string } {
  const pairs = DATA[c.data]();
  const options: TrainOptions = { ...base, ...c.options };
  let context = {};
  if (c.cache) {
    const gramCache = new GramCache();
    for (const p of pairs) gramCache.add(p, 3, 3, options.bias ?? true);
    context = { gramCache };
  }
  const result = trainFilter(pairs, options, context);
  return { model: serializeModel(result.model), summary: stable(summary(result)) };
}

if (WRITE) mkdirSync(DIR, { recursive: true });

for (const c of CASES) {
  test(`golden training ${c.name}: same model bytes and summary as before the restructuring`, () => {
    const got = run(c);
    const modelFile = path.join(DIR, `${c.name}.json`);
    const summaryFile = path.join(DIR, `${c.name}.summary.json`);
    if (WRITE) {
      writeFileSync(modelFile, got.model);
      writeFileSync(summaryFile, got.summary);
      return;
    }
    assert.ok(existsSync(modelFile), `${modelFile} is missing: npm run golden:models writes it`);
    assert.equal(got.model, readFileSync(modelFile, 'utf8'), `${c.name}: the model bytes changed`);
    assert.deepEqual(JSON.parse(got.summary), JSON.parse(readFileSync(summaryFile, 'utf8')), `${c.name}: the result summary changed`);
  });
}

test('golden trainings: every file under test/fixtures/golden-models belongs to a case', () => {
  if (WRITE) return;
  const names = new Set(CASES.flatMap((c) => [`${c.name}.json`, `${c.name}.summary.json`]));
  for (const f of readdirSync(DIR)) assert.ok(names.has(f), `${f} belongs to no case`);
});

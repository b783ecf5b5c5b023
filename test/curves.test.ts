/**
 * The curve stages (src/train/stages/curves.ts): a kernel with pointwise curves around it,
 * y = g(k * f(x) + b). The targets were made by numpy and OpenCV on photographs
 * (tools/make_corpus.py, the curve_* configurations); every model is judged on the held-out
 * photographs at full size, edges included:
 *  - a 1/2.2 gamma after a Gaussian blur: >= 60 dB, the curve named a gamma near 1/2.2;
 *  - a blur in linear light (sRGB decode -> Gaussian -> sRGB encode), 8-bit: >= 99.9% within +-1;
 *  - a sigmoid after Sobel: >= 50 dB;
 *  - a linear filter stays linear: --arch auto keeps it, and a forced curve comes out the identity;
 * and a curve is exact layers (the curve and its 1x1 conv - relu - 1x1 conv agree), read back
 * from the model file only when its knots are sound.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curveFunction, curveLayers, curveLayersProblem, evaluate, segmentAt, segmentLocator, slopeAt, type Curve } from '../src/nn/curve.js';
import { applyModel } from '../src/nn/apply.js';
import { coverageWarnings, curveCoverage } from '../src/nn/curve-coverage.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createImage } from '../src/image.js';
import { parseModel, serializeModel } from '../src/nn/model.js';
import { fitCurve } from '../src/train/curve.js';
import { trainFilter, type TrainOptions } from '../src/train/index.js';
import { config, judge, load } from './corpus.js';

const opts: TrainOptions = { arch: 'auto', ksize: 'auto', solver: 'exact', border: 'auto', seed: 0 };

test('curves: a 1/2.2 gamma after a Gaussian blur is learned to >= 60 dB on held-out photographs, the curve named a gamma', async () => {
  const { train, heldOut } = await load(config('curve_gamma_after_gaussian_f32'));
  const r = trainFilter(train, { ...opts, arch: 'curve-after', ksize: 5 });
  const { psnr } = judge(r.model, heldOut);
  assert.ok(psnr >= 60, `held-out PSNR ${psnr}`);
  const g = r.model.training.curves!.after![0];
  const gamma = /^gamma ([0-9.]+)$/.exec(g.name);
  assert.ok(gamma && Math.abs(Number(gamma[1]) - 1 / 2.2) < 0.02, `curve named "${g.name}"`);
});

test('curves: --arch auto chooses a curve for the gamma after a blur', async () => {
  const { train, heldOut } = await load(config('curve_gamma_after_gaussian_f32'));
  const r = trainFilter(train, opts);
  assert.match(r.archChoice!.chosen, /^curve/, r.archChoice!.reason);
  assert.ok(judge(r.model, heldOut).psnr >= 50);
});

test('curves: a blur in linear light on 8-bit sRGB images is reproduced within +-1 on >= 99.9% of held-out pixels', async () => {
  const { train, heldOut } = await load(config('curve_srgb_linear_light_blur_u8'));
  const r = trainFilter(train, { ...opts, arch: 'curves', ksize: 7 });
  const { within1 } = judge(r.model, heldOut);
  assert.ok(within1 >= 0.999, `${(100 * within1).toFixed(3)}% within +-1`);
  const { before, after } = r.model.training.curves!;
  assert.equal(before![0].monotone, 'increasing');
  assert.equal(after![0].monotone, 'increasing');
});

test('curves: a sigmoid after Sobel is learned to >= 50 dB on held-out photographs', async () => {
  const { train, heldOut } = await load(config('curve_sigmoid_after_sobel_f32'));
  const r = trainFilter(train, { ...opts, arch: 'curve-after', ksize: 3 });
  const { psnr } = judge(r.model, heldOut);
  assert.ok(psnr >= 50, `held-out PSNR ${psnr}`);
});

test('curves: a linear filter stays linear (auto keeps the linear fit; a forced curve is the identity)', async () => {
  const { train, heldOut } = await load(config('cv_gaussian_k7_reflect_f32'));
  const auto = trainFilter(train, opts);
  assert.equal(auto.archChoice!.chosen, 'linear', auto.archChoice!.reason);
  const forced = trainFilter(train, { ...opts, arch: 'curve-after', ksize: 7 });
  assert.equal(forced.model.training.curves!.after![0].name, 'identity');
  assert.ok(judge(forced.model, heldOut).psnr >= judge(auto.model, heldOut).psnr - 3);
});

test('curves: a curve and its layers (1x1 conv, relu, 1x1 conv) compute the same function', () => {
  const curves: Curve[] = [
    { knots: [0, 10, 50, 255], values: [3, 40, 90, 250] },
    { knots: [-5, 0, 5], values: [1, -2, 7] },
  ];
  const layers = curveLayers(curves);
  assert.equal(curveLayersProblem(layers, curves), null);
  const xs = [-20, -5, -1, 0, 3, 10, 30, 50, 100, 255, 400];
  const image = { width: xs.length, height: 1, channels: 2, depth: 'f64' as const, data: Float64Array.from([...xs, ...xs]) };
  const out = applyModel({ inputChannels: 2, outputChannels: 2, border: 'reflect101', layers }, image);
  xs.forEach((x, i) => {
    for (const c of [0, 1]) assert.ok(Math.abs(out.data[c * xs.length + i] - evaluate(curves[c], x)) <= 1e-4 * 255, `channel ${c} at ${x}`);
  });
});

test('curves: fitCurve recovers a monotone curve from noisy samples and keeps it monotone', () => {
  let seed = 1;
  const rand = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const v = Array.from({ length: 20000 }, () => 255 * rand());
  const truth = (x: number): number => 255 * Math.pow(x / 255, 1 / 2.2);
  const y = v.map((x) => truth(x) + (rand() - 0.5) * 0.5);
  const c = fitCurve(v, y, new Float64Array(v.length).fill(1), 32, 'auto');
  assert.ok(c.values.every((x, j) => j === 0 || x > c.values[j - 1]), 'increasing');
  for (const x of [5, 20, 60, 128, 250]) assert.ok(Math.abs(evaluate(c, x) - truth(x)) < 0.3, `at ${x}: ${evaluate(c, x)} vs ${truth(x)}`);
});

test('curves: segmentAt and segmentLocator find the segment a scan finds (either rule at a knot), curveFunction is evaluate, the right rule slopeAt\'s segment: crowded knots, knots themselves, outside, NaN', () => {
  let seed = 5;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const m of [2, 3, 5, 32]) {
    const knots: number[] = [];
    let t = -50 * rnd();
    // Crowded and sparse stretches: intervals far narrower and far wider than a table cell.
    for (let j = 0; j < m; j++) knots.push(Math.fround((t += j % 4 === 0 ? 1e-3 * rnd() + 1e-5 : 40 * rnd() + 1e-3)));
    const left = segmentLocator(knots, 'left'), right = segmentLocator(knots, 'right');
    const xs = [...knots, NaN, -Infinity, Infinity, knots[0] - 1, knots[m - 1] + 1, ...Array.from({ length: 2000 }, () => knots[0] - 5 + (knots[m - 1] - knots[0] + 10) * rnd())];
    for (const x of xs) {
      let scan = 0, scanRight = 0;
      while (scan < m - 2 && x > knots[scan + 1]) scan++;
      while (scanRight < m - 2 && x >= knots[scanRight + 1]) scanRight++;
      assert.equal(segmentAt(knots, x, 'left'), scan, `segmentAt left ${x}, ${m} knots`);
      assert.equal(left(x), scan, `segmentLocator left ${x}, ${m} knots`);
      assert.equal(segmentAt(knots, x, 'right'), scanRight, `segmentAt right ${x}, ${m} knots`);
      assert.equal(right(x), scanRight, `segmentLocator right ${x}, ${m} knots`);
    }
    // A curve on the same knots: curveFunction is evaluate, the right rule's segment has slopeAt's slope.
    const curve = { knots, values: knots.map(() => Math.fround(100 * rnd() - 20)) };
    const fn = curveFunction(curve), seg = right;
    for (const x of [...xs, 0, 1, 17, 255, 256, -1, 3.5]) {
      assert.ok(Object.is(fn(x), evaluate(curve, x)), `curveFunction ${x}, ${m} knots`);
      const j = seg(x);
      if (!Number.isNaN(x)) assert.ok(Object.is((curve.values[j + 1] - curve.values[j]) / (knots[j + 1] - knots[j]), slopeAt(curve, x)), `slopeAt ${x}, ${m} knots`);
    }
  }
});

test('curves: a model file with broken knots, non-monotone values declared monotone, or layers that disagree is refused with the path', async () => {
  const { train } = await load(config('curve_sigmoid_after_sobel_f32'));
  const r = trainFilter(train, { ...opts, arch: 'curve-after', ksize: 3 });
  const text = serializeModel(r.model);
  assert.deepEqual(parseModel(text, 'm.json'), r.model);
  const edit = (change: (doc: any) => void): string => {
    const doc = JSON.parse(text);
    change(doc);
    return JSON.stringify(doc);
  };
  const refused = (json: string, message: RegExp): void => assert.throws(() => parseModel(json, 'm.json'), message);
  refused(edit((d) => (d.training.curves.after[0].knots[3] = d.training.curves.after[0].knots[2])), /m\.json: invalid model file: training\.curves\.after\[0\]\.knots\[3\] is .* \(knots must increase\)/);
  refused(edit((d) => ([d.training.curves.after[0].values[4], d.training.curves.after[0].values[5]] = [d.training.curves.after[0].values[5], d.training.curves.after[0].values[4]])), /training\.curves\.after\[0\]\.values\[5\] .* declared increasing/);
  refused(edit((d) => d.training.curves.after[0].knots.pop()), /training\.curves\.after\[0\]\.values has \d+ entries/);
  refused(edit((d) => (d.training.curves.after[0].knots = [1])), /knots has 1 entries, expected 2 to 32/);
  refused(edit((d) => (d.layers[3].bias[0] += 5)), /layers\[1\.\.3\] do not compute training\.curves\.after/);
  refused(edit((d) => delete d.training.curves), /arch "curves" needs training\.curves/);
});

test('apply warns where a curve extrapolates: values outside the range its knots cover, per curve and channel', () => {
  // A real fit (sRGB blur in linear light on colour photographs, test/fixtures/export): its curves
  // after the kernel were fitted on responses up to ~226-241 (its inputs up to 254-255), so a near-white
  // image (250) leaves them and stays within the curves before.
  const model = parseModel(readFileSync(path.join(process.cwd(), 'test/fixtures/export/curves_model.json'), 'utf8'), 'curves_model.json');
  const flat = (v: number) => {
    const im = createImage(16, 12, 3, 'f32');
    im.data.fill(v);
    return im;
  };
  const grey = curveCoverage(model, flat(128));
  assert.equal(grey.length, 6, 'three curves before, three after');
  assert.ok(grey.every((c) => c.outside === 0));
  assert.deepEqual(coverageWarnings('grey.png', grey), []);
  const white = curveCoverage(model, flat(250));
  const after = white.filter((c) => c.side === 'after');
  assert.ok(after.every((c) => c.outside === 1 && c.seen[0] > c.range[1]), JSON.stringify(after));
  assert.ok(white.filter((c) => c.side === 'before').every((c) => c.outside === 0), 'the inputs are within the curves before');
  const lines = coverageWarnings('white.png', white);
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^white\.png: 100% of the kernel's responses lie outside the range the curve after the kernel \(channel 0\) was fitted on, \[-?[\d.]+, [\d.]+\] \(here \[[\d.]+, [\d.]+\]\)/);
});

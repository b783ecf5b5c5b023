/**
 * What makes `train` start and finish sooner keeps its results: the shared residual pass
 * (residualStats) against plain per-pixel loops, the memo of predictions, the training worker that
 * borrows the pixel buffers and gives them back, and the lazy imports (`--help` and `train
 * --no-report` load neither sharp nor vega nor the experiments; sharp only when an image file
 * needs it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { syntheticImage } from '../src/data/synthetic.js';
import type { ImagePair } from '../src/data/pairs.js';
import { applyFilter } from '../src/filters/ops.js';
import { createImage, type Image } from '../src/image.js';
import { writeImage } from '../src/io/index.js';
import { applyModel } from '../src/nn/apply.js';
import type { Network } from '../src/nn/network.js';
import { createRng } from '../src/random.js';
import { memoPredict, residualStats, validationMetrics } from '../src/train/evaluate.js';
import { formAccuracy } from '../src/train/forms.js';
import { trainFilter } from '../src/train/index.js';
import type { Region } from '../src/train/regions.js';
import { startTrainWorker, trainInterruptibly } from '../src/cli/train-worker.js';
import { GramCache, gramStats } from '../src/kernels/gram.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');

function model(cin: number, cout: number, k: number, rng: () => number): Network {
  const w = () => Array.from({ length: k }, () => Array.from({ length: k }, () => Math.fround(rng() - 0.5)));
  return {
    inputChannels: cin, outputChannels: cout, border: 'reflect101',
    layers: [{ type: 'conv2d', inChannels: cin, outChannels: cout, kernelSize: [k, k], weights: Array.from({ length: cout }, () => Array.from({ length: cin }, w)), bias: Array.from({ length: cout }, () => Math.fround(rng())) }],
  };
}

function randomImage(rng: () => number, w: number, h: number, c: number): Image {
  const im = createImage(w, h, c);
  for (let i = 0; i < im.data.length; i++) im.data[i] = Math.round(rng() * 255) + rng();
  return im;
}

test('residualStats: the same bits as plain per-pixel loops (regions, bands, interiors, channels)', () => {
  const rng = createRng(11);
  for (const [cin, cout, k] of [[1, 1, 3], [2, 3, 5], [3, 3, 1]] as const) {
    const m = model(cin, cout, k, rng);
    const pairs: ImagePair[] = [[17, 9], [5, 23], [1, 1], [40, 31]].map(([w, h], i) => ({ stem: `p${i}`, input: randomImage(rng, w, h, cin), target: randomImage(rng, w, h, cout) }));
    const regions: Region[] = [
      { pair: pairs[0], x0: 0, y0: 0, x1: 17, y1: 9 },
      { pair: pairs[1], x0: 1, y0: 4, x1: 4, y1: 20 },
      { pair: pairs[2], x0: 0, y0: 0, x1: 1, y1: 1 },
      { pair: pairs[3], x0: 0, y0: 25, x1: 40, y1: 31 },
    ];
    // Plain loops, as formAccuracy / validationMetrics / diagnoseResidual were written.
    let sse = 0, n = 0, peak = 0, maxErr = 0, y2 = 0, p1 = 0, p2 = 0;
    let isse = 0, in_ = 0, iy2 = 0, ip1 = 0, ip2 = 0;
    const s1 = new Float64Array(cout), s2 = new Float64Array(cout);
    for (const r of regions) {
      const pred = applyModel(m, r.pair.input).data;
      const { target } = r.pair;
      const W = target.width, H = target.height;
      const ay = k >> 1;
      for (let c = 0; c < cout; c++) {
        for (let y = r.y0; y < r.y1; y++) {
          for (let x = r.x0; x < r.x1; x++) {
            const tv = target.data[(c * H + y) * W + x];
            const pv = pred[(c * H + y) * W + x];
            const d = Math.abs(pv - tv);
            sse += d * d;
            maxErr = Math.max(maxErr, d);
            peak = Math.max(peak, Math.abs(tv));
            y2 += tv * tv;
            p1 += pv;
            p2 += pv * pv;
            s1[c] += tv;
            s2[c] += tv * tv;
            n++;
            if (y >= ay && y < H - (k - 1 - ay) && x >= ay && x < W - (k - 1 - ay)) {
              const e = tv - pv;
              isse += e * e;
              iy2 += tv * tv;
              ip1 += pv;
              ip2 += pv * pv;
              in_++;
            }
          }
        }
      }
    }
    for (const predict of [applyModel, memoPredict()]) {
      const all = residualStats(m, regions, predict, 'model');
      assert.deepEqual([all.n, all.sse, all.maxErr, all.peak, all.y2, all.p1, all.p2], [n, sse, maxErr, peak, y2, p1, p2]);
      assert.deepEqual([...all.s1.subarray(0, cout)], [...s1]);
      assert.deepEqual([...all.s2.subarray(0, cout)], [...s2]);
      const inner = residualStats(m, regions, predict, 'model', { kh: k, kw: k });
      assert.deepEqual([inner.n, inner.sse, inner.y2, inner.p1, inner.p2], [in_, isse, iy2, ip1, ip2]);
      // Memoised or not, the judges built on it agree.
      assert.deepEqual(formAccuracy(m, regions, predict), formAccuracy(m, regions));
      assert.deepEqual(validationMetrics(m, regions, predict), validationMetrics(m, regions));
    }
  }
});

test('memoPredict: one run per (model, image); a changed model runs again', () => {
  const rng = createRng(2);
  const m = model(1, 1, 3, rng);
  const img = randomImage(rng, 12, 10, 1);
  const predict = memoPredict();
  const a = predict(m, img);
  assert.equal(predict(m, img), a);
  assert.deepEqual(a.data, applyModel(m, img).data);
  const m2 = { ...m, border: 'replicate' as const };
  const b = predict(m2, img);
  assert.notEqual(b, a);
  assert.deepEqual(b.data, applyModel(m2, img).data);
});

test('training worker: same result as in-process, and the pixel buffers come back to the pairs', async () => {
  const pairs: ImagePair[] = [0, 1, 2].map((seed) => {
    const input = syntheticImage({ width: 48, height: 40, seed });
    return { stem: `s${seed}`, input, target: applyFilter(input, { op: 'sobel', dx: 1, dy: 0, ksize: 3 }) };
  });
  const copies = pairs.map((p) => [Float32Array.from(p.input.data), Float32Array.from(p.target.data)]);
  const options = { arch: 'auto' as const, ksize: 3, solver: 'exact' as const, border: 'auto' as const, seed: 1 };
  const inWorker = await trainInterruptibly(pairs, options);
  pairs.forEach((p, i) => {
    assert.deepEqual(p.input.data, copies[i][0], `${p.stem} input back intact`);
    assert.deepEqual(p.target.data, copies[i][1], `${p.stem} target back intact`);
  });
  const here = trainFilter(pairs, options);
  assert.deepEqual(inWorker.model, here.model);
  // An error in the worker gives the buffers back too.
  const bad = pairs.map((p) => ({ ...p, input: { ...p.input, data: Float32Array.from(p.input.data) } }));
  bad[1].input.data[5] = NaN;
  await assert.rejects(trainInterruptibly(bad, options), /non-finite/);
  assert.equal(bad[0].input.data.length, 48 * 40);
  assert.ok(Number.isNaN(bad[1].input.data[5]));
});

/** Every file: URL the CLI loads for `args` (through a module hook). */
function loadedModules(args: string[]): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kl-load-'));
  const hook = path.join(dir, 'hook.mjs');
  writeFileSync(
    hook,
    `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent('export async function load(url, ctx, next) { if (url.startsWith("file:")) process.stderr.write("LOADED " + url + "\\\\n"); return next(url, ctx); }'));\n`,
  );
  const r = spawnSync(process.execPath, ['--import', hook, BIN, ...args], { encoding: 'utf8', cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  return r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
}

test('lazy imports: --help loads neither sharp, vega, the report nor the experiments; train --no-report no vega', async () => {
  const heavy = (urls: string[], what: RegExp): string[] => urls.filter((u) => what.test(u));
  const help = loadedModules(['--help']);
  assert.ok(help.some((u) => u.endsWith('/cli/main.js')), 'the hook sees the modules');
  assert.deepEqual(heavy(help, /node_modules\/(sharp|vega|tinyglobby)\/|\/report\/|\/experiments\//), []);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kl-lazy-'));
  for (const sub of ['input', 'target']) spawnSync('mkdir', ['-p', path.join(dir, sub)]);
  const input = syntheticImage({ width: 40, height: 32, seed: 3 });
  await writeImage(path.join(dir, 'input', 'a.png'), input);
  await writeImage(path.join(dir, 'target', 'a.npy'), applyFilter(input, { op: 'sobel', dx: 1, dy: 0, ksize: 3 }));
  const train = loadedModules(['train', '--input', path.join(dir, 'input'), '--target', path.join(dir, 'target'), '--out', path.join(dir, 'm.json'), '--no-report']);
  assert.deepEqual(heavy(train, /node_modules\/vega\/|\/report\/|\/experiments\//), []);
  assert.ok(train.some((u) => /node_modules\/sharp\//.test(u)), 'sharp is loaded when a PNG is read');
  const experimentHelp = spawnSync(process.execPath, [BIN, 'experiment', '--help'], { encoding: 'utf8' });
  assert.equal(experimentHelp.status, 0);
  assert.match(experimentHelp.stdout, /fully-convolutional/, 'experiment --help still lists the experiments');
});

test('GramCache: statistics of pairs computed ahead give the same bits, and the same model', async () => {
  const pairs: ImagePair[] = [0, 1, 2, 3].map((seed) => {
    const input = syntheticImage({ width: 37 + seed, height: 29, seed });
    return { stem: `g${seed}`, input, target: applyFilter(input, { op: 'sobel', dx: 1, dy: 0, ksize: 3 }) };
  });
  const cache = new GramCache();
  for (const p of pairs.slice(1)) cache.add(p, 3, 3, true); // one pair left out: computed on the spot
  for (const k of [1, 3, 5]) {
    const plain = gramStats(pairs, k, k, true);
    const cached = gramStats(pairs, k, k, true, cache); // k other than 3: every pair misses
    assert.deepEqual(cached, plain, `${k}x${k}`);
  }
  assert.deepEqual(gramStats(pairs, 3, 3, false, cache), gramStats(pairs, 3, 3, false), 'bias differs: misses');
  const options = { arch: 'auto' as const, ksize: 3, solver: 'exact' as const, border: 'auto' as const, seed: 2 };
  const a = trainFilter(pairs, options);
  const b = trainFilter(pairs, options, { gramCache: cache });
  assert.deepEqual(b.model, a.model);
  assert.deepEqual(b.forms, a.forms);
  // Streamed to the worker pair by pair (prefetching), then trained: the same model again.
  const copies = pairs.map((p) => Float32Array.from(p.input.data));
  const worker = startTrainWorker({ kh: 3, kw: 3, bias: true });
  worker.send(pairs[0]);
  worker.send(pairs[1]);
  const c = await worker.train(pairs, options);
  assert.deepEqual(c.model, a.model);
  pairs.forEach((p, i) => assert.deepEqual(p.input.data, copies[i]));
});

/**
 * Standard errors of the fitted taps (src/train/uncertainty.ts, exact.ts coefStdErrors): that
 * they are the textbook sigma^2 (X^T X)^-1 of a small problem written out here, that they are the
 * real spread of the taps over many noise draws, and that they travel: the model file
 * (training.stdErrors, checked by parseModel), train --json, train and inspect for people, and the
 * run report.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ImagePair } from '../src/data/pairs.js';
import { syntheticImages } from '../src/data/synthetic.js';
import { applyFilter } from '../src/filters/ops.js';
import { createImage, type Image } from '../src/image.js';
import { writeImage } from '../src/io/index.js';
import { gramStats } from '../src/kernels/gram.js';
import { parseModel, serializeModel, type Model } from '../src/nn/model.js';
import { createRng, normal } from '../src/random.js';
import { writeReport } from '../src/report/html.js';
import { coefStdErrors, solveExact } from '../src/train/exact.js';
import { trainFilter, type TrainOptions } from '../src/train/index.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const work = mkdtempSync(path.join(os.tmpdir(), 'kl-uncertainty-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const KERNEL = [[0.1, -0.3, 0.2], [0.5, 1.0, -0.4], [0.0, 0.25, 0.1]];

/** `clean` with independent Gaussian noise of deviation `sigma` added (float targets). */
function noisy(clean: Image, sigma: number, rng: () => number): Image {
  return { ...clean, depth: 'f32', data: Float32Array.from(clean.data, (v) => v + sigma * normal(rng)) };
}

/** Inverse of a small dense matrix by Gauss-Jordan with partial pivoting (the textbook, not the solver's). */
function invert(a: number[][]): number[][] {
  const n = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[piv][c])) piv = r;
    [m[c], m[piv]] = [m[piv], m[c]];
    const d = m[c][c];
    for (let j = 0; j < 2 * n; j++) m[c][j] /= d;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r][c];
      for (let j = 0; j < 2 * n; j++) m[r][j] -= f * m[c][j];
    }
  }
  return m.map((row) => row.slice(n));
}

test('standard errors: equal the textbook sqrt(diag(sigma^2 (X^T X)^-1)) of a small problem written out here, taps and bias', () => {
  const rng = createRng(7);
  const pairs = [0, 1].map(() => {
    const input = createImage(11, 9, 1, 'u8');
    for (let i = 0; i < input.data.length; i++) input.data[i] = Math.floor(256 * rng());
    return { input, target: noisy(applyFilter(input, { op: 'kernel', kernel: KERNEL }), 2, rng) };
  });
  // X: one row per valid window (taps row by row, then 1 for the bias); y: the target at its centre.
  const rows: number[][] = [];
  const ys: number[] = [];
  for (const { input, target } of pairs) {
    const W = input.width;
    for (let y = 1; y < input.height - 1; y++) {
      for (let x = 1; x < W - 1; x++) {
        const row: number[] = [];
        for (let i = -1; i <= 1; i++) for (let j = -1; j <= 1; j++) row.push(input.data[(y + i) * W + x + j]);
        rows.push([...row, 1]);
        ys.push(target.data[y * W + x]);
      }
    }
  }
  const n = rows.length, p = 10;
  const xtx = Array.from({ length: p }, (_, a) => Array.from({ length: p }, (_, b) => rows.reduce((s, r) => s + r[a] * r[b], 0)));
  const xty = Array.from({ length: p }, (_, a) => rows.reduce((s, r, i) => s + r[a] * ys[i], 0));
  const inv = invert(xtx);
  const w = inv.map((row) => row.reduce((s, v, b) => s + v * xty[b], 0));
  const sse = rows.reduce((s, r, i) => s + (ys[i] - r.reduce((t, v, a) => t + v * w[a], 0)) ** 2, 0);
  const sigma2 = sse / (n - p);
  const textbook = inv.map((row, a) => Math.sqrt(sigma2 * row[a]));

  const st = gramStats(pairs, 3, 3, true);
  const se = coefStdErrors(st, solveExact(st), { bias: true })[0];
  for (let a = 0; a < p; a++) assert.ok(Math.abs(se[a] - textbook[a]) <= 1e-6 * textbook[a], `coefficient ${a}: ${se[a]} vs textbook ${textbook[a]}`);
  assert.equal(coefStdErrors(st, solveExact(st))[0][9], 0, 'without { bias: true } the bias entry stays 0 (what the forms read)');
});

test('standard errors: the stored errors are the spread of the fitted taps over 200 noise draws (each within 15%, their mean within 5%)', () => {
  const inputs = syntheticImages(4, { width: 40, height: 40, seed: 5 });
  const clean = inputs.map((x) => applyFilter(x, { op: 'kernel', kernel: KERNEL }));
  const draws: number[][] = [];
  let reported = new Array<number>(10).fill(0);
  for (let s = 0; s < 200; s++) {
    const rng = createRng(1000 + s);
    const pairs: ImagePair[] = inputs.map((input, i) => ({ stem: `p${i}`, input, target: noisy(clean[i], 3, rng) }));
    const model = trainFilter(pairs, { arch: 'linear', ksize: 3, solver: 'exact', border: 'reflect101', seed: 0 }).model;
    const conv = model.layers[0];
    assert.ok(conv.type === 'conv2d' && conv.bias && model.training.stdErrors?.bias);
    draws.push([...conv.weights[0][0].flat(), conv.bias[0]]);
    const errors = model.training.stdErrors;
    reported = reported.map((r, i) => r + [...errors.weights[0][0].flat(), errors.bias![0]][i] / 200);
  }
  const ratios = reported.map((se, i) => {
    const mean = draws.reduce((s, d) => s + d[i], 0) / draws.length;
    const sd = Math.sqrt(draws.reduce((s, d) => s + (d[i] - mean) ** 2, 0) / (draws.length - 1));
    return sd / se;
  });
  for (const [i, r] of ratios.entries()) assert.ok(Math.abs(r - 1) <= 0.15, `coefficient ${i}: empirical sd / reported se = ${r.toFixed(3)}`);
  const meanRatio = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  assert.ok(Math.abs(meanRatio - 1) <= 0.05, `mean ratio ${meanRatio.toFixed(3)} (${ratios.map((r) => r.toFixed(3)).join(' ')})`);
});

/** Gaussian blurs rounded to u8: the rounding is the noise, so every error is small and positive. */
const gaussPairs = (ksize = 3): ImagePair[] =>
  syntheticImages(4, { width: 40, height: 40, seed: 3 }).map((input, i) => ({ stem: `s${i}`, input, target: applyFilter(input, { op: 'gaussian', ksize, depth: 'u8' }) }));
const sobelPairs = (): ImagePair[] =>
  syntheticImages(4, { width: 40, height: 40, seed: 3 }).map((input, i) => ({ stem: `s${i}`, input, target: applyFilter(input, { op: 'sobel', dx: 1, dy: 0 }) }));
const base: TrainOptions = { arch: 'linear', ksize: 3, solver: 'exact', border: 'reflect101', seed: 0 };

test('model file: stdErrors in the kernel\'s layout for exact linear fits (separable and colour too), round-tripping; none where unknown', () => {
  const shapes: [Partial<TrainOptions>, ImagePair[], number[]][] = [
    [{}, gaussPairs(), [1, 1, 3, 3]],
    [{ arch: 'separable', ksize: 5 }, gaussPairs(5), [1, 1, 5, 5]],
    [{ clamp: 'auto' }, gaussPairs(), [1, 1, 3, 3]],
    [{}, syntheticImages(3, { width: 32, height: 32, channels: 3, seed: 4 }).map((input, i) => ({ stem: `c${i}`, input, target: applyFilter(input, { op: 'gaussian', ksize: 3, depth: 'u8' }) })), [3, 3, 3, 3]],
  ];
  for (const [options, pairs, [o, i, kh, kw]] of shapes) {
    const model = trainFilter(pairs, { ...base, ...options }).model;
    const e = model.training.stdErrors;
    assert.ok(e, JSON.stringify(options));
    assert.deepEqual([e.weights.length, e.weights[0].length, e.weights[0][0].length, e.weights[0][0][0].length], [o, i, kh, kw]);
    assert.equal(e.bias?.length, o);
    assert.ok(e.weights.flat(3).every((v) => v > 0 && v < 1), 'u8 rounding gives small positive errors');
    const text = serializeModel(model);
    const again = parseModel(text, 'm.json');
    assert.equal(serializeModel(again), text, 'parse(serialize(m)) keeps the bytes');
    assert.deepEqual(again.training.stdErrors, e, 'the record holds float32 values, as its file');
  }
  const none: [string, Partial<TrainOptions>][] = [
    ['magnitude', { magnitude: true }],
    ['deep', { arch: 'deep', solver: 'adam', maxSteps: 20 }],
    ['adam stopped at its step limit', { solver: 'adam', maxSteps: 3 }],
  ];
  for (const [what, options] of none) assert.equal(trainFilter(gaussPairs(), { ...base, ...options }).model.training.stdErrors, undefined, what);
  const converged = trainFilter(sobelPairs(), { ...base, solver: 'adam', maxSteps: 3000 });
  assert.equal(converged.stop, 'converged');
  assert.ok(converged.model.training.stdErrors, 'adam at the exact optimum keeps them');
});

test('model file: parseModel checks stdErrors (shape, sign, bias, arch) with the path inside the file, and reads files without them', () => {
  const model = trainFilter(gaussPairs(), base).model;
  const doc = JSON.parse(serializeModel(model)) as Record<string, any>;
  const refused = (edit: (d: any) => void, says: RegExp): void => {
    const d = structuredClone(doc);
    edit(d);
    assert.throws(() => parseModel(JSON.stringify(d), 'bad.json'), (e: Error) => says.test(e.message) && e.message.startsWith('bad.json: invalid model file: ') && !e.message.includes('\n'), String(says));
  };
  refused((d) => d.training.stdErrors.weights[0][0].pop(), /training\.stdErrors\.weights\[0\]\[0\] has 2 entries, expected 3/);
  refused((d) => (d.training.stdErrors.weights[0][0][1][2] = -0.5), /training\.stdErrors\.weights\[0\]\[0\]\[1\]\[2\] is -0\.5; a standard error is >= 0/);
  refused((d) => (d.training.stdErrors.weights[0][0][0][0] = 'x'), /training\.stdErrors\.weights\[0\]\[0\]\[0\]\[0\] must be a finite number/);
  refused((d) => (d.training.stdErrors.bias = null), /training\.stdErrors\.bias must be an array: the kernel has a bias/);
  refused((d) => (d.training.stdErrors.bias = [1, 2]), /training\.stdErrors\.bias has 2 entries, expected 1/);
  refused((d) => (d.training.stdErrors = [1]), /training\.stdErrors must be an object/);
  refused((d) => (d.arch = 'deep'), /training\.stdErrors belongs to a linear or separable model/);
  const old = structuredClone(doc);
  delete old.training.stdErrors;
  assert.equal(parseModel(JSON.stringify(old), 'old.json').training.stdErrors, undefined, 'a file from before the field reads as before');
  const noBias = trainFilter(gaussPairs(), { ...base, bias: false }).model;
  assert.equal(noBias.training.stdErrors?.bias, null);
  assert.equal(parseModel(serializeModel(noBias), 'nb.json').training.stdErrors?.bias, null);
});

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('CLI: train --json gives stdErrors; train and inspect print a grid of errors under the kernel, lines kept short', async () => {
  const dir = path.join(work, 'cli');
  mkdirSync(path.join(dir, 'in'), { recursive: true });
  mkdirSync(path.join(dir, 'out'), { recursive: true });
  for (const [i, p] of gaussPairs().entries()) {
    await writeImage(path.join(dir, 'in', `s${i}.png`), p.input);
    await writeImage(path.join(dir, 'out', `s${i}.png`), p.target);
  }
  const model = path.join(dir, 'm.json');
  const args = ['train', '--input', path.join(dir, 'in'), '--target', path.join(dir, 'out'), '--out', model, '--no-report', '--arch', 'linear'];
  const json = cli([...args, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const summary = JSON.parse(json.stdout);
  assert.equal(summary.stdErrors.weights[0][0].length, 3);
  assert.equal(summary.stdErrors.bias.length, 1);
  const stored = parseModel(readFileSync(model, 'utf8'), model).training.stdErrors;
  assert.deepEqual(summary.stdErrors, stored);
  for (const out of [cli(args).stdout, cli(['inspect', model]).stdout]) {
    const block = /  bias: .*\n(standard errors \(1 sigma\) of the 3x3 kernel's taps:\n(?: +\d\.\de[-+]\d+){3}\n(?: +\d\.\de[-+]\d+){3}\n(?: +\d\.\de[-+]\d+){3}\n {2}bias: \d\.\de[-+]\d+)\n/.exec(out);
    assert.ok(block, `a grid of errors right under the kernel:\n${out}`);
    for (const line of block[1].split('\n')) assert.ok(line.length <= 60, `short line: ${line}`);
  }
  const inspected = JSON.parse(cli(['inspect', model, '--json']).stdout);
  assert.deepEqual(inspected.stdErrors, stored);
});

test('report: the standard errors stand beside the kernel as a heat map and a table', async () => {
  const result = trainFilter(gaussPairs(), base);
  const html = path.join(work, 'r.report.html');
  const { files } = await writeReport(html, result, { title: 't', samples: [] });
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<div class="row"><figure class="kernel"><svg[^]*?learned kernel[^]*?<\/figure><figure class="kernel errors"><svg[^]*?standard errors \(1σ\)/);
  assert.match(page, /<th>standard errors<\/th><td>taps \d\.\de[-+]\d+ to \d\.\de[-+]\d+ \(1σ\); bias \d\.\de[-+]\d+<\/td>/);
  assert.ok(files.some((f) => f.endsWith('errors-1.svg')));
  const without: Model = { ...result.model, training: { ...result.model.training, stdErrors: undefined } };
  writeFileSync(path.join(work, 'x.html'), '');
  await writeReport(path.join(work, 'x.html'), { ...result, model: without }, { title: 't', samples: [] });
  assert.doesNotMatch(readFileSync(path.join(work, 'x.html'), 'utf8'), /standard errors/);
});

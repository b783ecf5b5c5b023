/**
 * identify on the committed corpus (test/fixtures/corpus, made by tools/make_corpus.py with the
 * real libraries): it must name the call that made each configuration's targets, prove it on every
 * pixel, say "no known call" for a random kernel, and fail in one line on bad input. No Python.
 *
 * What counts as naming the call: the manifest's call string exactly, or an equivalent call:
 * one whose output equals the manifest call's output on every pixel of every pair (checked here
 * by applying both), because then no pair can tell them apart. Two kinds occur: the same function
 * with a border mode that agrees for a 3x3 kernel (scipy 'reflect' and 'nearest' repeat the edge
 * pixel alike; OpenCV BORDER_REFLECT and BORDER_REPLICATE likewise), and another library's call
 * with the same arithmetic (scipy.ndimage.laplace(x, output=np.int16, mode='mirror') and
 * cv2.Laplacian(x, cv2.CV_16S, ksize=1)). Where the modes differ at the border, the border decides.
 *
 * A subset of the corpus (24 of the 46 named configurations) keeps this file near 20 s;
 * KL_IDENTIFY_ALL=1 runs every configuration.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadPairs } from '../src/data/dataset.js';
import { applyLibraryCall, libraryCallString, type LibrarySpec } from '../src/filters/libraries/index.js';
import { identifyKernel, identifyPairs, MATCH_FRACTION } from '../src/identify/index.js';
import { snapKernel } from '../src/identify/guide.js';
import { minimize1d, simpleNumbersNear, simplestIn } from '../src/identify/numbers.js';
import { truncateFor } from '../src/identify/variants.js';
import { gaussianRadius } from '../src/filters/libraries/scipy.js';
import { serializeModel } from '../src/nn/model.js';
import { trainFilter } from '../src/train/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CORPUS = path.resolve(HERE, '..', '..', 'test', 'fixtures', 'corpus');
const BIN = path.resolve(HERE, '../src/cli/main.js');

interface Config {
  name: string;
  use: string[];
  library: string;
  call: string;
  params: LibrarySpec & Record<string, unknown>;
  inputs: string;
  target: { dtype: string; ext: string };
}
const manifest = JSON.parse(readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')) as { configurations: Config[]; stems: string[] };
const byName = (name: string): Config => manifest.configurations.find((c) => c.name === name)!;

/** Four to seven per library, the hard cases among them (scale and delta on 8 bits, border modes, truncate-free blurs). */
const SUBSET = [
  'cv_sobel_dx_s16', 'cv_sobel_dx_u8_scale_delta', 'cv_laplacian_k3_replicate_s16', 'cv_gaussian_sigma_u8',
  'cv_gaussian_k7_reflect_f32', 'cv_filter2d_sharpen_u8', 'cv_filter2d_sharpen_constant_s16',
  'scipy_sobel_axis0_f32', 'scipy_sobel_axis1_nearest_f32', 'scipy_laplace_mirror_s16', 'scipy_gaussian_s1.5_f32',
  'scipy_gaussian_s0.8_mirror_u8', 'scipy_uniform5_nearest_u8',
  'skimage_sobel', 'skimage_farid', 'skimage_gaussian_s2',
  'pillow_sharpen', 'pillow_gaussian2', 'pillow_boxblur1', 'pillow_kernel3_emboss',
  'im_blur_0x1.5', 'im_sharpen_0x1', 'im_sobel', 'im_laplacian0_bias50',
];
const NEGATIVE = 'cv_filter2d_random5_f32';

function run(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function pairsOf(c: Config) {
  return loadPairs(path.join(CORPUS, c.inputs), path.join(CORPUS, c.name, 'target'));
}

/** The two calls give the same output on every pair. */
function sameOutputs(a: LibrarySpec, b: LibrarySpec, inputs: Awaited<ReturnType<typeof pairsOf>>): boolean {
  return inputs.every((p) => {
    const x = applyLibraryCall(p.input, a);
    const y = applyLibraryCall(p.input, b);
    return x.depth === y.depth && x.data.every((v, i) => v === y.data[i]);
  });
}

test('every corpus call string is the one our libraries print (OpenCV, scipy, skimage, Pillow, ImageMagick)', () => {
  for (const c of manifest.configurations) {
    // PyTorch layers and numpy compositions (the curve stages' targets) are no single call of ours.
    if (c.library === 'PyTorch' || c.library === 'numpy') continue;
    const inDepth = c.inputs === 'inputs' ? 'u8' : 'f32';
    assert.equal(libraryCallString(c.params, inDepth), c.call, c.name);
  }
});

test('identify names the call that made the corpus targets, proven on every pixel', async () => {
  const names = process.env.KL_IDENTIFY_ALL ? manifest.configurations.filter((c) => c.use.includes('identify') && c.name !== NEGATIVE).map((c) => c.name) : SUBSET;
  const libraries = new Set<string>();
  let exact = 0;
  const equivalent: string[] = [];
  for (const name of names) {
    const c = byName(name);
    const pairs = await pairsOf(c);
    const r = identifyPairs(pairs);
    assert.ok(r.best, `${name}: nothing named; closest ${r.candidates[0]?.call} at ${r.candidates[0]?.fraction}`);
    assert.equal(r.best.fraction, 1, `${name}: ${r.best.call} re-makes only ${r.best.fraction}`);
    assert.ok(r.best.fraction >= MATCH_FRACTION);
    if (r.best.call === c.call) {
      exact++;
      libraries.add(c.library);
    } else {
      const spec = { library: r.best.library, ...r.best.params } as LibrarySpec;
      assert.ok(sameOutputs(spec, c.params, pairs), `${name}: named ${r.best.call}, which differs from ${c.call} somewhere`);
      equivalent.push(`${name}: ${r.best.call}`);
    }
  }
  assert.ok(exact >= 20, `only ${exact} named exactly; equivalent: ${equivalent.join('; ')}`);
  assert.deepEqual([...libraries].sort(), ['ImageMagick', 'OpenCV', 'Pillow', 'scipy.ndimage', 'skimage.filters']);
  assert.ok(equivalent.length <= 4, equivalent.join('; '));
});

test('a random 5x5 kernel is no known call; the learned kernel still re-makes it through filter2D', async () => {
  const r = identifyPairs(await pairsOf(byName(NEGATIVE)));
  assert.equal(r.best, null);
  assert.ok(r.candidates.length > 0 && r.candidates[0].fraction < MATCH_FRACTION);
  assert.ok(r.learned && r.learned.kernel.length === 5, 'the learned kernel is 5x5');
  assert.ok(r.learned.filter2D && r.learned.filter2D.fraction >= MATCH_FRACTION, 'a linear kernel, just not a named one');
});

test('CLI: --json has the documented shape; the human output has one line per call and says "no known call"', () => {
  const c = byName('pillow_gaussian2');
  const r = run(['identify', '--input', path.join(CORPUS, c.inputs), '--target', path.join(CORPUS, c.name, 'target'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out).sort(), ['best', 'candidates', 'learned']);
  assert.deepEqual(Object.keys(out.best).sort(), ['call', 'fraction', 'function', 'library', 'maxAbsError', 'params']);
  assert.equal(out.best.call, c.call);
  assert.deepEqual(out.best, out.candidates[0]);
  assert.deepEqual({ library: out.best.library, ...out.best.params }, c.params);

  const neg = byName(NEGATIVE);
  const human = run(['identify', '--input', path.join(CORPUS, neg.inputs), '--target', path.join(CORPUS, neg.name, 'target')]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^no known call/);
  assert.match(human.stdout, /the learned kernel/);
  assert.equal(human.stderr, '');
  const sobel = byName('cv_sobel_dx_s16');
  const named = run(['identify', '--input', path.join(CORPUS, sobel.inputs), '--target', path.join(CORPUS, sobel.name, 'target')]);
  assert.equal(named.stdout.split('\n')[0], `${sobel.call}  matches 100% of pixels (max error 0)`);
  assert.match(run(['identify', '--help']).stdout, /Examples:/);
});

test('CLI: unpaired files, a missing folder, mismatched sizes and bad usage give one error line', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kl-identify-'));
  const inputs = path.join(dir, 'in');
  const targets = path.join(dir, 'out');
  mkdirSync(inputs);
  mkdirSync(targets);
  const c = byName('cv_blur5_u8');
  for (const stem of ['baboon', 'home']) copyFileSync(path.join(CORPUS, 'inputs', `${stem}.png`), path.join(inputs, `${stem}.png`));
  copyFileSync(path.join(CORPUS, c.name, 'target', 'baboon.png'), path.join(targets, 'baboon.png'));
  const cases: [string[], number, RegExp][] = [
    [['--input', inputs, '--target', targets], 1, /home\.png: no target with stem "home"/],
    [['--input', inputs, '--target', path.join(dir, 'nope')], 1, /nope: no such folder/],
    [['--input', path.join(CORPUS, 'inputs'), '--target', path.join(CORPUS, 'torch_valid5', 'target')], 1, /is 92x92 but its input .* is 96x96/],
    [['--input', inputs], 2, /needs --input DIR and --target DIR/],
    [[path.join(dir, 'm.json'), '--input', inputs], 2, /either a model file or --input and --target/],
    [[path.join(dir, 'missing.json')], 1, /cannot read the model file/],
  ];
  for (const [args, code, message] of cases) {
    const r = run(['identify', ...args]);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^kernel-learn: error: /);
    assert.match(lines[0], message);
  }
});

test('identify MODEL.json names Sobel for a Sobel model, by kernel, and says there are no images', async () => {
  const c = byName('cv_sobel_dx_s16');
  const { model } = trainFilter(await pairsOf(c), { arch: 'linear', ksize: 3, solver: 'exact', border: 'auto', seed: 0 });
  const r = identifyKernel(model, { input: 'u8', target: 's16' });
  assert.ok(r.best, r.candidates[0]?.call);
  assert.equal(r.best.call, c.call);
  assert.ok(r.best.maxTapError < 1e-6);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kl-identify-')), 'sobel.json');
  writeFileSync(file, serializeModel(model));
  const cli = run(['identify', file, '--json']);
  assert.equal(cli.code, 0, cli.stderr);
  const out = JSON.parse(cli.stdout);
  assert.equal(out.best.function, 'Sobel');
  assert.match(out.note, /no images to re-filter/);
  assert.match(run(['identify', file]).stdout, /no images to re-filter[\s\S]*cv2\.Sobel\(x, cv2\.CV_16S, 1, 0, ksize=3\)/);
});

test('the simplest number that fits: simpleNumbersNear, simplestIn, truncateFor', () => {
  assert.equal(simpleNumbersNear(1.4999998)[0], 1.5);
  assert.equal(simpleNumbersNear(0.24999484)[0], 0.25);
  assert.deepEqual(simpleNumbersNear(128.0009, 0.02, 1).slice(0, 1), [128]);
  assert.equal(simpleNumbersNear(0.3333331)[0], 0.3333333333333333);
  assert.equal(simplestIn(2.25, 2.75), 2.5);
  assert.equal(simplestIn(3.1, 3.9), 3.5);
  assert.equal(simplestIn(0.96, 1.2), 1);
  for (const [r, sigma] of [[5, 2], [3, 1.2], [7, 0.8], [12, 3.3]]) assert.equal(gaussianRadius(sigma, truncateFor(r, sigma)), r, `${r} ${sigma}`);
  assert.equal(truncateFor(5, 2), 2.5);
  const { x } = minimize1d((v) => (v - 1.7) ** 2, { min: 0.3, max: 10, log: true });
  assert.ok(Math.abs(x - 1.7) < 1e-6);
});

test('snapKernel: integers over the smallest denominator, zero rings trimmed; a random kernel is not snapped', () => {
  const k = (rows: number[][]) => ({ kh: rows.length, kw: rows[0].length, data: Float64Array.from(rows.flat()) });
  assert.deepEqual(snapKernel(k([[0, 0, 0, 0, 0], [0, 0, -1.0000004, 0, 0], [0, -1, 5, -1, 0], [0, 0, -0.9999996, 0, 0], [0, 0, 0, 0, 0]])), { weights: [[0, -1, 0], [-1, 5, -1], [0, -1, 0]], denominator: 1 });
  assert.deepEqual(snapKernel(k([[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]]))?.denominator, 16);
  assert.equal(snapKernel(k([[0.6677, -1.4536, 0.8547], [0.2403, 0.3412, -0.6678], [0.1181, 0.3143, -0.8473]])), null);
});

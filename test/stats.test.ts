/**
 * Statistics shards (docs/scale.md): a model from the statistics of N shards, computed by separate
 * `kernel-learn stats` processes and merged in any order or tree, is the model of one `train` run
 * on the same pairs (every tap within 1e-12 relative; byte for byte when merged in stem order),
 * for 1, 2, 8 and 64 shards (64 in this process: 64 node start-ups would take most of a minute on
 * two cores); files that disagree, are cut short or are not statistics are refused in one line.
 *
 * Two data sets of small synthetic u8 images: targets of a random 3x3 kernel plus noise, as
 * float32 (sums that round: the hi + lo merge is what makes orders agree) and as integers (exact
 * sums: the same bits as train's own pass).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ImagePair } from '../src/data/pairs.js';
import { loadPairs, writePair } from '../src/data/dataset.js';
import { syntheticImages } from '../src/data/synthetic.js';
import { applyFilter } from '../src/filters/ops.js';
import type { Image } from '../src/image.js';
import { parseModel, type Model } from '../src/nn/model.js';
import { exportSafetensors } from '../src/export/safetensors.js';
import { createRng } from '../src/random.js';
import { splitPairs } from '../src/train/regions.js';
import { computeStats, shardOf, trainFromStats } from '../src/train/stats.js';
import { decodeStats, encodeStats, mergeStats, type StatsFile } from '../src/train/stats-file.js';
import { KernelLearnError } from '../src/errors.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const execFileP = promisify(execFile);

function run(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Separate processes, two at a time (the `xargs -P 2` of docs/scale.md). */
async function runAll(jobs: string[][]): Promise<void> {
  const queue = [...jobs];
  const worker = async (): Promise<void> => {
    for (let args = queue.shift(); args; args = queue.shift()) await execFileP(process.execPath, [BIN, ...args]);
  };
  await Promise.all([worker(), worker()]);
}

const KERNEL = [[0.11, -0.52, 0.07], [0.93, 0.21, -0.64], [-0.05, 0.38, 0.17]];

/** 64 pairs 24x20: the kernel's response plus noise (stems p00..p63: file order is stem order). */
function makePairs(integer: boolean): ImagePair[] {
  const rng = createRng(integer ? 7 : 8);
  return syntheticImages(64, { width: 24, height: 20, seed: integer ? 3 : 4 }).map((input, i) => {
    const clean = applyFilter(input, { op: 'kernel', kernel: KERNEL });
    const data = Float32Array.from(clean.data, (v) => (integer ? Math.round(v + 2 * (rng() - 0.5)) : v + 0.5 * (rng() - 0.5)));
    const target: Image = { ...clean, data, depth: integer ? 's16' : 'f32' };
    return { stem: `p${String(i).padStart(2, '0')}`, input, target };
  });
}

/** The data set on disk: all/ for one train run; train/ and val/ as train splits all/ (its held-out pairs). */
async function writeData(integer: boolean): Promise<{ dir: string; all: string; train: string; val: string; valCount: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kl-stats-'));
  const pairs = makePairs(integer);
  const split = splitPairs(pairs, 0.2, 0, 3);
  const held = new Set(split.val.map((r) => r.pair.stem));
  for (const p of pairs) {
    await writePair(path.join(dir, 'all'), p.stem, p.input, p.target);
    await writePair(path.join(dir, held.has(p.stem) ? 'val' : 'train'), p.stem, p.input, p.target);
  }
  return { dir, all: path.join(dir, 'all'), train: path.join(dir, 'train'), val: path.join(dir, 'val'), valCount: held.size };
}

const io = (d: string): string[] => ['--input', path.join(d, 'input'), '--target', path.join(d, 'target')];

function readModel(file: string): Model {
  return parseModel(readFileSync(file, 'utf8'), file);
}

/** Every tap and bias of two one-conv models within `rel` of the larger magnitude. */
function assertTapsClose(a: Model, b: Model, rel: number): number {
  const ca = a.layers[0], cb = b.layers[0];
  assert.ok(ca.type === 'conv2d' && cb.type === 'conv2d');
  const va = [...ca.weights.flat(3), ...(ca.bias ?? [])], vb = [...cb.weights.flat(3), ...(cb.bias ?? [])];
  assert.equal(va.length, vb.length);
  let worst = 0;
  va.forEach((x, i) => {
    const d = Math.abs(x - vb[i]) / Math.max(Math.abs(x), Math.abs(vb[i]), 1e-300);
    worst = Math.max(worst, d);
    assert.ok(d <= rel, `tap ${i}: ${x} vs ${vb[i]}`);
  });
  return worst;
}

/**
 * One train run on all/ (it holds out val/), and the model from the statistics of train/ in n
 * shards (separate processes, named in reverse: train --stats merges in shard order) with val/'s
 * held-out statistics: every tap within 1e-12 of train's, and the same bytes for every n.
 */
async function shardsAgainstTrain(integer: boolean, counts: number[]): Promise<{ d: Awaited<ReturnType<typeof writeData>>; out: (name: string) => string; trained: Model; shards: string[] }> {
  const d = await writeData(integer);
  const out = (name: string): string => path.join(d.dir, name);
  const shardsOf = (n: number): string[] => Array.from({ length: n }, (_, i) => out(`s${n}-${i}.stats`));
  // Every process of one stage at once, two at a time: train's one run, the held-out file, every shard.
  await runAll([
    ['train', ...io(d.all), '--out', out('train.json'), '--arch', 'linear', '--ksize', '3', '--align', 'off', '--border', 'reflect101', '--no-report'],
    ['stats', ...io(d.val), '--ksize', '3', '--validation', '--out', out('val.stats')],
    ...counts.flatMap((n) => shardsOf(n).map((f, i) => ['stats', ...io(d.train), '--ksize', '3', '--shard', `${i}/${n}`, '--out', f])),
  ]);
  const trained = readModel(out('train.json'));
  await runAll(counts.map((n) => ['train', '--stats', ...[...shardsOf(n)].reverse(), out('val.stats'), '--out', out(`m${n}.json`)]));
  const first = readFileSync(out(`m${counts[0]}.json`), 'utf8');
  for (const n of counts) {
    assertTapsClose(readModel(out(`m${n}.json`)), trained, 1e-12);
    assert.equal(readFileSync(out(`m${n}.json`), 'utf8'), first, `${n} shards: the bytes of ${counts[0]}`);
  }
  const shards = shardsOf(counts[counts.length - 1]);
  // The held-out metrics come from the held-out statistics.
  const m = readModel(out(`m${counts[counts.length - 1]}.json`));
  assert.equal(m.training.validation.kind, 'pairs');
  assert.equal(m.training.validation.pairs, d.valCount);
  assert.ok(m.metrics.validation.r2 > 0.99 && m.metrics.validation.mse > 0);
  return { d, out, trained, shards };
}

test('stats shards (float targets): 1, 2 and 8 shards in separate processes, in any order and a tree of merges, give one train run\'s model', async () => {
  const { out, trained, shards } = await shardsAgainstTrain(false, [1, 2, 8]);
  // A tree of merges in another order: (7 + 2 + 0 + 5) and (1 + 6 + 4 + 3), then right + left.
  const merge = (files: string[], to: string): string => {
    const r = run(['stats', '--merge', ...files, '--out', to]);
    assert.equal(r.code, 0, r.stderr);
    return to;
  };
  await runAll([
    ['stats', '--merge', ...[7, 2, 0, 5].map((i) => shards[i]), '--out', out('left.stats')],
    ['stats', '--merge', ...[1, 6, 4, 3].map((i) => shards[i]), '--out', out('right.stats')],
  ]);
  const root = merge([out('right.stats'), out('left.stats')], out('tree.stats'));
  const t = run(['train', '--stats', root, '--val-stats', out('val.stats'), '--out', out('tree.json')]);
  assert.equal(t.code, 0, t.stderr);
  assertTapsClose(readModel(out('tree.json')), trained, 1e-12);
  assertStatsClose(decodeStats(readFileSync(root), 'tree'), decodeStats(readFileSync(out('s1-0.stats')), 'one run'), 1e-12);
});

test('stats shards (integer targets): 2 shards give train\'s own statistics bits, so its taps exactly', async () => {
  const { trained, out } = await shardsAgainstTrain(true, [2]);
  assertTapsClose(readModel(out('m2.json')), trained, 0);
});

/** Every number of two files' statistics within `rel` of the larger magnitude (the scale of the array). */
function assertStatsClose(a: StatsFile, b: StatsFile, rel: number): void {
  for (const k of ['xtx', 'xty', 'yty'] as const) {
    const scale = Math.max(...b[k].hi.map(Math.abs));
    a[k].hi.forEach((v, i) => assert.ok(Math.abs(v - b[k].hi[i]) <= rel * scale, `${k}[${i}]`));
  }
}

test('stats shards: 64 shards (in this process, the command\'s own functions), in shuffled order and as a tree, give the one-run statistics', () => {
  for (const integer of [false, true]) {
    const pairs = makePairs(integer);
    const opts = { kh: 3, kw: 3, ksize: 'fixed' as const, role: 'train' as const, align: 'off' as const };
    const whole = computeStats(pairs, { ...opts, shard: { index: 0, count: 1 } });
    const shards = Array.from({ length: 64 }, (_, i) => ({ name: `s${i}`, file: decodeStats(encodeStats(computeStats(shardOf(pairs, i, 64), { ...opts, shard: { index: i, count: 64 } })), `s${i}`) }));
    const inOrder = mergeStats(shards);
    for (const k of ['xtx', 'xty', 'yty'] as const) assert.deepEqual(inOrder[k].hi, whole[k].hi, `${k}: 64 shards in stem order are one run's bits`);
    const rng = createRng(5);
    const shuffled = [...shards].sort(() => rng() - 0.5);
    let level = shuffled.map((s) => s);
    while (level.length > 1) level = Array.from({ length: Math.ceil(level.length / 2) }, (_, i) => (level[2 * i + 1] ? { name: 't', file: mergeStats([level[2 * i + 1], level[2 * i]]) } : level[2 * i]));
    assertStatsClose(level[0].file, whole, 1e-12);
    const opt = { ksize: { kh: 3, kw: 3 }, border: 'reflect101' as const, seed: 0 };
    const a = trainFromStats(level[0].file, null, opt).model, b = trainFromStats(whole, null, opt).model;
    assertTapsClose(a, b, 1e-12);
    assert.equal(a.training.pairs, 64);
  }
});

test('stats: --ksize auto from shards computed with --auto-max picks the size train picks, by the same rule', async () => {
  const d = await writeData(true);
  const out = (name: string): string => path.join(d.dir, name);
  const t = run(['train', ...io(d.all), '--out', out('auto.json'), '--arch', 'linear', '--align', 'off', '--no-report', '--json']);
  assert.equal(t.code, 0, t.stderr);
  await runAll([0, 1].map((i) => ['stats', ...io(d.train), '--auto-max', '9', '--shard', `${i}/2`, '--out', out(`a${i}.stats`)]));
  assert.equal(run(['stats', ...io(d.val), '--auto-max', '9', '--validation', '--out', out('av.stats')]).code, 0);
  const r = run(['train', '--stats', out('a1.stats'), out('a0.stats'), out('av.stats'), '--out', out('sa.json'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.deepEqual(summary.kernelSize, [3, 3]);
  assert.equal(summary.kernelSizeChoice.chosen, JSON.parse(t.stdout).kernelSizeChoice.chosen);
});

test('stats: files that disagree, repeat a shard, are cut short or are not statistics are refused in one line (exit 1)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kl-stats-bad-'));
  const pairs = makePairs(false).slice(0, 4);
  const opts = { kh: 3, kw: 3, ksize: 'fixed' as const, role: 'train' as const, align: 'off' as const };
  const write = (name: string, f: StatsFile): string => {
    writeFileSync(path.join(dir, name), encodeStats(f));
    return path.join(dir, name);
  };
  const s0 = write('s0.stats', computeStats(shardOf(pairs, 0, 2), { ...opts, shard: { index: 0, count: 2 } }));
  const s1 = computeStats(shardOf(pairs, 1, 2), { ...opts, shard: { index: 1, count: 2 } });
  const colour = syntheticImages(2, { width: 16, height: 16, channels: 3, seed: 9 }).map((input, i) => ({ stem: `c${i}`, input, target: applyFilter(input, { op: 'kernel', kernel: KERNEL }) }));
  const bad: [string, string, RegExp][] = [
    ['k5.stats', write('k5.stats', computeStats(shardOf(pairs, 1, 2), { ...opts, kh: 5, kw: 5, shard: { index: 1, count: 2 } })), /k5\.stats: its kernel size is 5x5 but .*s0\.stats's is 3x3/],
    ['colour.stats', write('colour.stats', computeStats(colour, { ...opts, shard: { index: 1, count: 2 } })), /colour\.stats: its input channels is 3 but .*'s is 1/],
    ['moved.stats', write('moved.stats', { ...s1, header: { ...s1.header, alignment: { mode: 'offset', dy: 1, dx: 0, dh: 0, dw: 0 } } }), /moved\.stats: its alignment is/],
    ['again.stats', write('again.stats', computeStats(shardOf(pairs, 0, 2), { ...opts, shard: { index: 0, count: 2 } })), /again\.stats: holds shard 0\/2, which .*s0\.stats holds too/],
    ['three.stats', write('three.stats', { ...s1, header: { ...s1.header, shards: { count: 3, indices: [1] } } }), /three\.stats: its shard count is 3/],
  ];
  // Every refusal in this process; through both commands (exit 1, one line) for the first two.
  for (const [i, [name, file, message]] of bad.entries()) {
    const read = (f: string): { name: string; file: StatsFile } => ({ name: f, file: decodeStats(readFileSync(f), f) });
    assert.throws(() => mergeStats([read(s0), read(file)]), (e: Error) => e instanceof KernelLearnError && message.test(e.message), name);
    if (i >= 2) continue;
    for (const args of [['train', '--stats', s0, file, '--out', path.join(dir, 'm.json')], ['stats', '--merge', s0, file, '--out', path.join(dir, 'm.stats')]]) {
      const r = run(args);
      assert.equal(r.code, 1, `${name}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  }
  const good = readFileSync(s0);
  const png = path.join(dir, 'x.png');
  await writePair(path.join(dir, 'img'), 'x', pairs[0].input, pairs[0].target);
  const model = path.join(dir, 'model.safetensors');
  writeFileSync(model, exportSafetensors({ inputChannels: 1, outputChannels: 1, border: 'reflect101', layers: [{ type: 'conv2d', inChannels: 1, outChannels: 1, kernelSize: [1, 1], weights: [[[[1]]]], bias: null }] }));
  const foreign: [string, Uint8Array | string, RegExp][] = [
    ['cut-header.stats', good.subarray(0, 40), /cut-header\.stats: is truncated/],
    ['cut-data.stats', good.subarray(0, good.length - 100), /cut-data\.stats: is truncated \(\d+ bytes, its arrays need \d+\)/],
    ['tiny.stats', good.subarray(0, 3), /tiny\.stats: is 3 bytes, too short/],
    ['notes.stats', 'hello, these are not statistics\n', /notes\.stats: is not a kernel-learn statistics file/],
  ];
  const names = foreign.map(([name, bytes]) => {
    writeFileSync(path.join(dir, name), bytes);
    return path.join(dir, name);
  });
  writeFileSync(png, readFileSync(path.join(dir, 'img', 'input', 'x.png')));
  const cases = [...names.map((n, i) => [n, foreign[i][2]] as const), [png, /x\.png: is not a kernel-learn statistics file/] as const, [model, /model\.safetensors: is not a kernel-learn statistics file/] as const];
  for (const [i, [file, message]] of cases.entries()) {
    assert.throws(() => decodeStats(readFileSync(file), file), (e: Error) => e instanceof KernelLearnError && message.test(e.message) && !e.message.includes('\n'), file);
    if (i % 2 === 1) continue; // through the CLI: a cut header, a tiny file, the PNG
    const r = run(['train', '--stats', file, '--out', path.join(dir, 'm.json')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line, no stack trace: ${r.stderr}`);
  }
  mkdirSync(path.join(dir, 'none'));
  assert.match(run(['train', '--stats', path.join(dir, 'none', 'x.stats'), '--out', path.join(dir, 'm.json')]).stderr, /x\.stats: cannot read the statistics file; check the path/);
  // What needs pixels is a usage error; so is a shard that does not exist.
  assert.equal(run(['train', '--stats', s0, '--arch', 'deep', '--out', path.join(dir, 'm.json')]).code, 2);
  assert.equal(run(['stats', '--input', dir, '--target', dir, '--shard', '4/4', '--out', path.join(dir, 'x.stats')]).code, 2);
});

test('stats: loadPairs reads only the shard it is asked for', async () => {
  const d = await writeData(false);
  const got = await loadPairs(path.join(d.all, 'input'), path.join(d.all, 'target'), { pick: (stems) => shardOf(stems, 3, 8) });
  assert.deepEqual(got.map((p) => p.stem), ['p24', 'p25', 'p26', 'p27', 'p28', 'p29', 'p30', 'p31']);
});

test('docs/scale.md: the recipe with processes standing in for nodes runs as written', () => {
  const doc = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/scale.md'), 'utf8');
  const recipe = /<!-- recipe: run by test\/stats\.test\.ts -->\n```sh\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(recipe, 'the recipe block is in docs/scale.md');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kl-recipe-'));
  mkdirSync(path.join(dir, 'bin'));
  writeFileSync(path.join(dir, 'bin', 'kernel-learn'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
  const r = spawnSync('bash', ['-c', recipe], { cwd: dir, encoding: 'utf8', env: { ...process.env, PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, NO_COLOR: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal((r.stdout.match(/^statistics of 3 pairs \(shard \d of 4\)/gm) ?? []).length, 4);
  const model = readModel(path.join(dir, 'model.json'));
  assert.deepEqual(model.layers[0].type === 'conv2d' && model.layers[0].kernelSize, [5, 5]);
  assert.equal(model.training.validation.pairs, 3);
});

/**
 * A statistics shard's cost against `train`'s statistics pass on the same pairs (issue 18: at most
 * 1.1x). Both in this process, on decoded images, interleaved, medians of several runs:
 *
 *   train's pass   checkPairs (trainFilter's one pass over every pixel before anything else: channels,
 *                  no NaN or infinity) and gramStats(pairs, k, k, bias), what the linear stage
 *                  computes (the CLI's worker computes the same per pair, as the files decode);
 *                  the Gram alone is shown too
 *   shard          the pairs' channels, alignment, one gramStats per pair, the hi + lo sums and
 *                  the targets' peak (one pass: PSNR's peak)
 *                  (computeStats, stats.ts): everything `kernel-learn stats` does between
 *                  decoding and writing
 *
 * and the whole processes (`kernel-learn stats` vs `kernel-learn train --arch linear --no-report`)
 * on files, where decoding is common to both. Run:
 *
 *   node dist/bench/stats-bench.js [--photos DIR] [--ksize 3,9,17] [--runs 5]
 *
 * Data: the PNG/JPEG files of --photos (default test/fixtures/photos), grey, targets Sobel dx (f32).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ImagePair } from '../src/data/pairs.js';
import { toGrey, writePair } from '../src/data/dataset.js';
import { applyFilter } from '../src/filters/ops.js';
import { readImage } from '../src/io/index.js';
import { gramStats } from '../src/kernels/gram.js';
import { checkPairs } from '../src/train/options.js';
import { computeStats } from '../src/train/stats.js';
import { encodeStats } from '../src/train/stats-file.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'dist/src/cli/main.js');
const execFileP = promisify(execFile);

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function photoPairs(dir: string): Promise<ImagePair[]> {
  const files = (await fs.readdir(dir)).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
  const pairs: ImagePair[] = [];
  for (const f of files) {
    const img = await readImage(path.join(dir, f));
    const input = img.channels === 1 ? img : toGrey(img);
    pairs.push({ stem: path.parse(f).name, input, target: applyFilter(input, { op: 'sobel', dx: 1, dy: 0 }) });
  }
  return pairs;
}

/** Median ms of each function, run alternately (so load from other processes hits both alike). */
function interleaved(runs: number, fns: (() => unknown)[]): number[] {
  fns.forEach((f) => f()); // warm
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    fns.forEach((f, i) => {
      const t = performance.now();
      f();
      times[i].push(performance.now() - t);
    });
  }
  return times.map(median);
}

async function wall(args: string[], runs: number): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    await execFileP(process.execPath, [BIN, ...args]);
    times.push(performance.now() - t);
  }
  return median(times);
}

async function main(): Promise<void> {
  const dir = arg('--photos', path.join(ROOT, 'test/fixtures/photos'));
  const sizes = arg('--ksize', '3,9,17').split(',').map(Number);
  const runs = Number(arg('--runs', '5'));
  const pairs = await photoPairs(dir);
  const mpx = pairs.reduce((s, p) => s + p.input.width * p.input.height, 0) / 1e6;
  console.log(`${pairs.length} photographs from ${dir}, ${mpx.toFixed(2)} Mpx, targets Sobel dx (f32); medians of ${runs} runs, interleaved`);
  console.log("| ksize | Gram alone, ms | train's statistics pass (checkPairs + Gram), ms | shard (computeStats), ms | shard / train's pass | shard / Gram alone | file bytes |");
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const k of sizes) {
    const opts = { kh: k, kw: k, ksize: 'fixed' as const, role: 'train' as const, shard: { index: 0, count: 1 }, align: 'auto' as const };
    const [gram, train, shard] = interleaved(runs, [
      () => gramStats(pairs, k, k, true),
      () => (checkPairs(pairs), gramStats(pairs, k, k, true)),
      () => computeStats(pairs, opts),
    ]);
    const bytes = encodeStats(computeStats(pairs, opts)).length;
    console.log(`| ${k}x${k} | ${gram.toFixed(1)} | ${train.toFixed(1)} | ${shard.toFixed(1)} | ${(shard / train).toFixed(3)} | ${(shard / gram).toFixed(3)} | ${bytes} |`);
  }
  // Whole processes on files: decoding and start-up are common to both.
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'kl-stats-bench-'));
  for (const p of pairs) await writePair(tmp, p.stem, p.input, p.target);
  const io = ['--input', path.join(tmp, 'input'), '--target', path.join(tmp, 'target')];
  const k = String(sizes[0]);
  const st = await wall(['stats', ...io, '--ksize', k, '--out', path.join(tmp, 'x.stats')], runs);
  const tr = await wall(['train', ...io, '--arch', 'linear', '--ksize', k, '--no-report', '--out', path.join(tmp, 'x.json')], runs);
  console.log(`whole process, ${k}x${k}: kernel-learn stats ${st.toFixed(0)} ms, kernel-learn train --arch linear --no-report ${tr.toFixed(0)} ms`);
  await fs.rm(tmp, { recursive: true, force: true });
}

await main();

/**
 * Gram statistics and the exact solve at large kernels (up to 31x31: 961 unknowns), beside numpy
 * forming and solving the same normal equations, measured side by side in one run; medians (and
 * ranges) of several runs. Part of `npm run bench` (bench.ts calls gramBench); alone:
 *
 *   node dist/bench/gram-bench.js [--quick] [--photos DIR]
 *
 * Data: six 512x512 8-bit images (the project's photo-like synthetic images, or the first six
 * PNG/JPEG files of --photos DIR, centre-cropped to 512x512), targets a float32 21x21 Gaussian
 * (sigma 4) of each. numpy: Debian's /usr/bin/python3, unfolded windows + one matmul (bench/py_bench.py
 * gram_np) with OPENBLAS_NUM_THREADS=2, and with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset for that
 * command only (set on some machines for old OpenBLAS builds, they slow a current one); the BLAS
 * kernel it ran is reported.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { syntheticImages } from '../src/data/synthetic.js';
import { applyFilter } from '../src/filters/ops.js';
import { createImage, type Image } from '../src/image.js';
import { readImage, writeImage } from '../src/io/index.js';
import { gramStats, type GramPair, type GramStats } from '../src/kernels/gram.js';
import { coefStdErrors, solveExact } from '../src/train/exact.js';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PY = '/usr/bin/python3';
const PY_BENCH = path.join(ROOT, 'bench/py_bench.py');

export interface BenchRow { group: string; what: string; ours: string; other: string; ratio: string }

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/** A timed measurement: the median of its runs (ms) and every run. */
export type Timing = { ms: number; times: number[] };

/** Median of `runs` timed calls, after `warm` untimed ones (the JIT optimises hot loops after a few calls); `out` the last call's result. */
export function timeRuns<T>(runs: number, fn: () => T, warm = 2): Timing & { out: T } {
  let out = undefined as T;
  for (let i = 0; i < warm; i++) out = fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    out = fn();
    times.push(performance.now() - t);
  }
  return { ms: median(times), times, out };
}

/** timeRuns for asynchronous calls (worker threads, onnxruntime), each awaited before the next. */
export async function timeAsync(runs: number, fn: () => Promise<unknown>, warm = 2): Promise<Timing> {
  for (let i = 0; i < warm; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return { ms: median(times), times };
}
const fmt = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));
export const range = (xs: number[]): string => `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;

/** n pseudo-random integers in 0..255 (an LCG from `seed`), like an 8-bit image's pixels. */
export function randomPlane(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s >>> 24;
  }
  return a;
}

/** Six 512x512 u8 inputs: the photographs of `dir` (centre crops) or synthetic photo-like images. */
export async function sixInputs(dir: string | null): Promise<Image[]> {
  if (!dir) return syntheticImages(6, { width: 512, height: 512, seed: 31 });
  const files = (await fs.readdir(dir)).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort().slice(0, 6);
  const out: Image[] = [];
  for (const f of files) {
    const im = await readImage(path.join(dir, f));
    if (im.width < 512 || im.height < 512) throw new Error(`${f}: smaller than 512x512`);
    const crop = createImage(512, 512, 1, 'f32');
    const x0 = (im.width - 512) >> 1, y0 = (im.height - 512) >> 1;
    for (let y = 0; y < 512; y++) for (let x = 0; x < 512; x++) crop.data[y * 512 + x] = im.data[(y + y0) * im.width + x + x0];
    out.push(crop);
  }
  return out;
}

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / (m || 1);
}

export async function gramBench(opts: { quick: boolean; photos?: string | null; rows: BenchRow[]; notes: string[]; scratch: string }): Promise<Record<string, unknown>> {
  const { quick, rows, notes } = opts;
  const images = await sixInputs(opts.photos ?? null);
  const pairs: GramPair[] = images.map((input) => ({ input, target: applyFilter(input, { op: 'gaussian', ksize: 21, sigma: 4 }) }));
  const data = opts.photos ? `six 512^2 photographs (${opts.photos})` : 'six 512^2 photo-like synthetic u8 images';
  const ksizes = quick ? [3, 9, 15, 31] : [3, 9, 15, 21, 25, 31];
  const out: Record<string, unknown> = { data, target: 'float32 Gaussian 21x21 sigma 4', ksizes };
  const group = opts.photos ? 'gram 6 photos 512^2' : 'gram 6 synthetic 512^2';

  // numpy first (its scratch files), then ours, alternating would double numpy's minute-long runs.
  const dir = path.join(opts.scratch, 'gram-np');
  await fs.mkdir(dir, { recursive: true });
  for (let i = 0; i < pairs.length; i++) {
    await writeImage(path.join(dir, `in${i}.npy`), { ...pairs[i].input, depth: 'f32' });
    await writeImage(path.join(dir, `tg${i}.npy`), { ...pairs[i].target, depth: 'f32' });
  }
  let np: { numpy: string; blas: Record<string, unknown>; results: Record<string, { ms: number; times: number[]; solveMs: number; choMs: number | null }> } | null = null;
  if (existsSync(PY)) {
    const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: "2" };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    try {
      const { stdout } = await execFileP(PY, [PY_BENCH, 'gram_np', dir, ksizes.join(','), quick ? '1' : '3'], { env, maxBuffer: 1 << 24 });
      np = JSON.parse(stdout.trim().split('\n').pop()!);
      out.numpy = np;
    } catch (e) {
      notes.push(`numpy normal equations skipped: ${(e as Error).message.split('\n')[0]}`);
    }
  } else {
    notes.push('numpy skipped: /usr/bin/python3 is not installed');
  }
  if (np) notes.push(`numpy ${np.numpy} with ${String(np.blas.library)}, kernel ${String(np.blas.core)}, ${String(np.blas.threads)} threads`);

  const ours: Record<string, unknown> = {};
  let big: GramStats | null = null;
  for (const k of ksizes) {
    const runs = quick ? 3 : k >= 25 ? 5 : 7;
    const r = timeRuns(runs, () => gramStats(pairs, k, k, true), 1);
    if (k === Math.max(...ksizes)) big = r.out;
    ours[k] = { ms: r.ms, times: r.times };
    const other = np?.results[k];
    rows.push({
      group, what: `Gram X^T X, X^T y at ${k}x${k} (${k * k + 1} unknowns; ours 1 thread, ms range ${range(r.times)})`,
      ours: `${fmt(r.ms)} ms`, other: other ? `${fmt(other.ms)} ms` : '', ratio: other ? `${fmt(other.ms / r.ms, 1)}x` : '',
    });
  }
  out.gram = ours;

  // numpy's Gram of the same pixels: integer inputs make X^T X exact in any order.
  const kMax = Math.max(...ksizes);
  if (np && big && existsSync(path.join(dir, 'np-xtx.npy'))) {
    const xtx = (await readNpy(path.join(dir, 'np-xtx.npy')));
    const xty = (await readNpy(path.join(dir, 'np-xty.npy')));
    const npStats: GramStats = { ...big, xtx, xty };
    const a = solveExact(big, { condition: false }).coef[0];
    const b = solveExact(npStats, { condition: false }).coef[0];
    out.agreement = { xtxRel: relDiff(big.xtx, xtx), xtyRel: relDiff(big.xty, xty), solvedKernelRel: relDiff(a, b) };
    rows.push({ group, what: `${kMax}x${kMax}: max |ours - numpy| / max: X^T X, X^T y; the solved kernels (our solver on each)`, ours: `${relDiff(big.xtx, xtx).toExponential(1)}, ${relDiff(big.xty, xty).toExponential(1)}`, other: `${relDiff(a, b).toExponential(1)}`, ratio: '' });
  }

  // The solve at the largest size, and the whole --ksize auto as a user runs it.
  if (big) {
    const st = big;
    const q = st.p - 1;
    const solve = timeRuns(quick ? 1 : 3, () => solveExact(st, { condition: false }), 1);
    const withCond = timeRuns(1, () => solveExact(st), 1);
    const se = timeRuns(1, () => coefStdErrors(st, withCond.out), 1);
    const other = np?.results[kMax];
    out.solve = { q, solveExactMs: solve.ms, solveExactTimes: solve.times, solveExactWithConditionMs: withCond.ms, coefStdErrorsMs: se.ms, conditionNumber: withCond.out.conditionNumber };
    rows.push({ group, what: `solveExact at ${q} unknowns (standardise + Cholesky in WebAssembly; vs np.linalg.solve on the raw equations)`, ours: `${fmt(solve.ms)} ms`, other: other ? `${fmt(other.solveMs, 1)} ms` : '', ratio: other ? `${fmt(other.solveMs / solve.ms, 2)}x` : '' });
    if (other?.choMs != null) rows.push({ group, what: 'the same, vs scipy cho_factor + cho_solve', ours: `${fmt(solve.ms)} ms`, other: `${fmt(other.choMs, 1)} ms`, ratio: `${fmt(other.choMs / solve.ms, 2)}x` });
    rows.push({ group, what: `the condition number (2 x 300 power iterations) and the ${q} taps' standard errors`, ours: `${fmt(withCond.ms - solve.ms + se.ms)} ms`, other: '', ratio: '' });
    const gram = (out.gram as Record<number, { ms: number }>)[kMax].ms;
    if (other) rows.push({ group, what: `Gram + solve at ${kMax}x${kMax}: ours vs numpy unfolded patches + one matmul + np.linalg.solve`, ours: `${fmt(gram + solve.ms)} ms`, other: `${fmt(other.ms + other.solveMs)} ms`, ratio: `${fmt((other.ms + other.solveMs) / (gram + solve.ms), 1)}x` });
    out.wholeProcess = await wholeProcess(pairs, opts.scratch, quick ? 1 : 3, group, rows);
  }
  return out;
}

/**
 * `kernel-learn train --ksize auto` as a user runs it: a fresh process on six PNG inputs and .npy
 * targets (the bench's Gaussian), the model's size and the time (median of `runs`).
 */
async function wholeProcess(pairs: GramPair[], scratch: string, runs: number, group: string, rows: BenchRow[]): Promise<{ ms: number; times: number[]; kernelSize: number[] }> {
  const dir = path.join(scratch, 'gram-train');
  await fs.mkdir(path.join(dir, 'input'), { recursive: true });
  await fs.mkdir(path.join(dir, 'target'), { recursive: true });
  for (let i = 0; i < pairs.length; i++) {
    await writeImage(path.join(dir, 'input', `img${i}.png`), { ...pairs[i].input, depth: 'u8' });
    await writeImage(path.join(dir, 'target', `img${i}.npy`), { ...pairs[i].target, depth: 'f32' });
  }
  const cli = path.join(ROOT, 'dist/src/cli/main.js');
  const times: number[] = [];
  let kernelSize: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const { stdout } = await execFileP(process.execPath, [cli, 'train', '--input', path.join(dir, 'input'), '--target', path.join(dir, 'target'), '--out', path.join(dir, 'm.json'), '--ksize', 'auto', '--no-report', '--json'], { maxBuffer: 1 << 24 });
    times.push(performance.now() - t);
    kernelSize = (JSON.parse(stdout) as { kernelSize: number[] }).kernelSize;
  }
  rows.push({ group, what: `train --ksize auto, whole process (node start, 6 PNG + .npy decodes, sizes up to 31; chose ${kernelSize.join('x')}; ms range ${range(times)})`, ours: `${fmt(median(times))} ms`, other: 'goal 5000 ms', ratio: '' });
  return { ms: median(times), times, kernelSize };
}

/** A float64 .npy (numpy's little-endian '<f8', C order) as a flat array. */
async function readNpy(file: string): Promise<Float64Array> {
  const buf = await fs.readFile(file);
  const headerLen = buf.readUInt16LE(8);
  const start = 10 + headerLen;
  const bytes = buf.subarray(start);
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const at = process.argv.indexOf('--photos');
  const scratch = path.join(os.tmpdir(), 'kernel-learn-bench');
  const res = await gramBench({ quick: process.argv.includes('--quick'), photos: at > 0 ? process.argv[at + 1] : null, rows, notes, scratch });
  const width = (k: keyof BenchRow): number => Math.max(...rows.map((r) => r[k].length), k.length);
  for (const r of rows) console.log((['what', 'ours', 'other', 'ratio'] as const).map((k) => r[k].padEnd(width(k))).join(' | '));
  for (const n of notes) console.log(`note: ${n}`);
  console.log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs`);
  if (process.argv.includes('--json')) console.log(JSON.stringify(res));
}

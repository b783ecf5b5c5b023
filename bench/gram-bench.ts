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
import { gramStats, subGram, type GramPair, type GramStats } from '../src/kernels/gram.js';
import { conditionNumberFast, factorise, inverseDiagonal, matVecFast, solveFactor } from '../src/kernels/linalg.js';
import { chooseKernelSize } from '../src/train/support.js';
import { coefStdErrors, solveExact } from '../src/train/exact.js';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PY = '/usr/bin/python3';
const PY_BENCH = path.join(ROOT, 'bench/py_bench.py');

export interface BenchRow { group: string; what: string; ours: string; other: string; ratio: string }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const fmt = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const range = (xs: number[]): string => `${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}`;

function timeRuns<T>(runs: number, fn: () => T, warm = 1): { ms: number; times: number[]; out: T } {
  let out = fn();
  for (let i = 1; i < warm; i++) out = fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    out = fn();
    times.push(performance.now() - t);
  }
  return { ms: median(times), times, out };
}

/** Six 512x512 u8 inputs: the photographs of `dir` (centre crops) or synthetic photo-like images. */
async function inputs(dir: string | null): Promise<Image[]> {
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
  const images = await inputs(opts.photos ?? null);
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
    const r = timeRuns(runs, () => gramStats(pairs, k, k, true));
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

  // The solve at the largest size: exact.ts as it is, and the fast algebra of src/linalg-fast.ts.
  if (big) {
    const st = big;
    const q = st.p - 1;
    const solve = timeRuns(quick ? 1 : 3, () => solveExact(st, { condition: false }), 1);
    const withCond = timeRuns(1, () => solveExact(st), 0);
    const se = timeRuns(1, () => coefStdErrors(st, withCond.out), 0);
    const r = correlation(st);
    const rr = Float64Array.from(r);
    for (let f = 0; f < q; f++) rr[f * q + f] += withCond.out.ridge;
    const fac = timeRuns(quick ? 1 : 3, () => factorise(rr, q)!, 1);
    const inv = timeRuns(quick ? 1 : 3, () => inverseDiagonal(fac.out.l, q), 1);
    const cond = timeRuns(1, () => conditionNumberFast(r, q, fac.out, withCond.out.ridge), 0);
    const other = np?.results[kMax];
    out.solve = {
      q, solveExactMs: solve.ms, solveExactTimes: solve.times, solveExactWithConditionMs: withCond.ms, coefStdErrorsMs: se.ms,
      factoriseMs: fac.ms, inverseDiagonalMs: inv.ms, conditionNumberFastMs: cond.ms,
      conditionNumber: withCond.out.conditionNumber, conditionNumberFast: cond.out,
    };
    rows.push({ group, what: `solveExact at ${q} unknowns (standardise + Cholesky; vs np.linalg.solve on the raw equations)`, ours: `${fmt(solve.ms)} ms`, other: other ? `${fmt(other.solveMs, 1)} ms` : '', ratio: other ? `${fmt(other.solveMs / solve.ms, 2)}x` : '' });
    if (other?.choMs != null) rows.push({ group, what: `fast Cholesky (linalg-fast factorise) vs scipy cho_factor + cho_solve`, ours: `${fmt(fac.ms)} ms`, other: `${fmt(other.choMs, 1)} ms`, ratio: `${fmt(other.choMs / fac.ms, 2)}x` });
    rows.push({ group, what: `solveExact with the condition number (2 x 300 power iterations) / conditionNumberFast`, ours: `${fmt(withCond.ms)} ms`, other: `${fmt(cond.ms)} ms fast`, ratio: `${fmt(withCond.ms / cond.ms, 1)}x` });
    rows.push({ group, what: `coefStdErrors (${q} solves) / inverseDiagonal (L^-1 column norms)`, ours: `${fmt(se.ms)} ms`, other: `${fmt(inv.ms)} ms fast`, ratio: `${fmt(se.ms / inv.ms, 1)}x` });

    // --ksize auto's statistics and choice at this size, in process: as exact.ts/support.ts are
    // now, and with linalg-fast's factor in place of exact.ts's (what solveExact would do).
    for (const fast of [false, true]) {
      const a = autoPipeline(pairs, kMax, fast);
      out[fast ? 'autoPipelineFast' : 'autoPipeline'] = a;
      rows.push({ group, what: `--ksize auto to ${kMax} in process${fast ? ', solves by linalg-fast' : ', exact.ts as is'}: Grams ${fmt(a.gramMs)} + ${a.sizes} sizes' fits ${fmt(a.chooseMs)} + final fit/errors at ${a.chosen} ${fmt(a.finalMs)} ms`, ours: `${fmt(a.totalMs)} ms`, other: '', ratio: '' });
    }
    // The same, whole process: node start, decoding six PNG files, the pipeline with fast solves.
    const pngDir = path.join(opts.scratch, 'gram-png');
    await fs.mkdir(pngDir, { recursive: true });
    for (let i = 0; i < images.length; i++) await writeImage(path.join(pngDir, `img${i}.png`), { ...images[i], depth: 'u8' });
    const whole: number[] = [];
    let child: { chosen: number; totalMs: number } | null = null;
    for (let i = 0; i < (quick ? 1 : 3); i++) {
      const t = performance.now();
      const { stdout } = await execFileP(process.execPath, [fileURLToPath(import.meta.url), '--pipeline', pngDir, String(kMax)], { maxBuffer: 1 << 20 });
      whole.push(performance.now() - t);
      child = JSON.parse(stdout.trim().split('\n').pop()!);
    }
    out.wholeProcess = { ms: median(whole), times: whole, chosen: child?.chosen };
    rows.push({ group, what: `--ksize auto to ${kMax}, whole process (node start, 6 PNG decodes, Gaussian targets, pipeline with fast solves; ms range ${range(whole)})`, ours: `${fmt(median(whole))} ms`, other: 'goal 5000 ms', ratio: '' });
  }
  return out;
}

/**
 * --ksize auto at sizes 1, 3, .., kMax the way src/train does it (support.ts chooseKernelSize on
 * the Grams of five training pairs and one held out, then the final fit with its condition number
 * and standard errors), with exact.ts's solver, or (fast) with linalg-fast's factorisation in its
 * place: the same standardised problem, factorised and solved in WebAssembly.
 */
export function autoPipeline(pairs: GramPair[], kMax: number, fast: boolean): { gramMs: number; chooseMs: number; finalMs: number; totalMs: number; chosen: number; sizes: number } {
  const t0 = performance.now();
  const train = gramStats(pairs.slice(0, 5), kMax, kMax, true);
  const val = gramStats(pairs.slice(5), kMax, kMax, true);
  const t1 = performance.now();
  let chosen: number;
  let sizes = 0;
  if (!fast) {
    const choice = chooseKernelSize(train, val, 0);
    chosen = choice.k;
    sizes = choice.candidates.length;
  } else {
    // chooseKernelSize's rule with the fast solve: held-out MSE of each size's fit.
    const judge = val;
    const judgeOpt = fastSolve(judge);
    const cands: { ksize: number; mse: number }[] = [];
    for (let k = 1; k <= kMax; k += 2) {
      const w = embed(fastSolve(subGram(train, k, k)), k, train);
      cands.push({ ksize: k, mse: judgeOpt.loss + excess(judge, w, judgeOpt.coef) });
    }
    sizes = cands.length;
    const best = Math.min(...cands.map((c) => c.mse));
    let meanSq = judge.yty[0] / judge.n;
    meanSq = Math.max(meanSq, 0);
    chosen = cands.find((c) => c.mse <= 1.01 * best + 1e-12 * meanSq)!.ksize;
  }
  const t2 = performance.now();
  const st = subGram(train, chosen, chosen);
  if (!fast) {
    coefStdErrors(st, solveExact(st));
  } else {
    const r = correlation(st);
    const q = st.p - 1;
    let tr = 0;
    for (let f = 0; f < q; f++) tr += r[f * q + f];
    const ridge = 1e-10 * (tr / q || 1);
    const rr = Float64Array.from(r);
    for (let f = 0; f < q; f++) rr[f * q + f] += ridge;
    const fac = factorise(rr, q)!;
    fastSolve(st);
    conditionNumberFast(r, q, fac, ridge);
    inverseDiagonal(fac.l, q);
  }
  const t3 = performance.now();
  return { gramMs: t1 - t0, chooseMs: t2 - t1, finalMs: t3 - t2, totalMs: t3 - t0, chosen, sizes };
}

/** exact.ts solveExact (bias fitted, one output, no condition number) with linalg-fast's factor. */
function fastSolve(st: GramStats): { coef: Float64Array; loss: number } {
  const { p, n } = st;
  const q = p - 1;
  const mean = Float64Array.from({ length: q }, (_, f) => st.xtx[f * p + q] / n);
  const r = correlation(st);
  const scale = Float64Array.from({ length: q }, (_, f) => Math.sqrt(st.xtx[f * p + f] / n - mean[f] * mean[f]) || 1);
  let tr = 0;
  for (let f = 0; f < q; f++) tr += r[f * q + f];
  const rr = Float64Array.from(r);
  for (let f = 0; f < q; f++) rr[f * q + f] += 1e-10 * (tr / q || 1);
  const fac = factorise(rr, q)!;
  const ybar = st.xty[q] / n;
  const rhs = Float64Array.from({ length: q }, (_, f) => (st.xty[f] / n - mean[f] * ybar) / scale[f]);
  const z = solveFactor(fac, rhs);
  const coef = new Float64Array(p);
  let b = ybar;
  for (let f = 0; f < q; f++) {
    coef[f] = z[f] / scale[f];
    b -= mean[f] * coef[f];
  }
  coef[q] = b;
  let zr = 0, zrz = 0;
  for (let a = 0; a < q; a++) {
    let s = 0;
    for (let c = 0; c < q; c++) s += r[a * q + c] * z[c];
    zr += z[a] * rhs[a];
    zrz += z[a] * s;
  }
  return { coef, loss: Math.max(0, st.yty[0] / n - ybar * ybar - 2 * zr + zrz) };
}

/** A k x k fit's coefficients in the frame of `big`'s features (anchors aligned, subKernelOffset). */
function embed(fit: { coef: Float64Array }, k: number, big: GramStats): Float64Array {
  const out = new Float64Array(big.p);
  const o = (big.kh >> 1) - (k >> 1);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) out[(i + o) * big.kw + j + o] = fit.coef[i * k + j];
  out[big.p - 1] = fit.coef[k * k];
  return out;
}

/** exact.ts excessLoss for one output: (w - w*)^T (X^T X / n) (w - w*). */
function excess(st: GramStats, w: Float64Array, opt: Float64Array): number {
  const { p, n } = st;
  const d = Float64Array.from(w, (v, i) => v - opt[i]);
  const ad = matVecFast(st.xtx, p, d);
  let s = 0;
  for (let a = 0; a < p; a++) s += d[a] * ad[a];
  return Math.max(0, s / n);
}

/** The solver's coordinates (exact.ts standardise, bias fitted): the taps' correlation matrix. */
function correlation(st: GramStats): Float64Array {
  const { p, n } = st;
  const q = p - 1;
  const mean = Float64Array.from({ length: q }, (_, f) => st.xtx[f * p + q] / n);
  const sd = Float64Array.from({ length: q }, (_, f) => Math.sqrt(st.xtx[f * p + f] / n - mean[f] * mean[f]));
  const r = new Float64Array(q * q);
  for (let a = 0; a < q; a++) for (let b = 0; b < q; b++) r[a * q + b] = (st.xtx[a * p + b] / n - mean[a] * mean[b]) / (sd[a] * sd[b]);
  return r;
}

/** A float64 .npy (numpy's little-endian '<f8', C order) as a flat array. */
async function readNpy(file: string): Promise<Float64Array> {
  const buf = await fs.readFile(file);
  const headerLen = buf.readUInt16LE(8);
  const start = 10 + headerLen;
  const bytes = buf.subarray(start);
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]) && process.argv[2] === '--pipeline') {
  // The whole-process run: decode the PNG files of a folder, Gaussian targets, --ksize auto (fast solves).
  const dir = process.argv[3];
  const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.png')).sort();
  const pairs: GramPair[] = [];
  for (const f of files) {
    const input = await readImage(path.join(dir, f));
    pairs.push({ input, target: applyFilter(input, { op: 'gaussian', ksize: 21, sigma: 4 }) });
  }
  console.log(JSON.stringify(autoPipeline(pairs, Number(process.argv[4]), true)));
} else if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
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

/**
 * One convolution computed by the algorithms frameworks choose between, on one 2048^2 float32
 * image, kernel sizes 3x3 to 31x31, every implementation on one thread (the comparison is of
 * algorithms, not of thread pools; our 2-thread time is recorded beside): im2col + GEMM (numpy
 * with OpenBLAS; torch conv2d with oneDNN off, ATen's im2col + sgemm), FFT (scipy fftconvolve and
 * its overlap-add oaconvolve), oneDNN's direct kernels (torch conv2d), cv2.filter2D (direct, its
 * DFT from 11x11) and our WebAssembly SIMD direct loop. Each output's max error against a float64
 * FFT convolution is recorded too (bench/py_bench.py conv_algos). Size by size, ours runs just
 * before and just after the Python side, so that both see the same load. docs/answers.md Q4 and
 * docs/performance.md render the record (src/experiments/bench-docs.ts).
 *
 *   npm run build && node dist/bench/conv-bench.js [--quick] [--record docs/records/conv-algorithms.json]
 *
 * --quick: a 1024^2 image and sizes 3, 11, 31.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tensor } from '../src/kernels/conv2d.js';
import { heapAlloc, heapFree } from '../src/kernels/simd.js';
import * as threads from '../src/kernels/threads.js';
import { writeImage } from '../src/io/index.js';
import { median, randomPlane, timeAsync, type BenchRow, type Timing } from './gram-bench.js';
import { benchMain } from './record.js';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PY = '/usr/bin/python3';
const PY_BENCH = path.join(ROOT, 'bench/py_bench.py');

/** A dense k x k kernel with taps of either sign (an LCG from the size): no structure to exploit. */
function randomKernel(k: number): Float32Array {
  const w = new Float32Array(k * k);
  let s = 1000 + k;
  for (let i = 0; i < w.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    w[i] = ((s >>> 8) / 2 ** 24 - 0.5) / k;
  }
  return w;
}

/** Median ms of `runs` calls of ours after one warm-up, on `t` threads, in place in the module's memory. */
function timeOurs(x: ReturnType<typeof tensor>, w: Float32Array, k: number, t: number, out: Float32Array, runs: number): Promise<Timing> {
  return timeAsync(runs, () => threads.conv2dForwardThreaded(x, w, null, 1, k, k, 'reflect101', { threads: t, into: out }), 1);
}



/** The Python side for one kernel size (null with a note when it cannot run). */
async function runPython(dir: string, k: number, quick: boolean, notes: string[]): Promise<ConvAlgoResult['python']> {
  if (!existsSync(PY)) {
    if (!notes.some((n) => n.startsWith('numpy'))) notes.push('numpy, scipy, PyTorch and OpenCV skipped: /usr/bin/python3 is not installed');
    return null;
  }
  // One thread for every library: OpenBLAS reads its thread count from the environment.
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
  delete env.OPENBLAS_CORETYPE;
  try {
    const { stdout } = await execFileP(PY, [PY_BENCH, 'conv_algos', path.join(dir, 'x.npy'), dir, String(k), String(quick ? 1 : 3)], { env, maxBuffer: 1 << 24 });
    return JSON.parse(stdout.trim().split('\n').pop()!);
  } catch (e) {
    notes.push(`the Python side was skipped at ${k}x${k}: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

export interface ConvAlgoResult {
  side: number;
  ksizes: number[];
  ours: Record<string, { oneThread: { ms: number; times: number[] }; twoThreads: { ms: number; times: number[] } }>;
  python: { numpy: string; scipy: string; torch: string; opencv: string; blas: Record<string, unknown>; results: Record<string, Record<string, { ms: number; times: number[]; relErr: number } | number>> } | null;
}

export async function convBench(opts: { quick: boolean; rows: BenchRow[]; notes: string[]; scratch: string }): Promise<ConvAlgoResult> {
  const side = opts.quick ? 1024 : 2048;
  const ksizes = opts.quick ? [3, 11, 31] : [3, 5, 7, 9, 11, 15, 21, 31];
  const runs = opts.quick ? 3 : 5;
  const dir = path.join(opts.scratch, 'conv-algos');
  await fs.mkdir(dir, { recursive: true });
  const plane = randomPlane(side * side, 5);
  await writeImage(path.join(dir, 'x.npy'), { width: side, height: side, channels: 1, depth: 'f32', data: plane });
  const xs = heapAlloc(side * side);
  xs.set(plane);
  const x = tensor(1, 1, side, side, xs);
  const out = heapAlloc(side * side);
  const ours: ConvAlgoResult['ours'] = {};
  let last: ConvAlgoResult['python'] = null;
  const pyResults: NonNullable<ConvAlgoResult['python']>['results'] = {};
  // Size by size, ours just before and just after the Python side, so that a change of the
  // shared machine's load falls on both; ours is the median of both sets of runs.
  for (const k of ksizes) {
    const w = randomKernel(k);
    await writeImage(path.join(dir, `kernel-${k}.npy`), { width: k, height: k, channels: 1, depth: 'f32', data: w });
    const before = { one: await timeOurs(x, w, k, 1, out, runs), two: await timeOurs(x, w, k, 2, out, runs) };
    await writeImage(path.join(dir, `ours-${k}.npy`), { width: side, height: side, channels: 1, depth: 'f32', data: out });
    const py = await runPython(dir, k, opts.quick, opts.notes);
    if (py) {
      last = py;
      Object.assign(pyResults, py.results);
    }
    const after = { one: await timeOurs(x, w, k, 1, out, runs), two: await timeOurs(x, w, k, 2, out, runs) };
    const both = (a: Timing, b: Timing): Timing => ({ ms: median([...a.times, ...b.times]), times: [...a.times, ...b.times] });
    ours[k] = { oneThread: both(before.one, after.one), twoThreads: both(before.two, after.two) };
    opts.rows.push({ group: 'conv algorithms', what: `${k}x${k} on ${side}^2: ours, WebAssembly SIMD direct, 1 thread / 2 threads`, ours: `${ours[k].oneThread.ms.toFixed(1)} / ${ours[k].twoThreads.ms.toFixed(1)} ms`, other: '', ratio: '' });
    for (const [name, v] of Object.entries(py?.results[k] ?? {})) {
      if (typeof v === 'number') continue;
      opts.rows.push({ group: 'conv algorithms', what: `${k}x${k} on ${side}^2: ${name}, 1 thread`, ours: `${ours[k].oneThread.ms.toFixed(1)} ms`, other: `${v.ms.toFixed(1)} ms`, ratio: `${(v.ms / ours[k].oneThread.ms).toFixed(2)}x` });
    }
  }
  heapFree(xs);
  heapFree(out);
  const python = last ? { ...last, results: pyResults } : null;
  return { side, ksizes, ours, python };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await benchMain('conv-algorithms', async ({ quick, rows, notes }) => {
    const result = await convBench({ quick, rows, notes, scratch: path.join(os.tmpdir(), 'kernel-learn-bench') });
    await threads.shutdown();
    return result;
  });
}

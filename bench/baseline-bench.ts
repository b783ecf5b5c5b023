/**
 * Fair baselines, each tuned as its users tune it, beside ours on the same data and machine:
 *
 * - learning Sobel dx from six 512^2 photographs (float32 targets): a PyTorch Adam loop on
 *   standardised inputs and targets, full batch, 1 thread (faster than 2 on this shared machine:
 *   bench/adam-bench.ts), with a swept learning rate (each rate's time to 1e-4 of the kernel
 *   recorded; the fastest is the baseline), and the untuned loop beside it
 *   (0..255 inputs, as bench.ts ran it before), against our whole `train` process;
 * - the same least squares solved as numpy and PyTorch users solve it: unfolded 3x3 patches,
 *   np.linalg.lstsq, the normal equations by one matmul, torch.linalg.lstsq in float32 and
 *   float64, against our lag-sum Gram + solve in process (bench/py_bench.py lstsq);
 * - applying the exported model: onnxruntime-node (graph optimisations on, 1 and 2 intra-op
 *   threads, output preallocated where it allows) against our apply kernel in place, on 4096^2;
 * - TensorFlow.js conv2d on each backend that loads: cpu (a devDependency) and wasm
 *   (@tensorflow/tfjs-backend-wasm: its SIMD build ships inside the npm package) when it is found
 *   next to @tensorflow/tfjs in this checkout or in KL_TFJS_DIR (a folder with node_modules).
 *
 *   npm run build && node dist/bench/baseline-bench.js --photos DIR [--quick] [--record docs/records/baselines.json]
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { exportOnnx } from '../src/export/onnx.js';
import { applyFilter } from '../src/filters/ops.js';
import { writeImage } from '../src/io/index.js';
import { tensor } from '../src/kernels/conv2d.js';
import { gramStats } from '../src/kernels/gram.js';
import { heapAlloc } from '../src/kernels/simd.js';
import * as threads from '../src/kernels/threads.js';
import type { Network } from '../src/nn/network.js';
import { solveExact } from '../src/train/exact.js';
import { median, randomPlane, sixInputs, timeAsync, type BenchRow, type Timing } from './gram-bench.js';
import { timedCli } from './processes.js';
import { benchMain } from './record.js';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PY = '/usr/bin/python3';
const PY_BENCH = path.join(ROOT, 'bench/py_bench.py');
const SOBEL_DX = [-1, 0, 1, -2, 0, 2, -1, 0, 1];
/**
 * The learning rates a PyTorch user would sweep, a factor of about 2 apart, the likeliest first: a
 * rate still short of the goal at the best time so far is stopped there (py_bench.py).
 */
const LRS = [0.1, 0.2, 0.05, 0.5, 0.02];
const KERNEL = Float32Array.from([-1.0002, 0.0003, 1.0001, -1.9998, 0.0001, 2.0004, -0.9997, -0.0002, 0.9999]);

async function python<T>(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const { stdout } = await execFileP(PY, [PY_BENCH, ...args], { env, maxBuffer: 1 << 24 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

/** Six photographs as 8-bit PNG inputs and float32 Sobel dx .npy targets in `dir`. */
async function sobelPairs(photos: string | null, dir: string): Promise<ReturnType<typeof gramPairs>> {
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(path.join(dir, 'input'), { recursive: true });
  await fs.mkdir(path.join(dir, 'target'), { recursive: true });
  const images = await sixInputs(photos);
  const pairs = gramPairs(images.map((im) => ({ ...im, depth: 'u8' as const })));
  for (const [i, p] of pairs.entries()) {
    await writeImage(path.join(dir, 'input', `img${i}.png`), p.input);
    await writeImage(path.join(dir, 'target', `img${i}.npy`), p.target);
  }
  return pairs;
}
const gramPairs = (inputs: Awaited<ReturnType<typeof sixInputs>>) => inputs.map((input) => ({ input, target: applyFilter(input, { op: 'sobel', dx: 1, dy: 0, ksize: 3 }) }));

interface TorchRun { lr: number; s: number; steps: number; maxErr: number; converged: boolean }

/** Learning the kernel: our whole train process, the tuned and untuned PyTorch loops. */
async function learning(dir: string, quick: boolean, rows: BenchRow[], notes: string[]): Promise<Record<string, unknown>> {
  const args = ['train', '--input', path.join(dir, 'input'), '--target', path.join(dir, 'target'), '--out', path.join(dir, 'm.json'), '--ksize', '3', '--no-report'];
  await timedCli(args); // warms the file cache
  const oursTimes: number[] = [];
  for (let i = 0; i < (quick ? 3 : 7); i++) oursTimes.push((await timedCli(args)).ms);
  const ours = { ms: median(oursTimes), times: oursTimes };
  const out: Record<string, unknown> = { ours };
  if (!existsSync(PY)) return out;
  const cap = quick ? 10 : 150;
  try {
    const tuned = await python<{ threads: number; pixels: number; runs: TorchRun[] }>(['torch_train_tuned', path.join(dir, 'input'), path.join(dir, 'target'), '1', String(cap), LRS.join(',')]);
    const untuned = await python<{ s: number; steps: number; maxErr: number; converged: boolean }>(['torch_train', path.join(dir, 'input'), path.join(dir, 'target'), '1', String(Math.round(cap * 2 / 3))]);
    out.torchTuned = tuned;
    out.torchUntuned = untuned;
    for (const r of tuned.runs) {
      rows.push({ group: 'learn', what: `PyTorch Adam, standardised data, lr ${r.lr}: ${r.steps} steps${r.converged ? '' : `, not converged (error ${r.maxErr.toExponential(1)})`}`, ours: `${ours.ms.toFixed(0)} ms`, other: `${(r.s * 1000).toFixed(0)} ms`, ratio: `${r.converged ? '' : '>= '}${(r.s * 1000 / ours.ms).toFixed(1)}x` });
    }
    rows.push({ group: 'learn', what: `PyTorch Adam untuned (0..255 inputs, lr 0.05): ${untuned.steps} steps${untuned.converged ? '' : ', not converged'}`, ours: `${ours.ms.toFixed(0)} ms`, other: `${(untuned.s * 1000).toFixed(0)} ms`, ratio: `${untuned.converged ? '' : '>= '}${(untuned.s * 1000 / ours.ms).toFixed(1)}x` });
  } catch (e) {
    notes.push(`PyTorch training skipped: ${(e as Error).message.split('\n')[0]}`);
  }
  return out;
}

/** The least squares itself, in process: our Gram + solve against numpy's and PyTorch's solvers. */
async function leastSquares(dir: string, pairs: ReturnType<typeof gramPairs>, quick: boolean, rows: BenchRow[], notes: string[]): Promise<Record<string, unknown>> {
  const runs = quick ? 3 : 7;
  let coef: Float64Array = new Float64Array(10);
  const t = await timeAsync(runs, async () => { coef = solveExact(gramStats(pairs, 3, 3, true), { condition: false }).coef[0]; });
  const maxErr = Math.max(...SOBEL_DX.map((v, i) => Math.abs(coef[i] - v)));
  const out: Record<string, unknown> = { ours: { ...t, maxErr } };
  rows.push({ group: 'least squares', what: `ours: lag-sum Gram + solve, 1 thread (kernel error ${maxErr.toExponential(1)})`, ours: `${t.ms.toFixed(1)} ms`, other: '', ratio: '' });
  if (!existsSync(PY)) return out;
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1' };
    delete env.OPENBLAS_CORETYPE;
    const py = await python<{ rows: number; buildMs: number; results: Record<string, { ms: number; maxErr: number }> }>(['lstsq', path.join(dir, 'input'), path.join(dir, 'target'), String(quick ? 1 : 3)], env);
    out.python = py;
    for (const [name, r] of Object.entries(py.results)) {
      rows.push({ group: 'least squares', what: `${name} on ${py.rows} unfolded patches (+ ${py.buildMs.toFixed(0)} ms to build them; kernel error ${r.maxErr.toExponential(1)})`, ours: `${t.ms.toFixed(1)} ms`, other: `${r.ms.toFixed(1)} ms`, ratio: `${(r.ms / t.ms).toFixed(1)}x` });
    }
  } catch (e) {
    notes.push(`numpy / PyTorch least squares skipped: ${(e as Error).message.split('\n')[0]}`);
  }
  return out;
}

function linearNetwork(): Network {
  return { inputChannels: 1, outputChannels: 1, border: 'reflect101', layers: [{ type: 'conv2d', inChannels: 1, outChannels: 1, kernelSize: [3, 3], weights: [[[Array.from(KERNEL.subarray(0, 3)), Array.from(KERNEL.subarray(3, 6)), Array.from(KERNEL.subarray(6, 9))]]], bias: [0] }] } as unknown as Network;
}

/** onnxruntime-node on the exported model against our apply kernel (both in place where they can be). */
async function onnxApply(quick: boolean, rows: BenchRow[], notes: string[]): Promise<Record<string, unknown>> {
  const side = quick ? 2048 : 4096, runs = quick ? 3 : 7;
  const plane = randomPlane(side * side, 9);
  const x = tensor(1, 1, side, side, heapAlloc(side * side));
  x.data.set(plane);
  const into = heapAlloc(side * side);
  const out: Record<string, unknown> = { side };
  for (const t of [1, 2]) out[`ours${t}`] = await timeAsync(runs, () => threads.conv2dForwardThreaded(x, KERNEL, null, 1, 3, 3, 'reflect101', { threads: t, into }));
  let ort: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  try {
    const name = 'onnxruntime-node'; // a variable: tsc does not need the package
    ort = await import(name).then((m) => m.default ?? m);
  } catch {
    notes.push('onnxruntime-node skipped: not installed');
    return out;
  }
  const bytes = exportOnnx(linearNetwork());
  const input = new ort.Tensor('float32', plane, [1, 1, side, side]);
  for (const t of [1, 2]) {
    const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: t, interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 3 });
    const fetch = { [session.outputNames[0]]: new ort.Tensor('float32', new Float32Array(side * side), [1, 1, side, side]) };
    // A preallocated output where onnxruntime-node takes one (no page faults per call, as ours).
    let prealloc = true;
    try { await session.run({ [session.inputNames[0]]: input }, fetch); } catch { prealloc = false; }
    out[`ort${t}`] = { ...(await timeAsync(runs, () => (prealloc ? session.run({ [session.inputNames[0]]: input }, fetch) : session.run({ [session.inputNames[0]]: input })))), prealloc };
    await session.release();
  }
  for (const t of [1, 2]) {
    const o = out[`ours${t}`] as Timing, r = out[`ort${t}`] as Timing & { prealloc: boolean };
    rows.push({ group: 'apply', what: `3x3 on ${side}^2, ${t} thread${t > 1 ? 's' : ''}: ours vs onnxruntime-node (exported model, graph optimisations all${r.prealloc ? ', output preallocated' : ''})`, ours: `${o.ms.toFixed(1)} ms`, other: `${r.ms.toFixed(1)} ms`, ratio: `${(r.ms / o.ms).toFixed(2)}x` });
  }
  return out;
}

/** @tensorflow/tfjs resolved from this checkout or from KL_TFJS_DIR, with the wasm backend if it is beside it. */
async function loadTf(): Promise<{ tf: any; wasm: boolean; from: string } | null> { // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const base of [process.env.KL_TFJS_DIR, ROOT].filter((d): d is string => !!d)) {
    const req = createRequire(path.join(base, 'package.json'));
    try {
      const tf = await import(pathToFileURL(req.resolve('@tensorflow/tfjs')).href);
      let wasm = false;
      try { await import(pathToFileURL(req.resolve('@tensorflow/tfjs-backend-wasm')).href); wasm = true; } catch { /* absent */ }
      if (wasm || base === ROOT) return { tf, wasm, from: base };
    } catch { /* not here */ }
  }
  return null;
}

/** TF.js conv2d on each backend that loads, against our kernel on 1 thread, on 2048^2. */
async function tfjsApply(quick: boolean, rows: BenchRow[], notes: string[]): Promise<Record<string, unknown>> {
  const got = await loadTf();
  if (!got) { notes.push('TensorFlow.js skipped: not installed'); return {}; }
  const { tf } = got;
  const side = quick ? 1024 : 2048, runs = quick ? 3 : 5;
  const plane = randomPlane(side * side, 3);
  const x = tensor(1, 1, side, side, heapAlloc(side * side));
  x.data.set(plane);
  const into = heapAlloc(side * side);
  const ours = await timeAsync(runs, () => threads.conv2dForwardThreaded(x, KERNEL, null, 1, 3, 3, 'reflect101', { threads: 1, into }));
  const out: Record<string, unknown> = { side, version: tf.version.tfjs, ours, wasmAvailable: got.wasm };
  if (!got.wasm) notes.push('TensorFlow.js wasm backend not found: @tensorflow/tfjs-backend-wasm is not installed here (KL_TFJS_DIR names a folder where it is)');
  for (const backend of got.wasm ? ['cpu', 'wasm'] : ['cpu']) {
    await tf.setBackend(backend);
    await tf.ready();
    const xt = tf.tensor4d(plane, [1, side, side, 1]);
    const kt = tf.tensor4d(KERNEL, [3, 3, 1, 1]);
    const r = await timeAsync(runs, async () => tf.tidy(() => { tf.conv2d(xt, kt, 1, 'same').dataSync(); }));
    xt.dispose(); kt.dispose();
    out[backend] = r;
    rows.push({ group: 'apply', what: `3x3 on ${side}^2, 1 thread: ours vs TensorFlow.js ${tf.version.tfjs} conv2d, ${backend} backend`, ours: `${ours.ms.toFixed(1)} ms`, other: `${r.ms.toFixed(1)} ms`, ratio: `${(r.ms / ours.ms).toFixed(1)}x` });
  }
  return out;
}

export async function baselineBench(opts: { quick: boolean; photos: string | null; rows: BenchRow[]; notes: string[]; scratch: string }): Promise<Record<string, unknown>> {
  const dir = path.join(opts.scratch, 'baselines');
  const pairs = await sobelPairs(opts.photos, dir);
  const data = opts.photos ? `six 512^2 photographs (${path.basename(opts.photos)})` : 'six 512^2 photo-like synthetic images';
  return {
    data, lrs: LRS,
    learning: await learning(dir, opts.quick, opts.rows, opts.notes),
    leastSquares: await leastSquares(dir, pairs, opts.quick, opts.rows, opts.notes),
    onnx: await onnxApply(opts.quick, opts.rows, opts.notes),
    tfjs: await tfjsApply(opts.quick, opts.rows, opts.notes),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await benchMain('baselines', async ({ quick, arg, rows, notes }) => {
    const result = await baselineBench({ quick, photos: arg('--photos'), rows, notes, scratch: path.join(os.tmpdir(), 'kernel-learn-bench') });
    await threads.shutdown();
    return result;
  });
}

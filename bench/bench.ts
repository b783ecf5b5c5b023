/**
 * `npm run bench`: speed and memory of kernel-learn beside OpenCV, PyTorch and TensorFlow.js,
 * measured side by side in one run on this machine; medians of several runs. Prints a table and
 * writes bench/results.json (docs/performance.md shows the latest numbers).
 *
 *   npm run bench                 everything (about 3-5 minutes on 2 cores)
 *   npm run bench -- --quick      smaller sizes, no 16384^2 streaming run, short PyTorch cap
 *   npm run bench -- --core --record docs/records/bench.json
 *                                 the core rows only (memory, conv, apply, train, streaming, install
 *                                 costs), as a run record: docs/performance.md's first table and
 *                                 README.md's figures are generated from it; the Adam step, train's
 *                                 options, the output stages and the Gram have their own benches
 *                                 and records
 *   npm run bench -- --photos DIR the Gram rows (bench/gram-bench.ts), train's options
 *                                 (bench/cli-bench.ts) and the output stages (bench/stage-bench.ts:
 *                                 clamp, abs, magnitude, curves beside the linear fit and PyTorch)
 *                                 on six photographs of DIR
 *
 * OpenCV and PyTorch run through Debian's /usr/bin/python3 (python3-opencv, python3-torch) via
 * bench/py_bench.py; TensorFlow.js through @tensorflow/tfjs on its cpu backend. Each is skipped
 * with a note when it is not installed. Scratch files go to $TMPDIR/kernel-learn-bench.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { readImage, writeImage } from '../src/io/index.js';
import { conv2dForwardRows, conv2dForwardSeparable, tensor } from '../src/kernels/conv2d.js';
import { conv2dForwardF32, conv2dForwardF32Reference, conv2dForwardF32Rows, heapAlloc, heapFree } from '../src/kernels/simd.js';
import { serializeModel, type Model } from '../src/nn/model.js';
import * as threads from '../src/kernels/threads.js';
import { adamBench } from './adam-bench.js';
import { trainOptionsBench } from './cli-bench.js';
import { stageBench } from './stage-bench.js';
import { gramBench, median, randomPlane, timeAsync, timeRuns } from './gram-bench.js';
import { gitState, writeBenchRecord } from './record.js';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const PY = '/usr/bin/python3';
const PY_BENCH = path.join(ROOT, 'bench/py_bench.py');
const SCRATCH = path.join(os.tmpdir(), 'kernel-learn-bench');
const QUICK = process.argv.includes('--quick');
const PHOTOS = process.argv.includes('--photos') ? process.argv[process.argv.indexOf('--photos') + 1] : null;
const CORE = process.argv.includes('--core');
const RECORD = process.argv.includes('--record') ? process.argv[process.argv.indexOf('--record') + 1] : null;

// A learned-looking, non-separable 3x3 kernel (a Sobel dx with noise from a fit), used everywhere.
const KERNEL = [[-1.0002, 0.0003, 1.0001], [-1.9998, 0.0001, 2.0004], [-0.9997, -0.0002, 0.9999]];
const KERNEL_F32 = Float32Array.from(KERNEL.flat());

interface Row { group: string; what: string; ours: string; other: string; ratio: string }
const rows: Row[] = [];
const notes: string[] = [];
const results: Record<string, unknown> = {};

const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));
const ratioText = (r: number): string => `${fmt(r, 2)}x`;

/** Runs a command; wall time in ms and peak resident memory in MB (through /usr/bin/time when present, else /proc polling). */
async function runChild(cmd: string, args: string[]): Promise<{ ms: number; peakMB: number; stdout: string }> {
  const useTime = existsSync('/usr/bin/time');
  const argv = useTime ? ['-f', '__PEAK_KB__ %M', cmd, ...args] : args;
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(useTime ? '/usr/bin/time' : cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let polledKB = 0;
    const poll = useTime ? null : setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) polledKB = Math.max(polledKB, Number(m[1]));
      } catch { /* exited */ }
    }, 20);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      const ms = performance.now() - t;
      if (code !== 0) {
        reject(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${stderr.slice(-800)}`));
        return;
      }
      const m = /__PEAK_KB__ (\d+)/.exec(stderr);
      resolve({ ms, peakMB: (m ? Number(m[1]) : polledKB) / 1024, stdout });
    });
  });
}

async function python(args: string[]): Promise<Record<string, number | boolean | number[]>> {
  const { stdout } = await execFileP(PY, [PY_BENCH, ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

function linearModel(): Model {
  return {
    format: 'kernel-learn-model', version: 1, arch: 'linear', inputChannels: 1, outputChannels: 1, border: 'reflect101',
    layers: [{ type: 'conv2d', inChannels: 1, outChannels: 1, kernelSize: [3, 3], weights: [[KERNEL.map((r) => r.map(Math.fround))]], bias: [0] }],
    training: { pairs: 0, pixels: 0, inputDepth: 'f32', targetDepth: 'f32', solver: 'exact', steps: 0, stopReason: 'bench', seed: 0, validation: { kind: 'none', pairs: 0, pixels: 0 } },
    metrics: { validation: { mse: 0, psnr: null, r2: 1 } },
    createdBy: 'bench',
  };
}

async function main(): Promise<void> {
  const git = gitState();
  const loadBefore = os.loadavg();
  await fs.mkdir(SCRATCH, { recursive: true });
  const caps = existsSync(PY)
    ? ((await python(['caps']).catch(() => ({ cv2: null, torch: null }))) as unknown as { cv2: string | null; torch: string | null })
    : { cv2: null, torch: null };
  if (!caps.cv2) notes.push('OpenCV skipped: /usr/bin/python3 with python3-opencv is not installed');
  if (!caps.torch) notes.push('PyTorch skipped: /usr/bin/python3 with python3-torch is not installed');
  let tf: typeof import('@tensorflow/tfjs') | null = null;
  try {
    tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
  } catch {
    tf = null;
    notes.push('TensorFlow.js skipped: @tensorflow/tfjs is not installed');
  }
  const cpus = os.cpus();
  results.machine = { cpus: cpus.length, model: cpus[0]?.model ?? '?', node: process.version, opencv: caps.cv2, torch: caps.torch, tfjs: tf ? tf.version.tfjs : null, workerThreads: threads.defaultThreadCount() };
  results.date = new Date().toISOString();
  results.loadAverageAtStart = os.loadavg();
  console.error(`kernel-learn bench on ${cpus.length}x ${cpus[0]?.model}, node ${process.version}${QUICK ? ' (--quick)' : ''}`);

  // ---- memory-copy bandwidth ---------------------------------------------------------------
  // The same size as the conv arrays below, so both move their bytes through the same caches.
  const side = QUICK ? 4096 : 8192;
  {
    const n = side * side;
    const a = randomPlane(n, 1);
    const b = new Float32Array(n);
    b.set(a); // touch pages
    const { ms } = timeRuns(7, () => b.set(a));
    const gbps = (2 * n * 4) / (ms / 1000) / 1e9; // bytes read + written
    results.bandwidth = { bytes: n * 4, ms, copyGBps: gbps, note: 'Float32Array.prototype.set, read + write bytes per second' };
    rows.push({ group: 'memory', what: `copy bandwidth (Float32Array.set of ${(n * 4) >> 20} MB)`, ours: `${fmt(gbps, 2)} GB/s`, other: '', ratio: '' });
  }
  const copyGBps = (results.bandwidth as { copyGBps: number }).copyGBps;

  // ---- conv forward, in process --------------------------------------------------------------
  const mpx = (side * side) / 1e6;
  const plane = randomPlane(side * side, 7);
  const x = tensor(1, 1, side, side, plane);
  const conv: Record<string, unknown> = { size: `${side}x${side}`, kernel: '3x3 non-separable, reflect101, float32' };
  {
    const refSide = 512;
    const xr = tensor(1, 1, refSide, refSide, plane.subarray(0, refSide * refSide));
    const ref = timeRuns(3, () => conv2dForwardF32Reference(xr, KERNEL_F32, null, 1, 3, 3, 'reflect101'));
    const refMpx = (refSide * refSide) / 1e6 / (ref.ms / 1000);
    const runs = QUICK ? 5 : 9;
    // Into a reused output, as the streaming apply does and as cv2.filter2D(dst=...) is timed: a
    // fresh output per call pays its page faults (first touches), measured separately below.
    const outT = tensor(1, 1, side, side);
    const js = timeRuns(runs, () => conv2dForwardRows(x, KERNEL_F32, null, 1, 3, 3, 'reflect101', outT, 0, side));
    const jsMpx = mpx / (js.ms / 1000);
    const simd = timeRuns(runs, () => conv2dForwardF32Rows(x, KERNEL_F32, null, 1, 3, 3, 'reflect101', outT, 0, side));
    const simdMpx = mpx / (simd.ms / 1000);
    conv.referenceMpxPerS = refMpx;
    conv.jsFloat64MpxPerS = jsMpx;
    conv.simdMpxPerS = simdMpx;
    rows.push({ group: 'conv 3x3', what: `reference loop, float32 sums (${refSide}^2)`, ours: `${fmt(refMpx)} Mpx/s`, other: '', ratio: '' });
    rows.push({ group: 'conv 3x3', what: `JavaScript loop, float64 sums (training's), 1 thread (${side}^2)`, ours: `${fmt(jsMpx)} Mpx/s`, other: '', ratio: ratioText(jsMpx / refMpx) + ' ref' });
    rows.push({ group: 'conv 3x3', what: `WebAssembly SIMD, float32 sums, 1 thread, ordinary arrays (copied in bands)`, ours: `${fmt(simdMpx)} Mpx/s`, other: '', ratio: ratioText(simdMpx / jsMpx) + ' JS' });
    let best = { name: 'SIMD, 1 thread', mpx: simdMpx };
    // Input and output in the WebAssembly module's shared memory, as the streaming apply keeps its
    // bands: the kernel works on them in place, no copies.
    const xShared = tensor(1, 1, side, side, threads.toShared(plane));
    const outShared = heapAlloc(side * side);
    const inPlace = await timeAsync(runs, async () => {
      await threads.conv2dForwardThreaded(xShared, KERNEL_F32, null, 1, 3, 3, 'reflect101', { threads: 1, into: outShared });
    });
    const inPlaceMpx = mpx / (inPlace.ms / 1000);
    conv.simdInPlaceMpxPerS = inPlaceMpx;
    rows.push({ group: 'conv 3x3', what: `SIMD, 1 thread, in place (input and output in the module's memory)`, ours: `${fmt(inPlaceMpx)} Mpx/s`, other: '', ratio: ratioText(inPlaceMpx / simdMpx) + ' copied' });
    if (inPlaceMpx > best.mpx) best = { name: 'SIMD, 1 thread, in place', mpx: inPlaceMpx };
    for (const t of threads.threadCounts()) {
      if (t === 1) continue;
      const run = await timeAsync(runs, async () => {
        await threads.conv2dForwardThreaded(xShared, KERNEL_F32, null, 1, 3, 3, 'reflect101', { threads: t, into: outShared });
      });
      const m = mpx / (run.ms / 1000);
      conv[`threads${t}MpxPerS`] = m;
      rows.push({ group: 'conv 3x3', what: `SIMD, worker threads x${t}, in place`, ours: `${fmt(m)} Mpx/s`, other: '', ratio: ratioText(m / inPlaceMpx) + ' 1-thread' });
      if (m > best.mpx) best = { name: `SIMD, worker threads x${t}`, mpx: m };
    }
    // A fresh output array per call, all threads: what a caller that allocates each time gets.
    const fresh = await timeAsync(QUICK ? 3 : 5, async () => {
      await threads.conv2dForwardThreaded(xShared, KERNEL_F32, null, 1, 3, 3, 'reflect101');
    }, 1);
    const freshMpx = mpx / (fresh.ms / 1000);
    conv.freshOutputMpxPerS = freshMpx;
    rows.push({ group: 'conv 3x3', what: `SIMD, all threads, fresh output array each call`, ours: `${fmt(freshMpx)} Mpx/s`, other: '', ratio: ratioText(freshMpx / best.mpx) + ' reused' });
    // Separable (rank-1) path on a true Sobel kernel (float64, JavaScript).
    const sobel = Float32Array.from([-1, 0, 1, -2, 0, 2, -1, 0, 1]);
    const sep = timeRuns(runs, () => conv2dForwardSeparable(x, sobel, null, 1, 3, 3, 'reflect101', outT));
    const sepMpx = mpx / (sep.ms / 1000);
    conv.separableSobelMpxPerS = sepMpx;
    rows.push({ group: 'conv 3x3', what: `Sobel (rank 1), separable path (JavaScript), 1 thread`, ours: `${fmt(sepMpx)} Mpx/s`, other: '', ratio: ratioText(sepMpx / simdMpx) + ' SIMD' });
    // 5x5 Gaussian (rank 1): 25 multiply-adds per pixel direct, 10 separable.
    const g = [1, 4, 6, 4, 1].map((v) => v / 16);
    const gauss = Float32Array.from(g.flatMap((a) => g.map((b) => a * b)));
    const g5 = timeRuns(QUICK ? 3 : 5, () => conv2dForwardF32Rows(x, gauss, null, 1, 5, 5, 'reflect101', outT, 0, side));
    const s5 = timeRuns(QUICK ? 3 : 5, () => conv2dForwardSeparable(x, gauss, null, 1, 5, 5, 'reflect101', outT));
    conv.gaussian5x5SimdMpxPerS = mpx / (g5.ms / 1000);
    conv.gaussian5x5SeparableMpxPerS = mpx / (s5.ms / 1000);
    rows.push({ group: 'conv 5x5', what: 'Gaussian 5x5, SIMD direct, 1 thread', ours: `${fmt(mpx / (g5.ms / 1000))} Mpx/s`, other: '', ratio: '' });
    rows.push({ group: 'conv 5x5', what: 'Gaussian 5x5, separable path (JavaScript), 1 thread', ours: `${fmt(mpx / (s5.ms / 1000))} Mpx/s`, other: '', ratio: ratioText(g5.ms / s5.ms) + ' SIMD' });
    conv.best = best;
    const gb = (best.mpx * 1e6 * 8) / 1e9; // 4 bytes read + 4 written per pixel
    conv.bandwidthFraction = gb / copyGBps;
    rows.push({ group: 'conv 3x3', what: `best (${best.name}): bytes moved vs copy bandwidth`, ours: `${fmt(gb, 2)} GB/s`, other: `${fmt(copyGBps, 2)} GB/s`, ratio: `${fmt(100 * gb / copyGBps, 0)}%` });

    const npyIn = path.join(SCRATCH, `conv-${side}.npy`);
    await writeImage(npyIn, { width: side, height: side, channels: 1, depth: 'f32', data: plane });
    // Side by side with OpenCV: ours (all threads, in place; and with a fresh output) timed just
    // before and just after the Python call, so that both see the same load; medians of both.
    const allThreads = threads.defaultThreadCount();
    const oursNow = (): Promise<{ ms: number; times: number[] }> => timeAsync(runs, async () => {
      await threads.conv2dForwardThreaded(xShared, KERNEL_F32, null, 1, 3, 3, 'reflect101', { threads: allThreads, into: outShared });
    });
    const freshNow = (): Promise<{ ms: number; times: number[] }> => timeAsync(3, async () => {
      await threads.conv2dForwardThreaded(xShared, KERNEL_F32, null, 1, 3, 3, 'reflect101');
    }, 1);
    if (caps.cv2) {
      const before = [await oursNow(), await freshNow()];
      const r = await python(['filter2d', npyIn, JSON.stringify(KERNEL), String(runs)]);
      const after = [await oursNow(), await freshNow()];
      const both = (i: number): number => mpx / (median([...before[i].times, ...after[i].times]) / 1000);
      const oursSide = { name: `SIMD, ${allThreads} threads, in place`, mpx: both(0) }, freshSide = both(1);
      conv.sideBySide = { best: oursSide, freshMpxPerS: freshSide };
      const cvMpx = mpx / ((r.ms as number) / 1000);
      const cvDstMpx = mpx / ((r.msDst as number) / 1000);
      conv.opencvMpxPerS = cvMpx;
      conv.opencvDstMpxPerS = cvDstMpx;
      conv.opencvThreads = r.threads;
      const ours = conv2dForwardF32(x, KERNEL_F32, null, 1, 3, 3, 'reflect101').data;
      let s = 0;
      for (let i = 0; i < ours.length; i++) s += ours[i];
      conv.opencvSumRelDiff = Math.abs(s - (r.sum as number)) / Math.max(1, Math.abs(s));
      rows.push({ group: 'conv 3x3', what: `cv2.filter2D f32 into a reused dst (${r.threads} threads) vs ours (${oursSide.name}; timed before and after it)`, ours: `${fmt(oursSide.mpx)} Mpx/s`, other: `${fmt(cvDstMpx)} Mpx/s`, ratio: ratioText(oursSide.mpx / cvDstMpx) });
      rows.push({ group: 'conv 3x3', what: `cv2.filter2D f32, fresh output each call, vs ours fresh (timed before and after it)`, ours: `${fmt(freshSide)} Mpx/s`, other: `${fmt(cvMpx)} Mpx/s`, ratio: ratioText(freshSide / cvMpx) });
    }
    if (caps.torch) {
      const r = await python(['torch_conv', npyIn, JSON.stringify(KERNEL), String(QUICK ? 3 : 5), '2']);
      const tMpx = mpx / ((r.ms as number) / 1000);
      conv.torchMpxPerS = tMpx;
      rows.push({ group: 'conv 3x3', what: 'torch conv2d + reflect pad (2 threads) vs ours fresh', ours: `${fmt(freshMpx)} Mpx/s`, other: `${fmt(tMpx)} Mpx/s`, ratio: ratioText(freshMpx / tMpx) });
    }
    if (tf) {
      const tfSide = 2048; // the cpu backend takes seconds at 8192^2
      const t4 = tf.tensor4d(plane.subarray(0, tfSide * tfSide), [1, tfSide, tfSide, 1]);
      const k4 = tf.tensor4d(KERNEL_F32, [3, 3, 1, 1]);
      const r = timeRuns(3, () => tf!.tidy(() => { tf!.conv2d(t4, k4, 1, 'same').dataSync(); }), 1);
      const tfMpx = (tfSide * tfSide) / 1e6 / (r.ms / 1000);
      conv.tfjsMpxPerS = tfMpx;
      t4.dispose(); k4.dispose();
      rows.push({ group: 'conv 3x3', what: `TensorFlow.js conv2d, cpu backend (${tfSide}^2) vs ours fresh`, ours: `${fmt(freshMpx)} Mpx/s`, other: `${fmt(tfMpx)} Mpx/s`, ratio: ratioText(freshMpx / tfMpx) });
    }
    heapFree(xShared.data);
    heapFree(outShared);
  }
  results.conv = conv;

  // ---- Adam step (bench/adam-bench.ts), and TensorFlow.js's on the same batch -----------------
  if (!CORE) {
    const adam = await adamBench({ quick: QUICK, rows, notes });
    results.adam = adam;
    if (tf) {
      const batch = 4, size = 256;
      const xt = tf.tensor4d(randomPlane(batch * size * size, 3), [batch, size, size, 1]);
      const yt = tf.tensor4d(randomPlane(batch * (size - 2) * (size - 2), 4), [batch, size - 2, size - 2, 1]);
      const kv = tf.variable(tf.zeros([3, 3, 1, 1]));
      const bv = tf.variable(tf.zeros([1]));
      const opt = tf.train.adam(1e-3);
      const tstep = (): void => {
        const cost = opt.minimize(() => tf!.losses.meanSquaredError(yt, tf!.add(tf!.conv2d(xt, kv as unknown as import('@tensorflow/tfjs').Tensor4D, 1, 'valid'), bv)) as import('@tensorflow/tfjs').Scalar, true);
        cost?.dataSync();
        cost?.dispose();
      };
      tstep();
      const r = timeRuns(QUICK ? 3 : 5, tstep, 1);
      const ours = (adam.ours as Record<string, { ms: number }>).oneThread.ms;
      (results.adam as Record<string, unknown>).tfjsMs = r.ms;
      rows.push({ group: 'Adam step', what: 'TensorFlow.js cpu backend, same batch (vs ours on 1 thread)', ours: `${fmt(ours, 2)} ms`, other: `${fmt(r.ms, 1)} ms`, ratio: ratioText(r.ms / ours) });
      xt.dispose(); yt.dispose(); kv.dispose(); bv.dispose();
    }
  }

  // ---- whole-process apply: .npy -> .npy -----------------------------------------------------
  {
    const s = QUICK ? 4096 : 8192;
    const inFile = path.join(SCRATCH, `apply-${s}.npy`);
    if (!existsSync(inFile)) await writeImage(inFile, { width: s, height: s, channels: 1, depth: 'f32', data: randomPlane(s * s, 11) });
    const modelFile = path.join(SCRATCH, 'model-3x3.json');
    await fs.writeFile(modelFile, serializeModel(linearModel()));
    const outOurs = path.join(SCRATCH, 'apply-out-ours.npy');
    const outPy = path.join(SCRATCH, 'apply-out-py.npy');
    const ours: number[] = [], py: number[] = [], oursRss: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await runChild(process.execPath, [CLI, 'apply', '--model', modelFile, inFile, outOurs]);
      ours.push(r.ms); oursRss.push(r.peakMB);
      if (caps.cv2) py.push((await runChild(PY, [PY_BENCH, 'apply', inFile, outPy, JSON.stringify(KERNEL)])).ms);
    }
    const applyRes: Record<string, unknown> = { size: `${s}x${s} float32`, oursMs: median(ours), oursPeakMB: median(oursRss) };
    rows.push({ group: 'apply (whole process)', what: `CLI apply ${s}^2 f32 .npy -> .npy (peak ${fmt(median(oursRss), 0)} MB)`, ours: `${fmt(median(ours), 0)} ms`, other: '', ratio: '' });
    if (caps.cv2) {
      applyRes.pythonOpencvMs = median(py);
      rows.push({ group: 'apply (whole process)', what: 'python3: np.load + cv2.filter2D + np.save', ours: `${fmt(median(ours), 0)} ms`, other: `${fmt(median(py), 0)} ms`, ratio: ratioText(median(py) / median(ours)) });
    }
    results.apply = applyRes;
    await fs.rm(outOurs, { force: true });
    await fs.rm(outPy, { force: true });
  }

  // ---- exact training, whole process ---------------------------------------------------------
  {
    const ds = path.join(SCRATCH, 'sobel-dataset');
    if (!existsSync(path.join(ds, 'target'))) {
      await execFileP(process.execPath, [CLI, 'dataset', '--synthetic', '8', '--size', '512x512', '--seed', '0', '--out', ds, '--op', 'sobel', '--dx', '1', '--dy', '0']);
    }
    const modelOut = path.join(SCRATCH, 'sobel-exact.json');
    const files = (await fs.readdir(path.join(ds, 'input'))).map((f) => [path.join(ds, 'input', f), path.join(ds, 'target', f.replace(/\.png$/, '.npy'))]).flat();
    // "Just decoding those files", two ways: a whole process that only decodes them (node start,
    // the reader's imports, the decoding: like for like with the whole train process), and the
    // decoding alone inside this warm process (no start-up, JIT warm: the strictest yardstick).
    const decodeScript = `import { readImage } from ${JSON.stringify(path.join(ROOT, 'dist/src/io/index.js'))};\n` +
      `for (const f of ${JSON.stringify(files)}) await readImage(f);`;
    const times: number[] = [], decodeProc: number[] = [];
    for (let i = 0; i < 5; i++) {
      times.push((await runChild(process.execPath, [CLI, 'train', '--input', path.join(ds, 'input'), '--target', path.join(ds, 'target'), '--out', modelOut, '--no-report'])).ms);
      decodeProc.push((await runChild(process.execPath, ['--input-type=module', '-e', decodeScript])).ms);
    }
    const decode = await timeAsync(5, async () => { for (const f of files) await readImage(f); }, 1);
    const trainRes: Record<string, unknown> = {
      data: '8 synthetic 512x512 PNG inputs (2.1 Mpx) + .npy Sobel dx targets', exactMs: median(times), decodeProcessMs: median(decodeProc), decodeMs: decode.ms,
    };
    rows.push({ group: 'train (whole process)', what: 'train --solver exact, Sobel dx, 2.1 Mpx, vs a process that only decodes the files', ours: `${fmt(median(times), 0)} ms`, other: `${fmt(median(decodeProc), 0)} ms`, ratio: `${fmt(median(times) / median(decodeProc), 2)}x decode` });
    rows.push({ group: 'train (whole process)', what: 'same, vs decoding the files inside a warm process', ours: `${fmt(median(times), 0)} ms`, other: `${fmt(decode.ms, 0)} ms`, ratio: `${fmt(median(times) / decode.ms, 2)}x decode` });
    // PyTorch learning the same kernel, tuned (a learning-rate sweep on standardised data): bench/baseline-bench.ts.
    results.train = trainRes;
  }

  if (!CORE) {
    // ---- train's options as a user pays for them: the run report, --ksize auto --------------
    results.trainOptions = await trainOptionsBench({ quick: QUICK, photos: PHOTOS, rows, notes, scratch: SCRATCH });
    // ---- the nonlinear output stages, beside the linear fit and a PyTorch loop ----------------
    results.stages = await stageBench({ quick: QUICK, photos: PHOTOS, torch: Boolean(caps.torch && caps.cv2), rows, notes, scratch: SCRATCH });
    // ---- Gram statistics + exact solve up to 31x31, beside numpy's normal equations --------
    results.gram = await gramBench({ quick: QUICK, photos: PHOTOS, rows, notes, scratch: SCRATCH });
  }
  results.install = await installCosts(rows);

  // ---- streaming apply of a 16384^2 8-bit PNG ------------------------------------------------
  if (!QUICK) {
    const s = 16384;
    const png = path.join(SCRATCH, `big-${s}.png`);
    if (!existsSync(png)) {
      console.error(`making ${png} (once; kept for later runs)`);
      const buf = Buffer.alloc(s * s);
      let st = 1;
      for (let i = 0; i < buf.length; i++) { st = (Math.imul(st, 1103515245) + 12345) >>> 0; buf[i] = ((i % s) * 7 + Math.floor(i / s) * 3 + (st >>> 28)) & 255; }
      await sharp(buf, { raw: { width: s, height: s, channels: 1 }, limitInputPixels: false }).toColourspace('b-w').png({ compressionLevel: 1 }).toFile(png);
    }
    const modelFile = path.join(SCRATCH, 'model-3x3.json');
    const out = path.join(SCRATCH, 'big-out.npy');
    const r = await runChild(process.execPath, [CLI, 'apply', '--model', modelFile, png, out]);
    await fs.rm(out, { force: true });
    results.stream = { input: `${s}x${s} 8-bit grey PNG`, output: 'float32 .npy', ms: r.ms, peakMB: r.peakMB, targetMB: 512 };
    rows.push({ group: 'streaming apply', what: `CLI apply ${s}^2 u8 PNG -> f32 .npy (${fmt((s * s) / r.ms / 1000, 1)} Mpx/s)`, ours: `peak ${fmt(r.peakMB, 0)} MB`, other: 'target 512 MB', ratio: `${fmt(r.ms / 1000, 1)} s` });
  } else {
    notes.push('--quick: the 16384^2 streaming apply was not run');
  }

  results.loadAverageAtEnd = os.loadavg();
  if (os.loadavg()[0] > cpus.length) notes.push(`the machine was busy (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus.length} CPUs): absolute numbers are low, ratios measured side by side are fairer`);
  results.notes = notes;
  results.table = rows;
  await threads.shutdown();
  printTable();
  const file = path.join(ROOT, 'bench/results.json');
  await fs.writeFile(file, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), file) || file}`);
  if (RECORD) await writeBenchRecord(RECORD, 'bench', { quick: QUICK, rows, notes, result: results, git, loadBefore });
}

/**
 * What a user pays before any work: the time npx spends finding the command (npx kernel-learn
 * --version against node on the CLI directly, interleaved, medians) and the size of the tarball
 * npm pack makes (a dry run of the files it would pack; scripts off, so nothing is rebuilt).
 */
async function installCosts(rows: Row[]): Promise<Record<string, unknown>> {
  const npx: number[] = [], direct: number[] = [];
  for (let i = 0; i < 3; i++) { // npx takes seconds of CPU here: three rounds
    npx.push((await runChild('npx', ['--no-install', 'kernel-learn', '--version'])).ms);
    direct.push((await runChild(process.execPath, [CLI, '--version'])).ms);
  }
  const { stdout } = await execFileP('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 1 << 24 });
  const pack = (JSON.parse(stdout) as { size: number; unpackedSize: number; entryCount: number }[])[0];
  const out = { npxMs: median(npx), npxTimes: npx, directMs: median(direct), directTimes: direct, tarballBytes: pack.size, unpackedBytes: pack.unpackedSize, files: pack.entryCount };
  rows.push({ group: 'install', what: 'kernel-learn --version: node on the CLI vs npx kernel-learn (the time npx adds)', ours: `${fmt(out.directMs, 0)} ms`, other: `${fmt(out.npxMs, 0)} ms`, ratio: `+${fmt(out.npxMs - out.directMs, 0)} ms` });
  rows.push({ group: 'install', what: `npm pack: the tarball (${pack.entryCount} files)`, ours: `${fmt(pack.size / 1000, 0)} kB`, other: `${fmt(pack.unpackedSize / 1000, 0)} kB unpacked`, ratio: '' });
  return out;
}

function printTable(): void {
  const head: Row = { group: 'group', what: 'measure', ours: 'kernel-learn', other: 'other', ratio: 'ratio' };
  const all = [head, ...rows];
  const width = (k: keyof Row): number => Math.max(...all.map((r) => r[k].length));
  const line = (r: Row): string => (['group', 'what', 'ours', 'other', 'ratio'] as const).map((k) => r[k].padEnd(width(k))).join(' | ');
  console.log(line(head));
  console.log((['group', 'what', 'ours', 'other', 'ratio'] as const).map((k) => '-'.repeat(width(k))).join('-|-'));
  for (const r of rows) console.log(line(r));
  for (const n of notes) console.log(`note: ${n}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

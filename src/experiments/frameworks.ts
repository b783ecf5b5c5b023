/**
 * Q4, the frameworks' side: what PyTorch and TensorFlow.js offer to make convolutions fast
 * (cuDNN autotuning, channels-last, mixed precision, graph compilation, WebGL/WebGPU backends),
 * and which of it applies to a 3x3 one-channel convolution, measured where this machine can:
 * PyTorch through tools/torch_opts.py with /usr/bin/python3 (skipped with a note when it or torch
 * is missing), TensorFlow.js 4.22 on its cpu backend (the only one Node registers), and our own
 * loop on the same sizes for scale.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { tensor } from '../kernels/conv2d.js';
import { conv2dForwardF32 } from '../kernels/simd.js';
import { createRng } from '../random.js';
import { defineExperiment, type Row } from './types.js';
import { packageRoot } from './util.js';

const execFileP = promisify(execFile);
const PY = '/usr/bin/python3';

interface TorchCase {
  case: string; size: number; mpx: number;
  fp32Ms: number; channelsLastMs: number; bf16Ms: number; jitMs: number; bf16RelError: number; channelsLastRelError: number;
  adamFp32Ms: number; adamChannelsLastMs: number; adamBf16Ms: number;
}
interface TorchResult { torch: string; threads: number; hasCompile: boolean; cuda: boolean; mkldnn: boolean; cases: TorchCase[] }

async function runTorch(size: number, csize: number, reps: number): Promise<TorchResult | string> {
  const script = path.join(packageRoot(), 'tools/torch_opts.py');
  if (!existsSync(PY)) return `${PY} not found`;
  if (!existsSync(script)) return `${script} not found`;
  try {
    const { stdout } = await execFileP(PY, [script, String(size), String(csize), String(reps)], { maxBuffer: 1 << 20, timeout: 120_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as TorchResult;
  } catch (e) {
    return `PyTorch run failed (${String((e as Error).message).split('\n')[0]!.slice(0, 200)})`;
  }
}

function best(reps: number, f: () => unknown): number {
  for (let i = 0; i < 2; i++) f(); // untimed: let the JIT optimise first
  let b = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    f();
    b = Math.min(b, performance.now() - t0);
  }
  return b;
}

const round = (v: number): number => Number(v.toPrecision(3));

export const experiment = defineExperiment('frameworks', 'Q4: which of PyTorch\'s and TensorFlow.js\'s built-in speed-ups (channels-last, mixed precision, compilation, cuDNN autotuning, WebGL/WebGPU) apply to a 3x3 conv, measured.', async ({ quick }) => {
  const n = quick ? 256 : 1024;
  const cn = quick ? 64 : 256;
  const reps = quick ? 3 : 5;
  const table: Row[] = [];
  const notes: string[] = [];
  const claims: Record<string, number | boolean | string> = {};
  const rng = createRng(5);
  const plane = (len: number): Float32Array => Float32Array.from({ length: len }, () => Math.floor(256 * rng()));
  const row = (framework: string, feature: string, kase: string, ms: number | null, base: number | null, err: number | null, applies: string): Row =>
    ({ framework, feature, case: kase, ms: ms === null ? null : round(ms), 'x fp32 baseline': ms === null || base === null ? null : round(base / ms), 'max rel. error vs fp32': err, 'applies here': applies });

  // Ours, for scale: the same convolutions through apply's WebAssembly SIMD loop (float32 sums, 1 thread).
  const x1 = tensor(1, 1, n, n, plane(n * n));
  const w1 = Float32Array.from({ length: 9 }, () => 2 * rng() - 1);
  const oursOne = best(reps, () => conv2dForwardF32(x1, w1, null, 1, 3, 3, 'reflect101'));
  const x16 = tensor(1, 16, cn, cn, plane(16 * cn * cn));
  const w16 = Float32Array.from({ length: 16 * 16 * 9 }, () => 2 * rng() - 1);
  const oursSixteen = best(reps, () => conv2dForwardF32(x16, w16, null, 16, 3, 3, 'reflect101'));
  table.push(row('kernel-learn', 'WebAssembly SIMD, f32, 1 thread', `1 ch ${n}x${n} forward`, oursOne, null, null, 'yes (what we use)'));
  table.push(row('kernel-learn', 'WebAssembly SIMD, f32, 1 thread', `16 ch ${cn}x${cn} forward`, oursSixteen, null, null, '-'));
  claims.oursOneMs = oursOne;

  // PyTorch.
  const t = await runTorch(n, cn, reps);
  claims.torchMeasured = typeof t !== 'string';
  if (typeof t === 'string') {
    notes.push(`PyTorch not measured: ${t}. Install python3-torch (Debian) to include it.`);
  } else {
    // The bf16 error as measured here, in the words of the table and the note below.
    const bf16 = `no: error up to ${(100 * Math.max(...t.cases.map((c) => c.bf16RelError))).toPrecision(2)}% of peak`;
    for (const c of t.cases) {
      const kase = c.case === '1 channel' ? `1 ch ${c.size}x${c.size}` : `16 ch ${c.size}x${c.size}`;
      const one = c.case === '1 channel';
      table.push(row(`PyTorch ${t.torch}`, 'fp32, NCHW (baseline)', `${kase} forward`, c.fp32Ms, c.fp32Ms, 0, '-'));
      table.push(row(`PyTorch ${t.torch}`, 'channels_last (NHWC)', `${kase} forward`, c.channelsLastMs, c.fp32Ms, c.channelsLastRelError, one ? 'no: one channel, NCHW = NHWC' : 'layout only'));
      table.push(row(`PyTorch ${t.torch}`, 'bf16 autocast (mixed precision)', `${kase} forward`, c.bf16Ms, c.fp32Ms, c.bf16RelError, bf16));
      table.push(row(`PyTorch ${t.torch}`, 'torch.jit.trace (graph)', `${kase} forward`, c.jitMs, c.fp32Ms, null, 'no: one op, nothing to fuse'));
      table.push(row(`PyTorch ${t.torch}`, 'fp32, NCHW (baseline)', `${kase} Adam step`, c.adamFp32Ms, c.adamFp32Ms, null, '-'));
      table.push(row(`PyTorch ${t.torch}`, 'channels_last (NHWC)', `${kase} Adam step`, c.adamChannelsLastMs, c.adamFp32Ms, null, one ? 'no' : 'layout only'));
      table.push(row(`PyTorch ${t.torch}`, 'bf16 autocast (mixed precision)', `${kase} Adam step`, c.adamBf16Ms, c.adamFp32Ms, null, bf16));
      const key = one ? 'one' : 'sixteen';
      claims[`${key}Bf16RelError`] = c.bf16RelError;
      claims[`${key}ChannelsLastRelError`] = c.channelsLastRelError;
      claims[`${key}Bf16Speedup`] = c.fp32Ms / c.bf16Ms;
      claims[`${key}ChannelsLastSpeedup`] = c.fp32Ms / c.channelsLastMs;
    }
    table.push(row(`PyTorch ${t.torch}`, 'torch.compile', '-', null, null, null, t.hasCompile ? 'present (not measured)' : 'absent: needs PyTorch >= 2.0'));
    table.push(row(`PyTorch ${t.torch}`, 'cuDNN autotuning (cudnn.benchmark)', '-', null, null, null, t.cuda ? 'CUDA present (not measured)' : 'no: CUDA only, no GPU here'));
    claims.torchHasCompile = t.hasCompile;
    claims.torchThreads = t.threads;
    notes.push(`PyTorch ${t.torch} on the CPU (${t.threads} thread${t.threads === 1 ? '' : 's'}, oneDNN ${t.mkldnn ? 'on' : 'off'}), median of ${reps} after a warm-up; random 0..255 inputs, random kernels; "max rel. error" is max |variant - fp32| / max |fp32|.`);
  }

  // TensorFlow.js.
  try {
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    await tf.ready();
    const backends = Object.keys(tf.engine().registryFactory);
    claims.tfjsBackends = backends.join(',');
    const xt = tf.tensor4d(x1.data, [1, n, n, 1]);
    const kt = tf.tensor4d(w1, [3, 3, 1, 1]);
    const run = (): void => { const y = tf.conv2d(xt, kt, 1, 'same'); y.dataSync(); y.dispose(); };
    run();
    const tfConv = best(reps, run);
    // One Adam step, valid conv, MSE, on the same image (1 x n x n).
    const yt = tf.conv2d(xt, tf.tensor4d(Float32Array.from({ length: 9 }, () => 2 * rng() - 1), [3, 3, 1, 1]), 1, 'valid');
    const kv = tf.variable(tf.zeros([3, 3, 1, 1]));
    const opt = tf.train.adam(1e-3);
    const step = (): void => { const c = opt.minimize(() => tf.losses.meanSquaredError(yt, tf.conv2d(xt, kv as unknown as import('@tensorflow/tfjs').Tensor4D, 1, 'valid')) as import('@tensorflow/tfjs').Scalar, true); c?.dataSync(); c?.dispose(); };
    step();
    const tfStep = best(reps, step);
    table.push(row(`TensorFlow.js ${tf.version.tfjs}`, 'cpu backend, f32, NHWC', `1 ch ${n}x${n} forward`, tfConv, null, null, 'the only backend in Node'));
    table.push(row(`TensorFlow.js ${tf.version.tfjs}`, 'cpu backend, f32, NHWC', `1 ch ${n}x${n} Adam step`, tfStep, null, null, '-'));
    table.push(row(`TensorFlow.js ${tf.version.tfjs}`, 'WebGL / WebGPU backends', '-', null, null, null, `browser only: Node registers ${backends.join(', ')}`));
    table.push(row(`TensorFlow.js ${tf.version.tfjs}`, 'mixed precision (f16)', '-', null, null, null, 'no: cpu backend is float32 only; f16 textures are a WebGL option'));
    claims.tfjsConvMs = tfConv;
    claims.tfjsStepMs = tfStep;
    tf.dispose([xt, kt, yt, kv]);
  } catch (e) {
    claims.tfjsBackends = '';
    notes.push(`TensorFlow.js not measured: ${(e as Error).message.split('\n')[0]}`);
  }
  const bf16Max = typeof t === 'string' ? null : Math.max(...t.cases.map((c) => c.bf16RelError));
  notes.push(`What applies: a 3x3 one-channel convolution does 9 multiply-adds per pixel and moves 8 bytes, so it is bound by memory and loop overhead, not arithmetic, and our own loop (rows in registers, no framework dispatch) is what pays. Channels-last is the same bytes when there is one channel; it pays on many-channel layers. Mixed precision (bf16 keeps 8 significant bits) can be faster, but it moves outputs by ${bf16Max === null ? 'a few tenths of a per cent' : `up to ${(100 * bf16Max).toPrecision(2)}%`} of the peak, thousands of times the 1e-6 a kernel fit is judged by, so it cannot certify a kernel. A graph compiler (torch.jit.trace here; torch.compile needs PyTorch 2) has one op to fuse. cuDNN autotuning and the WebGL/WebGPU backends need a GPU (and WebGL/WebGPU a browser); on this CPU-only machine they cannot run. They pay off for deep, many-channel models on accelerators, not for one 3x3 kernel.`);
  return { table, claims, notes };
});

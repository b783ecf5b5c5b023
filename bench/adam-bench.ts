/**
 * One Adam step of a 3x3 conv with MSE loss on a fixed 4 x 256^2 batch, as the trainer runs it
 * (train/parallel.ts: each crop's forward, MSE gradient and weight gradient on WebAssembly SIMD,
 * float64 sums, summed in crop order; then Adam on float64 masters), on one thread and on two,
 * beside PyTorch's step (zero_grad, conv2d + mse_loss, backward, Adam.step; in each of the settings
 * torchConfigs tries, compared with the fastest) and the
 * JavaScript float64 loops the trainer used before. Where the time goes: the forward and weight
 * gradient kernels alone, Adam's update, and the extraction of a batch of crops (which PyTorch's
 * number does not include: its batch is fixed, as ours is in the step rows). The runs of ours and
 * PyTorch's alternate, and the load average is reported, because the machine is shared: medians
 * and ranges of each. Part of `npm run bench` (bench.ts calls adamBench); alone:
 *
 *   node dist/bench/adam-bench.js [--quick] [--json] [--record docs/records/adam-step.json]
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { conv2dBackwardWeights, conv2dForward, tensor } from '../src/kernels/conv2d.js';
import { convBackwardWeights, convForward } from '../src/kernels/train-wasm.js';
import { Conv2d, Sequential } from '../src/nn/layers.js';
import { Adam } from '../src/train/gd.js';
import { GradientEngine } from '../src/train/parallel.js';
import { extract, layItems, type Scaling } from '../src/train/trainer.js';
import { wholeRegion } from '../src/train/regions.js';
import { randomPlane, type BenchRow } from './gram-bench.js';
import { gitState, writeBenchRecord } from './record.js';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PY = '/usr/bin/python3';
const PY_BENCH = path.join(ROOT, 'bench/py_bench.py');
const BATCH = 4, SIZE = 256, OUT = SIZE - 2;

/** Median and range of a list of milliseconds. */
export function spread(times: number[]): { ms: number; min: number; max: number } {
  const s = [...times].sort((a, b) => a - b);
  const n = s.length;
  return { ms: n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2, min: s[0], max: s[n - 1] };
}

const show = (t: { ms: number; min: number; max: number }): string => `${t.ms.toFixed(2)} ms (${t.min.toFixed(2)}-${t.max.toFixed(2)})`;

/** Each call of the result is one timed run of fn (ms); `warm` untimed calls first. */
function timer(fn: () => void, warm = 3): () => number {
  for (let i = 0; i < warm; i++) fn();
  return () => {
    const t = performance.now();
    fn();
    return performance.now() - t;
  };
}

/** The trainer's step on the fixed batch (threads 1 or 2): the gradient engine, then Adam and the float32 weights. */
function engineStep(x: Float32Array, y: Float32Array, threads: number): { step: () => void; close: () => void } {
  const conv = new Conv2d({ inChannels: 1, outChannels: 1, kh: 3, kw: 3, bias: true });
  const set = layItems(Array.from({ length: BATCH }, () => ({ h: SIZE, w: SIZE })), 1, 1, 3, 3, 0);
  const engine = new GradientEngine(new Sequential([conv]), 1, 1, [set], [true], threads);
  set.items.forEach((it, b) => {
    engine.data.set(x.subarray(b * SIZE * SIZE, (b + 1) * SIZE * SIZE), it.xAt);
    engine.data.set(y.subarray(b * OUT * OUT, (b + 1) * OUT * OUT), it.tAt);
  });
  const params = [conv.weight, conv.bias!];
  const masters = params.map((p) => Float64Array.from(p.value));
  const adam = new Adam();
  const step = (): void => {
    const { grads } = engine.run(0, true);
    adam.step(masters, grads!, 1e-3);
    params.forEach((p, i) => p.value.set(masters[i]));
  };
  return { step, close: () => engine.close() };
}

/** The step before: conv2dForward and conv2dBackwardWeights (JavaScript, float64 sums) on the whole batch, then Adam. */
function javascriptStep(x: Float32Array, y: Float32Array): () => void {
  const xb = tensor(BATCH, 1, SIZE, SIZE, x);
  const w = new Float32Array(9), bias = new Float32Array(1);
  const master = [new Float64Array(9), new Float64Array(1)];
  const adam = new Adam();
  return () => {
    const out = conv2dForward(xb, w, bias, 1, 3, 3, 'valid');
    const g = tensor(out.n, out.c, out.h, out.w);
    const scale = 2 / out.data.length;
    for (let i = 0; i < g.data.length; i++) g.data[i] = scale * (out.data[i] - y[i]);
    const { dWeights, dBias } = conv2dBackwardWeights(xb, g, 1, 3, 3);
    adam.step(master, [dWeights, dBias], 1e-3);
    for (let i = 0; i < 9; i++) w[i] = master[0][i];
    bias[0] = master[1][0];
  };
}

/** The parts of our step, each alone: the two kernels over the batch, Adam's update, and extracting 4 crops from a 512^2 pair. */
function partTimers(x: Float32Array, y: Float32Array): Record<string, () => number> {
  const xb = tensor(BATCH, 1, SIZE, SIZE, x), g = tensor(BATCH, 1, OUT, OUT, y);
  const w = Float32Array.from([-1, 0, 1, -2, 0, 2, -1, 0, 1]), b = new Float32Array(1);
  const adam = new Adam();
  const masters = [new Float64Array(9), new Float64Array(1)], grads = [new Float64Array(9).fill(1e-3), new Float64Array(1)];
  const big = { width: 512, height: 512, channels: 1, depth: 'u8' as const, data: randomPlane(512 * 512, 9) };
  const region = wholeRegion({ stem: 'b', input: big, target: big });
  const set = layItems(Array.from({ length: BATCH }, () => ({ h: SIZE, w: SIZE })), 1, 1, 3, 3, 0);
  const data = new Float32Array(BATCH * (SIZE * SIZE + OUT * OUT));
  const sc: Scaling = { mean: Float64Array.of(127), std: Float64Array.of(74), targetRms: 147 };
  return {
    forward: timer(() => convForward(xb, w, b, 1, 3, 3, 1, 'f64')),
    weightGradient: timer(() => convBackwardWeights(xb, g, 1, 3, 3, 1, 'f64')),
    adam: timer(() => adam.step(masters, grads, 1e-3)),
    extraction: timer(() => set.items.forEach((it, k) => extract(region, 37 * k, 61 * k, it, 3, 3, sc, data))),
  };
}

/**
 * PyTorch's settings tried, for a fair comparison: torch.set_num_threads at 1 and at the core count
 * (OpenMP threads spin while they wait, which on a loaded 2-core machine can cost more than they
 * save), each with oneDNN's conv (torch.backends.mkldnn, the default) and without it (ATen's im2col
 * + BLAS conv). Ours is compared with the fastest of them, by median, in the same rounds.
 */
function torchConfigs(): { threads: number; mkldnn: boolean; label: string }[] {
  const cores = os.cpus().length;
  const threads = [...new Set([1, cores])];
  return threads.flatMap((t) => [true, false].map((mkldnn) => ({ threads: t, mkldnn, label: `${t} thread${t > 1 ? 's' : ''}, ${mkldnn ? 'oneDNN' : 'no oneDNN'}` })));
}

/**
 * Untimed steps at the start of each PyTorch process: the first allocates Adam's state, and the next
 * few are slower while caches and the allocator warm up (ours gets warm-up calls too, see timer).
 */
const TORCH_WARM = 5;

/** PyTorch's step, `runs` timed times in one process (after TORCH_WARM untimed), or null where it is not installed. */
async function torchStep(runs: number, threads: number, mkldnn: boolean): Promise<{ times: number[]; parts: Record<string, number> } | null> {
  if (!existsSync(PY)) return null;
  try {
    const { stdout } = await execFileP(PY, [PY_BENCH, 'torch_adam', String(BATCH), String(SIZE), String(runs + TORCH_WARM), String(threads), mkldnn ? '1' : '0'], { maxBuffer: 1 << 20 });
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as { times: number[]; parts: Record<string, number> };
    return { times: r.times.slice(TORCH_WARM), parts: r.parts };
  } catch {
    return null;
  }
}

export async function adamBench(opts: { quick: boolean; rows: BenchRow[]; notes: string[] }): Promise<Record<string, unknown>> {
  const { quick, rows, notes } = opts;
  const x = randomPlane(BATCH * SIZE * SIZE, 3), y = randomPlane(BATCH * OUT * OUT, 4);
  const loadBefore = os.loadavg();
  const one = engineStep(x, y, 1), two = engineStep(x, y, 2);
  const timers: Record<string, () => number> = { oneThread: timer(one.step), twoThreads: timer(two.step), javascript: timer(javascriptStep(x, y)), ...partTimers(x, y) };
  const ours: Record<string, number[]> = Object.fromEntries(Object.keys(timers).map((k) => [k, []]));
  const configs = torchConfigs();
  const torch = configs.map(() => ({ times: [] as number[], parts: [] as Record<string, number>[] }));
  // Rounds: ours (every variant once per run), then PyTorch in each setting, so all see the same load.
  const rounds = quick ? 2 : 5, runs = quick ? 5 : 11;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < runs; i++) for (const [k, t] of Object.entries(timers)) ours[k].push(t());
    for (const [c, cfg] of configs.entries()) {
      const t = await torchStep(runs, cfg.threads, cfg.mkldnn);
      if (t) { torch[c].times.push(...t.times); torch[c].parts.push(t.parts); }
    }
  }
  one.close();
  two.close();
  const s = Object.fromEntries(Object.entries(ours).map(([k, v]) => [k, spread(v)]));
  const loadAfter = os.loadavg();
  const what = `3x3 conv, MSE, ${BATCH}x${SIZE}^2 batch`;
  const tried = configs.map((cfg, c) => ({ ...cfg, ...(torch[c].times.length > 0 ? spread(torch[c].times) : { ms: NaN, min: NaN, max: NaN }) })).filter((t) => Number.isFinite(t.ms));
  const fastest = tried.length > 0 ? tried.reduce((a, b) => (b.ms < a.ms ? b : a)) : null;
  const vs = (k: string): Pick<BenchRow, 'other' | 'ratio'> => (fastest ? { other: `PyTorch (${fastest.label}) ${show(fastest)}`, ratio: `${(fastest.ms / s[k].ms).toFixed(2)}x` } : { other: '', ratio: '' });
  rows.push({ group: 'Adam step', what: `${what}: ours on 2 worker threads`, ours: show(s.twoThreads), ...vs('twoThreads') });
  rows.push({ group: 'Adam step', what: `${what}: ours on 1 thread`, ours: show(s.oneThread), ...vs('oneThread') });
  rows.push({ group: 'Adam step', what: `${what}: before (JavaScript float64 loops, 1 thread)`, ours: show(s.javascript), ...vs('javascript') });
  for (const t of tried) rows.push({ group: 'Adam step', what: `  PyTorch ${t.label}`, ours: '', other: show(t), ratio: `${(t.ms / s.oneThread.ms).toFixed(2)}x vs ours on 1 thread` });
  for (const [k, label] of [['forward', 'forward (SIMD, float64 sums)'], ['weightGradient', 'weight gradient (SIMD, float64 sums)'], ['adam', 'Adam update (10 weights)'], ['extraction', `extracting ${BATCH} crops (not in the step)`]] as const) {
    rows.push({ group: 'Adam step', what: `  part: ${label}, 1 thread`, ours: show(s[k]), other: '', ratio: '' });
  }
  const fi = fastest ? configs.findIndex((c) => c.label === fastest.label) : -1;
  const tparts = fi >= 0 && torch[fi].parts.length > 0 ? Object.fromEntries(Object.keys(torch[fi].parts[0]).map((k) => [k, spread(torch[fi].parts.map((p) => p[k])).ms])) : null;
  if (tparts) rows.push({ group: 'Adam step', what: `  PyTorch parts (${fastest!.label}; medians of rounds): forward+loss / backward / Adam.step`, ours: '', other: `${tparts.forward.toFixed(2)} / ${tparts.backward.toFixed(2)} / ${tparts.step.toFixed(2)} ms`, ratio: '' });
  if (!fastest) notes.push('PyTorch Adam step skipped: /usr/bin/python3 with python3-torch is not installed');
  notes.push(`Adam step: load average ${loadBefore.map((l) => l.toFixed(1)).join(' ')} before, ${loadAfter.map((l) => l.toFixed(1)).join(' ')} after, on ${os.cpus().length} CPUs`);
  return { batch: `${BATCH}x1x${SIZE}x${SIZE}`, ours: s, torch: tried, torchFastest: fastest ? { ...fastest, parts: tparts } : null, loadBefore, loadAfter };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const git = gitState(); // the checkout as the run started: the code that ran
  const res = await adamBench({ quick: process.argv.includes('--quick'), rows, notes });
  const width = (k: keyof BenchRow): number => Math.max(...rows.map((r) => r[k].length), k.length);
  for (const r of rows) console.log((['what', 'ours', 'other', 'ratio'] as const).map((k) => r[k].padEnd(width(k))).join(' | '));
  for (const n of notes) console.log(`note: ${n}`);
  if (process.argv.includes('--json')) console.log(JSON.stringify(res));
  const at = process.argv.indexOf('--record');
  // docs/performance.md's Adam rows are generated from this record.
  if (at > 0) await writeBenchRecord(process.argv[at + 1], 'adam-step', { quick: process.argv.includes('--quick'), rows, notes, result: res, git, loadBefore: res.loadBefore as number[] });
}

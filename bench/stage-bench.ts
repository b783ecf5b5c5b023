/**
 * What the nonlinear output stages cost a user: whole `train` processes with --ksize auto on six
 * 512x512 8-bit images, one target set per stage, beside the linear fit of Sobel dx on the same
 * inputs and beside a PyTorch Adam loop on the same task (py_bench.py torch_stage: the network
 * kernel-learn builds, trained until its training MSE reaches the goal below). Part of
 * `npm run bench` (bench.ts calls stageBench); alone:
 *
 *   node dist/bench/stage-bench.js [--quick] [--photos DIR] [--runs N] [--no-torch] [--record docs/records/output-stages.json]
 *
 * Targets, made by the project's own filters (src/filters) from the u8 inputs:
 *   linear       cv2.Sobel dx, float32                                  (--arch linear)
 *   clamp        cv2.Sobel dx to CV_8U (negative responses saturate)    (--clamp auto)
 *   abs          cv2.convertScaleAbs of Sobel dx (|v| rounded, to u8)   (--abs)
 *   magnitude    sqrt(Sobel dx^2 + Sobel dy^2), float32                 (--magnitude)
 *   curve-after  (Gaussian 5x5 of x / 255) ^ (1 / 2.2), float32         (--arch curve-after)
 *   curves       sRGB decode, Gaussian 5x5, sRGB encode, u8             (--arch curves)
 * Each stage's targets are trained three times: the plain linear fit (--arch linear), the stage
 * asked for by name, and under the defaults (--arch auto, which fits the linear fit first and then
 * the stages worth trying). Variants run interleaved, round by round, so that the machine's load
 * falls on each alike; medians, with the CPU time (user + system) beside.
 * Goal (issue 15): each stage by name within 2x the whole process of the linear fit on the same
 * data (its own targets, --arch linear); the ratio to the linear fit of Sobel dx (an exact 3x3,
 * the fastest fit there is) is printed beside.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { applyFilter } from '../src/filters/ops.js';
import type { Image } from '../src/image.js';
import { writeImage } from '../src/io/index.js';
import { median, range, sixInputs, type BenchRow } from './gram-bench.js';
import { busyNote, interleaved, timedCli } from './processes.js';
import { gitState, writeBenchRecord } from './record.js';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PY = '/usr/bin/python3';
const PY_BENCH = path.join(ROOT, 'bench/py_bench.py');

interface Task {
  stage: string;
  /** The target of one input (u8 pixel values as float32). */
  target: (input: Image) => Image;
  /** train's flags that ask for the stage by name. */
  flags: string[];
  /** The PyTorch loop's goal: training MSE. */
  goal: (targets: Image[]) => number;
}

const map = (im: Image, f: (v: number, i: number) => number, depth: Image['depth']): Image => ({ ...im, depth, data: Float32Array.from(im.data, f) });
const sobel = (input: Image, dx: number, dy: number): Image => applyFilter(input, { op: 'sobel', dx, dy, ksize: 3 });
const gauss = (input: Image): Image => applyFilter(input, { op: 'gaussian', ksize: 5, sigma: 0 });
const srgbDecode = (v: number): number => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
const srgbEncode = (v: number): number => (v <= 0.0031308 ? 12.92 * v : 1.055 * Math.max(v, 0) ** (1 / 2.4) - 0.055);
const u8 = (v: number): number => Math.min(255, Math.max(0, Math.round(v)));
/** An 8-bit target within +-0.7 levels RMS; a float one at 60 dB of its mean square. */
const U8_GOAL = (): number => 0.5;
const FLOAT_GOAL = (targets: Image[]): number => {
  let s = 0, n = 0;
  for (const t of targets) for (const v of t.data) { s += v * v; n++; }
  return 1e-6 * (s / n);
};

const TASKS: Task[] = [
  { stage: 'linear', target: (x) => sobel(x, 1, 0), flags: ['--arch', 'linear'], goal: FLOAT_GOAL },
  { stage: 'clamp', target: (x) => applyFilter(x, { op: 'sobel', dx: 1, dy: 0, ksize: 3, depth: 'u8' }), flags: ['--arch', 'linear', '--clamp', 'auto'], goal: U8_GOAL },
  { stage: 'abs', target: (x) => map(sobel(x, 1, 0), (v) => u8(Math.abs(v)), 'u8'), flags: ['--arch', 'linear', '--abs'], goal: U8_GOAL },
  {
    stage: 'magnitude',
    target: (x) => { const gy = sobel(x, 0, 1).data; return map(sobel(x, 1, 0), (v, i) => Math.sqrt(v * v + gy[i] * gy[i]), 'f32'); },
    flags: ['--arch', 'linear', '--magnitude'], goal: FLOAT_GOAL,
  },
  { stage: 'curve-after', target: (x) => map(gauss(x), (v) => Math.max(v / 255, 0) ** (1 / 2.2), 'f32'), flags: ['--arch', 'curve-after'], goal: FLOAT_GOAL },
  {
    stage: 'curves',
    target: (x) => map(gauss(map(x, (v) => srgbDecode(v / 255), 'f32')), (v) => u8(255 * srgbEncode(v)), 'u8'),
    flags: ['--arch', 'curves'], goal: U8_GOAL,
  },
];

interface Variant {
  name: string;
  task: Task;
  flags: string[];
}

/** One train process: wall ms, and CPU seconds (user + system) when /usr/bin/time is there. */
/** One whole `train` process on the inputs and one task's targets, --ksize auto, no report, with `flags`. */
function trainOnce(dir: string, target: string, flags: string[]): Promise<{ ms: number; cpuS: number | null }> {
  return timedCli(['train', '--input', path.join(dir, 'input'), '--target', path.join(dir, target), '--out', path.join(dir, `${target}.json`), '--ksize', 'auto', '--no-report', ...flags]);
}

/** The inputs as u8 PNGs and each task's targets (u8 as PNG, float as .npy) under dir; the targets' images by task. */
async function writeData(dir: string, photos: string | null): Promise<Map<string, Image[]>> {
  await fs.rm(dir, { recursive: true, force: true });
  const images = (await sixInputs(photos)).map((im) => map(im, u8, 'u8')); // the pixels the PNGs hold
  const targets = new Map<string, Image[]>();
  await fs.mkdir(path.join(dir, 'input'), { recursive: true });
  for (const [i, im] of images.entries()) await writeImage(path.join(dir, 'input', `img${i}.png`), im);
  for (const task of TASKS) {
    await fs.mkdir(path.join(dir, task.stage), { recursive: true });
    const ts = images.map(task.target);
    for (const [i, t] of ts.entries()) await writeImage(path.join(dir, task.stage, `img${i}.${t.depth === 'u8' ? 'png' : 'npy'}`), t);
    targets.set(task.stage, ts);
  }
  return targets;
}

export async function stageBench(opts: { quick: boolean; photos?: string | null; runs?: number; torch?: boolean; rows: BenchRow[]; notes: string[]; scratch: string }): Promise<Record<string, unknown>> {
  const dir = path.join(opts.scratch, 'stages');
  const targets = await writeData(dir, opts.photos ?? null);
  const data = opts.photos ? `six 512^2 photographs (${opts.photos})` : 'six 512^2 photo-like synthetic images';
  // Each stage beside the linear fit of the same targets (the goal's baseline: the same data and
  // flags, --arch linear) and the linear fit of Sobel dx targets (an exact 3x3: the fastest fit).
  const variants: Variant[] = [];
  const baseline: number[] = [];
  for (const task of TASKS) {
    if (task.stage === 'linear') {
      baseline.push(variants.length);
      variants.push({ name: 'linear (Sobel dx)', task, flags: task.flags });
      continue;
    }
    const own = variants.length;
    variants.push({ name: `linear fit of the ${task.stage} targets`, task, flags: ['--arch', 'linear'] });
    baseline.push(own);
    variants.push({ name: `${task.stage} by name`, task, flags: task.flags });
    baseline.push(own);
    variants.push({ name: `${task.stage} targets, --arch auto`, task, flags: [] });
    baseline.push(own);
  }
  const runs = opts.runs ?? (opts.quick ? 2 : 5);
  await trainOnce(dir, 'linear', TASKS[0].flags); // a first run warms the file cache
  const { times, cpu, load } = await interleaved(variants.length, runs, (v) => trainOnce(dir, variants[v].task.stage, variants[v].flags));
  const ms = times.map(median);
  const group = 'output stages (train, whole process, --ksize auto)';
  const cpuText = (v: number): string => (cpu[v].length ? `, CPU ${median(cpu[v]).toFixed(2)} s` : '');
  const torch: Record<string, unknown> = {};
  for (const [v, variant] of variants.entries()) {
    const b = baseline[v];
    const paired = median(times[v].map((t, r) => t / times[b][r]));
    const cpuRatio = cpu[v].length && cpu[b].length ? `, CPU ${(median(cpu[v]) / median(cpu[b])).toFixed(2)}x` : '';
    const byName = variant.name.endsWith('by name');
    const sobel = v > 0 ? `; ${(ms[v] / ms[0]).toFixed(2)}x the linear fit of Sobel dx` : '';
    opts.rows.push({
      group,
      what: `train ${variant.name}, ${data} (range ${range(times[v])} ms${cpuText(v)}; per-round ratios: median ${paired.toFixed(2)}x${cpuRatio}${sobel})`,
      ours: `${ms[v].toFixed(0)} ms`, other: `${ms[b].toFixed(0)} ms ${variants[b].name}`, ratio: `${(ms[v] / ms[b]).toFixed(2)}x${byName ? ' (goal <= 2x)' : ''}`,
    });
  }
  if (opts.torch !== false && existsSync(PY)) {
    const cap = opts.quick ? 20 : 60;
    for (const task of TASKS) {
      const goal = task.goal(targets.get(task.stage)!);
      try {
        const { stdout } = await execFileP(PY, [PY_BENCH, 'torch_stage', task.stage, path.join(dir, 'input'), path.join(dir, task.stage), '2', String(cap), String(goal)], { maxBuffer: 1 << 20 });
        const r = JSON.parse(stdout.trim().split('\n').pop()!) as { s: number; steps: number; mse: number; reached: boolean };
        torch[task.stage] = { ...r, goal };
        // The stage asked for by name (for linear, the Sobel dx fit itself).
        const v = variants.findIndex((x) => x.task === task && (task.stage === 'linear' || x.name.endsWith('by name')));
        opts.rows.push({
          group,
          what: `${task.stage}: kernel-learn by name vs a PyTorch Adam loop on the same network to training MSE ${goal.toPrecision(2)} (2 threads, cap ${cap} s): ${r.steps} steps, MSE ${r.mse.toPrecision(3)}${r.reached ? '' : ', not reached'}`,
          ours: `${ms[v].toFixed(0)} ms`, other: `${(r.s * 1000).toFixed(0)} ms`, ratio: `${r.reached ? '' : '>= '}${((r.s * 1000) / ms[v]).toFixed(1)}x faster`,
        });
      } catch (e) {
        opts.notes.push(`output stages: the PyTorch loop for ${task.stage} failed (${(e as Error).message.split('\n')[0]})`);
      }
    }
  }
  const busy = busyNote('output stages', load);
  if (busy) opts.notes.push(busy);
  return {
    data, runs, loadAverage: load, torch,
    variants: variants.map((v, i) => ({ name: v.name, stage: v.task.stage, flags: v.flags, baseline: variants[baseline[i]].name, ms: ms[i], times: times[i], cpuS: cpu[i].length ? median(cpu[i]) : null })),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const git = gitState(), loadBefore = os.loadavg(); // the checkout and the machine as the run started
  const arg = (name: string): string | null => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : null);
  const runs = arg('--runs');
  const res = await stageBench({
    quick: process.argv.includes('--quick'), photos: arg('--photos'), runs: runs ? Number(runs) : undefined, torch: !process.argv.includes('--no-torch'),
    rows, notes, scratch: path.join(os.tmpdir(), 'kernel-learn-bench'),
  });
  const width = (k: keyof BenchRow): number => Math.max(...rows.map((r) => r[k].length), k.length);
  for (const r of rows) console.log((['what', 'ours', 'other', 'ratio'] as const).map((k) => r[k].padEnd(width(k))).join(' | '));
  for (const n of notes) console.log(`note: ${n}`);
  console.log(JSON.stringify({ loadAverage: res.loadAverage, variants: res.variants, torch: res.torch }));
  const record = arg('--record'); // docs/performance.md's output-stages section is generated from it
  if (record) await writeBenchRecord(record, 'output-stages', { quick: process.argv.includes('--quick'), rows, notes, result: res, git, loadBefore });
}

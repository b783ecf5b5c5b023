/**
 * What `train`'s options cost a user: whole processes (node start, decoding, training, writing the
 * model and the report) on six 512x512 8-bit images with float32 Sobel dx targets, the variants
 * interleaved run by run so that the machine's load falls on each alike; medians and ranges of the
 * wall time, and the CPU time (user + system) beside it. Part of `npm run bench` (bench.ts calls
 * trainOptionsBench); alone:
 *
 *   node dist/bench/cli-bench.js [--quick] [--photos DIR] [--runs N] [--record docs/records/train-options.json]
 *
 * Data: the photographs of --photos DIR (the first six PNG/JPEG files, centre-cropped to 512x512)
 * or the project's photo-like synthetic images (bench/gram-bench.ts sixInputs).
 * Rows: the default run report against --no-report (it renders while the model trains; goal at
 * most 1.2x), and --ksize auto against --ksize 3 (auto is the default because it costs at most
 * 1.5x a 3x3 fit).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyFilter } from '../src/filters/ops.js';
import { writeImage } from '../src/io/index.js';
import { median, range, sixInputs, type BenchRow } from './gram-bench.js';
import { busyNote, interleaved, timedCli } from './processes.js';
import { gitState, writeBenchRecord } from './record.js';


interface Variant {
  name: string;
  flags: string[];
}

const VARIANTS: Variant[] = [
  { name: 'ksize 3, --no-report', flags: ['--ksize', '3', '--no-report'] },
  { name: 'ksize 3, report', flags: ['--ksize', '3'] },
  { name: 'ksize auto, --no-report', flags: ['--ksize', 'auto', '--no-report'] },
  { name: 'ksize auto, report (the defaults)', flags: [] },
];

/** One train process: wall ms, and CPU seconds (user + system) when /usr/bin/time is there. */
/** One whole `train` process on the bench's pairs with `flags`. */
function trainOnce(dir: string, flags: string[]): Promise<{ ms: number; cpuS: number | null }> {
  return timedCli(['train', '--input', path.join(dir, 'input'), '--target', path.join(dir, 'target'), '--out', path.join(dir, 'm.json'), ...flags]);
}

export async function trainOptionsBench(opts: { quick: boolean; photos?: string | null; runs?: number; rows: BenchRow[]; notes: string[]; scratch: string }): Promise<Record<string, unknown>> {
  const dir = path.join(opts.scratch, 'train-options');
  await fs.rm(dir, { recursive: true, force: true });
  await fs.mkdir(path.join(dir, 'input'), { recursive: true });
  await fs.mkdir(path.join(dir, 'target'), { recursive: true });
  const images = await sixInputs(opts.photos ?? null);
  for (const [i, im] of images.entries()) {
    const input = { ...im, depth: 'u8' as const };
    await writeImage(path.join(dir, 'input', `img${i}.png`), input);
    await writeImage(path.join(dir, 'target', `img${i}.npy`), applyFilter(input, { op: 'sobel', dx: 1, dy: 0, ksize: 3 }));
  }
  const data = opts.photos ? `six 512^2 photographs (${opts.photos})` : 'six 512^2 photo-like synthetic images';
  const runs = opts.runs ?? (opts.quick ? 3 : 9);
  await trainOnce(dir, VARIANTS[0].flags); // a first run warms the file cache for all
  const { times, cpu, load } = await interleaved(VARIANTS.length, runs, (v) => trainOnce(dir, VARIANTS[v].flags));
  const ms = times.map(median);
  const group = 'train options (whole process)';
  const cpuText = (v: number): string => (cpu[v].length ? `, CPU ${median(cpu[v]).toFixed(2)} s` : '');
  for (const [v, variant] of VARIANTS.entries()) {
    opts.rows.push({ group, what: `train ${variant.name}, Sobel dx, ${data} (range ${range(times[v])} ms${cpuText(v)})`, ours: `${ms[v].toFixed(0)} ms`, other: '', ratio: '' });
  }
  // Beside the ratio of the medians: the median of the ratios within each round (the two runs
  // next to each other, under about the same load), and the ratio of the median CPU times.
  const ratio = (a: number, b: number, what: string, goal: string): void => {
    const paired = median(times[a].map((t, r) => t / times[b][r]));
    const cpuRatio = cpu[a].length && cpu[b].length ? `, CPU ${(median(cpu[a]) / median(cpu[b])).toFixed(2)}x` : '';
    opts.rows.push({ group, what: `${what} (per-round ratios: median ${paired.toFixed(2)}x${cpuRatio})`, ours: `${ms[a].toFixed(0)} ms`, other: `${ms[b].toFixed(0)} ms`, ratio: `${(ms[a] / ms[b]).toFixed(2)}x (goal <= ${goal})` });
  };
  ratio(1, 0, 'ksize 3: with the run report vs --no-report', '1.2x');
  ratio(3, 2, 'ksize auto: with the run report vs --no-report', '1.2x');
  ratio(2, 0, '--no-report: ksize auto vs ksize 3', '1.5x');
  ratio(3, 1, 'with the report: ksize auto vs ksize 3', '1.5x');
  const busy = busyNote('train options', load);
  if (busy) opts.notes.push(busy);
  return {
    data,
    runs,
    loadAverage: load,
    variants: VARIANTS.map((v, i) => ({ name: v.name, flags: v.flags, ms: ms[i], times: times[i], cpuS: cpu[i].length ? median(cpu[i]) : null })),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const git = gitState(), loadBefore = os.loadavg(); // the checkout and the machine as the run started
  const arg = (name: string): string | null => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : null);
  const runs = arg('--runs');
  const res = await trainOptionsBench({ quick: process.argv.includes('--quick'), photos: arg('--photos'), runs: runs ? Number(runs) : undefined, rows, notes, scratch: path.join(os.tmpdir(), 'kernel-learn-bench') });
  const width = (k: keyof BenchRow): number => Math.max(...rows.map((r) => r[k].length), k.length);
  for (const r of rows) console.log((['what', 'ours', 'other', 'ratio'] as const).map((k) => r[k].padEnd(width(k))).join(' | '));
  for (const n of notes) console.log(`note: ${n}`);
  console.log(JSON.stringify({ loadAverage: res.loadAverage }));
  const record = arg('--record'); // docs/performance.md's train-options section is generated from it
  if (record) await writeBenchRecord(record, 'train-options', { quick: process.argv.includes('--quick'), rows, notes, result: res, git, loadBefore });
}

/**
 * Run records of the benches (`--record FILE`): the rows a bench prints, its notes and raw result,
 * with the machine, the versions (the checkout's commit as the run started), the load and the date,
 * in the shape src/experiments/record.ts gives experiments. docs/performance.md's generated
 * sections are rendered from them (src/experiments/answers-doc.ts; node tools/answers-doc.mjs).
 */
import { execFile, execFileSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BenchRow } from './gram-bench.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The checkout's commit and whether it had uncommitted changes (nulls outside a git checkout). */
export function gitState(): { commit: string | null; dirty: boolean | null } {
  try {
    const git = (args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit: git(['rev-parse', 'HEAD']).trim(), dirty: git(['status', '--porcelain', '--untracked-files=no']).trim().length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}

/** PyTorch's version (Debian's /usr/bin/python3), or null. */
export async function torchVersion(): Promise<string | null> {
  try {
    return (await promisify(execFile)('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'])).stdout.trim();
  } catch {
    return null;
  }
}

/** What a bench hands over for its record; `git` and `loadBefore` taken as the run started. */
export interface BenchRun {
  quick: boolean;
  rows: BenchRow[];
  notes: string[];
  result: unknown;
  git: { commit: string | null; dirty: boolean | null };
  loadBefore: number[];
}

/** Writes the run record of `experiment` to `file` (JSON), the load after taken now. */
export async function writeBenchRecord(file: string, experiment: string, run: BenchRun): Promise<void> {
  const cpus = os.cpus();
  const record = {
    experiment, quick: run.quick, date: new Date().toISOString(),
    machine: { cpus: cpus.length, cpu: cpus[0]?.model.trim() ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), platform: os.platform(), release: os.release(), arch: os.arch() },
    versions: { node: process.version, torch: await torchVersion(), ...run.git },
    load: { before: run.loadBefore, after: os.loadavg() }, rows: run.rows, notes: run.notes, result: run.result,
  };
  // A temporary name, then a rename: a run stopped halfway leaves the committed record as it was.
  writeFileSync(`${file}.tmp`, JSON.stringify(record, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

/**
 * A bench run from the command line: `run` fills the rows and notes (and returns its raw result),
 * which are printed, then recorded under `experiment` when `--record FILE` is given. `--quick`
 * and `arg(flag)` (the value after a flag) are passed on.
 */
export async function benchMain(experiment: string, run: (ctx: { quick: boolean; arg: (flag: string) => string | null; rows: BenchRow[]; notes: string[] }) => Promise<unknown>): Promise<void> {
  const git = gitState(), loadBefore = os.loadavg(); // the checkout and the machine as the run started
  const rows: BenchRow[] = [], notes: string[] = [];
  const quick = process.argv.includes('--quick');
  const arg = (flag: string): string | null => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : null);
  const result = await run({ quick, arg, rows, notes });
  for (const r of rows) console.log([r.what, r.ours, r.other, r.ratio].join(' | '));
  for (const n of notes) console.log(`note: ${n}`);
  const record = arg('--record');
  if (record) await writeBenchRecord(record, experiment, { quick, rows, notes, result, git, loadBefore });
}

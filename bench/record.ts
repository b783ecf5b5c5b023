/**
 * Run records of the benches (`--record FILE`): the rows a bench prints, its notes and raw result,
 * with the machine, the versions (the checkout's commit as the run started), the load and the date,
 * in the shape src/experiments/record.ts gives experiments. docs/performance.md's generated
 * sections are rendered from them (src/experiments/answers-doc.ts; node tools/answers-doc.mjs).
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
}

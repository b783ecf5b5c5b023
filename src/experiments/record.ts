/**
 * Run records: an experiment's full result with where and when it ran (machine, versions, load,
 * date), written as JSON by `kernel-learn experiment <name> --record FILE` and committed under
 * docs/records/. The figures in docs/answers.md are generated from these files (answers-doc.ts),
 * never typed by hand, so a number in the doc can always be traced to the run that produced it.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { KERNEL_LEARN_VERSION } from '../nn/model.js';
import type { Experiment, ExperimentResult } from './types.js';

export interface RunRecord extends ExperimentResult {
  experiment: string;
  question: string;
  quick: boolean;
  /** ISO 8601, UTC, when the run finished. */
  date: string;
  seconds: number;
  machine: { cpus: number; cpu: string; memoryGiB: number; platform: string; release: string; arch: string };
  versions: { node: string; kernelLearn: string; commit: string | null; dirty: boolean | null };
  /** os.loadavg() (1, 5, 15 minutes) before and after: the machine is shared, timings move with it. */
  load: { before: number[]; after: number[] };
}

/** The checkout's commit and whether it had uncommitted changes, or nulls outside a git checkout. */
function gitState(cwd: string): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}

/** Runs `exp` and returns its record; `cwd` is the checkout whose commit is recorded. */
export async function recordRun(exp: Experiment, quick: boolean, cwd: string): Promise<RunRecord> {
  // The checkout as it was when the run started (the code that ran), not when it ended.
  const git = gitState(cwd);
  const before = os.loadavg();
  const t0 = performance.now();
  const result = await exp.run({ quick });
  const seconds = (performance.now() - t0) / 1000;
  const cpus = os.cpus();
  return {
    experiment: exp.name, question: exp.question, quick, date: new Date().toISOString(), seconds,
    machine: { cpus: cpus.length, cpu: cpus[0]?.model.trim() ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), platform: os.platform(), release: os.release(), arch: os.arch() },
    versions: { node: process.version, kernelLearn: KERNEL_LEARN_VERSION, ...git },
    load: { before, after: os.loadavg() },
    ...result,
  };
}

/** Where and when the record ran, in a sentence. */
export function runLine(rec: RunRecord): string {
  const m = rec.machine, v = rec.versions;
  const load = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' / ');
  return `Recorded ${rec.date.slice(0, 10)} on ${m.cpus} x ${m.cpu} (${m.platform}, ${m.memoryGiB} GiB), Node ${v.node}, kernel-learn ${v.kernelLearn}` +
    `${v.commit ? ` at ${v.commit.slice(0, 7)}${v.dirty ? ' (with uncommitted changes)' : ''}` : ''}; load average (1 / 5 / 15 min) ${load(rec.load.before)} before, ${load(rec.load.after)} after; ${Math.round(rec.seconds)} s in all` +
    ` (\`docs/records/${rec.experiment}.json\`).`;
}


/**
 * A bench's run record (bench/record.ts writeBenchRecord): where and when it ran, its rows as the
 * bench prints them, its notes, and its result (`R`: each bench's own shape).
 */
export interface BenchRecord<R = unknown> {
  experiment: string;
  quick: boolean;
  date: string;
  machine: RunRecord['machine'];
  versions: { node: string; torch: string | null; commit: string | null; dirty: boolean | null };
  load: RunRecord['load'];
  rows: { group: string; what: string; ours: string; other: string; ratio: string }[];
  notes: string[];
  result: R;
}

/** Where and when a bench record ran, in a sentence. */
export function benchWhere(rec: BenchRecord): string {
  const m = rec.machine, load = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' / ');
  return `Recorded ${rec.date.slice(0, 10)} on ${m.cpus} x ${m.cpu}, Node ${rec.versions.node}${rec.versions.commit ? ` at ${rec.versions.commit.slice(0, 7)}${rec.versions.dirty ? ' (with uncommitted changes)' : ''}` : ''}; ` +
    `load average ${load(rec.load.before)} before, ${load(rec.load.after)} after (\`docs/records/${rec.experiment}.json\`).`;
}

/**
 * Whole `kernel-learn` processes timed as a user meets them (node start, decoding, training,
 * writing), and variants run interleaved round by round, so that the machine's load, which moves
 * on a shared VM, falls on each variant alike: bench/cli-bench.ts and bench/stage-bench.ts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
/** GNU time, for the CPU time (user + system) beside the wall time; without it, wall time only. */
const TIME = '/usr/bin/time';

/** One `kernel-learn ARGS` process: its wall time (ms) and CPU time (s, null without GNU time). */
export async function timedCli(args: string[]): Promise<{ ms: number; cpuS: number | null }> {
  const timed = existsSync(TIME);
  const t = performance.now();
  const { stderr } = timed ? await execFileP(TIME, ['-f', '__CPU__ %U %S', process.execPath, CLI, ...args]) : await execFileP(process.execPath, [CLI, ...args]);
  const ms = performance.now() - t;
  const m = /__CPU__ ([\d.]+) ([\d.]+)/.exec(stderr);
  return { ms, cpuS: m ? Number(m[1]) + Number(m[2]) : null };
}

/**
 * `runs` rounds of `count` variants, variant v timed by run(v), in order within each round:
 * per variant its wall times and CPU times, and the 1-minute load before and after each round.
 */
export async function interleaved(count: number, runs: number, run: (v: number) => Promise<{ ms: number; cpuS: number | null }>): Promise<{ times: number[][]; cpu: number[][]; load: number[] }> {
  const load = [os.loadavg()[0]];
  const times = Array.from({ length: count }, () => [] as number[]);
  const cpu = Array.from({ length: count }, () => [] as number[]);
  for (let r = 0; r < runs; r++) {
    for (let v = 0; v < count; v++) {
      const { ms, cpuS } = await run(v);
      times[v].push(ms);
      if (cpuS !== null) cpu[v].push(cpuS);
    }
    load.push(os.loadavg()[0]);
  }
  return { times, cpu, load };
}

/** The note when the load was above the CPU count during the rounds (null otherwise). */
export function busyNote(what: string, load: number[]): string | null {
  if (Math.max(...load) <= os.cpus().length) return null;
  return `${what}: the machine was busy (1-minute load ${Math.min(...load).toFixed(1)}-${Math.max(...load).toFixed(1)} on ${os.cpus().length} CPUs); the variants ran interleaved, so their ratios are fairer than their times`;
}

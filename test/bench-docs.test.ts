/**
 * The bench-generated sections (src/experiments/bench-docs.ts) of docs/answers.md (Q4),
 * docs/performance.md and README.md: each equals what its committed record renders, a changed
 * figure is caught, and each claim the generated prose makes holds in the record at the threshold
 * the prose states. Reads the records only: no Python, no bench runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { updateGenerated } from '../src/experiments/answers-doc.js';
import {
  BENCH_SECTIONS, bestTorch, CONV_METHODS, convTimes, fftCrossover, times,
  type Baselines, type ConvAlgos, type CoreBench,
} from '../src/experiments/bench-docs.js';
import type { BenchRecord, RunRecord } from '../src/experiments/record.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = path.join(root, 'docs', 'records');
const records: Record<string, unknown> = Object.fromEntries(
  readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => [f.slice(0, -5), JSON.parse(readFileSync(path.join(dir, f), 'utf8'))]),
);
const read = (rel: string): string => readFileSync(path.join(root, rel), 'utf8');
const bench = (name: string): BenchRecord => records[name] as BenchRecord;
/** The text between a section's markers in its doc. */
function section(name: string): string {
  const doc = read(BENCH_SECTIONS[name].doc);
  const open = `<!-- generated:${name} -->`;
  return doc.slice(doc.indexOf(open) + open.length, doc.indexOf(`<!-- /generated:${name} -->`)).trim();
}

test('bench sections: each equals what its record renders, from a full run with machine, versions, load and date', () => {
  for (const [name, s] of Object.entries(BENCH_SECTIONS)) {
    const rec = records[s.record] as BenchRecord | undefined;
    assert.ok(rec, `docs/records/${s.record}.json for ${name}`);
    assert.equal(rec.quick, false, `${s.record}: a full run, not --quick`);
    assert.ok(rec.machine.cpus >= 1 && rec.versions.node && rec.load.before.length === 3 && !Number.isNaN(Date.parse(rec.date)), s.record);
    assert.equal(section(name), s.render(rec).trim(), `${s.doc} ${name}: run npm run build && node tools/answers-doc.mjs`);
  }
});

test('bench sections: a changed figure is caught in each doc', () => {
  for (const name of ['conv-algorithms', 'baselines', 'readme-stream']) {
    const rel = BENCH_SECTIONS[name].doc, doc = read(rel);
    const at = doc.indexOf(`<!-- generated:${name} -->`);
    const tampered = doc.slice(0, at) + doc.slice(at).replace(/(\d+)( ms| MB)/, (_m, v: string, unit: string) => `${Number(v) + 1}${unit}`);
    assert.notEqual(tampered, doc, `${name} has a figure to change`);
    assert.notEqual(updateGenerated(rel, tampered, records as never), tampered, name);
  }
});

test('Q4 conv algorithms: the crossover, and who wins below and above it, hold in the record', () => {
  const r = bench('conv-algorithms').result as ConvAlgos;
  const text = section('conv-algorithms');
  const rows = convTimes(r);
  const fft = (t: Record<string, number>): number => Math.min(...CONV_METHODS.filter((m) => m.family === 'fft').map((m) => t[m.key] ?? Infinity));
  const cross = fftCrossover(r);
  if (cross) {
    assert.match(text, new RegExp(`overtakes our direct loop from ${cross.from}x${cross.from} on`));
    for (const x of rows.filter((x) => x.k >= cross.from)) assert.ok(fft(x.t) < x.t.ours, `${x.k}: the FFT beats ours from the crossover on`);
    const before = rows.filter((x) => x.k < cross.from);
    if (before.length) assert.ok(before.at(-1)!.t.ours <= fft(before.at(-1)!.t), 'the size before the crossover goes to the direct loop');
    if (text.includes('the direct loop wins at every size')) for (const x of before) assert.ok(x.t.ours <= fft(x.t), `${x.k}: ours wins below the crossover`);
  }
  // The sizes named as cv2.filter2D's wins are its wins, and only those.
  const cvKey = CONV_METHODS[3].key;
  const wins = rows.filter((x) => x.t[cvKey] < x.t.ours).map((x) => `${x.k}x${x.k}`);
  assert.match(text, new RegExp(`faster than ours at ${wins.length ? wins.join(', ') : 'no size'}`));
  // performance.md's "Not done" says so in words: it must hold at every size.
  const perf = read('docs/performance.md').replace(/\s+/g, ' ');
  assert.ok(perf.includes('faster than ours on one thread at every size'), 'the sentence this checks');
  assert.equal(wins.length, rows.length, 'cv2.filter2D beats ours at every size');
  // "Every output agrees with a float64 convolution": float32 rounding, nothing more.
  for (const k of r.ksizes) {
    for (const [name, v] of Object.entries(r.python?.results[k] ?? {})) {
      const err = typeof v === 'number' ? v : v.relErr;
      assert.ok(err < 1e-5, `${k}x${k} ${name}: max error ${err} of the peak`);
    }
  }
  // Every method of the table was measured at every size.
  for (const x of rows) assert.equal(Object.keys(x.t).length, CONV_METHODS.length + 1, `${x.k}x${x.k}`);
});

test('baselines: the prose\'s "faster" claims hold in the record, and each tuned baseline is what the rows say', () => {
  const b = bench('baselines').result as Baselines;
  const text = section('baselines');
  const best = bestTorch(b), runs = b.learning.torchTuned!.runs;
  if (best) {
    assert.ok(best.s * 1000 > b.learning.ours.ms, 'ours (a whole process) is faster than the tuned PyTorch loop alone');
    assert.equal(best.s, Math.min(...runs.filter((r) => r.converged).map((r) => r.s)), 'the fastest converged rate is the baseline');
  } else {
    // No rate converged: the prose gives a lower bound, which holds for every rate.
    assert.match(text, /at no rate within its cap/);
    for (const r of runs) assert.ok(r.s * 1000 > b.learning.ours.ms && r.maxErr >= 1e-4, `lr ${r.lr}`);
  }
  assert.ok(b.lrs.length >= 4, 'a sweep, not one rate');
  // Least squares: ours solves to the kernel, and beats the fastest unfold + solve.
  assert.ok(b.leastSquares.ours.maxErr < 1e-6);
  const py = b.leastSquares.python!;
  const fastest = Math.min(...Object.values(py.results).map((v) => v.ms + py.buildMs));
  assert.ok(fastest > b.leastSquares.ours.ms, `fastest numpy/PyTorch ${fastest} ms vs ours ${b.leastSquares.ours.ms} ms`);
  assert.match(text, /faster than the fastest/);
  // The figures the prose quotes for onnxruntime and TF.js are the record's.
  if (b.onnx.ort1) assert.match(text, new RegExp(`onnxruntime-node takes ${times(b.onnx.ort1.ms / b.onnx.ours1.ms)} our time on 1 thread`));
  if (b.tfjs.cpu && b.tfjs.ours) assert.ok(b.tfjs.cpu.ms > b.tfjs.ours.ms);
});

test('performance.md targets: each "met" or "not met" is what the record\'s figures give', () => {
  const r = bench('bench').result as CoreBench;
  const lines = section('bench-targets').split('\n');
  const verdict = (start: string): boolean => {
    const l = lines.find((x) => x.startsWith(`- ${start}`));
    assert.ok(l, start);
    return l.split(':')[1].trim().startsWith('met'); // the first verdict of the line
  };
  if (r.apply.pythonOpencvMs) assert.equal(verdict('apply, whole process'), r.apply.pythonOpencvMs >= r.apply.oursMs);
  assert.equal(verdict('memory bandwidth'), r.conv.bandwidthFraction >= 0.5);
  const side = r.conv.sideBySide as { best: { mpx: number } } | undefined;
  if (side && typeof r.conv.opencvDstMpxPerS === 'number') assert.equal(verdict('apply in process'), side.best.mpx >= r.conv.opencvDstMpxPerS);
  assert.equal(verdict('train (exact) within'), r.train.exactMs <= 3 * r.train.decodeProcessMs);
  if (r.stream) {
    assert.ok(r.stream.peakMB <= r.stream.targetMB, `streaming peak ${r.stream.peakMB} MB`);
    assert.match(section('readme-stream'), new RegExp(`peaks at ${r.stream.peakMB.toFixed(0)} MB`));
  }
});

test('Q4 experiments: the solvers\' order, the loops\' order and the bf16 verdict hold in their records', () => {
  const o = (records.optimisations as RunRecord).claims, f = (records.frameworks as RunRecord).claims;
  assert.ok((o.exactMs as number) < (o.adamMs as number) && (o.exactMs as number) < (o.sgdMs as number), 'the exact solve is the fastest to 1e-3');
  assert.ok((o.simdSpeedup as number) > (o.fastSpeedup as number), 'SIMD beats the JavaScript loop');
  if (f.torchMeasured) {
    // "cannot certify a kernel": bf16 moves outputs by far more than the 1e-6 a fit is judged by.
    assert.ok(Math.max(f.oneBf16RelError as number, f.sixteenBf16RelError as number) > 1e-3);
    assert.match(section('q4-frameworks'), /cannot certify a kernel/);
  }
});

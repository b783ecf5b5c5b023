/**
 * The generated sections of docs/answers.md are what their committed run records render
 * (src/experiments/answers-doc.ts): a hand-edited figure, or a record rerun without regenerating
 * the doc (node tools/answers-doc.mjs), fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dB, GENERATED_DOCS, SECTIONS, updateGenerated } from '../src/experiments/answers-doc.js';
import type { RunRecord } from '../src/experiments/record.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const recordsDir = path.join(root, 'docs', 'records');
const records: Record<string, RunRecord> = Object.fromEntries(
  readdirSync(recordsDir).filter((f) => f.endsWith('.json')).map((f) => [f.slice(0, -5), JSON.parse(readFileSync(path.join(recordsDir, f), 'utf8')) as RunRecord]),
);
const read = (rel: string): string => readFileSync(path.join(root, rel), 'utf8');
const doc = read('docs/answers.md');

test('docs/answers.md, docs/performance.md: every generated section equals what its run record renders', () => {
  for (const rel of GENERATED_DOCS) assert.equal(updateGenerated(rel, read(rel), records), read(rel), `${rel}: run npm run build && node tools/answers-doc.mjs`);
});

test('docs/answers.md: a changed figure in a generated section is caught', () => {
  const open = '<!-- generated:deeper-table -->';
  const at = doc.indexOf(open) + open.length;
  const tampered = doc.slice(0, at) + doc.slice(at).replace(/\| (\d+\.\d) \|/, (_m, v: string) => `| ${(Number(v) + 1).toFixed(1)} |`);
  assert.notEqual(tampered, doc, 'the table has a PSNR to change');
  assert.notEqual(updateGenerated('docs/answers.md', tampered, records), tampered);
});

test('run records: each section has its record, from a full (not --quick) run with machine, versions, load and date', () => {
  for (const s of Object.values(SECTIONS)) {
    const r = records[s.record];
    assert.ok(r, `docs/records/${s.record}.json`);
    assert.equal(r.quick, false, `docs/records/${s.record}.json comes from a full run, not --quick`);
    assert.ok(r.machine.cpus >= 1 && r.versions.node && r.load.before.length === 3 && !Number.isNaN(Date.parse(r.date)));
  }
  assert.equal(dB('inf'), 'inf');
  assert.equal(dB(196.4), '196');
  assert.equal(dB(34.56), '34.6');
});

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

test('docs/answers.md, docs/performance.md: every generated section equals what its run record renders', () => {
  for (const rel of GENERATED_DOCS) assert.equal(updateGenerated(rel, read(rel), records), read(rel), `${rel}: run npm run build && node tools/answers-doc.mjs`);
});

test('every generated section: changing any one of its figures by hand is caught', () => {
  for (const [name, s] of Object.entries(SECTIONS)) {
    const doc = read(s.doc);
    const open = `<!-- generated:${name} -->`, close = `<!-- /generated:${name} -->`;
    const a = doc.indexOf(open) + open.length, b = doc.indexOf(close);
    const body = doc.slice(a, b);
    // Every digit of the section's own text (not its record line's commit hash), one at a time: the generator must restore each.
    const digits = [...body.matchAll(/\d/g)].map((m) => m.index!);
    assert.ok(digits.length > 0, `${name} has figures`);
    for (const at of digits.filter((_, i) => i % Math.max(1, Math.floor(digits.length / 40)) === 0)) {
      const d = Number(body[at]);
      const tampered = doc.slice(0, a) + body.slice(0, at) + String((d + 1) % 10) + body.slice(at + 1) + doc.slice(b);
      assert.equal(updateGenerated(s.doc, tampered, records), doc, `${name}: a changed digit at ${at} is restored`);
    }
  }
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

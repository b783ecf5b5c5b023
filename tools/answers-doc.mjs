#!/usr/bin/env node
// npm run docs:numbers: rewrites the generated sections of the docs (docs/answers.md, docs/any-filter.md,
// docs/performance.md: SECTIONS in src/experiments/answers-doc.ts) from the run records in docs/records/. Build first (npm run build). --check: exit 1 when the
// doc differs from what the records generate, without writing.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_DOCS, updateGenerated } from '../dist/src/experiments/answers-doc.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'docs', 'records');
const records = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => [f.slice(0, -5), JSON.parse(readFileSync(path.join(dir, f), 'utf8'))]));
let stale = false;
for (const rel of GENERATED_DOCS) {
  const file = path.join(root, rel);
  const doc = readFileSync(file, 'utf8');
  const next = updateGenerated(rel, doc, records);
  if (next === doc) continue;
  stale = true;
  if (!process.argv.includes('--check')) {
    writeFileSync(file, next);
    console.log(`${rel}: generated sections rewritten`);
  }
}
if (stale && process.argv.includes('--check')) {
  console.error('the docs differ from what docs/records/ generate: run node tools/answers-doc.mjs');
  process.exit(1);
}

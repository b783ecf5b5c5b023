#!/usr/bin/env node
// Rewrites the generated sections of docs/answers.md from the run records in docs/records/
// (see src/experiments/answers-doc.ts). Build first (npm run build). --check: exit 1 when the
// doc differs from what the records generate, without writing.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { updateAnswers } from '../dist/src/experiments/answers-doc.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'docs', 'records');
const records = Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => [f.slice(0, -5), JSON.parse(readFileSync(path.join(dir, f), 'utf8'))]));
const file = path.join(root, 'docs', 'answers.md');
const doc = readFileSync(file, 'utf8');
const next = updateAnswers(doc, records);
if (process.argv.includes('--check')) {
  if (next !== doc) {
    console.error('docs/answers.md differs from what docs/records/ generate: run node tools/answers-doc.mjs');
    process.exit(1);
  }
} else if (next !== doc) {
  writeFileSync(file, next);
  console.log('docs/answers.md: generated sections rewritten');
}

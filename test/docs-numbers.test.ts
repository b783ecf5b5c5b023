/**
 * No measurement typed by hand: in the docs below, every measured number lies inside a generated
 * section (`<!-- generated:NAME -->`, rendered from a committed run record by `npm run
 * docs:numbers`, held by test/answers-doc.test.ts). Outside those sections and outside code (fenced
 * or indented blocks, `code spans`: commands, options and constants quoted from the code), a number
 * with a decimal point, in e-notation, or with a unit or ratio (ms, s, dB, %, MB, GiB, Mpx/s, 1.3x)
 * fails here. Sizes (3x3, 64x64), depths (8-bit, float32, int8) and names (Q4, #16) carry no
 * decimal point and no unit, so they stay legal without an exemption.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The docs held to the rule, and the sections of each that are not (by heading, each with its reason). */
const COVERED: { doc: string; exempt: { heading: string; why: string }[] }[] = [
  { doc: 'docs/answers.md', exempt: [] },
  { doc: 'docs/any-filter.md', exempt: [] },
  { doc: 'docs/performance.md', exempt: [] },
  { doc: 'README.md', exempt: [] },
];

/** What reads as a measurement: a decimal, e-notation, a number with a unit, a ratio such as 1.3x. */
const MEASUREMENT = [
  /\d+\.\d+/,
  /\b\d+(?:\.\d+)?e[-+]?\d+\b/i,
  /\d\s*%/,
  /\b\d+(?:\.\d+)?\s*(?:ms|s|µs|us|ns|dB|B|kB|KB|MB|GB|KiB|MiB|GiB|Mpx|Gpx|px\/s|Mpx\/s|Gpx\/s)\b/,
  /\b\d+(?:\.\d+)?x(?![\w\d])/,
];

/** Legal look-alikes, each with its reason (kept short on purpose). */
const EXEMPT: { pattern: RegExp; why: string }[] = [
  { pattern: /\b(?:Node|node|npm|PyTorch|OpenCV|libvips|sharp|onnxruntime(?:-node)?|TensorFlow\.js)\s+\d+(?:\.\d+)+/g, why: 'a version in a name (Node 20.9): a name, not a measurement' },
  { pattern: /\b(?:1\/)?2\.2\b/g, why: 'the gamma exponent 2.2 (and 1/2.2): part of a filter\'s name, like sigma 1.5 in a Gaussian\'s' },
];

/** `doc` without its generated sections, code, and exempt headings' sections: the text typed by hand. */
export function handTyped(doc: string, exemptHeadings: string[]): string {
  let text = doc.replace(/<!-- generated:([\w-]+) -->[\s\S]*?<!-- \/generated:\1 -->/g, '');
  text = text.replace(/```[\s\S]*?```/g, '');
  const lines: string[] = [];
  let skipLevel = 0;
  for (const line of text.split('\n')) {
    const h = /^(#+) /.exec(line);
    if (h && skipLevel && h[1]!.length <= skipLevel) skipLevel = 0;
    if (h && exemptHeadings.some((e) => line.startsWith(e))) skipLevel = h[1]!.length;
    if (skipLevel || /^ {4}/.test(line)) continue;
    lines.push(line);
  }
  // Code spans may wrap onto the next line.
  return lines.join('\n').replace(/`[^`]*`/g, '');
}

/** The hand-typed measurements in `text`, as "line: match" strings. */
export function measurements(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split('\n')) {
    const plain = EXEMPT.reduce((l, e) => l.replace(e.pattern, ''), line);
    const m = MEASUREMENT.map((re) => re.exec(plain)).find((x) => x !== null);
    if (m) found.push(`${m[0]}  in: ${line.trim().slice(0, 120)}`);
  }
  return found;
}

for (const { doc, exempt } of COVERED) {
  test(`${doc}: no measurement typed by hand outside generated sections`, () => {
    const text = handTyped(readFileSync(path.join(root, doc), 'utf8'), exempt.map((e) => e.heading));
    assert.deepEqual(measurements(text), [], `${doc}: put these in a generated section (src/experiments/answers-sections.ts) or drop them`);
  });
}

test('the lint catches what it should and passes what it should', () => {
  for (const bad of ['took 1.3 s', 'a 12 ms step', 'within 1e-9', 'off by 21%', '1.3x faster', '4x the pixels', '186 MB', '30 dB', '0.25 of it'])
    assert.notDeepEqual(measurements(bad), [], bad);
  for (const ok of ['a 3x3 kernel', '64x64 images', '8-bit targets', 'float32', 'int8 taps', 'Q4', 'issue #16', 'Node 20.9', 'every 25 steps', '10 parameters'])
    assert.deepEqual(measurements(ok), [], ok);
  const doc = ['# t', 'typed 1.5 s', '<!-- generated:x -->', '2.5 s', '<!-- /generated:x -->', '    cmd 3.5 s', 'a `4.5 s` span', '## 4. Skip', '5.5 s', '## 5. Next', '6.5 s'].join('\n');
  assert.deepEqual(measurements(handTyped(doc, ['## 4.'])).map((m) => m.split(' ')[0]), ['1.5', '6.5']);
});

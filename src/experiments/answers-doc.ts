/**
 * The generated parts of docs/answers.md and docs/performance.md: each lies between
 * `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` and is rendered here from a committed
 * run record under docs/records/ (record.ts; bench/adam-bench.ts --record). `node
 * tools/answers-doc.mjs` rewrites them; test/answers-doc.test.ts fails when a doc differs from
 * what its records render, so no figure in those parts is typed by hand.
 */
import { benchWhere, runLine, type BenchRecord, type RunRecord } from './record.js';
import { ANSWER_SECTIONS } from './answers-sections.js';

export { runLine };
import { markdownTable, type Cell, type Row } from './types.js';
import { BENCH_SECTIONS } from './bench-docs.js';

/** A PSNR as the doc prints it: one decimal below 100 dB, whole dB above (float32 rounding: an exact fit), 'inf' with no error at all. */
export function dB(v: Cell): string {
  if (v === 'inf') return 'inf';
  if (typeof v !== 'number') return '-';
  return v >= 100 ? String(Math.round(v)) : v.toFixed(1);
}

/** A filter's name without its parameters: what comes before a colon, parentheses left out. */
const shortName = (r: Row): string => String(r.filter).split(':')[0].replace(/\s*\([^)]*\)/g, '').trim();

/** Seconds as the doc prints them: two significant digits, at least one decimal. */
export function secs(v: Cell): string {
  if (typeof v !== 'number') return '-';
  return v < 1 ? v.toFixed(2) : v < 10 ? v.toFixed(1) : String(Math.round(v));
}

const num = (v: Cell): number => (v === 'inf' ? Infinity : typeof v === 'number' ? v : NaN);
const ARCHS = ['linear', 'curves', 'deep'] as const;
type Arch = (typeof ARCHS)[number];
const psnr = (r: Row, a: Arch): number => num(r[`${a} PSNR dB`] ?? null);
/** Above this a fit is exact up to float32 rounding: such fits tie. */
const EXACT_DB = 100;

/** The model with the highest held-out PSNR in a row (ties, exact fits among them, to the simpler: linear, then curves). */
export function best(r: Row): Arch {
  const p = (a: Arch): number => Math.min(psnr(r, a), EXACT_DB);
  return ARCHS.reduce((b, a) => (p(a) > p(b) + 0.05 ? a : b), 'linear' as Arch);
}

/** The Q7 table: one row per filter, three models side by side. */
export function deeperTable(rec: RunRecord): string {
  const head = '| filter | structure | linear dB | curves dB | deep dB | best | parameters (linear / curves / deep) | training s (linear / curves / deep) | deep Adam steps |';
  const rows = rec.table.map((r) => {
    const cells = [
      String(r.filter), String(r.structure), ...ARCHS.map((a) => dB(r[`${a} PSNR dB`] ?? null)), best(r),
      ARCHS.map((a) => String(r[`${a} params`])).join(' / '), ARCHS.map((a) => secs(r[`${a} s`] ?? null)).join(' / '), String(r['deep steps']),
    ];
    return `| ${cells.join(' | ')} |`;
  });
  return [head, `|${' --- |'.repeat(9)}`, ...rows].join('\n');
}

/** min and max of a list, as "a to b" (or "a" when they print the same), `digits` decimals. */
function range(xs: number[], digits = 1): string {
  const lo = Math.min(...xs).toFixed(digits), hi = Math.max(...xs).toFixed(digits);
  return lo === hi ? lo : `${lo} to ${hi}`;
}

/** The paragraph under the table: what the record shows, kind by kind, every number from it. */
export function deeperProse(rec: RunRecord): string {
  const kind = (k: string): Row[] => rec.table.filter((r) => r.structure === k);
  const gain = (r: Row, a: Arch): number => psnr(r, a) - psnr(r, 'linear');
  const out: string[] = [];
  for (const r of kind('one kernel')) {
    out.push(`**${shortName(r)}** is one kernel: the exact fit reaches ${dB(r['linear PSNR dB'] ?? null)} dB (float32 rounding) in ${secs(r['linear s'] ?? null)} s, ` +
      `and the deep net, which can represent it exactly, stops at ${dB(r['deep PSNR dB'] ?? null)} dB after ${String(r['deep steps'])} Adam steps (${secs(r['deep s'] ?? null)} s): optimisation, not capacity.`);
  }
  const curved = kind('kernel, then a curve');
  if (curved.length > 0) {
    const byCurves = curved.filter((r) => best(r) === 'curves').length;
    out.push(`**A kernel with a curve after it** (${curved.map(shortName).join('; ')}): the curve stages beat the linear fit by ${range(curved.map((r) => gain(r, 'curves')))} dB ` +
      `and the deep net by ${range(curved.map((r) => psnr(r, 'curves') - psnr(r, 'deep')))} dB, with ${range(curved.map((r) => num(r['curves params'] ?? null))).replace(/\.0/g, '')} parameters against ${range(curved.map((r) => num(r['deep params'] ?? null))).replace(/\.0/g, '')}; ` +
      `they are the best model for ${byCurves} of ${curved.length}. Depth buys ${range(curved.map((r) => gain(r, 'deep')))} dB over the linear fit here.`);
  }
  const free = kind('no structure');
  if (free.length > 0) {
    const deepBest = free.filter((r) => best(r) === 'deep');
    out.push(`**Filters with no such structure** (${free.map(shortName).join('; ')}): the deep net's gain over the linear fit is ${range(free.map((r) => gain(r, 'deep')))} dB, ` +
      `the curve stages' ${range(free.map((r) => gain(r, 'curves')))} dB; depth is the best model for ${deepBest.length} of ${free.length}${deepBest.length > 0 ? ` (${deepBest.map(shortName).join(', ')})` : ''}, ` +
      `for ${range(free.map((r) => num(r['deep s'] ?? null)), 0)} s of training against ${range(free.map((r) => num(r['linear s'] ?? null)))} s for the linear fit.`);
  }
  return out.join('\n\n');
}

/** The stacks' PSNRs (and train ms) of one target in the depth-width record: claims `${key}D${depth}W${width}`. */
function stacks(rec: RunRecord, key: string): { label: string; psnr: number; ms: number; depth: number }[] {
  const out: { label: string; psnr: number; ms: number; depth: number }[] = [];
  for (const [k, v] of Object.entries(rec.claims)) {
    const m = new RegExp(`^${key}D(\\d+)W(\\d+)$`).exec(k);
    if (m && typeof v === 'number') out.push({ label: `${m[1]} relu layer${m[1] === '1' ? '' : 's'}, width ${m[2]}`, psnr: v, ms: Number(rec.claims[`${k}Ms`]), depth: Number(m[1]) });
  }
  return out;
}

/** The linear fits' PSNRs of one target in the depth-width record (one per receptive field). */
const linears = (rec: RunRecord, key: string): number[] => Object.entries(rec.claims).filter(([k]) => new RegExp(`^${key}Linear\\d+$`).test(k)).map(([, v]) => Number(v));

/** The depth-width paragraph: every number from its record. */
export function depthWidthProse(rec: RunRecord): string {
  const sob = stacks(rec, 'sobel'), mag = stacks(rec, 'magnitude');
  const bestOf = (xs: ReturnType<typeof stacks>): ReturnType<typeof stacks>[number] => xs.reduce((a, b) => (b.psnr > a.psnr ? b : a));
  const parts = [
    `Sobel: the linear fit reaches ${range(linears(rec, 'sobel'), 0)} dB (exact up to float32 rounding) in ${range(Object.entries(rec.claims).filter(([k]) => /^sobelLinearMs\d+$/.test(k)).map(([, v]) => Number(v)), 0)} ms; ` +
      `every stack ends at ${range(sob.map((x) => x.psnr))} dB after ${range(sob.map((x) => x.ms / 1000))} s.`,
    `Magnitude: every stack beats the linear fit (${range(linears(rec, 'magnitude'))} dB) by ${range(mag.map((x) => x.psnr - Math.max(...linears(rec, 'magnitude'))))} dB; the best, ${bestOf(mag).label}, reaches ${bestOf(mag).psnr.toFixed(1)} dB.`,
  ];
  for (const [key, name] of [['median', 'median'], ['bilateral', 'bilateral filter']] as const) {
    const xs = stacks(rec, key);
    if (xs.length === 0) continue;
    const lin = Math.max(...linears(rec, key)), b = bestOf(xs);
    parts.push(`The ${name}: the best stack (${b.label}) ${b.psnr > lin ? 'beats' : 'stays below'} the linear fit, ${b.psnr.toFixed(1)} against ${lin.toFixed(1)} dB.`);
  }
  return `${parts.join(' ')} These stacks are plain (no dilation, a random start) on small synthetic images; the table on photographs above trains \`--arch deep\` itself.`;
}

/** The Adam-step bench record (bench/adam-bench.ts --record). */
export type AdamRecord = BenchRecord<{ ours: Record<string, { ms: number; min: number }>; torch: { label: string; ms: number; min: number }[]; torchFastest: { label: string; ms: number } | null }>;

/** docs/performance.md's Adam-step rows and the sentence that judges the goal (at least as fast as PyTorch). */
export function adamSection(rec: AdamRecord): string {
  const esc = (t: string): string => t.replace(/\|/g, '/');
  const table = ['| Adam step | ours (median, range) | PyTorch (median, range) | ratio (PyTorch time / ours) |', '| --- | --- | --- | --- |',
    ...rec.rows.map((r) => `| ${esc(r.what.trim())} | ${r.ours} | ${r.other} | ${r.ratio} |`)].join('\n');
  const ours = rec.result.ours.oneThread.ms, f = rec.result.torchFastest;
  const verdict = f
    ? `Ours on one thread: ${ours.toFixed(2)} ms a step (median), PyTorch ${rec.versions.torch ?? ''} in its fastest setting here (${f.label}): ${f.ms.toFixed(2)} ms, ` +
      `so ours takes ${(ours / f.ms).toFixed(2)}x its time: the goal (at least as fast) is ${ours <= f.ms ? 'met' : '**not met**'}. ` +
      `The machine was shared and loaded, and PyTorch's times spread more than ours: its fastest single step was ${Math.min(...rec.result.torch.map((t) => t.min)).toFixed(2)} ms, ours ${rec.result.ours.oneThread.min.toFixed(2)} ms.`
    : 'PyTorch was not available when this was recorded.';
  return `${table}\n\n${verdict} ${benchWhere(rec)}`;
}

/** A bench's rows as a table (its goals are in the rows' ratios), its notes and where it ran: bench/cli-bench.ts, bench/stage-bench.ts. */
export function benchSection(rec: BenchRecord): string {
  const esc = (t: string): string => t.replace(/\|/g, '/');
  const table = ['| measured | ours | beside | ratio |', '| --- | --- | --- | --- |',
    ...rec.rows.map((r) => `| ${esc(r.what.trim())} | ${r.ours} | ${esc(r.other)} | ${r.ratio} |`)].join('\n');
  return `${table}\n\n${rec.notes.map((n) => `${n}.`).join(' ')}${rec.notes.length ? ' ' : ''}${benchWhere(rec)}`;
}

type AnyRecord = RunRecord | BenchRecord;

/** Renderers by section name: the doc they live in, the record they read and what they write. */
export const SECTIONS: Record<string, { doc: string; record: string; render(rec: AnyRecord): string }> = {
  ...ANSWER_SECTIONS,
  'deeper-table': {
    doc: 'docs/answers.md', record: 'deeper',
    render: (rec) => {
      const r = rec as RunRecord;
      return `${deeperTable(r)}\n\n${r.notes?.join(' ') ?? ''} PSNRs of ${EXACT_DB} dB and more are exact fits up to float32 rounding (inf: no error at all); "best" ties them to the simpler model.\n${runLine(r)}`;
    },
  },
  'deeper-prose': { doc: 'docs/answers.md', record: 'deeper', render: (rec) => deeperProse(rec as RunRecord) },
  'deep-summary': { doc: 'docs/any-filter.md', record: 'deeper', render: (rec) => deeperProse(rec as RunRecord) },
  'depth-width-table': {
    doc: 'docs/answers.md', record: 'depth-width',
    render: (rec) => { const r = rec as RunRecord; return `${markdownTable(r.table).trimEnd()}\n\n${r.notes?.join(' ') ?? ''}\n${runLine(r)}`; },
  },
  'depth-width-prose': { doc: 'docs/answers.md', record: 'depth-width', render: (rec) => depthWidthProse(rec as RunRecord) },
  'adam-step': { doc: 'docs/performance.md', record: 'adam-step', render: (rec) => adamSection(rec as AdamRecord) },
  'train-options': { doc: 'docs/performance.md', record: 'train-options', render: (rec) => benchSection(rec as BenchRecord) },
  'output-stages': { doc: 'docs/performance.md', record: 'output-stages', render: (rec) => benchSection(rec as BenchRecord) },
  ...BENCH_SECTIONS,
};

/** The docs that hold generated sections, relative to the package root. */
export const GENERATED_DOCS = [...new Set(Object.values(SECTIONS).map((s) => s.doc))];

/** `doc` (the file `file`) with each of its generated sections re-rendered from `records` (by name); throws on a missing marker or record. */
export function updateGenerated(file: string, doc: string, records: Record<string, AnyRecord>): string {
  let out = doc;
  for (const [name, s] of Object.entries(SECTIONS)) {
    if (s.doc !== file) continue;
    const open = `<!-- generated:${name} -->`, close = `<!-- /generated:${name} -->`;
    const a = out.indexOf(open), b = out.indexOf(close);
    if (a < 0 || b < a) throw new Error(`${file} has no ${open} ... ${close} section`);
    const rec = records[s.record];
    if (!rec) throw new Error(`no run record docs/records/${s.record}.json for the section ${name}`);
    out = `${out.slice(0, a + open.length)}\n${s.render(rec)}\n${out.slice(b)}`;
  }
  return out;
}

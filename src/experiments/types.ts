/**
 * The experiments behind docs/answers.md: each answers one of the brief's questions with numbers
 * that `kernel-learn experiment <name>` regenerates, and test/experiments.test.ts asserts the
 * claims the doc makes from `claims`.
 */

export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

export interface ExperimentResult {
  /** The rows of the table the CLI prints (columns: the keys of the first row). */
  table: Row[];
  /** The numbers the doc states, for the tests to check. */
  claims: Record<string, number | boolean | string>;
  /** Sentences printed under the table. */
  notes?: string[];
}

export interface Experiment {
  name: string;
  /** Which of the brief's questions it answers, in a line. */
  question: string;
  run(opts: { quick: boolean }): Promise<ExperimentResult>;
}

export function defineExperiment(name: string, question: string, run: Experiment['run']): Experiment {
  return { name, question, run };
}

/** A number as the tables print it: integers as they are, others with 3 significant digits. */
export function fmt(v: Cell): string {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
    if (v === 0) return '0';
    if (!Number.isFinite(v)) return String(v);
    const a = Math.abs(v);
    return a >= 1e-3 && a < 1e5 ? String(Number(v.toPrecision(3))) : v.toExponential(2);
  }
  if (v === null) return '-';
  return String(v);
}

export function markdownTable(rows: Row[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(cols), line(cols.map(() => '---')), ...rows.map((r) => line(cols.map((c) => fmt(r[c] ?? null))))].join('\n') + '\n';
}

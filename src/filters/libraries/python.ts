/**
 * Python literals for printing a library call in the library's own syntax, and the search-space
 * types both library modules describe their parameters with.
 */
import { type Depth } from '../../image.js';
import { NUMPY_DTYPE } from './numpy.js';

/** A value to print as a Python literal; `{ raw }` is printed as is (a name such as np.float32). */
export type PyValue = number | string | boolean | null | { raw: string } | readonly PyValue[];

/**
 * A Python literal: numbers as JavaScript prints them (the shortest round-trip form, as Python's
 * repr; whole numbers without ".0", which Python accepts wherever a float is expected), strings in
 * single quotes, lists in brackets, True/False/None.
 */
export function pyLiteral(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'object' && 'raw' in v) return v.raw;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return "float('nan')";
    if (!Number.isFinite(v)) return v > 0 ? "float('inf')" : "-float('inf')";
    return String(v);
  }
  return `[${v.map(pyLiteral).join(', ')}]`;
}

/** `np.float32` and friends, or undefined (left out of a call) for undefined. */
export function pyDtype(depth: Depth | undefined): { raw: string } | undefined {
  return depth === undefined ? undefined : { raw: `np.${NUMPY_DTYPE[depth]}` };
}

/** `module.fn(x, key=value, ...)` from [key, value] pairs; undefined values are left out (defaults). */
export function pyCall(fn: string, args: readonly (readonly [string, PyValue | undefined])[]): string {
  const parts = ['x'];
  for (const [key, value] of args) if (value !== undefined) parts.push(`${key}=${pyLiteral(value)}`);
  return `${fn}(${parts.join(', ')})`;
}

/** A parameter with a few values that a search enumerates. `null` stands for Python's None. */
export interface DiscreteParam {
  kind: 'discrete';
  values: readonly (string | number | boolean | null | readonly number[])[];
  /** Absent for a required argument. */
  default?: string | number | boolean | null;
  note?: string;
}

/** A real parameter that a search fits within [min, max] (log: search log(value)). */
export interface ContinuousParam {
  kind: 'continuous';
  min: number;
  max: number;
  scale: 'linear' | 'log';
  default?: number;
  note?: string;
}

/** Free weights (a kernel), which a search fits by linear least squares rather than enumerating. */
export interface KernelParam {
  kind: 'kernel';
  note: string;
}

/**
 * What a search (a future `kernel-learn identify`) needs to know about one library call:
 * which parameters to enumerate, which to fit, and how they interact (in `note`).
 */
export interface SearchSpace {
  library: string;
  fn: string;
  params: Record<string, DiscreteParam | ContinuousParam | KernelParam>;
  note?: string;
}

/** The output dtypes a search should try: the input's (None) and the explicit ones people pass. */
export const OUTPUT_VALUES: readonly (Depth | null)[] = [null, 'f32', 'f64', 'u8', 's16', 'u16'];

/**
 * Python literals, for printing a scipy or skimage call in the library's own syntax.
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

/** The output dtypes a search should try: the input's (None) and the explicit ones people pass. */
export const OUTPUT_VALUES: readonly (Depth | null)[] = [null, 'f32', 'f64', 'u8', 's16', 'u16'];

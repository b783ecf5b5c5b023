/**
 * One-dimensional searches and "the number a person typed": what turns a fitted 1.4999999 into
 * the 1.5 of the call that made the targets.
 */

/** A continuous parameter: its range, searched in log space for sigmas and radii. */
export interface Range {
  min: number;
  max: number;
  log: boolean;
}

const GOLDEN = (Math.sqrt(5) - 1) / 2;

/**
 * The minimum of f over a range: a scan of `scan` evenly spaced points (in log space for log
 * ranges) to find the basin, then golden-section search between the best point's neighbours
 * until the bracket is `relTol` of the value wide. f may be a step function (integer outputs):
 * the scan keeps a flat stretch from fooling the bracket, and ties keep the smaller value.
 */
export function minimize1d(f: (x: number) => number, range: Range, scan = 12, relTol = 1e-7): { x: number; value: number } {
  const to = (t: number): number => (range.log ? Math.exp(t) : t);
  const lo = range.log ? Math.log(range.min) : range.min;
  const hi = range.log ? Math.log(range.max) : range.max;
  const ts = Array.from({ length: scan }, (_, i) => lo + ((hi - lo) * i) / (scan - 1));
  const vs = ts.map((t) => f(to(t)));
  let best = 0;
  for (let i = 1; i < scan; i++) if (vs[i] < vs[best]) best = i;
  let a = ts[Math.max(0, best - 1)];
  let b = ts[Math.min(scan - 1, best + 1)];
  let bestX = to(ts[best]);
  let bestV = vs[best];
  if (bestV === 0) return { x: bestX, value: 0 };
  let c = b - GOLDEN * (b - a);
  let d = a + GOLDEN * (b - a);
  let fc = f(to(c));
  let fd = f(to(d));
  const width = (): number => Math.abs(to(b) - to(a));
  // A value of 0 is an exact fit: nothing can beat it.
  for (let iter = 0; iter < 200 && bestV > 0 && width() > relTol * Math.abs(to((a + b) / 2)); iter++) {
    for (const [t, v] of [[c, fc], [d, fd]] as const) if (v < bestV) [bestX, bestV] = [to(t), v];
    if (fc <= fd) {
      [b, d, fd] = [d, c, fc];
      c = b - GOLDEN * (b - a);
      fc = f(to(c));
    } else {
      [a, c, fc] = [c, d, fd];
      d = a + GOLDEN * (b - a);
      fd = f(to(d));
    }
  }
  for (const [t, v] of [[c, fc], [d, fd]] as const) if (v < bestV) [bestX, bestV] = [to(t), v];
  return { x: bestX, value: bestV };
}

/**
 * Numbers near x, simplest first: whole numbers, one decimal, p/q for q up to 16, then more
 * decimals (up to 9), each within `spread` of x relative to |x| (or `absolute`, when larger);
 * x itself last. A search tries them in order and keeps the first that reproduces the targets as
 * well as x does.
 */
export function simpleNumbersNear(x: number, spread = 0.02, absolute = 0): number[] {
  const out: number[] = [];
  const push = (v: number): void => {
    if (Math.abs(v - x) <= Math.max(spread * Math.abs(x), absolute) && !out.includes(v + 0)) out.push(v + 0);
  };
  // Decimals through toFixed (0.1 * 3 would be 0.30000000000000004); fractions as the double p / q.
  const decimal = (d: number): number => Number(x.toFixed(d));
  push(decimal(0));
  push(decimal(1));
  for (let q = 2; q <= 16; q++) push(Math.round(x * q) / q);
  for (let d = 2; d <= 9; d++) push(decimal(d));
  if (!out.includes(x)) out.push(x);
  return out;
}

/**
 * The simplest number in [lo, hi): fewest decimals, then nearest the middle. For parameters that
 * act only through a whole number (scipy's truncate through the radius int(truncate * sigma + 0.5)).
 */
export function simplestIn(lo: number, hi: number): number {
  const mid = (lo + hi) / 2;
  for (let d = 0; d <= 12; d++) {
    const step = 10 ** -d;
    const first = Math.ceil(lo / step - 1e-9);
    const last = Math.ceil(hi / step - 1e-9) - 1;
    if (first <= last) {
      const k = Math.min(last, Math.max(first, Math.round(mid / step)));
      return Number((k * step).toFixed(d));
    }
  }
  return mid;
}

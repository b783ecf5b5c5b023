/**
 * Numbers for people, one rule per place a number is shown, all here so that a kernel reads the
 * same wherever it appears.
 */

/**
 * A kernel tap in a table or grid (CLI grids: 6 decimals; the web app's cells: 4): fixed decimals
 * so columns line up and a learned 0.9999998 is not dressed up as 1; no "-0.000000"; large values
 * in significant digits.
 */
export function formatTap(v: number, decimals = 6): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1e4) return v.toPrecision(decimals + 1);
  const s = v.toFixed(decimals);
  return /^-0\.0+$/.test(s) ? s.slice(1) : s;
}

/**
 * A tap as a label in a small heat-map cell (the run report): integers as integers, others to 4
 * significant digits, values below 5e-7 (the float32 noise of an exact fit) as 0.
 */
export function formatTapLabel(v: number): string {
  if (Math.abs(v) < 5e-7) return '0';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e4 ? String(Number(v.toPrecision(4))) : v.toExponential(2);
}

/**
 * A standard error in a grid or a line: two significant digits in exponent form ("1.2e-3"), so
 * that a grid of errors stays narrow whatever their size; exactly 0 as "0".
 */
export function formatError(v: number): string {
  return v === 0 ? '0' : v.toExponential(1);
}

/** A PSNR in dB, "inf dB" for an exact fit. */
export function formatPsnr(psnr: number | null): string {
  return psnr === null || !Number.isFinite(psnr) ? 'inf dB' : `${psnr.toFixed(1)} dB`;
}

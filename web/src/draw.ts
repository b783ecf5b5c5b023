/** The live views: loss curve, kernel heat maps with numbers, image canvases. Plain DOM + canvas. */
import { formatTap } from '../../src/format.js';
import type { ImageView, KernelView } from './protocol.js';

export interface LossPoint {
  step: number;
  trainLoss: number;
  valLoss?: number;
}

export function fmtLoss(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return v === 0 ? '0' : v.toExponential(2);
}

function sizeCanvas(canvas: HTMLCanvasElement): { g: CanvasRenderingContext2D; w: number; h: number } {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 400;
  const h = canvas.clientHeight || 200;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext('2d')!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  return { g, w, h };
}

/** The smallest 1, 2 or 5 times a power of ten at or above v. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((x) => x >= v) ?? 10 * p;
}

/** Training and validation loss against step on a log scale, with the exact optimum as a dashed line. */
export function drawLoss(canvas: HTMLCanvasElement, points: LossPoint[], exactLoss: number | null, maxSteps: number): void {
  const { g, w, h } = sizeCanvas(canvas);
  const css = getComputedStyle(canvas);
  const ink = css.color || '#222';
  g.clearRect(0, 0, w, h);
  const left = 52, right = 10, top = 10, bottom = 24;
  const pw = w - left - right, ph = h - top - bottom;
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = ink;
  g.strokeStyle = ink;
  g.globalAlpha = 0.35;
  g.strokeRect(left, top, pw, ph);
  g.globalAlpha = 1;
  const values: number[] = [];
  for (const p of points) {
    values.push(p.trainLoss);
    if (p.valLoss !== undefined) values.push(p.valLoss);
  }
  if (exactLoss !== null) values.push(exactLoss);
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (points.length === 0 || (maxSteps <= 1 && points.every((p) => p.step <= 1))) {
    // Nothing to plot yet, or one exact solve (no gradient steps): say it in words.
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    const p = points[points.length - 1];
    const lines = p
      ? ['one exact least-squares solve, no gradient steps', `training loss ${fmtLoss(p.trainLoss)} · validation loss ${fmtLoss(p.valLoss)}`, 'pick Adam or SGD to watch a loss curve']
      : ['the loss curve appears here while training'];
    lines.forEach((line, i) => g.fillText(line, left + pw / 2, top + ph / 2 + (i - (lines.length - 1) / 2) * 16));
    return;
  }
  if (pos.length === 0) {
    g.textAlign = 'center';
    g.fillText('loss is 0', left + pw / 2, top + ph / 2);
    return;
  }
  let lo = Math.floor(Math.log10(Math.min(...pos)));
  let hi = Math.ceil(Math.log10(Math.max(...pos)));
  if (hi - lo < 1) { lo -= 1; hi += 1; }
  const floor = 10 ** lo;
  // x runs a little past the last step seen (not to maxSteps: runs usually stop long before it).
  const seen = Math.max(1, ...points.map((p) => p.step));
  const lastStep = Math.min(Math.max(maxSteps, seen), niceCeil(seen * 1.15));
  const X = (s: number): number => left + (pw * s) / lastStep;
  const Y = (v: number): number => top + ph * (1 - (Math.log10(Math.max(v, floor)) - lo) / (hi - lo));
  // y ticks at powers of ten (thinned to at most ~6 labels)
  const every = Math.max(1, Math.ceil((hi - lo) / 6));
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (let e = lo; e <= hi; e += every) {
    const y = Y(10 ** e);
    g.globalAlpha = 0.12;
    g.beginPath(); g.moveTo(left, y); g.lineTo(left + pw, y); g.stroke();
    g.globalAlpha = 1;
    g.fillText(`1e${e}`, left - 4, y);
  }
  g.textAlign = 'center';
  g.textBaseline = 'top';
  g.fillText('0', X(0), top + ph + 6);
  g.fillText(`step ${lastStep}`, X(lastStep) - 24, top + ph + 6);
  if (exactLoss !== null) {
    g.save();
    g.setLineDash([4, 4]);
    g.strokeStyle = '#888';
    g.beginPath(); g.moveTo(left, Y(exactLoss)); g.lineTo(left + pw, Y(exactLoss)); g.stroke();
    g.restore();
    g.textAlign = 'left';
    g.textBaseline = 'bottom';
    g.fillStyle = '#888';
    g.fillText(`exact optimum ${fmtLoss(exactLoss)}`, left + 4, Y(exactLoss) - 2);
  }
  const series: [string, (p: LossPoint) => number | undefined][] = [
    ['#2b6cb0', (p) => p.trainLoss],
    ['#dd6b20', (p) => p.valLoss],
  ];
  for (const [colour, get] of series) {
    const pts = points.filter((p) => get(p) !== undefined && Number.isFinite(get(p)!));
    if (pts.length === 0) continue;
    g.strokeStyle = colour;
    g.fillStyle = colour;
    g.lineWidth = 1.5;
    g.beginPath();
    pts.forEach((p, i) => (i === 0 ? g.moveTo(X(p.step), Y(get(p)!)) : g.lineTo(X(p.step), Y(get(p)!))));
    g.stroke();
    const last = pts[pts.length - 1];
    g.beginPath(); g.arc(X(last.step), Y(get(last)!), 3, 0, 2 * Math.PI); g.fill();
  }
  g.lineWidth = 1;
}

/**
 * A pointwise curve (knots and values, nn/curve.ts): the line through its knots with the knots as
 * dots, and the identity dashed for comparison, on axes from the knots' and values' ranges.
 */
export function drawCurve(canvas: HTMLCanvasElement, curve: { knots: readonly number[]; values: readonly number[] }): void {
  const { g, w, h } = sizeCanvas(canvas);
  const ink = getComputedStyle(canvas).color || '#222';
  g.clearRect(0, 0, w, h);
  const left = 44, right = 14, top = 8, bottom = 20;
  const pw = w - left - right, ph = h - top - bottom;
  const { knots, values } = curve;
  const label = (v: number): string => String(Number(v.toPrecision(3)));
  const x0 = knots[0], x1 = knots[knots.length - 1];
  const y0 = Math.min(...values), y1 = Math.max(...values);
  const X = (v: number): number => left + (pw * (v - x0)) / (x1 - x0 || 1);
  const Y = (v: number): number => top + ph * (1 - (v - y0) / (y1 - y0 || 1));
  g.font = '11px system-ui, sans-serif';
  g.strokeStyle = ink;
  g.fillStyle = ink;
  g.globalAlpha = 0.35;
  g.strokeRect(left, top, pw, ph);
  g.globalAlpha = 1;
  g.textAlign = 'right';
  g.textBaseline = 'middle';
  for (const v of [y0, y1]) g.fillText(label(v), left - 4, Y(v));
  g.textAlign = 'center';
  g.textBaseline = 'top';
  for (const v of [x0, x1]) g.fillText(label(v), X(v), top + ph + 4);
  // The identity where it is inside the box: a curve that is not needed lies on it.
  const lo = Math.max(x0, y0), hi = Math.min(x1, y1);
  if (hi > lo) {
    g.save();
    g.setLineDash([4, 4]);
    g.strokeStyle = '#888';
    g.beginPath(); g.moveTo(X(lo), Y(lo)); g.lineTo(X(hi), Y(hi)); g.stroke();
    g.restore();
  }
  g.strokeStyle = '#2b6cb0';
  g.fillStyle = '#2b6cb0';
  g.lineWidth = 1.8;
  g.beginPath();
  knots.forEach((k, i) => (i === 0 ? g.moveTo(X(k), Y(values[i])) : g.lineTo(X(k), Y(values[i]))));
  g.stroke();
  for (let i = 0; i < knots.length; i++) {
    g.beginPath(); g.arc(X(knots[i]), Y(values[i]), 2, 0, 2 * Math.PI); g.fill();
  }
  g.lineWidth = 1;
}

/** Diverging colour for a kernel cell: blue below zero, red above, white at zero. */
function heat(v: number, scale: number): string {
  const t = scale > 0 ? Math.max(-1, Math.min(1, v / scale)) : 0;
  const a = Math.abs(t);
  const [r, g, b] = t >= 0 ? [255, Math.round(255 * (1 - 0.75 * a)), Math.round(255 * (1 - 0.8 * a))] : [Math.round(255 * (1 - 0.8 * a)), Math.round(255 * (1 - 0.6 * a)), 255];
  return `rgb(${r}, ${g}, ${b})`;
}

/** One kernel as a table of numbers on a heat map; the numbers at full precision in data-value. */
export function kernelTable(k: KernelView, scale: number, testid?: string): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'kernel';
  if (testid) table.dataset.testid = testid;
  table.dataset.kernel = JSON.stringify(k.data);
  for (let i = 0; i < k.kh; i++) {
    const tr = table.insertRow();
    for (let j = 0; j < k.kw; j++) {
      const v = k.data[i * k.kw + j];
      const td = tr.insertCell();
      td.textContent = formatTap(v, 4);
      td.dataset.value = String(v);
      td.style.background = heat(v, scale);
    }
  }
  return table;
}

export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) if (Math.abs(values[i]) > m) m = Math.abs(values[i]);
  return m;
}

/**
 * Draws one channel (or RGB for a 3-channel u8-range input) of an image.
 *   'plain': min..max to black..white (RGB shown as is when values fit 0..255).
 *   'signed': grey with 0 at mid-grey, +-scale at white/black (scale shared by target and prediction).
 *   'error': diverging blue-white-red, +-scale; an error of 0 everywhere (scale 0): flat grey with a '0'.
 */
export function drawImage(canvas: HTMLCanvasElement, img: ImageView, mode: 'plain' | 'signed' | 'error', scale = 0): void {
  const { width, height, channels, data } = img;
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext('2d')!;
  const out = g.createImageData(width, height);
  const px = out.data;
  const plane = width * height;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < plane * channels; i++) { if (data[i] < lo) lo = data[i]; if (data[i] > hi) hi = data[i]; }
  const rgb = mode === 'plain' && channels === 3 && lo >= 0 && hi <= 255;
  for (let p = 0; p < plane; p++) {
    const v = data[p];
    let r: number, gg: number, b: number;
    if (rgb) {
      r = data[p]; gg = data[plane + p]; b = data[2 * plane + p];
    } else if (mode === 'plain') {
      r = gg = b = hi > lo ? (255 * (v - lo)) / (hi - lo) : 128;
    } else if (mode === 'signed') {
      r = gg = b = scale > 0 ? 127.5 + (127.5 * v) / scale : 128;
    } else {
      const t = scale > 0 ? Math.max(-1, Math.min(1, v / scale)) : 0;
      const a = Math.abs(t);
      if (t >= 0) { r = 255; gg = 255 * (1 - a); b = 255 * (1 - a); } else { r = 255 * (1 - a); gg = 255 * (1 - a); b = 255; }
    }
    px[4 * p] = r; px[4 * p + 1] = gg; px[4 * p + 2] = b; px[4 * p + 3] = 255;
  }
  g.putImageData(out, 0, 0);
  if (mode === 'error' && !(scale > 0)) {
    // An exact fit: all white would read as "nothing drawn", so flat grey with the 0 written on it.
    g.fillStyle = '#8a9099';
    g.fillRect(0, 0, width, height);
    g.fillStyle = '#fff';
    g.font = `600 ${Math.max(8, Math.round(0.5 * Math.min(width, height)))}px system-ui, sans-serif`;
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText('0', width / 2, height / 2);
  }
}

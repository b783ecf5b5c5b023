/**
 * Static SVG plots for run reports, drawn with Vega (https://vega.github.io/vega/) in Node: the
 * View renders headless (renderer 'none') and toSVG() returns a self-contained SVG string, with no
 * browser and no canvas (text widths are estimated). The same inputs give the same bytes.
 */

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import type * as vega from 'vega';
import type { HistoryEntry } from '../train/trainer.js';
import { formatTapLabel } from '../format.js';

type Vega = typeof import('vega');

/**
 * Vega from its own single-file build (build/vega.min.js, the "unpkg" file of its package.json:
 * the same code as its ES modules, bundled), loaded as CommonJS loads a file. Its ES-module entry
 * pulls in ~90 modules (d3 and vega packages), on which Node's module loader spends ~0.25 s of
 * CPU, most of a run report's cost (`npm run bench`, train options); the one file takes ~0.06 s.
 * Same version, same SVG bytes (test/report.test.ts compares the two). Falls back to the ES
 * modules when the file is not where this version of vega keeps it.
 */
export async function loadVega(): Promise<Vega> {
  try {
    const file = path.join(path.dirname(createRequire(import.meta.url).resolve('vega')), 'vega.min.js');
    const module = { exports: {} as Vega };
    const wrapped = vm.runInThisContext(`(function (exports, module) {${readFileSync(file, 'utf8')}\n})`, { filename: file }) as (e: object, m: object) => void;
    wrapped(module.exports, module);
    if (typeof module.exports.View !== 'function') throw new Error(`${file} did not define vega`);
    return module.exports;
  } catch {
    return import('vega');
  }
}

/** Renders `spec` to an SVG string with a given vega (the test holds the single file to the ES modules). */
export async function renderWith(lib: Vega, spec: vega.Spec): Promise<string> {
  const view = new lib.View(lib.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

// Loaded with this module, not at the first plot: `train` imports the report while the model
// trains (src/cli/train.ts), so the load happens then, off the run's critical path.
const vegaLib = await loadVega();

async function render(spec: vega.Spec): Promise<string> {
  return renderWith(vegaLib, spec);
}

const FONT = { font: 'system-ui, sans-serif' };

/** A Vega mark of `type` drawn from the data set `data`, with its encoding on entry. */
function mark(type: vega.Mark['type'], data: string, enter: vega.EncodeEntry): vega.Mark {
  return { type, from: { data }, encode: { enter } } as vega.Mark;
}

/**
 * The loss curves: training and validation MSE per step (log scale), and the exact least-squares
 * optimum as a dashed line when known. An empty history (the exact solver) plots the optimum alone.
 */
export async function lossPlotSvg(history: readonly HistoryEntry[], exactLoss: number | undefined, title = 'loss'): Promise<string> {
  return render(lossPlotSpec(history, exactLoss, title));
}

/** The Vega spec of lossPlotSvg. */
export function lossPlotSpec(history: readonly HistoryEntry[], exactLoss: number | undefined, title = 'loss'): vega.Spec {
  const points: { step: number; loss: number; series: string }[] = [];
  for (const h of history) {
    if (Number.isFinite(h.trainLoss) && h.trainLoss > 0) points.push({ step: h.step, loss: h.trainLoss, series: 'train' });
    if (h.valLoss !== undefined && Number.isFinite(h.valLoss) && h.valLoss > 0) points.push({ step: h.step, loss: h.valLoss, series: 'validation' });
  }
  const exact = exactLoss !== undefined && Number.isFinite(exactLoss) && exactLoss > 0 ? exactLoss : undefined;
  const maxStep = Math.max(1, ...points.map((p) => p.step));
  const rule = exact === undefined ? [] : [{ x0: 0, x1: maxStep, loss: exact, series: 'exact optimum' }];
  // A loss of exactly 0 cannot go on a log axis: such points are left out (said in the report).
  const losses = [...points.map((p) => p.loss), ...rule.map((r) => r.loss)];
  const lo = losses.length ? Math.min(...losses) : 1e-6;
  const hi = losses.length ? Math.max(...losses) : 1;
  const series = ['train', 'validation', 'exact optimum'].filter((name) => points.some((p) => p.series === name) || rule.some((r) => r.series === name));
  const palette: Record<string, string> = { train: '#1f77b4', validation: '#ff7f0e', 'exact optimum': '#2ca02c' };
  const spec: vega.Spec = {
    width: 560,
    height: 280,
    padding: 8,
    config: { text: FONT, axis: { labelFont: FONT.font, titleFont: FONT.font }, legend: { labelFont: FONT.font, titleFont: FONT.font }, title: { font: FONT.font } },
    title: { text: title, anchor: 'start' },
    data: [
      { name: 'points', values: points },
      { name: 'rule', values: rule },
    ],
    scales: [
      { name: 'x', type: 'linear', domain: [0, maxStep], range: 'width', nice: true, zero: true },
      { name: 'y', type: 'log', domain: [lo / 1.5, hi * 1.5], range: 'height', nice: true },
      { name: 'color', type: 'ordinal', domain: series, range: series.map((name) => palette[name]) },
      { name: 'dash', type: 'ordinal', domain: series, range: series.map((name) => (name === 'exact optimum' ? [6, 4] : [1, 0])) },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: 'step', grid: true, gridOpacity: 0.15 },
      { orient: 'left', scale: 'y', title: 'MSE (log scale)', grid: true, gridOpacity: 0.15, format: '.0e' },
    ],
    legends: [{ stroke: 'color', strokeDash: 'dash', orient: 'top-right', symbolType: 'stroke' }],
    marks: [
      {
        type: 'group',
        from: { facet: { name: 'byseries', data: 'points', groupby: 'series' } },
        marks: [
          mark('line', 'byseries', {
            x: { scale: 'x', field: 'step' },
            y: { scale: 'y', field: 'loss' },
            stroke: { scale: 'color', field: 'series' },
            strokeWidth: { value: 1.6 },
          }),
        ],
      },
      mark('rule', 'rule', {
        x: { scale: 'x', field: 'x0' },
        x2: { scale: 'x', field: 'x1' },
        y: { scale: 'y', field: 'loss' },
        stroke: { scale: 'color', field: 'series' },
        strokeDash: { value: [6, 4] },
        strokeWidth: { value: 1.6 },
      }),
    ],
  };
  return spec;
}

/**
 * A kernel as a heat map (diverging colours, 0 = white) with each tap's value written in its cell
 * (by `label`: standard errors are written in exponent form, not rounded to 0 like taps).
 */
export async function kernelHeatmapSvg(rows: readonly (readonly number[])[], title: string, scale?: number, label: (v: number) => string = formatTapLabel): Promise<string> {
  return render(kernelHeatmapSpec(rows, title, scale, label));
}

/** The Vega spec of kernelHeatmapSvg. */
export function kernelHeatmapSpec(rows: readonly (readonly number[])[], title: string, scale?: number, label: (v: number) => string = formatTapLabel): vega.Spec {
  const kh = rows.length;
  const kw = rows[0]?.length ?? 0;
  const cells: { x: number; y: number; v: number; label: string }[] = [];
  let m = 0;
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const v = rows[y][x];
      m = Math.max(m, Math.abs(v));
      cells.push({ x, y, v, label: label(v) });
    }
  }
  const span = scale ?? (m > 0 ? m : 1);
  const cell = Math.max(44, Math.min(64, Math.floor(260 / Math.max(kh, kw, 1))));
  const spec: vega.Spec = {
    width: cell * kw,
    height: cell * kh,
    padding: 6,
    config: { text: FONT, title: { font: FONT.font } },
    title: { text: title, anchor: 'start', fontSize: 12 },
    data: [{ name: 'cells', values: cells }],
    scales: [
      { name: 'x', type: 'band', domain: Array.from({ length: kw }, (_, i) => i), range: 'width' },
      { name: 'y', type: 'band', domain: Array.from({ length: kh }, (_, i) => i), range: 'height' },
      { name: 'color', type: 'linear', domain: [-span, 0, span], range: ['#2166ac', '#f7f7f7', '#b2182b'], clamp: true },
    ],
    marks: [
      mark('rect', 'cells', {
        x: { scale: 'x', field: 'x' },
        width: { scale: 'x', band: 1 },
        y: { scale: 'y', field: 'y' },
        height: { scale: 'y', band: 1 },
        fill: { scale: 'color', field: 'v' },
        stroke: { value: '#999' },
        strokeWidth: { value: 0.5 },
      }),
      mark('text', 'cells', {
        x: { scale: 'x', field: 'x', band: 0.5 },
        y: { scale: 'y', field: 'y', band: 0.5 },
        align: { value: 'center' },
        baseline: { value: 'middle' },
        fontSize: { value: 11 },
        text: { field: 'label' },
        fill: { signal: `abs(datum.v) > ${0.6 * span} ? 'white' : 'black'` },
      }),
    ],
  };
  return spec;
}

/**
 * A pointwise curve of a curves model (nn/curve.ts): the line through its knots, the knots as
 * dots, and the identity dashed for comparison, over the knots' range.
 */
export async function curvePlotSvg(curve: { knots: readonly number[]; values: readonly number[] }, title: string, axes: { x: string; y: string }): Promise<string> {
  return render(curvePlotSpec(curve, title, axes));
}

/** The Vega spec of curvePlotSvg. */
export function curvePlotSpec(curve: { knots: readonly number[]; values: readonly number[] }, title: string, axes: { x: string; y: string }): vega.Spec {
  const knots = curve.knots.map((x, i) => ({ x, y: curve.values[i] }));
  const lo = Math.min(curve.knots[0], ...curve.values), hi = Math.max(curve.knots[curve.knots.length - 1], ...curve.values);
  const identity = [{ x: Math.max(lo, curve.knots[0]), y: Math.max(lo, curve.knots[0]) }, { x: Math.min(hi, curve.knots[curve.knots.length - 1]), y: Math.min(hi, curve.knots[curve.knots.length - 1]) }];
  const spec: vega.Spec = {
    width: 260,
    height: 260,
    padding: 8,
    config: { text: FONT, axis: { labelFont: FONT.font, titleFont: FONT.font }, title: { font: FONT.font } },
    title: { text: title, anchor: 'start' },
    data: [
      { name: 'knots', values: knots },
      { name: 'identity', values: identity },
    ],
    scales: [
      { name: 'x', type: 'linear', domain: [curve.knots[0], curve.knots[curve.knots.length - 1]], range: 'width', nice: true, zero: false },
      { name: 'y', type: 'linear', domain: [Math.min(...curve.values), Math.max(...curve.values)], range: 'height', nice: true, zero: false },
    ],
    axes: [
      { orient: 'bottom', scale: 'x', title: axes.x, grid: true, gridOpacity: 0.15 },
      { orient: 'left', scale: 'y', title: axes.y, grid: true, gridOpacity: 0.15 },
    ],
    marks: [
      mark('line', 'identity', { x: { scale: 'x', field: 'x' }, y: { scale: 'y', field: 'y' }, stroke: { value: '#999' }, strokeDash: { value: [4, 4] }, strokeWidth: { value: 1 } }),
      mark('line', 'knots', { x: { scale: 'x', field: 'x' }, y: { scale: 'y', field: 'y' }, stroke: { value: '#1f77b4' }, strokeWidth: { value: 1.8 } }),
      mark('symbol', 'knots', { x: { scale: 'x', field: 'x' }, y: { scale: 'y', field: 'y' }, fill: { value: '#1f77b4' }, size: { value: 14 } }),
    ],
  };
  return spec;
}

/**
 * Run reports: one self-contained HTML page per training run (plots as inline SVG, images as
 * data: PNG URIs, no scripts, no network), plus a folder with a static SVG of each plot.
 * Deterministic: the same run gives the same bytes (no dates, no wall-clock times).
 */

import path from 'node:path';
import sharp from 'sharp';
import type { ImagePair } from '../data/pairs.js';
import type { Kernel2D } from '../filters/kernels.js';
import { createImage, cropImage, type Image } from '../image.js';
import { writeFileAtomic, writeFolderAtomic } from '../io/atomic.js';
import { applyModel } from '../nn/apply.js';
import { describeCurve } from '../nn/curve.js';
import { kernelLayer, type Model } from '../nn/model.js';
import type { Conv2dSpec } from '../nn/network.js';
import { alignPair } from '../train/align.js';
import type { TrainResult } from '../train/index.js';
import { knownFilters, matchKnownFilters, type FilterMatch } from '../train/match.js';
import { formatError, formatTapLabel } from '../format.js';
import { curvePlotSvg, kernelHeatmapSvg, lossPlotSvg } from './plots.js';

export interface ReportSample {
  name: string;
  input: Image;
  target: Image;
}

export interface ReportOptions {
  title: string;
  /** What the run was (e.g. the command's inputs), one line. */
  subtitle?: string;
  /** The kernel the targets were made with, when known (e.g. the demo's Sobel). */
  trueKernel?: { name: string; kernel: Kernel2D };
  /** Input/target samples to show with the model's prediction and error (at most 3 are shown). */
  samples: ReportSample[];
  /** Says where the samples come from (validation or training data). */
  samplesNote?: string;
  /** Other runs to compare (e.g. the demo's second solver): their loss curves and kernels. */
  extraRuns?: { name: string; result: TrainResult }[];
}

/** The default report path for a model file: MODEL.report.html beside it (or in `dir`). */
export function reportPathFor(modelPath: string, dir?: string): string {
  const base = path.basename(modelPath).replace(/\.json$/i, '');
  return path.join(dir ?? path.dirname(modelPath), `${base}.report.html`);
}

/**
 * Up to `count` held-out samples for a report: the regions the run held out (result.split), or
 * those it trained on when none was held out. Large images are cropped to 256 x 256.
 */
export function reportSamples(pairs: ImagePair[], result: TrainResult, count = 3): { samples: ReportSample[]; note: string } {
  const held = result.split.val.length > 0;
  const regions = held ? result.split.val : result.split.train;
  const note = held ? 'held-out validation data (not used to fit the kernel)' : 'training data (no validation data was held out for this run)';
  const samples = regions.filter((r) => r.x1 > r.x0 && r.y1 > r.y0).slice(0, count).map((r, i) => {
    const w = Math.min(r.x1 - r.x0, 256);
    const h = Math.min(r.y1 - r.y0, 256);
    // Regions are in the input's frame: a target of another size is placed there first (train/align.ts).
    const { input, target } = alignPair(pairs[r.pair], result.alignment);
    return {
      name: `${held ? 'validation' : 'training'} sample ${i + 1} (${w}x${h})`,
      input: cropImage(input, r.x0, r.y0, w, h),
      target: cropImage(target, r.x0, r.y0, w, h),
    };
  });
  return { samples, note };
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Strips the XML prologue-free SVG of fixed width/height so it scales in the page. */
function inlineSvg(svg: string, label: string): string {
  return svg.replace('<svg ', `<svg role="img" aria-label="${escapeHtml(label)}" `);
}

/**
 * Runs the report's slow first calls on throwaway data: vega's first plot (~50 ms of compiling
 * its code paths, ~5 ms a plot after), a sample row (the model run, its PNG encodes, loops
 * compiled) and sharp's start. `train` calls it while the worker trains, so that the report after
 * training costs only its own work; what the report writes does not change (each plot is a new
 * vega View, each sample row its own images).
 */
export async function warmUp(): Promise<void> {
  const image = createImage(256, 256, 1, 'f32'); // the size of a sample: loops long enough to be compiled
  for (let i = 0; i < image.data.length; i++) image.data[i] = i % 251;
  const identity: Model['layers'] = [{ type: 'conv2d', inChannels: 1, outChannels: 1, kernelSize: [3, 3], weights: [[[[0, 0, 0], [0, 1, 0], [0, 0, 0]]]], bias: [0] }];
  const prediction = applyModel({ inputChannels: 1, outputChannels: 1, border: 'reflect101', layers: identity }, image);
  await Promise.all([kernelHeatmapSvg([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], 'warm-up'), sampleRow({ name: 'warm-up', input: image, target: image }, prediction)]);
}

/** Writes the report HTML at `htmlPath` and its plots as SVG files in `htmlPath` minus ".html" (a folder). */
export async function writeReport(htmlPath: string, result: TrainResult, options: ReportOptions): Promise<{ html: string; files: string[] }> {
  const { html, plots } = await buildReport(result, options);
  const folder = htmlPath.replace(/\.html$/i, '');
  await writeFolderAtomic(folder, async (tmp) => {
    for (const [name, svg] of plots) await writeFileAtomic(path.join(tmp, name), svg);
  });
  await writeFileAtomic(htmlPath, html);
  return { html: htmlPath, files: plots.map(([name]) => path.join(folder, name)) };
}

type Plots = [string, string][];

/** The learned kernels [(label, rows)] of the model's kernel (its first conv layer but for curves; up to 9). */
function learnedKernels(model: Model): { label: string; rows: number[][] }[] {
  const conv = kernelLayer(model)?.conv ?? model.layers.find((l): l is Conv2dSpec => l.type === 'conv2d');
  if (!conv) return [];
  const many = conv.inChannels * conv.outChannels > 1;
  const convs = model.layers.filter((l) => l.type === 'conv2d').length;
  const layer = convs > 1 ? `first of ${convs} conv layers, ` : '';
  const out: { label: string; rows: number[][] }[] = [];
  for (let o = 0; o < conv.outChannels; o++) {
    for (let i = 0; i < conv.inChannels; i++) {
      if (out.length < 9) out.push({ label: many || layer ? `learned, ${layer}out ${o} <- in ${i}` : 'learned kernel', rows: conv.weights[o][i] });
    }
  }
  return out;
}

/** The matched known filter's kernel (scale applied), when the match is close (1% of the largest tap). */
function matchedReference(model: Model, matches: FilterMatch[]): { name: string; error: number; rows: number[][] } | undefined {
  let largest = 0;
  // The kernel's taps only: a curve's 1x1 convs hold values in the images' units.
  for (const v of kernelLayer(model)?.conv.weights.flat(3) ?? []) largest = Math.max(largest, Math.abs(v));
  const best = matches[0];
  if (!best || best.maxAbsError > 0.01 * largest) return undefined;
  const m = /^(?:out \d+ in \d+: )?(.*?)(?: x(-?[0-9.e+-]+))?$/.exec(best.name);
  if (!m) return undefined;
  const known = knownFilters().find((k) => k.name === m[1]);
  if (!known) return undefined;
  const s = m[2] ? Number(m[2]) : 1;
  const { kh, kw, data } = known.kernel;
  return { name: best.name, error: best.maxAbsError, rows: Array.from({ length: kh }, (_, y) => Array.from({ length: kw }, (_, x) => s * data[y * kw + x])) };
}

/** The standard errors of the model's kernel (training.stdErrors) as grids [(label, rows)], up to 9, labelled like learnedKernels. */
function errorGrids(model: Model): { label: string; rows: number[][] }[] {
  const errors = model.training.stdErrors;
  if (!errors) return [];
  const many = errors.weights.length * errors.weights[0].length > 1;
  return errors.weights.flatMap((kernels, o) => kernels.map((rows, i) => ({ label: many ? `standard errors, out ${o} <- in ${i}` : 'standard errors (1σ)', rows }))).slice(0, 9);
}

/** One line on the errors for the metrics table: their range over the taps, and the bias'. */
function describeErrors(model: Model): string | undefined {
  const errors = model.training.stdErrors;
  if (!errors) return undefined;
  const taps = errors.weights.flat(3);
  const bias = errors.bias ? `; bias ${errors.bias.map(formatError).join(', ')}` : '';
  return `taps ${formatError(Math.min(...taps))} to ${formatError(Math.max(...taps))} (1σ)${bias}`;
}

function kernelTable(rows: readonly (readonly number[])[], caption: string, label: (v: number) => string = formatTapLabel): string {
  const body = rows.map((r) => '<tr>' + r.map((v) => `<td>${escapeHtml(label(v))}</td>`).join('') + '</tr>').join('');
  return `<table class="kernel"><caption>${escapeHtml(caption)}</caption><tbody>${body}</tbody></table>`;
}

async function buildReport(result: TrainResult, options: ReportOptions): Promise<{ html: string; plots: Plots }> {
  const model = result.model;
  // Started first: the samples' PNG encodes run in libuv's thread pool while vega draws the plots
  // on this thread (the report's slowest two parts, ~0.1 s each, then overlap instead of adding up).
  const sampleRows = Promise.all(options.samples.slice(0, 3).map((s) => sampleRow(s, applyModel(model, s.input))));
  sampleRows.catch(() => undefined); // awaited below; a failure before that is reported once, not also as unhandled
  const plots: Plots = [];
  const sections: string[] = [];
  const v = model.metrics.validation;
  const matches = matchKnownFilters(model);
  const reference = matchedReference(model, matches);
  const learned = learnedKernels(model).map((k) => ({ ...k, label: options.extraRuns?.length ? `${k.label} (${model.training.solver})` : k.label }));
  for (const run of options.extraRuns ?? []) {
    const first = learnedKernels(run.result.model)[0];
    if (first) learned.push({ ...first, label: `${first.label} (${run.name})` });
  }
  const maxErrVsTrue = options.trueKernel && learned.length >= 1 ? maxAbsDiff(learned[0].rows, options.trueKernel.kernel) : undefined;

  // Summary: what was learned, in one paragraph a person can read without the terminal.
  const verdict: string[] = [];
  if (reference) verdict.push(`The model learned <b>${escapeHtml(reference.name)}</b> (largest tap difference ${reference.error.toExponential(1)}).`);
  else if (matches.length) verdict.push(`No known filter matches closely; the nearest is ${escapeHtml(matches[0].name)} (largest tap difference ${matches[0].maxAbsError.toExponential(1)}).`);
  if (options.trueKernel && maxErrVsTrue !== undefined) {
    const others = (options.extraRuns ?? [])
      .map((run) => {
        const first = learnedKernels(run.result.model)[0];
        const e = first && options.trueKernel ? maxAbsDiff(first.rows, options.trueKernel.kernel) : undefined;
        return e === undefined ? '' : `; ${escapeHtml(run.name)}: ${e.toExponential(2)}`;
      })
      .join('');
    verdict.push(`Against the true kernel (${escapeHtml(options.trueKernel.name)}) the largest tap error is ${maxErrVsTrue.toExponential(2)} (${escapeHtml(model.training.solver)}${others}).`);
  }
  verdict.push(`On ${escapeHtml(describeValidation(model))}: PSNR ${v.psnr === null || !Number.isFinite(v.psnr) ? '∞ (exact)' : v.psnr.toFixed(1) + ' dB'}, R² ${v.r2.toFixed(6)}.`);
  sections.push(`<section class="summary"><p>${verdict.join(' ')}</p></section>`);

  // Metrics.
  const rows: [string, string][] = [
    ['architecture', model.arch],
    ['kernel size', result.kernelSize.join(' x ')],
    ['channels', `${model.inputChannels} in, ${model.outputChannels} out`],
    ['border mode', model.border],
    ['solver', `${model.training.solver}, ${result.steps} steps (${result.stopReason})`],
    ['training data', `${model.training.pairs} pairs, ${model.training.pixels} pixels (${model.training.inputDepth} -> ${model.training.targetDepth})`],
    ['validation', describeValidation(model)],
    ['validation MSE', v.mse.toExponential(3)],
    ['validation PSNR', v.psnr === null || !Number.isFinite(v.psnr) ? '∞' : `${v.psnr.toFixed(2)} dB`],
    ['validation R²', v.r2.toFixed(9)],
  ];
  if (result.exactLoss !== undefined) rows.push(['exact optimum (train MSE)', result.exactLoss.toExponential(3)]);
  const errorLine = describeErrors(model);
  if (errorLine) rows.push(['standard errors', errorLine]);
  if (model.training.conditionNumber !== undefined) rows.push(['condition number', Number.isFinite(model.training.conditionNumber) ? model.training.conditionNumber.toPrecision(3) : '∞']);
  rows.push(['zero taps', `${result.zeroTaps.count} of ${result.zeroTaps.of}`]);
  rows.push(['seed', String(model.training.seed)]);
  if (result.archChoice) rows.push(['arch auto', `${result.archChoice.chosen} (${result.archChoice.reason})`]);
  if (result.channelChoice) rows.push(['channels choice', `${result.channelChoice.chosen} (full MSE ${result.channelChoice.fullMse.toExponential(2)}, shared ${result.channelChoice.sharedMse.toExponential(2)})`]);
  for (const f of result.forms) rows.push([`form: ${f.form}`, `${f.params} params, ${f.bytes} B, max error ${f.maxAbsError.toExponential(1)}`]);
  sections.push(
    '<section><h2>Metrics</h2><table class="metrics"><tbody>' +
      rows.map(([k, val]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(val)}</td></tr>`).join('') +
      '</tbody></table></section>',
  );

  // Warnings.
  sections.push(
    '<section><h2>Warnings</h2>' +
      (result.warnings.length
        ? '<ul class="warnings">' + result.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('') + '</ul>'
        : '<p class="ok">None.</p>') +
      '</section>',
  );

  // Kernels: learned beside the reference(s), as heat maps with numbers, and as tables.
  const refs: { label: string; rows: number[][] }[] = [];
  if (options.trueKernel) refs.push({ label: `true: ${options.trueKernel.name}`, rows: rowsOf(options.trueKernel.kernel) });
  if (reference) refs.push({ label: `matched: ${reference.name}`, rows: reference.rows });
  const span = Math.max(1e-30, ...[...learned, ...refs].flatMap((k) => k.rows.flat().map(Math.abs)));
  const kernelFigures: string[] = [];
  let n = 0;
  for (const k of [...learned, ...refs]) {
    const name = `kernel-${++n}.svg`;
    const svg = await kernelHeatmapSvg(k.rows, k.label, span);
    plots.push([name, svg]);
    kernelFigures.push(`<figure class="kernel">${inlineSvg(svg, k.label)}${kernelTable(k.rows, k.label)}</figure>`);
  }
  // The curves of a curves model, beside the kernel: before it (per input channel), after it (per output).
  const curves = model.training.curves;
  for (const [side, list, axes] of [
    ['before', curves?.before, { x: 'input value', y: 'f(input), what the kernel sees' }],
    ['after', curves?.after, { x: "kernel's response", y: 'output' }],
  ] as const) {
    for (const [ch, c] of (list ?? []).entries()) {
      const label = `curve ${side} the kernel${list!.length > 1 ? `, channel ${ch}` : ''}: ${c.name || 'no known curve'}`;
      const name = `curve-${side}-${ch}.svg`;
      const svg = await curvePlotSvg(c, label, axes);
      plots.push([name, svg]);
      kernelFigures.push(`<figure class="curve">${inlineSvg(svg, label)}<figcaption>${escapeHtml(describeCurve(c))}</figcaption></figure>`);
    }
  }
  // The errors stand beside the kernels they belong to (the model's own come first in `learned`).
  const errors = await errorFigures(model, plots);
  kernelFigures.splice(learnedKernels(model).length, 0, ...errors.figures);
  sections.push(
    '<section><h2>Kernel</h2><p>Heat maps share one colour scale (blue negative, white 0, red positive); the numbers are the taps, as in <code>cv2.filter2D</code> (correlation, row 0 on top).</p>' +
      `<div class="row">${kernelFigures.join('')}</div>` +
      errors.note +
      (learned.length === 0 ? '<p>This model has no convolution to show.</p>' : '') +
      (matches.length ? `<p>Closest known filters: ${matches.slice(0, 3).map((m) => `${escapeHtml(m.name)} (${m.maxAbsError.toExponential(1)})`).join('; ')}.</p>` : '') +
      '</section>',
  );

  // Loss curves.
  const runs = [{ name: model.training.solver, result }, ...(options.extraRuns ?? [])];
  const lossFigures: string[] = [];
  const exactNotes: string[] = [];
  for (const run of runs) {
    if (run.result.history.length < 2) {
      if (run.result.exactLoss !== undefined) exactNotes.push(`The ${escapeHtml(run.name)} solver finds the least-squares optimum in one pass (no curve): training MSE ${run.result.exactLoss.toExponential(3)}.`);
      continue;
    }
    const name = runs.length > 1 ? `loss-${run.name}.svg` : 'loss.svg';
    const svg = await lossPlotSvg(run.result.history, run.result.exactLoss, `loss: ${run.name}`);
    plots.push([name, svg]);
    const note =
      run.result.history.length === 0
        ? `The ${escapeHtml(run.name)} solver finds the least-squares optimum in one pass: no curve, only its loss (dashed).`
        : `${run.result.history.length} evaluations; ${run.result.steps} steps (${escapeHtml(run.result.stopReason)}).` +
          (run.result.exactLoss === undefined
            ? ''
            : run.result.exactLoss > 0
              ? ' The dashed line is the exact least-squares optimum: a curve that reaches it has found the best possible kernel.'
              : ' The exact least-squares optimum has loss 0 (the targets are an exact linear filter of the inputs), which a log axis cannot show: the lower the curve ends, the closer the kernel.');
    lossFigures.push(`<figure class="loss">${inlineSvg(svg, `loss curve of ${run.name}`)}<figcaption>${note}</figcaption></figure>`);
  }
  if (lossFigures.length || exactNotes.length) {
    sections.push(`<section><h2>Loss curves</h2><div class="row">${lossFigures.join('')}</div>${exactNotes.map((n) => `<p>${n}</p>`).join('')}</section>`);
  }

  // Samples.
  const samplesHtml = await sampleRows;
  if (samplesHtml.length) {
    sections.push(
      `<section><h2>Samples</h2><p>From ${escapeHtml(options.samplesNote ?? 'the data')}. Signed images: grey = 0, white = most positive, black = most negative; target and prediction share one scale; the error (prediction − target) is stretched to its own largest value, printed below it.</p>` +
        samplesHtml.join('') +
        '</section>',
    );
  }

  const title = escapeHtml(options.title);
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin:0 0 8px}.summary p{font-size:15px;background:#f3f7fb;border-left:4px solid #1f77b4;padding:8px 12px;margin:8px 0}
.row{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}figure{margin:0}
table{border-collapse:collapse}table.metrics th{text-align:left;font-weight:600;padding:2px 14px 2px 0;vertical-align:top}table.metrics td{padding:2px 0;font-variant-numeric:tabular-nums}
table.kernel{margin-top:4px;font:12px ui-monospace,monospace}table.kernel caption{display:none}table.kernel td{border:1px solid #ddd;padding:2px 6px;text-align:right}
.warnings li{color:#8a4b00}.ok{color:#2a7a2a}
.sample{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0 14px}.sample figure{text-align:center;font-size:12px;color:#444}
.sample img{display:block;image-rendering:pixelated;width:200px;height:auto;border:1px solid #ccc}
</style>
</head>
<body>
<h1>${title}</h1>
${options.subtitle ? `<p class="sub">${escapeHtml(options.subtitle)}</p>` : ''}
${sections.join('\n')}
<p class="sub">Made by kernel-learn. The plots are also in the folder beside this page, as SVG files.</p>
</body>
</html>
`;
  return { html, plots };
}

/**
 * The standard errors, for beside the kernel: heat maps on their own scale (white 0, red the
 * largest) with the numbers, and a note on what they mean; nothing when the model has none.
 */
async function errorFigures(model: Model, plots: Plots): Promise<{ figures: string[]; note: string }> {
  const grids = errorGrids(model);
  if (grids.length === 0) return { figures: [], note: '' };
  const span = Math.max(1e-30, ...grids.flatMap((g) => g.rows.flat()));
  const figures: string[] = [];
  for (const [i, g] of grids.entries()) {
    const svg = await kernelHeatmapSvg(g.rows, g.label, span, formatError);
    plots.push([`errors-${i + 1}.svg`, svg]);
    figures.push(`<figure class="kernel errors">${inlineSvg(svg, g.label)}${kernelTable(g.rows, g.label, formatError)}</figure>`);
  }
  const note =
    '<p>Standard errors (1σ) of the least-squares taps, from the training residual and the windows\' Gram matrix: read each tap as value ± error; ' +
    'a tap within 4σ of 0 is zero within noise. They assume independent noise in the targets: a filter that is not a kernel, or lossy-compressed targets, ' +
    'bias the taps by more (see the warnings).</p>';
  return { figures, note };
}

function describeValidation(model: Model): string {
  const val = model.training.validation;
  if (val.kind === 'pairs') return `${val.pairs} held-out pairs (${val.pixels} pixels)`;
  if (val.kind === 'none') return 'the training data (nothing was held out)';
  return `held-out bands of the images (${val.pixels} pixels)`;
}

function rowsOf(k: Kernel2D): number[][] {
  return Array.from({ length: k.kh }, (_, y) => Array.from({ length: k.kw }, (_, x) => k.data[y * k.kw + x]));
}

function maxAbsDiff(rows: number[][], k: Kernel2D): number | undefined {
  if (rows.length !== k.kh || rows[0].length !== k.kw) return undefined;
  let m = 0;
  for (let y = 0; y < k.kh; y++) for (let x = 0; x < k.kw; x++) m = Math.max(m, Math.abs(rows[y][x] - k.data[y * k.kw + x]));
  return m;
}

function range(image: Image): { min: number; max: number } {
  let min = Infinity, max = -Infinity;
  const { data } = image;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isFinite(v)) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return min <= max ? { min, max } : { min: 0, max: 0 };
}

/** An image as a data: PNG URI, mapping [lo, hi] to [0, 255] (up to 3 channels shown). */
async function pngUri(image: Image, lo: number, hi: number): Promise<string> {
  const ch = image.channels >= 3 ? 3 : 1;
  const { width: w, height: h } = image;
  const plane = w * h;
  const buf = Buffer.alloc(plane * ch);
  const span = hi > lo ? hi - lo : 1;
  for (let c = 0; c < ch; c++) {
    for (let p = 0; p < plane; p++) {
      const v = image.data[c * plane + p];
      buf[p * ch + c] = Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round((255 * (v - lo)) / span))) : 0;
    }
  }
  const png = await sharp(buf, { raw: { width: w, height: h, channels: ch as 1 | 3 } }).png({ compressionLevel: 9 }).toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

async function sampleRow(s: ReportSample, prediction: Image): Promise<string> {
  const inR = range(s.input);
  const tR = range(s.target), pR = range(prediction);
  const signed = Math.min(tR.min, pR.min) < 0;
  const m = Math.max(Math.abs(tR.min), Math.abs(tR.max), Math.abs(pR.min), Math.abs(pR.max), 1e-30);
  const [lo, hi] = signed ? [-m, m] : [0, m];
  const channels = Math.min(s.target.channels, prediction.channels);
  const error = createImage(s.target.width, s.target.height, channels, 'f32');
  const plane = s.target.width * s.target.height;
  let emax = 0;
  for (let i = 0; i < plane * channels; i++) {
    // The prediction is the same size as the input (the model pads by its border mode).
    const e = prediction.data[i] - s.target.data[i];
    error.data[i] = e;
    if (Math.abs(e) > emax) emax = Math.abs(e);
  }
  const es = Math.max(emax, 1e-30);
  const fig = (uri: string, cap: string): string => `<figure><img alt="${escapeHtml(cap)}" src="${uri}"><figcaption>${escapeHtml(cap)}</figcaption></figure>`;
  // The four encodes at once: sharp runs each in its own thread-pool thread.
  const [inUri, tUri, pUri, eUri] = await Promise.all([pngUri(s.input, inR.min, inR.max), pngUri(s.target, lo, hi), pngUri(prediction, lo, hi), pngUri(error, -es, es)]);
  return (
    `<h3>${escapeHtml(s.name)}</h3><div class="sample">` +
    fig(inUri, 'input') +
    fig(tUri, `target (${fmtRange(tR)})`) +
    fig(pUri, `prediction (${fmtRange(pR)})`) +
    fig(eUri, `error, max |e| = ${emax.toExponential(2)}`) +
    '</div>'
  );
}

function fmtRange(r: { min: number; max: number }): string {
  return `${formatTapLabel(r.min)} .. ${formatTapLabel(r.max)}`;
}

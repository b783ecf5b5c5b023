/**
 * The page: reads the controls, decodes uploads, starts a training worker per run and draws what
 * it streams back. All learning happens in the worker (worker.ts) with the same library as the CLI.
 */
import type { FilterSpec } from '../../src/filters/spec.js';
import type { Image } from '../../src/image.js';
import type { CurvesRecord } from '../../src/nn/curve.js';
import { createRng, uniform } from '../../src/random.js';
import { decodeFile, stemOf } from './decode.js';
import { loadPhotos } from './photos.js';
import { formatTap } from '../../src/format.js';
import { drawCurve, drawImage, drawLoss, fmtLoss, kernelTable, maxAbs, type LossPoint } from './draw.js';
import type { DoneMessage, FromWorker, ImageSource, ImageView, KernelView, ToWorker, TrainJob } from './protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

const ui = {
  form: $<HTMLFormElement>('controls'),
  filter: $<HTMLSelectElement>('filter'),
  fsize: $<HTMLSelectElement>('fsize'),
  fsizeRow: $('fsize-row'),
  sigma: $<HTMLInputElement>('sigma'),
  sigmaRow: $('sigma-row'),
  custom: $<HTMLTextAreaElement>('custom'),
  customRow: $('custom-row'),
  count: $<HTMLInputElement>('count'),
  size: $<HTMLInputElement>('size'),
  syntheticRow: $('synthetic-row'),
  photosRow: $('photos-row'),
  uploadRows: $('upload-rows'),
  targetsRow: $('targets-row'),
  inputs: $<HTMLInputElement>('inputs'),
  targets: $<HTMLInputElement>('targets'),
  arch: $<HTMLSelectElement>('arch'),
  ksize: $<HTMLSelectElement>('ksize'),
  solver: $<HTMLSelectElement>('solver'),
  seed: $<HTMLInputElement>('seed'),
  train: $<HTMLButtonElement>('train'),
  stop: $<HTMLButtonElement>('stop'),
  status: $('status'),
  detail: $('detail'),
  loss: $<HTMLCanvasElement>('loss'),
  learned: $('learned'),
  bias: $('bias'),
  truth: $('truth'),
  kernelNote: $('kernel-note'),
  curves: $('curves'),
  imageNote: $('image-note'),
  views: {
    input: $<HTMLCanvasElement>('view-input'),
    target: $<HTMLCanvasElement>('view-target'),
    prediction: $<HTMLCanvasElement>('view-prediction'),
    error: $<HTMLCanvasElement>('view-error'),
  },
  errorCaption: $('error-caption'),
  downloadJson: $<HTMLAnchorElement>('download-json'),
  downloadOnnx: $<HTMLAnchorElement>('download-onnx'),
  downloadNote: $('download-note'),
  warnings: $<HTMLUListElement>('warnings'),
};

// ---- controls ----------------------------------------------------------------------------------

const FILTER_SIZES: Record<string, string[]> = {
  'sobel-dx': ['1', '3', '5', '7'],
  'sobel-dy': ['1', '3', '5', '7'],
  // The magnitude stage fits kernels up to 7x7, but the lifted solve has 1275 unknowns at 7x7 (about 80 s; 5x5: about 1 s).
  'sobel-mag': ['3', '5'],
  gaussian: ['3', '5', '7', '9'],
  'gamma-blur': ['3', '5', '7'],
  'srgb-blur': ['3', '5', '7'],
  random: ['1', '3', '5', '7'],
};

const ARCH_OF_FILTER: Record<string, TrainJob['arch']> = { 'sobel-mag': 'magnitude', 'gamma-blur': 'curve-after', 'srgb-blur': 'curves' };

function source(): string {
  return (ui.form.querySelector('input[name=source]:checked') as HTMLInputElement | null)?.value ?? 'photos';
}

/** Custom kernel rows from JSON ([[..],[..]]) or from lines of numbers separated by spaces or commas. */
function parseKernelRows(text: string): number[][] {
  const t = text.trim();
  let rows: unknown;
  if (t.startsWith('[')) {
    try {
      rows = JSON.parse(t);
    } catch {
      throw new Error('custom kernel: not valid JSON; write rows like [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]');
    }
  } else {
    rows = t.split(/\n|;/).map((line) => line.trim()).filter(Boolean).map((line) => line.split(/[\s,]+/).map(Number));
  }
  if (!Array.isArray(rows) || rows.length === 0 || !rows.every((r) => Array.isArray(r) && r.length > 0 && r.every((v) => typeof v === 'number' && Number.isFinite(v)))) {
    throw new Error('custom kernel: give rows of finite numbers, e.g. [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]');
  }
  const r = rows as number[][];
  if (!r.every((row) => row.length === r[0].length)) throw new Error('custom kernel: every row needs the same number of values');
  return r;
}

/** A random kernel with entries in [-1, 1] rounded to 2 decimals (readable), from the seed. */
function randomKernel(k: number, seed: number): number[][] {
  const rng = createRng(seed);
  return Array.from({ length: k }, () => Array.from({ length: k }, () => Math.round(uniform(rng, -1, 1) * 100) / 100));
}

function filterSpec(): FilterSpec {
  const f = ui.filter.value;
  const k = Number(ui.fsize.value);
  switch (f) {
    case 'sobel-dx': return { op: 'sobel', dx: 1, dy: 0, ksize: k };
    case 'sobel-dy': return { op: 'sobel', dx: 0, dy: 1, ksize: k };
    // Its x derivative: the worker makes sqrt(dx^2 + dy^2) targets from it (magnitudeTarget).
    case 'sobel-mag': return { op: 'sobel', dx: 1, dy: 0, ksize: k };
    case 'scharr-dx': return { op: 'scharr', dx: 1, dy: 0 };
    case 'scharr-dy': return { op: 'scharr', dx: 0, dy: 1 };
    // The curve filters' blur: the worker puts their tone curve around it (targetCurve).
    case 'gaussian':
    case 'gamma-blur':
    case 'srgb-blur': return { op: 'gaussian', ksize: k, sigma: Number(ui.sigma.value) || 0 };
    case 'random': return { op: 'kernel', kernel: randomKernel(k, Number(ui.seed.value) || 0) };
    case 'custom': return { op: 'kernel', kernel: parseKernelRows(ui.custom.value) };
    default: throw new Error(`unknown filter ${f}`);
  }
}

/** The filter's own size, which the learned kernel size follows until the user picks another. */
function filterSize(): number {
  const f = ui.filter.value;
  if (f.startsWith('scharr')) return 3;
  if (f === 'custom') {
    try {
      const r = parseKernelRows(ui.custom.value);
      const n = Math.max(r.length, r[0].length);
      return n % 2 === 1 ? n : n + 1;
    } catch {
      return 3;
    }
  }
  return Number(ui.fsize.value);
}

function syncControls(): void {
  const f = ui.filter.value;
  const sizes = FILTER_SIZES[f];
  ui.fsizeRow.hidden = !sizes;
  if (sizes) {
    const keep = sizes.includes(ui.fsize.value) ? ui.fsize.value : '3';
    ui.fsize.replaceChildren(...sizes.map((s) => new Option(s, s, false, s === keep)));
  }
  ui.sigmaRow.hidden = f !== 'gaussian' && f !== 'gamma-blur' && f !== 'srgb-blur';
  ui.customRow.hidden = f !== 'custom';
  const src = source();
  ui.syntheticRow.hidden = src !== 'synthetic';
  ui.photosRow.hidden = src !== 'photos';
  ui.uploadRows.hidden = src !== 'pairs' && src !== 'inputs';
  ui.targetsRow.hidden = src !== 'pairs';
  const k = String(filterSize());
  if ([...ui.ksize.options].some((o) => o.value === k)) ui.ksize.value = k;
}

ui.form.addEventListener('change', (ev) => {
  const id = (ev.target as HTMLElement).id;
  // The architecture follows the filter: the magnitude stage for Sobel magnitude, a curve after the
  // kernel for gamma, curves on both sides for a blur in linear light, else one convolution.
  if (id === 'filter') ui.arch.value = ARCH_OF_FILTER[ui.filter.value] ?? 'linear';
  if (id === 'filter' || id === 'fsize' || id === 'custom' || (ev.target as HTMLInputElement).name === 'source') syncControls();
});
syncControls();

// ---- status and views --------------------------------------------------------------------------

let points: LossPoint[] = [];
let exactLoss: number | null = null;
let maxSteps = 1;
let truth: KernelView[] | null = null;
let magnitudeRun = false;
let worker: Worker | null = null;
let started = 0;
const urls: string[] = [];

function setStatus(status: string, detail: string): void {
  ui.status.textContent = status;
  ui.status.dataset.state = status.split(/[\s:]/)[0];
  ui.detail.textContent = detail;
}

function redrawLoss(): void {
  drawLoss(ui.loss, points, exactLoss, maxSteps);
}
window.addEventListener('resize', redrawLoss);
redrawLoss();

/** Fills a kernel list: one block per (out, in) channel pair, in a grid with a column per input channel. */
function fillKernels(list: HTMLElement, views: KernelView[], scale: number): void {
  const cin = Math.max(1, ...views.map((k) => k.in + 1));
  list.style.gridTemplateColumns = `repeat(${cin}, max-content)`;
  list.classList.toggle('compact', views.length > 1);
  // Several channels: the kernel card takes the whole width.
  document.getElementById('kernel-card')?.classList.toggle('wide', views.length > 1);
  list.replaceChildren(...kernelBlocks(views, scale));
}

function kernelBlocks(views: KernelView[], scale: number): HTMLElement[] {
  const many = views.length > 1;
  return views.map((k) => {
    const wrap = document.createElement('div');
    wrap.className = 'kernel-block';
    if (many) {
      const cap = document.createElement('div');
      cap.className = 'hint';
      cap.textContent = magnitudeRun ? `${k.out === 0 ? 'a' : 'b'} (conv output ${k.out})` : `out ${k.out} ← in ${k.in}`;
      wrap.append(cap);
    }
    wrap.append(kernelTable(k, scale));
    return wrap;
  });
}

function showKernels(learned: KernelView[] | null, bias: number[] | null): void {
  const scale = Math.max(truth ? Math.max(...truth.map((k) => maxAbs(k.data))) : 0, learned ? Math.max(...learned.map((k) => maxAbs(k.data))) : 0);
  if (learned) {
    fillKernels(ui.learned, learned, scale);
    ui.learned.dataset.kernel = JSON.stringify(learned.flatMap((k) => k.data));
    ui.bias.textContent = bias ? `bias ${bias.map((b) => formatTap(b, 4)).join(', ')}` : '';
  }
  if (truth) fillKernels(ui.truth, truth, scale);
  else {
    const p = document.createElement('p');
    p.className = 'hint';
    p.textContent = 'unknown: the targets were uploaded';
    ui.truth.replaceChildren(p);
  }
  if (learned && truth && learned.length === truth.length && learned.every((k, i) => k.data.length === truth![i].data.length)) {
    let d = 0;
    learned.forEach((k, i) => k.data.forEach((v, j) => (d = Math.max(d, Math.abs(v - truth![i].data[j])))));
    ui.kernelNote.textContent = `max |learned − true| = ${d.toExponential(2)}`;
    if (magnitudeRun) ui.kernelNote.textContent += ' · magnitude: the pair (a, b) is found up to a rotation and shown in the canonical form (a along x, b along +y)';
  } else if (learned && truth) {
    ui.kernelNote.textContent = `the learned kernel is ${learned[0].kh}x${learned[0].kw}, the true one ${truth[0].kh}x${truth[0].kw}`;
  }
}

/** The curves of a curve-stage model beside its kernel: one plot per channel and side, named when known. */
function showCurves(curves: CurvesRecord | null): void {
  const sides = curves ? ([['before', curves.before], ['after', curves.after]] as const) : [];
  const figures = sides.flatMap(([side, list]) =>
    (list ?? []).map((c, ch) => {
      const fig = document.createElement('figure');
      const canvas = document.createElement('canvas');
      canvas.className = 'curve';
      const cap = document.createElement('figcaption');
      cap.textContent = `curve ${side} the kernel${list!.length > 1 ? `, channel ${ch}` : ''}: ${c.name || 'no known curve'}`;
      fig.append(canvas, cap);
      return { fig, canvas, c };
    }),
  );
  ui.curves.hidden = figures.length === 0;
  ui.curves.replaceChildren(...figures.map((f) => f.fig));
  for (const f of figures) drawCurve(f.canvas, f.c);
}

/** Input and target (and, when given, prediction and error) of the first pair. */
function showImages(m: { stem: string; pairs: number; input: ImageView; target: ImageView; prediction?: ImageView }): void {
  drawImage(ui.views.input, m.input, 'plain');
  const plane = m.target.width * m.target.height;
  const t = m.target.data.subarray(0, plane);
  const p = m.prediction?.data.subarray(0, plane);
  let lo = Infinity;
  for (let i = 0; i < plane; i++) lo = Math.min(lo, t[i]);
  const signed = lo < 0;
  const scale = Math.max(maxAbs(t), p ? maxAbs(p) : 0);
  drawImage(ui.views.target, m.target, signed ? 'signed' : 'plain', scale);
  const ch = m.target.channels > 1 ? `, channel 0 of ${m.target.channels}` : '';
  ui.imageNote.textContent = `(${m.stem}, ${m.input.width}x${m.input.height}, 1 of ${m.pairs}${ch})`;
  if (!m.prediction || !p) {
    for (const c of [ui.views.prediction, ui.views.error]) c.getContext('2d')?.clearRect(0, 0, c.width, c.height);
    ui.errorCaption.textContent = 'error';
    return;
  }
  drawImage(ui.views.prediction, m.prediction, signed ? 'signed' : 'plain', scale);
  const err = new Float32Array(plane);
  for (let i = 0; i < plane; i++) err[i] = p[i] - t[i];
  const e = maxAbs(err);
  drawImage(ui.views.error, { width: m.target.width, height: m.target.height, channels: 1, data: err }, 'error', e);
  ui.errorCaption.textContent = `error, max |e| = ${e === 0 ? '0 (exact)' : e.toExponential(2)}`;
}

function setDownload(a: HTMLAnchorElement, data: BlobPart | null, type: string): void {
  if (data === null) {
    a.removeAttribute('href');
    a.classList.add('disabled');
    return;
  }
  const url = URL.createObjectURL(new Blob([data], { type }));
  urls.push(url);
  a.href = url;
  a.classList.remove('disabled');
}

function showWarnings(list: string[]): void {
  ui.warnings.replaceChildren(...list.map((w) => Object.assign(document.createElement('li'), { textContent: w })));
}

function finish(m: DoneMessage): void {
  const elapsed = performance.now() - started;
  stopWorker();
  truth = m.trueKernels;
  exactLoss = m.exactLoss;
  points = m.history.length > 0 ? m.history : points;
  if (m.solver === 'exact') maxSteps = 1;
  redrawLoss();
  showKernels(m.learned, m.bias);
  showCurves(m.curves);
  showImages(m);
  setDownload(ui.downloadJson, m.modelJson, 'application/json');
  setDownload(ui.downloadOnnx, m.onnx as Uint8Array<ArrayBuffer> | null, 'application/octet-stream');
  ui.downloadNote.textContent = m.onnx
    ? 'The model JSON runs with kernel-learn apply --model; the ONNX file with onnxruntime.'
    : `The model JSON runs with kernel-learn apply --model. ONNX export failed: ${m.onnxError}`;
  const status = m.converged ? 'converged' : `stopped: ${m.stopReason}`;
  ui.status.dataset.elapsedMs = String(Math.round(elapsed));
  const steps = m.solver === 'exact' ? m.stopReason : `${m.solver}, ${m.steps} steps, ${m.stopReason}`;
  const psnr = m.psnr === null ? '∞' : m.psnr.toFixed(1);
  const network = `${m.layers} (support ${describeSupport(m.support)}) · alignment ${describeAlignment(m.alignment)}`;
  setStatus(status, `${steps} · ${(elapsed / 1000).toFixed(2)} s (training ${(m.trainMs / 1000).toFixed(2)} s) · validation R² ${m.r2.toFixed(6)}, PSNR ${psnr} dB · border ${m.border} · ${network}`);
  showWarnings(m.warnings);
}

/** The box of the non-zero taps, and its offset from the kernel's anchor when it is not centred. */
function describeSupport({ box, offset }: DoneMessage['support']): string {
  return `${box.height}x${box.width}${offset[0] || offset[1] ? `, off centre by dy=${offset[0]} dx=${offset[1]}` : ''}`;
}

/** 'same', or the mode with the size change and shift the trainer found (e.g. "valid: targets -2x-2"). */
function describeAlignment(a: DoneMessage['alignment']): string {
  if (a.mode === 'same') return 'same';
  const signed = (v: number): string => (v > 0 ? `+${v}` : String(v));
  return `${a.mode}: targets ${signed(a.dh)}x${signed(a.dw)}${a.mode === 'offset' ? `, shifted dy=${a.dy} dx=${a.dx}` : ''}`;
}

function stopWorker(): void {
  worker?.terminate();
  worker = null;
  ui.train.disabled = false;
  ui.stop.disabled = true;
}

function onMessage(m: FromWorker): void {
  switch (m.type) {
    case 'phase':
      setStatus(m.text.startsWith('solving') || m.text.startsWith('training') ? 'training' : 'preparing', `${m.text}…`);
      break;
    case 'truth':
      truth = m.trueKernels;
      showKernels(null, null);
      break;
    case 'pair':
      showImages(m);
      break;
    case 'progress':
      maxSteps = m.maxSteps;
      if (m.solver !== 'exact') {
        points.push({ step: m.step, trainLoss: m.trainLoss, valLoss: m.valLoss });
        redrawLoss();
        setStatus('training', `${m.solver} step ${m.step}/${m.maxSteps} · training loss ${fmtLoss(m.trainLoss)} · validation loss ${fmtLoss(m.valLoss)}`);
      }
      if (m.kernel) showKernels(m.kernel, null);
      break;
    case 'done':
      finish(m);
      break;
    case 'error':
      stopWorker();
      setStatus('error', m.message);
      break;
  }
}

// ---- uploads -----------------------------------------------------------------------------------

async function uploadedPairs(mode: 'pairs' | 'inputs'): Promise<{ pairs: { stem: string; input: Image; target?: Image }[]; notes: string[] }> {
  const inputs = [...(ui.inputs.files ?? [])];
  if (inputs.length === 0) throw new Error('choose one or more input images first');
  const targets = mode === 'pairs' ? [...(ui.targets.files ?? [])] : [];
  if (mode === 'pairs' && targets.length === 0) throw new Error('choose the target images (same names as the inputs), or let the app make the targets');
  const notes: string[] = [];
  const byStem = new Map(targets.map((f) => [stemOf(f.name), f]));
  const pairs: { stem: string; input: Image; target?: Image }[] = [];
  const unpaired: string[] = [];
  for (const f of inputs) {
    const stem = stemOf(f.name);
    const t = byStem.get(stem);
    if (mode === 'pairs' && !t) {
      unpaired.push(f.name);
      continue;
    }
    const input = await decodeFile(f);
    notes.push(...input.notes);
    let target: Image | undefined;
    if (t) {
      const d = await decodeFile(t);
      notes.push(...d.notes);
      target = d.image;
      byStem.delete(stem);
    }
    pairs.push({ stem, input: input.image, target });
  }
  if (unpaired.length > 0) notes.push(`no target for ${unpaired.join(', ')}: skipped`);
  if (byStem.size > 0) notes.push(`no input for ${[...byStem.values()].map((f) => f.name).join(', ')}: skipped`);
  if (pairs.length === 0) throw new Error('no input has a target with the same name (a.png pairs with a.npy or a.png)');
  return { pairs, notes };
}

// ---- train / stop ------------------------------------------------------------------------------

async function train(): Promise<void> {
  stopWorker();
  started = performance.now();
  points = [];
  exactLoss = null;
  maxSteps = 1;
  truth = null;
  redrawLoss();
  showWarnings([]);
  // Shown until the trainer reports weights (Adam / SGD, every 25 steps) or the run ends.
  const waiting = Object.assign(document.createElement('p'), { className: 'hint', textContent: ui.solver.value === 'exact' ? 'appears when the solve ends' : 'appears at the first progress report' });
  ui.learned.replaceChildren(waiting);
  delete ui.learned.dataset.kernel;
  ui.bias.textContent = '';
  ui.kernelNote.textContent = '';
  setDownload(ui.downloadJson, null, '');
  setDownload(ui.downloadOnnx, null, '');
  ui.train.disabled = true;
  ui.stop.disabled = false;
  try {
    const src = source();
    let imageSource: ImageSource;
    let notes: string[] = [];
    let filter: FilterSpec | null = null;
    if (src === 'synthetic') {
      imageSource = { kind: 'synthetic', count: Number(ui.count.value) || 8, width: Number(ui.size.value) || 256, height: Number(ui.size.value) || 256, seed: Number(ui.seed.value) || 0 };
      filter = filterSpec();
    } else if (src === 'photos') {
      filter = filterSpec();
      setStatus('preparing', 'decoding the built-in photographs…');
      imageSource = { kind: 'images', pairs: await loadPhotos() };
    } else {
      setStatus('preparing', 'reading the uploaded files…');
      const up = await uploadedPairs(src === 'pairs' ? 'pairs' : 'inputs');
      imageSource = { kind: 'images', pairs: up.pairs };
      notes = up.notes;
      if (src === 'inputs') filter = filterSpec();
    }
    const ks = ui.ksize.value;
    magnitudeRun = ui.arch.value === 'magnitude';
    const job: TrainJob = {
      source: imageSource,
      filter,
      magnitudeTarget: filter !== null && ui.filter.value === 'sobel-mag',
      targetCurve: filter === null ? null : ui.filter.value === 'gamma-blur' ? 'gamma' : ui.filter.value === 'srgb-blur' ? 'srgb' : null,
      arch: ui.arch.value as TrainJob['arch'],
      ksize: ks === 'auto' ? 'auto' : Number(ks),
      solver: ui.solver.value as TrainJob['solver'],
      seed: Number(ui.seed.value) || 0,
    };
    showWarnings(notes);
    setStatus('preparing', 'starting the worker…');
    worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (ev: MessageEvent<FromWorker>) => onMessage(ev.data);
    worker.onerror = (ev) => {
      stopWorker();
      setStatus('error', ev.message || 'the training worker failed to start');
    };
    const transfer: Transferable[] = imageSource.kind === 'images' ? imageSource.pairs.flatMap((p) => [p.input.data.buffer as ArrayBuffer, ...(p.target ? [p.target.data.buffer as ArrayBuffer] : [])]) : [];
    const msg: ToWorker = { type: 'train', job };
    worker.postMessage(msg, transfer);
  } catch (err) {
    stopWorker();
    setStatus('error', err instanceof Error ? err.message : String(err));
  }
}

ui.form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void train();
});

ui.stop.addEventListener('click', () => {
  if (!worker) return;
  stopWorker();
  setStatus('stopped', `stopped after ${((performance.now() - started) / 1000).toFixed(2)} s; press Train to start again`);
});

window.addEventListener('pagehide', () => urls.forEach((u) => URL.revokeObjectURL(u)));

/**
 * The training worker: makes the pairs (synthetic images, targets from the chosen filter),
 * runs the library's trainFilter, streams its progress and posts the model back.
 * trainFilter is synchronous, so Stop is the page terminating this worker.
 */
import type { ImagePair } from '../../src/data/pairs.js';
import { syntheticImages } from '../../src/data/synthetic.js';
import { exportOnnx } from '../../src/export/onnx.js';
import { filterKernel } from '../../src/filters/kernels.js';
import { applyFilter } from '../../src/filters/ops.js';
import type { FilterSpec } from '../../src/filters/spec.js';
import type { Image } from '../../src/image.js';
import { applyAligned } from '../../src/nn/apply.js';
import { kernelLayer, serializeModel, type Model } from '../../src/nn/model.js';
import { srgbDecode, srgbEncode } from '../../src/train/curve.js';
import { trainFilter, type ProgressEvent } from '../../src/train/index.js';
import type { DoneMessage, FromWorker, ImageView, KernelView, ToWorker, TrainJob } from './protocol.js';

// A module worker's global scope; typed through the DOM's Worker interface (postMessage, onmessage).
const ctx = self as unknown as Worker;

function post(msg: FromWorker, transfer: Transferable[] = []): void {
  ctx.postMessage(msg, transfer);
}

/** The kernel a filter applies to each channel on its own: diagonal (output c from input c). */
function trueKernels(spec: FilterSpec, channels: number): KernelView[] {
  const k = filterKernel(spec);
  const views: KernelView[] = [];
  for (let o = 0; o < channels; o++) {
    for (let i = 0; i < channels; i++) {
      views.push({ out: o, in: i, kh: k.kh, kw: k.kw, data: o === i ? Array.from(k.data) : new Array<number>(k.kh * k.kw).fill(0) });
    }
  }
  return views;
}

/** Flat weights [out][in][kh][kw] as one view per (out, in). */
function kernelViews(flat: ArrayLike<number>, cout: number, cin: number, kh: number, kw: number): KernelView[] {
  const views: KernelView[] = [];
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < cin; i++) {
      const start = (o * cin + i) * kh * kw;
      views.push({ out: o, in: i, kh, kw, data: Array.from({ length: kh * kw }, (_, j) => flat[start + j]) });
    }
  }
  return views;
}

/**
 * The filter's output; for a magnitude target sqrt(f^2 + g^2) with g = f with dx and dy swapped
 * (float32); with a target curve, the filter with that tone curve around it (protocol.ts).
 */
function makeTarget(input: Image, job: TrainJob): Image {
  const spec = job.filter!;
  if (job.targetCurve) return curvedTarget(input, spec, job.targetCurve);
  if (!job.magnitudeTarget) return applyFilter(input, spec);
  const gx = applyFilter(input, { ...spec, depth: 'f32' });
  const gy = applyFilter(input, { ...spec, dx: spec.dy ?? 0, dy: spec.dx ?? 1, depth: 'f32' });
  const data = new Float32Array(gx.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.sqrt(gx.data[i] * gx.data[i] + gy.data[i] * gy.data[i]);
  return { ...gx, depth: 'f32', data };
}

/** A float32 image with a pointwise map applied. */
function mapped(img: Image, f: (v: number) => number): Image {
  return { ...img, depth: 'f32', data: Float32Array.from(img.data, f) };
}

/** gamma: 255 (f(x) / 255)^(1/2.2), float32; srgb: encode(f(decode(x))) on [0, 255], rounded to 8 bits. */
function curvedTarget(input: Image, spec: FilterSpec, curve: 'gamma' | 'srgb'): Image {
  if (curve === 'gamma') return mapped(applyFilter(input, { ...spec, depth: 'f32' }), (v) => 255 * (Math.max(v, 0) / 255) ** (1 / 2.2));
  const linear = applyFilter(mapped(input, (v) => 255 * srgbDecode(v / 255)), { ...spec, depth: 'f32' });
  const out = mapped(linear, (v) => Math.min(255, Math.max(0, Math.round(255 * srgbEncode(Math.max(v, 0) / 255)))));
  return { ...out, depth: 'u8' };
}

/** The true kernels: the filter's per-channel kernels, or for a magnitude target f and g (two outputs, one input). */
function truthFor(job: TrainJob, channels: number): KernelView[] {
  const spec = job.filter!;
  if (!job.magnitudeTarget) return trueKernels(spec, channels);
  return [spec, { ...spec, dx: spec.dy ?? 0, dy: spec.dx ?? 1 }].map((s, o) => {
    const k = filterKernel(s);
    return { out: o, in: 0, kh: k.kh, kw: k.kw, data: Array.from(k.data) };
  });
}

function view(img: Image): ImageView {
  return { width: img.width, height: img.height, channels: img.channels, data: Float32Array.from(img.data) };
}

function makePairs(job: TrainJob): ImagePair[] {
  const src = job.source;
  if (src.kind === 'synthetic') {
    if (!job.filter) throw new Error('the built-in images need a filter to make their targets');
    post({ type: 'phase', text: `making ${src.count} synthetic ${src.width}x${src.height} images` });
    const inputs = syntheticImages(src.count, { width: src.width, height: src.height, seed: src.seed });
    post({ type: 'phase', text: 'filtering them to make the targets' });
    return inputs.map((input, i) => ({ stem: `synthetic-${i}`, input, target: makeTarget(input, job) }));
  }
  const missing = src.pairs.filter((p) => !p.target);
  if (missing.length > 0) {
    if (!job.filter) throw new Error(`no target for ${missing.map((p) => p.stem).join(', ')}: upload targets with the same names, or let the app make them`);
    post({ type: 'phase', text: `filtering ${missing.length} input${missing.length === 1 ? '' : 's'} to make the targets` });
  }
  return src.pairs.map((p) => ({ stem: p.stem, input: p.input, target: p.target ?? makeTarget(p.input, job) }));
}

/** The layers in words, for the result line: "conv 3x3", "conv 3x3 → magnitude", "conv 3x3 → abs → clamp". */
function layersText(model: Model): string {
  return model.layers.map((l) => (l.type === 'conv2d' ? `conv ${l.kernelSize.join('x')}` : l.type)).join(' → ');
}

function run(job: TrainJob): void {
  const t0 = performance.now();
  const pairs = makePairs(job);
  const cin = pairs[0].input.channels;
  const cout = pairs[0].target.channels;
  // The true kernel is known when the app made the targets with the job's filter.
  const madeTargets = job.source.kind === 'synthetic' || job.source.pairs.some((p) => !p.target);
  const truth = job.filter && madeTargets && (job.magnitudeTarget ? cin === 1 && cout === 1 : cin === cout) ? truthFor(job, cin) : null;
  post({ type: 'truth', trueKernels: truth });
  const shown = { input: view(pairs[0].input), target: view(pairs[0].target) };
  post({ type: 'pair', stem: pairs[0].stem, pairs: pairs.length, ...shown }, [shown.input.data.buffer as ArrayBuffer, shown.target.data.buffer as ArrayBuffer]);
  post({ type: 'phase', text: job.solver === 'exact' ? 'solving least squares' : `training (${job.solver})` });

  const onProgress = (e: ProgressEvent): void => {
    // Adam / SGD report their current weights (flat [out][in][kh][kw], data units): shown live.
    const w = e.weights;
    const k = w ? Math.round(Math.sqrt(w.length / (cout * cin))) : 0; // square kernels (ksize auto included)
    const kernel = w && k > 0 && w.length === cout * cin * k * k ? kernelViews(w, cout, cin, k, k) : undefined;
    post({ type: 'progress', solver: e.solver, step: e.step, maxSteps: e.maxSteps, trainLoss: e.trainLoss, valLoss: e.valLoss, kernel });
  };
  const magnitude = job.arch === 'magnitude';
  const arch = job.arch === 'magnitude' ? 'linear' : job.arch;
  const result = trainFilter(pairs, { arch, magnitude, ksize: job.ksize, solver: job.solver, border: 'auto', seed: job.seed, onProgress });
  const { model } = result;
  const conv = kernelLayer(model)?.conv;
  if (!conv) throw new Error('the model has no kernel layer');
  const [kh, kw] = conv.kernelSize;
  const flat: number[] = [];
  for (const o of conv.weights) for (const i of o) for (const row of i) flat.push(...row);

  let onnx: Uint8Array | null = null;
  let onnxError: string | null = null;
  try {
    onnx = exportOnnx(model);
  } catch (err) {
    onnxError = (err as Error).message;
  }

  post({ type: 'phase', text: 'predicting the first image' });
  const first = pairs[0];
  // In the target's frame: targets of another size ('valid' convolutions, crops) are aligned.
  const prediction = applyAligned(model, first.input);
  const msg: DoneMessage = {
    type: 'done',
    modelJson: serializeModel(model),
    onnx,
    onnxError,
    stopReason: result.stopReason,
    converged: result.stop === 'solved' || result.stop === 'converged',
    solver: model.training.solver,
    steps: result.steps,
    trainMs: result.trainMs,
    jobMs: performance.now() - t0,
    exactLoss: result.exactLoss ?? null,
    learned: kernelViews(flat, conv.outChannels, cin, kh, kw),
    bias: conv.bias ? Array.from(conv.bias) : null,
    curves: model.training.curves ?? null,
    trueKernels: truth,
    border: model.border,
    layers: layersText(model),
    support: result.support,
    alignment: result.alignment,
    r2: model.metrics.validation.r2,
    psnr: model.metrics.validation.psnr,
    warnings: result.warnings,
    history: result.history,
    stem: first.stem,
    pairs: pairs.length,
    input: view(first.input),
    target: view(first.target),
    prediction: view(prediction),
  };
  const transfer: Transferable[] = [msg.input.data.buffer as ArrayBuffer, msg.target.data.buffer as ArrayBuffer, msg.prediction.data.buffer as ArrayBuffer];
  if (onnx) transfer.push(onnx.buffer as ArrayBuffer);
  post(msg, transfer);
}

ctx.onmessage = (ev: MessageEvent<ToWorker>) => {
  if (ev.data.type !== 'train') return;
  try {
    run(ev.data.job);
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};

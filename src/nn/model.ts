/**
 * The model file: versioned JSON, documented in docs/model-format.md.
 *
 * Determinism: serializeModel writes keys in one fixed order, has no timestamps or timings, and
 * prints every number the same way on every platform, so the same training run gives the same
 * bytes. Weights and biases are float32 values (the network computes in float32) and are printed
 * with the fewest digits that read back to the same float32, so a file round-trips exactly
 * (parseModel rounds them to float32 again: parse(serialize(m)) equals m).
 */

import { KernelLearnError } from '../errors.js';
import { isBorderMode, type BorderMode } from '../filters/border.js';
import { curveLayersProblem, MAX_KNOTS, type CurveRecord, type CurvesRecord } from './curve.js';
import type { Conv2dSpec, LayerSpec, Network } from './network.js';

export type { CurveRecord, CurvesRecord } from './curve.js';

export const MODEL_FORMAT = 'kernel-learn-model';
/**
 * The newest format version this kernel-learn reads and writes. A model is written at the lowest
 * version that holds it: 1, or 2 for a model with an alignment or a kept edge (outputs of another
 * size, or an unfiltered ring, which a version-1 reader would silently get wrong; it refuses
 * version 2 instead), or 3 for a model with a dilated conv (a version-2 reader would ignore the
 * dilation and compute another filter; it refuses version 3).
 */
export const MODEL_VERSION = 3;

/** The lowest format version that holds the network (see MODEL_VERSION). */
export function formatVersion(n: Network & { alignment?: ModelAlignment }): 1 | 2 | 3 {
  if (n.layers.some((l) => l.type === 'conv2d' && (l.dilation ?? 1) > 1)) return 3;
  return n.alignment || n.edge ? 2 : 1;
}
/** Written into createdBy; keep equal to package.json's version (a test checks). */
export const KERNEL_LEARN_VERSION = '0.1.0';

export interface ValidationMetrics {
  /** Mean squared error over all held-out pixels and channels, the whole image with the model's border. */
  mse: number;
  /** 10 log10(peak^2 / mse), peak = max |target| (1 if the target is all zero); null when mse = 0 (infinite). */
  psnr: number | null;
  /** 1 - SSE / SST (SST around each channel's mean); 1 when SST = 0 and SSE = 0, 0 when only SST = 0. */
  r2: number;
}

export interface TrainingSummary {
  /** Number of image pairs trained on (training and validation together). */
  pairs: number;
  /** Input pixels (width x height) over all pairs. */
  pixels: number;
  /** Depth of the inputs / targets ("mixed" if they differ between pairs). */
  inputDepth: string;
  targetDepth: string;
  solver: 'exact' | 'adam' | 'sgd';
  /** Gradient steps (0 for exact). */
  steps: number;
  stopReason: string;
  seed: number;
  /** How held-out data was chosen: whole pairs, a band of rows of the only pair, or none. */
  validation: { kind: 'pairs' | 'band' | 'none'; pairs: number; pixels: number };
  /** Present when --ksize auto chose the size: candidates with their validation MSE. */
  kernelSizeChoice?: { chosen: number; candidates: { ksize: number; mse: number }[] };
  /** Present when --border auto chose the border: MSE over border pixels per mode. */
  /** Present when --border auto chose the border: MSE over border pixels per mode ('kept': the input's own pixels). */
  borderChoice?: { chosen: BorderMode | 'kept'; candidates: { border: BorderMode | 'kept'; mse: number }[]; borderPixels: number };
  /** Condition number of the window correlation matrix (linear arch). */
  conditionNumber?: number;
  /** The curves arch: the curves its layers compute, as knots and values (checked against the layers when read). */
  curves?: CurvesRecord;
  /** Standard errors of the fitted kernel, when the fit knows them (see StdErrors). */
  stdErrors?: StdErrors;
}

/**
 * Standard errors (1 sigma) of the least-squares kernel's taps and bias: sigma^2 (X^T X)^-1 of the
 * exact fit (src/train/exact.ts coefStdErrors), on the assumption of independent noise in the
 * targets. Known for the exact solver's linear fits (and gradient descent that reached the exact
 * optimum); magnitude fits and deep models have none.
 */
export interface StdErrors {
  /** [out][in][kh][kw], the layout of the fitted kernel (for a separable model: the kernel its two convs make). */
  weights: number[][][][];
  /** [out], or null when the kernel has no bias. */
  bias: number[] | null;
}

/** The shape of the one kernel a model's convolutions make (linear: its conv; separable: the two convs together). */
export interface KernelShape {
  cout: number;
  cin: number;
  kh: number;
  kw: number;
  bias: boolean;
}

/** The kernel a linear, separable or curves network applies (`kernelIndex`: after the input curves' layers); null for deep networks (no single kernel). */
export function fittedKernelShape(arch: Arch, layers: LayerSpec[], kernelIndex = 0): KernelShape | null {
  const [first, second] = layers.slice(kernelIndex);
  if (first?.type !== 'conv2d' || arch === 'deep') return null;
  if (arch === 'linear' || arch === 'curves') return { cout: first.outChannels, cin: first.inChannels, kh: first.kernelSize[0], kw: first.kernelSize[1], bias: first.bias !== null };
  if (second?.type !== 'conv2d') return null;
  return { cout: second.outChannels, cin: first.inChannels, kh: first.kernelSize[0], kw: second.kernelSize[1], bias: second.bias !== null };
}

/**
 * How the network was built: one conv (linear, with any output stage after it), the same kernel as
 * two thin convs (separable), one conv with pointwise curves before and/or after it (curves: each
 * curve three layers, nn/curve.ts), or a small CNN of dilated convs and relus trained by gradient descent (deep).
 */
export type Arch = 'linear' | 'separable' | 'curves' | 'deep';
export const ARCHS: readonly Arch[] = ['linear', 'separable', 'curves', 'deep'];

export interface ModelMetrics {
  validation: ValidationMetrics;
  /** Training MSE of the exact least-squares optimum (single-conv fits). */
  exactLoss?: number;
}

/**
 * Where a tool's output sat relative to its input when it was not the input's size or place:
 * output(y, x) = the filter at the input's size, at (y + dy, x + dx); output size (H + dh) x (W + dw)
 * (see train/align.ts). `apply` reproduces that size by default.
 */
export interface ModelAlignment {
  mode: 'same' | 'valid' | 'full' | 'offset';
  dy: number;
  dx: number;
  dh: number;
  dw: number;
}

/** The model file's record: a Network and how it was trained. */
export interface Model extends Network {
  format: typeof MODEL_FORMAT;
  /** 1, 2 when the model has an alignment or a kept edge, 3 when it has a dilated conv (see MODEL_VERSION). */
  version: 1 | 2 | 3;
  arch: Arch;
  /** Present when the targets were not the inputs' size or place (absent: 'same'). */
  alignment?: ModelAlignment;
  training: TrainingSummary;
  metrics: ModelMetrics;
  createdBy: string;
}

/** A model of this kernel-learn version. */
export function createModel(arch: Arch, network: Network, training: TrainingSummary, metrics: ModelMetrics): Model {
  const { inputChannels, outputChannels, border, layers, edge } = network;
  return { format: MODEL_FORMAT, version: formatVersion(network), arch, inputChannels, outputChannels, border, ...(edge ? { edge } : {}), layers, training, metrics, createdBy: `kernel-learn ${KERNEL_LEARN_VERSION}` };
}

/** The learned kernel of a one-kernel model: its conv layer and index (after the input curves of a curves model). */
export function kernelLayer(model: Model): { index: number; conv: Conv2dSpec } | null {
  const index = model.training.curves?.before ? 3 : 0;
  const conv = model.layers[index];
  return conv?.type === 'conv2d' ? { index, conv } : null;
}

// ---------------------------------------------------------------------------------------------
// Serialisation

/** The shortest decimal that reads back as the same float32 (e.g. 0.1f prints as 0.1, not 0.10000000149011612). */
export function formatFloat32(v: number): string {
  const f = Math.fround(v);
  if (f === 0) return '0'; // also -0: JSON has no negative zero worth keeping
  for (let digits = 1; digits <= 9; digits++) {
    const s = String(Number(f.toPrecision(digits)));
    if (Math.fround(Number(s)) === f) return s;
  }
  return String(f);
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`serializeModel: non-finite number ${v}`);
  return Object.is(v, -0) ? '0' : String(v); // String() is the shortest round-trip form, as JSON.stringify
}

/** A JSON value whose numbers are pre-formatted strings (so float32 and float64 can print differently). */
type Json = { num: string } | string | boolean | null | Json[] | { [key: string]: Json };

const num = (v: number): Json => ({ num: formatNumber(v) });
const f32 = (v: number): Json => ({ num: formatFloat32(v) });
const f32Grid = (w: number[][][][]): Json => w.map((o) => o.map((i) => i.map((row) => row.map(f32))));

function isNum(v: Json): v is { num: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { num?: unknown }).num === 'string' && Object.keys(v).length === 1;
}

/** Two-space indented JSON, with arrays of numbers (kernel rows, biases) and small scalar records kept on one line. */
function emit(v: Json, indent: string): string {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (isNum(v)) return v.num;
  const inner = indent + '  ';
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (v.every(isNum)) return '[' + v.map((x) => (x as { num: string }).num).join(', ') + ']';
    return '[\n' + v.map((x) => inner + emit(x, inner)).join(',\n') + '\n' + indent + ']';
  }
  const keys = Object.keys(v);
  if (keys.length === 0) return '{}';
  // Small records of scalars (a candidate's size and score) stay on one line.
  const scalar = (x: Json): boolean => x === null || typeof x !== 'object' || isNum(x);
  if (keys.length <= 4 && keys.every((k) => scalar(v[k]))) return '{ ' + keys.map((k) => `${JSON.stringify(k)}: ${emit(v[k], inner)}`).join(', ') + ' }';
  return '{\n' + keys.map((k) => `${inner}${JSON.stringify(k)}: ${emit(v[k], inner)}`).join(',\n') + '\n' + indent + '}';
}

function layerJson(l: LayerSpec): Json {
  switch (l.type) {
    case 'conv2d':
      return {
        type: l.type,
        inChannels: num(l.inChannels),
        outChannels: num(l.outChannels),
        kernelSize: [num(l.kernelSize[0]), num(l.kernelSize[1])],
        ...((l.dilation ?? 1) > 1 ? { dilation: num(l.dilation!) } : {}),
        weights: f32Grid(l.weights),
        bias: l.bias === null ? null : l.bias.map(f32),
      };
    case 'magnitude':
      return { type: l.type, groupSize: num(l.groupSize) };
    case 'clamp':
      return { type: l.type, min: num(l.min), max: num(l.max) };
    default:
      return { type: l.type };
  }
}

function alignmentJson(a: ModelAlignment): Json {
  return { mode: a.mode, dy: num(a.dy), dx: num(a.dx), dh: num(a.dh), dw: num(a.dw) };
}

function trainingJson(t: TrainingSummary): Json {
  const out: { [key: string]: Json } = {
    pairs: num(t.pairs),
    pixels: num(t.pixels),
    inputDepth: t.inputDepth,
    targetDepth: t.targetDepth,
    solver: t.solver,
    steps: num(t.steps),
    stopReason: t.stopReason,
    seed: num(t.seed),
    validation: { kind: t.validation.kind, pairs: num(t.validation.pairs), pixels: num(t.validation.pixels) },
  };
  if (t.kernelSizeChoice) {
    out.kernelSizeChoice = {
      chosen: num(t.kernelSizeChoice.chosen),
      candidates: t.kernelSizeChoice.candidates.map((c) => ({ ksize: num(c.ksize), mse: num(c.mse) })),
    };
  }
  if (t.borderChoice) {
    out.borderChoice = {
      chosen: t.borderChoice.chosen,
      candidates: t.borderChoice.candidates.map((c) => ({ border: c.border, mse: num(c.mse) })),
      borderPixels: num(t.borderChoice.borderPixels),
    };
  }
  // Infinity (a singular Gram) has no JSON number; null stands for it.
  if (t.conditionNumber !== undefined) out.conditionNumber = Number.isFinite(t.conditionNumber) ? num(t.conditionNumber) : null;
  if (t.curves) {
    const curve = (c: CurveRecord): Json => ({ knots: c.knots.map(num), values: c.values.map(num), monotone: c.monotone, name: c.name });
    out.curves = { ...(t.curves.before ? { before: t.curves.before.map(curve) } : {}), ...(t.curves.after ? { after: t.curves.after.map(curve) } : {}) };
  }
  // Printed as float32, like the weights they describe (no reader needs more digits of an error).
  if (t.stdErrors) out.stdErrors = { weights: f32Grid(t.stdErrors.weights), bias: t.stdErrors.bias === null ? null : t.stdErrors.bias.map(f32) };
  return out;
}

export function serializeModel(model: Model): string {
  const v = model.metrics.validation;
  const metrics: { [key: string]: Json } = {
    validation: { mse: num(v.mse), psnr: v.psnr === null ? null : num(v.psnr), r2: num(v.r2) },
  };
  if (model.metrics.exactLoss !== undefined) metrics.exactLoss = num(model.metrics.exactLoss);
  const doc: Json = {
    format: MODEL_FORMAT,
    version: num(formatVersion(model)),
    arch: model.arch,
    inputChannels: num(model.inputChannels),
    outputChannels: num(model.outputChannels),
    border: model.border,
    ...(model.edge ? { edge: model.edge } : {}),
    ...(model.alignment ? { alignment: alignmentJson(model.alignment) } : {}),
    layers: model.layers.map(layerJson),
    training: trainingJson(model.training),
    metrics,
    createdBy: model.createdBy,
  };
  return emit(doc, '') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Parsing: every field checked, every problem named with the file.

type Obj = Record<string, unknown>;

class Reader {
  constructor(private readonly file: string) {}

  fail(what: string): never {
    throw new KernelLearnError(`${this.file}: invalid model file: ${what}; ${MODEL_FIX}`);
  }

  obj(v: unknown, where: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(`${where} must be an object`);
    return v as Obj;
  }

  arr(v: unknown, where: string, length?: number): unknown[] {
    if (!Array.isArray(v)) this.fail(`${where} must be an array`);
    if (length !== undefined && v.length !== length) this.fail(`${where} has ${v.length} entries, expected ${length}`);
    return v;
  }

  num(v: unknown, where: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${where} must be a finite number`);
    return v;
  }

  /** A weight: a finite number that stays finite as float32 (1e39 would become Infinity). */
  f32(v: unknown, where: string): number {
    const f = Math.fround(this.num(v, where)) + 0;
    if (!Number.isFinite(f)) this.fail(`${where} is ${String(v)}, outside the float32 range`);
    return f;
  }

  int(v: unknown, where: string, min = 0): number {
    const n = this.num(v, where);
    if (!Number.isInteger(n) || n < min) this.fail(`${where} must be an integer >= ${min}`);
    return n;
  }

  str(v: unknown, where: string): string {
    if (typeof v !== 'string') this.fail(`${where} must be a string`);
    return v;
  }

  optNum(v: unknown, where: string): number | null {
    return v === null ? null : this.num(v, where);
  }

  /** A [d0][d1][d2][d3] array of numbers, each read by `leaf` (weights, standard errors). */
  grid4(v: unknown, where: string, dims: readonly number[], leaf: (v: unknown, where: string) => number): number[][][][] {
    const level = (x: unknown, at: string, depth: number): unknown[] =>
      this.arr(x, at, dims[depth]).map((y, i) => (depth === 3 ? leaf(y, `${at}[${i}]`) : level(y, `${at}[${i}]`, depth + 1)));
    return level(v, where, 0) as number[][][][];
  }

  /** A standard error: a float32 weight that is not negative. */
  error(v: unknown, where: string): number {
    const e = this.f32(v, where);
    if (e < 0) this.fail(`${where} is ${e}; a standard error is >= 0`);
    return e;
  }
}

/** The fix every refused model file shares. */
const MODEL_FIX = 'give a model file written by kernel-learn train';

export function parseModel(json: string, file: string): Model {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    const why = String((e as Error).message).split('\n')[0].slice(0, 120);
    throw new KernelLearnError(`${file}: not a model file: invalid JSON (${why}); ${MODEL_FIX}`);
  }
  const r = new Reader(file);
  const doc = r.obj(raw, 'the document');
  if (doc.format !== MODEL_FORMAT) {
    throw new KernelLearnError(`${file}: not a kernel-learn model (format is ${String(JSON.stringify(doc.format)).slice(0, 60)}, expected "${MODEL_FORMAT}"); ${MODEL_FIX}`);
  }
  if (doc.version !== 1 && doc.version !== 2 && doc.version !== 3) {
    const newer = typeof doc.version === 'number' && doc.version > MODEL_VERSION;
    throw new KernelLearnError(
      `${file}: model format version ${String(JSON.stringify(doc.version)).slice(0, 60)} is not supported (this kernel-learn reads versions 1 to ${MODEL_VERSION})` +
        (newer ? '; upgrade kernel-learn' : '; train the model again with this version'),
    );
  }
  const archName = r.str(doc.arch, 'arch');
  const arch: Arch = (ARCHS as readonly string[]).includes(archName) ? (archName as Arch) : r.fail(`unknown arch "${archName}"`);
  const inputChannels = r.int(doc.inputChannels, 'inputChannels', 1);
  const outputChannels = r.int(doc.outputChannels, 'outputChannels', 1);
  const borderName = r.str(doc.border, 'border');
  const border: BorderMode = isBorderMode(borderName) ? borderName : r.fail(`unknown border "${borderName}"`);
  const layersRaw = r.arr(doc.layers, 'layers');
  if (layersRaw.length === 0) r.fail('layers is empty');
  let channels = inputChannels;
  const layers: LayerSpec[] = layersRaw.map((lv, li) => {
    const where = `layers[${li}]`;
    const l = r.obj(lv, where);
    const type = r.str(l.type, `${where}.type`);
    switch (type) {
      case 'conv2d': {
        const cin = r.int(l.inChannels, `${where}.inChannels`, 1);
        const cout = r.int(l.outChannels, `${where}.outChannels`, 1);
        if (cin !== channels) r.fail(`${where} takes ${cin} channels but receives ${channels}`);
        const ks = r.arr(l.kernelSize, `${where}.kernelSize`, 2);
        const kh = r.int(ks[0], `${where}.kernelSize[0]`, 1);
        const kw = r.int(ks[1], `${where}.kernelSize[1]`, 1);
        const weights = r.grid4(l.weights, `${where}.weights`, [cout, cin, kh, kw], (v, at) => r.f32(v, at));
        const bias = l.bias === null ? null : r.arr(l.bias, `${where}.bias`, cout).map((v, o) => r.f32(v, `${where}.bias[${o}]`));
        const dilation = parseDilation(r, l.dilation, where, doc.version, kh, kw);
        channels = cout;
        return { type, inChannels: cin, outChannels: cout, kernelSize: [kh, kw], weights, bias, ...(dilation > 1 ? { dilation } : {}) };
      }
      case 'relu':
      case 'abs':
        return { type };
      case 'magnitude': {
        const groupSize = r.int(l.groupSize, `${where}.groupSize`, 1);
        if (channels % groupSize !== 0) r.fail(`${where}: ${channels} channels do not split into groups of ${groupSize}`);
        channels /= groupSize;
        return { type, groupSize };
      }
      case 'clamp': {
        const min = r.num(l.min, `${where}.min`);
        const max = r.num(l.max, `${where}.max`);
        if (!(min <= max)) r.fail(`${where}: min ${min} exceeds max ${max}`);
        return { type, min, max };
      }
      default:
        return r.fail(`${where}: unknown layer type "${type}"`);
    }
  });
  if (channels !== outputChannels) r.fail(`the layers produce ${channels} channels but outputChannels is ${outputChannels}`);
  // The kernel follows the input curves' three layers in a curves model (checkCurves holds the layers to that).
  const kernelIndex = arch === 'curves' && (doc.training as { curves?: { before?: unknown } } | undefined)?.curves?.before !== undefined ? 3 : 0;
  const training = parseTraining(r, doc.training, fittedKernelShape(arch, layers, kernelIndex));
  checkCurves(r, arch, layers, training.curves, inputChannels, outputChannels);
  return {
    format: MODEL_FORMAT,
    version: doc.version,
    arch,
    inputChannels,
    outputChannels,
    border,
    ...(doc.edge !== undefined ? { edge: parseEdge(r, doc.edge, doc.version) } : {}),
    ...(doc.alignment !== undefined ? { alignment: parseAlignment(r, doc.alignment, doc.version) } : {}),
    layers,
    training,
    metrics: parseMetrics(r, doc.metrics),
    createdBy: r.str(doc.createdBy, 'createdBy'),
  };
}

/** A conv's dilation (1 when absent); above 1 it needs format version 3 and odd kernel sides. */
function parseDilation(r: Reader, v: unknown, where: string, version: unknown, kh: number, kw: number): number {
  if (v === undefined) return 1;
  const d = r.int(v, `${where}.dilation`, 1);
  if (d > 1 && version !== 3) r.fail(`${where}.dilation needs format version 3`);
  if (d > 1 && (kh % 2 === 0 || kw % 2 === 0)) r.fail(`${where}: a dilated kernel must have odd sides, not ${kh}x${kw}`);
  if (d > 1024) r.fail(`${where}.dilation ${d} is larger than 1024`);
  return d;
}

function parseEdge(r: Reader, v: unknown, version: unknown): 'kept' {
  if (version !== 2 && version !== 3) r.fail('edge needs format version 2');
  if (v !== 'kept') r.fail(`edge ${String(JSON.stringify(v)).slice(0, 40)} is not "kept"`);
  return 'kept';
}

const ALIGNMENT_MODES = ['same', 'valid', 'full', 'offset'] as const;

function parseAlignment(r: Reader, v: unknown, version: unknown): ModelAlignment {
  if (version !== 2 && version !== 3) r.fail('alignment needs format version 2');
  const a = r.obj(v, 'alignment');
  const mode = r.str(a.mode, 'alignment.mode');
  if (!(ALIGNMENT_MODES as readonly string[]).includes(mode)) r.fail(`alignment.mode "${mode}" is not ${ALIGNMENT_MODES.join(', ')}`);
  const int = (key: 'dy' | 'dx' | 'dh' | 'dw'): number => {
    const n = r.num(a[key], `alignment.${key}`);
    if (!Number.isInteger(n) || Math.abs(n) > 4096) r.fail(`alignment.${key} must be an integer of at most 4096 in size`);
    return n;
  };
  return { mode: mode as ModelAlignment['mode'], dy: int('dy'), dx: int('dx'), dh: int('dh'), dw: int('dw') };
}

function parseTraining(r: Reader, v: unknown, kernel: KernelShape | null): TrainingSummary {
  const t = r.obj(v, 'training');
  const solver = r.str(t.solver, 'training.solver');
  if (solver !== 'exact' && solver !== 'adam' && solver !== 'sgd') r.fail(`training.solver "${solver}" is not exact, adam or sgd`);
  const val = r.obj(t.validation, 'training.validation');
  const kind = r.str(val.kind, 'training.validation.kind');
  if (kind !== 'pairs' && kind !== 'band' && kind !== 'none') r.fail(`training.validation.kind "${kind}" is not pairs, band or none`);
  const out: TrainingSummary = {
    pairs: r.int(t.pairs, 'training.pairs'),
    pixels: r.int(t.pixels, 'training.pixels'),
    inputDepth: r.str(t.inputDepth, 'training.inputDepth'),
    targetDepth: r.str(t.targetDepth, 'training.targetDepth'),
    solver,
    steps: r.int(t.steps, 'training.steps'),
    stopReason: r.str(t.stopReason, 'training.stopReason'),
    seed: r.num(t.seed, 'training.seed'),
    validation: { kind, pairs: r.int(val.pairs, 'training.validation.pairs'), pixels: r.int(val.pixels, 'training.validation.pixels') },
  };
  if (t.kernelSizeChoice !== undefined) {
    const k = r.obj(t.kernelSizeChoice, 'training.kernelSizeChoice');
    out.kernelSizeChoice = {
      chosen: r.int(k.chosen, 'training.kernelSizeChoice.chosen', 1),
      candidates: r.arr(k.candidates, 'training.kernelSizeChoice.candidates').map((cv, i) => {
        const c = r.obj(cv, `training.kernelSizeChoice.candidates[${i}]`);
        return { ksize: r.int(c.ksize, `training.kernelSizeChoice.candidates[${i}].ksize`, 1), mse: r.num(c.mse, `training.kernelSizeChoice.candidates[${i}].mse`) };
      }),
    };
  }
  if (t.borderChoice !== undefined) {
    const b = r.obj(t.borderChoice, 'training.borderChoice');
    const mode = (s: unknown, where: string): BorderMode | 'kept' => {
      const m = r.str(s, where);
      if (!isBorderMode(m) && m !== 'kept') r.fail(`${where}: unknown border "${m}"`);
      return m as BorderMode | 'kept';
    };
    out.borderChoice = {
      chosen: mode(b.chosen, 'training.borderChoice.chosen'),
      candidates: r.arr(b.candidates, 'training.borderChoice.candidates').map((cv, i) => {
        const c = r.obj(cv, `training.borderChoice.candidates[${i}]`);
        return { border: mode(c.border, `training.borderChoice.candidates[${i}].border`), mse: r.num(c.mse, `training.borderChoice.candidates[${i}].mse`) };
      }),
      borderPixels: r.int(b.borderPixels, 'training.borderChoice.borderPixels'),
    };
  }
  if (t.conditionNumber !== undefined) out.conditionNumber = t.conditionNumber === null ? Infinity : r.num(t.conditionNumber, 'training.conditionNumber');
  if (t.curves !== undefined) out.curves = parseCurves(r, t.curves);
  if (t.stdErrors !== undefined) out.stdErrors = parseStdErrors(r, t.stdErrors, kernel);
  return out;
}

function parseCurves(r: Reader, v: unknown): CurvesRecord {
  const o = r.obj(v, 'training.curves');
  const side = (key: 'before' | 'after'): CurveRecord[] | undefined =>
    o[key] === undefined ? undefined : r.arr(o[key], `training.curves.${key}`).map((cv, i) => parseCurve(r, cv, `training.curves.${key}[${i}]`));
  const before = side('before'), after = side('after');
  if (!before && !after) r.fail('training.curves has neither before nor after');
  return { ...(before ? { before } : {}), ...(after ? { after } : {}) };
}

/** A curve record: 2 to 32 strictly increasing knots, a value each, and values that keep a declared monotony. */
function parseCurve(r: Reader, v: unknown, where: string): CurveRecord {
  const c = r.obj(v, where);
  const knots = r.arr(c.knots, `${where}.knots`).map((x, j) => r.f32(x, `${where}.knots[${j}]`));
  if (knots.length < 2 || knots.length > MAX_KNOTS) r.fail(`${where}.knots has ${knots.length} entries, expected 2 to ${MAX_KNOTS}`);
  knots.forEach((t, j) => {
    if (j > 0 && !(t > knots[j - 1])) r.fail(`${where}.knots[${j}] is ${t}, not above knots[${j - 1}] ${knots[j - 1]} (knots must increase)`);
  });
  const values = r.arr(c.values, `${where}.values`, knots.length).map((x, j) => r.f32(x, `${where}.values[${j}]`));
  const monotone = c.monotone === null ? null : r.str(c.monotone, `${where}.monotone`);
  if (monotone !== null && monotone !== 'increasing' && monotone !== 'decreasing') r.fail(`${where}.monotone "${monotone}" is not increasing, decreasing or null`);
  values.forEach((y, j) => {
    if (j === 0 || monotone === null) return;
    if (monotone === 'increasing' ? !(y > values[j - 1]) : !(y < values[j - 1])) r.fail(`${where}.values[${j}] is ${y} after ${values[j - 1]}: the curve is declared ${monotone}`);
  });
  return { knots, values, monotone, name: r.str(c.name, `${where}.name`) };
}

/** A curves model: a curve per channel, and the layers around the kernel compute them. */
function checkCurves(r: Reader, arch: Arch, layers: LayerSpec[], curves: CurvesRecord | undefined, cin: number, cout: number): void {
  if (arch !== 'curves') {
    if (curves) r.fail(`training.curves belongs to arch "curves", not "${arch}"`);
    return;
  }
  if (!curves) r.fail('arch "curves" needs training.curves (the knots and values of its curves)');
  const kernel = curves.before ? 3 : 0;
  if (layers[kernel]?.type !== 'conv2d') r.fail(`layers[${kernel}] must be the kernel's conv2d`);
  const check = (list: CurveRecord[] | undefined, at: number, channels: number, key: string): void => {
    if (!list) return;
    if (list.length !== channels) r.fail(`training.curves.${key} has ${list.length} curves for ${channels} channels`);
    const problem = curveLayersProblem(layers.slice(at, at + 3), list);
    if (problem) r.fail(`layers[${at}..${at + 2}] do not compute training.curves.${key}: ${problem}`);
  };
  check(curves.before, 0, cin, 'before');
  check(curves.after, kernel + 1, cout, 'after');
}

/** training.stdErrors: the shape of the model's kernel (fittedKernelShape), every error finite and >= 0. */
function parseStdErrors(r: Reader, v: unknown, kernel: KernelShape | null): StdErrors {
  const e = r.obj(v, 'training.stdErrors');
  if (!kernel) r.fail('training.stdErrors belongs to a linear or separable model, and this one has no single kernel');
  const { cout, cin, kh, kw } = kernel;
  const weights = r.grid4(e.weights, 'training.stdErrors.weights', [cout, cin, kh, kw], (x, at) => r.error(x, at));
  if (kernel.bias === (e.bias === null)) r.fail(`training.stdErrors.bias must be ${kernel.bias ? 'an array' : 'null'}: the kernel has ${kernel.bias ? 'a' : 'no'} bias`);
  const bias = e.bias === null ? null : r.arr(e.bias, 'training.stdErrors.bias', cout).map((x, o) => r.error(x, `training.stdErrors.bias[${o}]`));
  return { weights, bias };
}

function parseMetrics(r: Reader, v: unknown): Model['metrics'] {
  const m = r.obj(v, 'metrics');
  const val = r.obj(m.validation, 'metrics.validation');
  const out: Model['metrics'] = {
    validation: { mse: r.num(val.mse, 'metrics.validation.mse'), psnr: r.optNum(val.psnr, 'metrics.validation.psnr'), r2: r.num(val.r2, 'metrics.validation.r2') },
  };
  if (m.exactLoss !== undefined) out.exactLoss = r.num(m.exactLoss, 'metrics.exactLoss');
  return out;
}

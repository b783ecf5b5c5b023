/**
 * What the commands share, so that a flag, a message or a file rule means the same thing in every
 * command (no command imports another):
 *
 *   flags       option parsers and option groups (parsers throw commander's InvalidArgumentError,
 *               which commander reports as a usage error, exit code 2)
 *   printing    notices to stderr (stdout stays clean for --json), a progress bar only on a
 *               terminal, kernels and matches for people
 *   files       many inputs (a folder or a quoted glob) mapped to outputs, and model files
 *   interrupts  Ctrl-C / SIGTERM: remove the temporaries in flight, say what was finished, exit
 *               with 128 + the signal number, as shells expect
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { listImageFiles, stemOf } from '../data/dataset.js';
import { KernelLearnError } from '../errors.js';
import { BORDER_MODES, isBorderMode, type BorderMode } from '../filters/border.js';
import { FILTER_OPS, type FilterSpec } from '../filters/spec.js';
import { formatError, formatTap } from '../format.js';
import { DEPTHS, isDepth, type Depth } from '../image.js';
import { removeTemporaries, stopWrites } from '../io/atomic.js';
import { DEFAULT_MAX_PIXELS } from '../io/image-file.js';
import { IMAGE_EXTENSIONS, isImageFile } from '../io/index.js';
import { parseNpy } from '../io/npy.js';
import { describeCurve } from '../nn/curve.js';
import { kernelLayer, parseModel, type CurveRecord, type Model, type StdErrors } from '../nn/model.js';
import type { FilterMatch } from '../train/match.js';
import { KSIZE_MAX } from '../train/limits.js';
import { decodeStats, type StatsFile } from '../train/stats-file.js';

export { formatPsnr } from '../format.js';

// ---------------------------------------------------------------------------------------------
// flags

export function parseInteger(value: string): number {
  if (!/^[+-]?\d+$/.test(value.trim())) throw new InvalidArgumentError(`"${value}" is not an integer.`);
  return Number.parseInt(value, 10);
}

/** auto, n (n x n) or HxW (e.g. 5x9), odd or even, each side 1 to KSIZE_MAX. */
export function parseKsize(value: string): number | [number, number] | 'auto' {
  if (value === 'auto') return 'auto';
  const m = /^(\d+)(?:x(\d+))?$/.exec(value.trim());
  const sides = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [];
  if (!m || sides.some((v) => v < 1)) throw new InvalidArgumentError(`--ksize ${value}: give a size like 5, 4 or 5x9 (height x width), or auto.`);
  if (sides.some((v) => v > KSIZE_MAX)) throw new InvalidArgumentError(`--ksize ${value}: kernels go up to ${KSIZE_MAX}x${KSIZE_MAX}; --ksize auto says when a filter reaches further.`);
  return m[2] === undefined ? sides[0] : [sides[0], sides[1]];
}

/** A whole number >= 1 (counts, limits). */
export function parsePositiveInteger(value: string): number {
  const n = parseInteger(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a whole number >= 1.`);
  return n;
}

/**
 * --max-pixels, for every command that reads image files: a file whose header claims more
 * pixels (width x height) is refused before it is decoded, so a decompression bomb (a small PNG
 * claiming 100000x100000) cannot exhaust memory.
 */
export function maxPixelsOption(): Option {
  return new Option(
    '--max-pixels <n>',
    `refuse images with more pixels (width x height) than this, before decoding them (default ${DEFAULT_MAX_PIXELS}, guards against decompression bombs)`,
  ).argParser(parsePositiveInteger);
}

export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`"${value}" is not a finite number.`);
  return n;
}

export function parseBorder(value: string): BorderMode {
  if (!isBorderMode(value)) throw new InvalidArgumentError(`unknown border "${value}"; use one of ${BORDER_MODES.join(', ')}.`);
  return value;
}

export function parseDepth(value: string): Depth {
  if (!isDepth(value)) throw new InvalidArgumentError(`unknown depth "${value}"; use one of ${DEPTHS.join(', ')}.`);
  return value;
}

/** "640x480" -> { width: 640, height: 480 }. */
export function parseSize(value: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(value.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new InvalidArgumentError(`"${value}" is not a size like 256x256.`);
  return { width: Number(m[1]), height: Number(m[2]) };
}

/**
 * A kernel given inline as a JSON 2-D array ("[[0,-1,0],[-1,5,-1],[0,-1,0]]"), or as a file:
 * .json with the same array, or .npy with a 2-D array.
 */
export function parseKernel(value: string): number[][] {
  const text = value.trim();
  let rows: unknown;
  if (text.startsWith('[')) {
    try {
      rows = JSON.parse(text);
    } catch {
      throw new InvalidArgumentError(`--kernel "${value}" is not valid JSON; write rows like [[1,0,-1],[2,0,-2],[1,0,-1]].`);
    }
  } else {
    let bytes: Buffer;
    try {
      bytes = readFileSync(text);
    } catch {
      throw new InvalidArgumentError(`--kernel file ${text} cannot be read; give a JSON 2-D array or a .json/.npy file.`);
    }
    if (text.toLowerCase().endsWith('.npy')) {
      const arr = parseNpy(new Uint8Array(bytes), text);
      if (arr.shape.length !== 2) throw new InvalidArgumentError(`--kernel ${text} has shape (${arr.shape.join(', ')}); a kernel is 2-D.`);
      const [h, w] = arr.shape;
      rows = Array.from({ length: h }, (_, y) => Array.from(arr.data.subarray(y * w, (y + 1) * w), Number));
    } else {
      try {
        rows = JSON.parse(bytes.toString('utf8'));
      } catch {
        throw new InvalidArgumentError(`--kernel file ${text} is not valid JSON; it should hold a 2-D array of numbers.`);
      }
    }
  }
  const ok =
    Array.isArray(rows) &&
    rows.length > 0 &&
    rows.every((r) => Array.isArray(r) && r.length === (rows as unknown[][])[0].length && r.length > 0 && r.every((v) => typeof v === 'number' && Number.isFinite(v)));
  if (!ok) throw new InvalidArgumentError('--kernel must be a non-empty 2-D array of finite numbers with rows of equal length.');
  return rows as number[][];
}

/** The flags of `filter` and `dataset` that describe a reference filter. */
export function addFilterOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--op <op>', 'the filter').choices(FILTER_OPS as string[]).default('sobel'))
    .option('--dx <n>', 'x derivative order (sobel, scharr)', parseInteger)
    .option('--dy <n>', 'y derivative order (sobel, scharr)', parseInteger)
    .option('--ksize <n>', 'aperture: sobel/laplacian 1|3|5|7, gaussian odd or 0 (from --sigma), box >= 1', parseInteger)
    .option('--scale <s>', 'multiply the result (sobel, scharr, laplacian, kernel)', parseNumber)
    .option('--delta <d>', 'add to the result (sobel, scharr, laplacian, kernel)', parseNumber)
    .option(
      '--border <mode>',
      `border mode: ${BORDER_MODES.join('|')} (default reflect101, OpenCV's BORDER_DEFAULT); wrap is periodic (scipy.ndimage mode='wrap', FFT filtering): what OpenCV gives after copyMakeBorder(BORDER_WRAP) by the kernel's radius, the filter and a crop`,
      parseBorder,
    )
    .option('--depth <d>', `output depth: ${DEPTHS.join('|')} (saturating like OpenCV; default f32)`, parseDepth)
    .option('--kernel <json|file>', 'filter2D kernel for --op kernel: a JSON 2-D array, or a .json/.npy file', parseKernel)
    .option('--sigma <s>', 'Gaussian sigma (gaussian)', parseNumber);
}

/** The flags addFilterOptions declares: a FilterSpec, each field present when given. */
export type FilterFlags = FilterSpec;

export function filterSpecFromFlags(flags: FilterFlags): FilterSpec {
  const spec: FilterSpec = { op: flags.op };
  for (const key of ['dx', 'dy', 'ksize', 'scale', 'delta', 'border', 'depth', 'kernel', 'sigma'] as const) {
    if (flags[key] !== undefined) (spec as unknown as Record<string, unknown>)[key] = flags[key];
  }
  return spec;
}

// ---------------------------------------------------------------------------------------------
// printing

export function notice(message: string): void {
  process.stderr.write(`kernel-learn: ${message}\n`);
}

const useColour = process.stderr.isTTY && !process.env.NO_COLOR;

export function bold(s: string): string {
  return useColour ? `\x1b[1m${s}\x1b[22m` : s;
}

/**
 * A one-line progress bar redrawn in place on a terminal; silent otherwise (logs stay clean).
 * `shown` says which, for callers that would work to find the fraction.
 */
export function createProgress(label: string): { shown: boolean; update(fraction: number, detail: string): void; done(): void } {
  if (!process.stderr.isTTY) return { shown: false, update() {}, done() {} };
  let last = 0;
  return {
    shown: true,
    update(fraction, detail) {
      const now = Date.now();
      if (now - last < 80 && fraction < 1) return; // redraw at most ~12 times a second
      last = now;
      const width = 24;
      const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${detail}\x1b[K`);
    },
    done() {
      process.stderr.write('\r\x1b[K');
    },
  };
}

/** A kernel as an aligned grid of numbers, one row a line. */
export function formatGrid(rows: number[][], indent = '  ', format: (v: number) => string = formatTap): string {
  const cells = rows.map((r) => r.map((v) => format(v)));
  const width = Math.max(...cells.flat().map((c) => c.length));
  return cells.map((r) => indent + r.map((c) => c.padStart(width)).join(' ')).join('\n');
}

/**
 * Every kernel of every convolution in a model, labelled "out <- in" when there are several; the
 * three layers of each curve of a curves model as the curve they compute (its name and knots).
 */
export function formatKernels(model: Model): string {
  const parts: string[] = [];
  const curveLayers = curveLayerSpans(model);
  for (const [i, layer] of model.layers.entries()) {
    const span = curveLayers.find((c) => i >= c.from && i < c.from + 3);
    if (span) {
      if (i === span.from) parts.push(`layers ${i}-${i + 2}: ${span.label}`, ...span.curves.map((c, ch) => `  ${span.curves.length > 1 ? `channel ${ch}: ` : ''}${describeCurve(c)}`));
      continue;
    }
    if (layer.type !== 'conv2d') {
      parts.push(`layer ${i}: ${layer.type}`);
      continue;
    }
    const many = layer.inChannels * layer.outChannels > 1;
    parts.push(`layer ${i}: conv2d ${layer.kernelSize.join('x')}, ${layer.inChannels} -> ${layer.outChannels} channels`);
    for (let o = 0; o < layer.outChannels; o++) {
      for (let c = 0; c < layer.inChannels; c++) {
        if (many) parts.push(`  out ${o} <- in ${c}:`);
        parts.push(formatGrid(layer.weights[o][c], many ? '    ' : '  '));
      }
      if (layer.bias) parts.push(`  bias${many ? ` ${o}` : ''}: ${layer.bias[o].toExponential(2)}`);
    }
  }
  return parts.join('\n');
}

/** Where a curves model's curves sit among its layers. */
function curveLayerSpans(model: Model): { from: number; label: string; curves: CurveRecord[] }[] {
  const c = model.training.curves;
  if (!c) return [];
  const kernel = c.before ? 3 : 0;
  return [
    ...(c.before ? [{ from: 0, label: 'curve before the kernel (1x1 conv, relu, 1x1 conv)', curves: c.before }] : []),
    ...(c.after ? [{ from: kernel + 1, label: 'curve after the kernel (1x1 conv, relu, 1x1 conv)', curves: c.after }] : []),
  ];
}

/**
 * The standard errors of a model's kernel (training.stdErrors), as grids in the kernels' layout and
 * labels, below the kernels: read each tap as "value +- error". Empty when the model has none.
 */
export function formatStdErrors(errors: StdErrors | undefined): string {
  if (!errors) return '';
  const { weights, bias } = errors;
  const many = weights.length * weights[0].length > 1;
  const [kh, kw] = [weights[0][0].length, weights[0][0][0].length];
  const parts = [`standard errors (1 sigma) of the ${kh}x${kw} kernel's taps:`];
  weights.forEach((kernels, o) => {
    kernels.forEach((grid, c) => {
      if (many) parts.push(`  out ${o} <- in ${c}:`);
      parts.push(formatGrid(grid, many ? '    ' : '  ', formatError));
    });
    if (bias) parts.push(`  bias${many ? ` ${o}` : ''}: ${formatError(bias[o])}`);
  });
  return parts.join('\n');
}

/**
 * The known filters a model matches, for people: a match counts when its worst tap is within 1%
 * of the kernel's largest tap; otherwise only the closest candidate is named, as not a match.
 */
export function describeMatches(model: Model, matches: FilterMatch[]): string {
  let largest = 0;
  // The kernel's taps only: a curve's 1x1 convs hold values in the images' units.
  for (const v of kernelLayer(model)?.conv.weights.flat(3) ?? []) largest = Math.max(largest, Math.abs(v));
  const close = matches.filter((m) => m.maxAbsError <= 0.01 * largest);
  if (close.length > 0) return close.slice(0, 3).map((m) => `matches: ${m.name}, max abs error ${m.maxAbsError.toExponential(1)}`).join('\n');
  if (matches.length === 0) return 'matches: no known filter has this shape';
  return `matches: none of the known filters (closest: ${matches[0].name}, max abs error ${matches[0].maxAbsError.toExponential(1)})`;
}

// ---------------------------------------------------------------------------------------------
// files

export interface InputPair {
  input: string;
  output: string;
}

const MAGIC = /[*?[\]{}]/;

/** "png" or ".png" -> ".png". */
export function parseExt(value: string): string {
  const v = value.trim();
  return v.startsWith('.') ? v : `.${v}`;
}

/** The folder of a glob pattern above its first wildcard ("data/**\/*.png" -> "data"). */
function globBase(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const p of parts) {
    if (MAGIC.test(p)) break;
    fixed.push(p);
  }
  if (fixed.length === parts.length) fixed.pop();
  const base = fixed.join('/');
  return base === '' ? (pattern.startsWith('/') ? '/' : '.') : base;
}

/**
 * null when <in> is one image (an existing file, or a plain path the reader will report on);
 * else every (input, output) pair, outputs under `outDir`. Nothing is created here.
 */
export async function expandInputs(input: string, outDir: string, ext: string): Promise<InputPair[] | null> {
  let stat;
  try {
    stat = await fs.stat(input);
  } catch {
    stat = undefined;
  }
  let files: string[];
  let root: string;
  if (stat?.isDirectory()) {
    files = await listImageFiles(input);
    root = input;
    if (files.length === 0) {
      throw new KernelLearnError(`${input}: is a folder with no image files (looked for ${IMAGE_EXTENSIONS.join(' ')}); give an image, or a folder that holds some`);
    }
  } else if (!stat && MAGIC.test(input)) {
    const { glob } = await import('tinyglobby'); // loaded only for patterns
    files = (await glob(input, { onlyFiles: true, expandDirectories: false, dot: false })).filter(isImageFile).sort();
    root = globBase(input);
    if (files.length === 0) {
      throw new KernelLearnError(`${input}: no images match; check the pattern (quote it so the shell leaves it alone) and that the files end in ${IMAGE_EXTENSIONS.join(' ')}`);
    }
  } else {
    return null;
  }
  let outStat;
  try {
    outStat = await fs.stat(outDir);
  } catch {
    outStat = undefined;
  }
  if (outStat && !outStat.isDirectory()) {
    throw new KernelLearnError(`${outDir}: is a file; with a folder or pattern as input, give a folder for the outputs`);
  }
  const seen = new Map<string, string>();
  return files.map((file) => {
    const stem = stemOf(file, root);
    const other = seen.get(stem);
    if (other) throw new KernelLearnError(`${file}: has the same stem as ${other}, so both would write one output; keep one file per stem`);
    seen.set(stem, file);
    return { input: file, output: path.join(outDir, ...stem.split('/')) + ext };
  });
}

/** Create the folder of each output (after the inputs are known, so a failed run leaves nothing). */
export async function makeOutputFolders(pairs: InputPair[]): Promise<void> {
  for (const dir of new Set(pairs.map((p) => path.dirname(p.output)))) await fs.mkdir(dir, { recursive: true });
}

/** Statistics files (kernel-learn stats), each read and checked; errors name the file and the fix. */
export async function loadStatsFiles(files: string[]): Promise<{ name: string; file: StatsFile }[]> {
  const out: { name: string; file: StatsFile }[] = [];
  for (const name of files) {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(name);
    } catch {
      throw new KernelLearnError(`${name}: cannot read the statistics file; check the path (statistics files are written by kernel-learn stats)`);
    }
    out.push({ name, file: decodeStats(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), name) });
  }
  return out;
}

export async function loadModelFile(file: string): Promise<Model> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new KernelLearnError(`${file}: cannot read the model file; check the path (models are written by kernel-learn train)`);
  }
  return parseModel(text, file);
}

// ---------------------------------------------------------------------------------------------
// interrupts

let report: () => string = () => 'nothing was finished';
let installed = false;

/** Installs the handler once; `describe` says what is finished so far (called at interrupt time). */
export function handleInterrupts(describe: () => string): void {
  report = describe;
  if (installed) return;
  installed = true;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      stopWrites();
      const removed = removeTemporaries();
      process.stderr.write(`\nkernel-learn: interrupted (${signal}): ${report()}${removed > 0 ? '; partial outputs removed' : ''}\n`);
      // A mkdir or write already in libuv's thread pool can land after the sweep: let it, then sweep again.
      setTimeout(() => {
        removeTemporaries();
        process.exit(code);
      }, 100);
    });
  }
}

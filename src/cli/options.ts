/**
 * Option parsers and option groups shared by several commands, so a flag means the same thing
 * everywhere. Parsers throw commander's InvalidArgumentError, which commander reports as a usage
 * error (exit code 2).
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BORDER_MODES, isBorderMode, type BorderMode } from '../filters/border.js';
import { FILTER_OPS, type FilterOp, type FilterSpec } from '../filters/spec.js';
import { DEPTHS, isDepth, type Depth } from '../image.js';
import { DEFAULT_MAX_PIXELS } from '../io/image-file.js';
import { parseNpy } from '../io/npy.js';

export function parseInteger(value: string): number {
  if (!/^[+-]?\d+$/.test(value.trim())) throw new InvalidArgumentError(`"${value}" is not an integer.`);
  return Number.parseInt(value, 10);
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
export function addMaxPixelsOption(cmd: Command): Command {
  return cmd.option(
    '--max-pixels <n>',
    `refuse images with more pixels (width x height) than this, before decoding them (default ${DEFAULT_MAX_PIXELS}, guards against decompression bombs)`,
    parsePositiveInteger,
  );
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
    .option('--border <mode>', `border mode: ${BORDER_MODES.join('|')} (default reflect101, OpenCV's BORDER_DEFAULT)`, parseBorder)
    .option('--depth <d>', `output depth: ${DEPTHS.join('|')} (saturating like OpenCV; default f32)`, parseDepth)
    .option('--kernel <json|file>', 'filter2D kernel for --op kernel: a JSON 2-D array, or a .json/.npy file', parseKernel)
    .option('--sigma <s>', 'Gaussian sigma (gaussian)', parseNumber);
}

export interface FilterFlags {
  op: FilterOp;
  dx?: number;
  dy?: number;
  ksize?: number;
  scale?: number;
  delta?: number;
  border?: BorderMode;
  depth?: Depth;
  kernel?: number[][];
  sigma?: number;
}

export function filterSpecFromFlags(flags: FilterFlags): FilterSpec {
  const spec: FilterSpec = { op: flags.op };
  for (const key of ['dx', 'dy', 'ksize', 'scale', 'delta', 'border', 'depth', 'kernel', 'sigma'] as const) {
    if (flags[key] !== undefined) (spec as unknown as Record<string, unknown>)[key] = flags[key];
  }
  return spec;
}

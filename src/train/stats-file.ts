/**
 * The statistics file (`kernel-learn stats`, read by `train --stats`): the sufficient statistics
 * of a set of pairs, so that pairs processed anywhere (shards on other machines, data that arrives
 * over time) can be learned from by one solve. docs/scale.md shows the recipes; this is the format.
 *
 * Why these numbers are enough. The exact fit of a kh x kw kernel minimises |X w - y|^2 over the
 * rows of X: one row per valid output pixel (its window wholly inside the input, the target at the
 * window's anchor (kh >> 1, kw >> 1): src/kernels/gram.ts). The optimum, its loss and every
 * held-out loss need only X^T X, X^T y, y^T y and the row count n, and each is a sum over pixels,
 * hence over pairs: the statistics of a union of pairs are the sums of the pairs' statistics. A
 * file holds those sums for its pairs; merging files adds them.
 *
 * Why the sums are kept in two float64 words each (hi + lo). Float addition is not associative, so
 * shards summed in another grouping would differ in the last bits. Each pair's statistics are
 * computed by the trainer's own code (gramStats of the one pair, the bits `train` adds for it);
 * pairs and files are then added with an error-free transformation (TwoSum: hi + lo carries the sum
 * to ~2^-106 relative), and the value used is hi, the nearly always correctly rounded exact sum. So
 * a merge in any order or tree of merges gives the same float64 statistics, byte for byte, unless an
 * exact sum lies within ~2^-100 of a rounding tie (tests: 1, 2, 8, 64 shards, orders and trees).
 * Where the per-pair sums are exact (integer pixels: u8, u16 inputs and integer-valued targets,
 * e.g. Sobel to s16), hi is also the bits of `train`'s own pass; otherwise `train` rounds after
 * each pair and the two differ by float64 rounding (~1e-16 relative).
 *
 * Why safetensors. The project already writes it (src/export/safetensors.ts); it is an 8-byte
 * length, a JSON header and raw little-endian arrays at given offsets, so numpy, PyTorch or any
 * language reads a file without kernel-learn (`safetensors.numpy.load_file`), no pickle and no zip
 * (.npz needs both, and its arrays cannot be read in place). Layout:
 *
 *   8 bytes   N, the JSON header's length, u64 little-endian
 *   N bytes   {"__metadata__": {"format": "kernel-learn-stats", "version": "1", "stats": "<StatsHeader as JSON>"},
 *              "xtx": {"dtype": "F64", "shape": [p, p], "data_offsets": [a, b]}, "xtx_lo": ..., "xty": [cout, p], "xty_lo",
 *              "yty": [cout], "yty_lo"}   (space-padded so the arrays start 8-byte aligned)
 *   the rest  the six arrays, float64 little-endian, row-major; p = cin * kh * kw + 1 (taps in
 *             weight order (channel, row, column), then the constant 1 of the bias)
 *
 * A file is p^2 + cout (p + 1) float64 pairs: 16 (p^2 + cout (p + 1)) bytes plus a header of
 * under a kilobyte (3x3 grey 2.6 kB in all, 9x9 grey 110 kB, 31x31 grey 14.8 MB, 31x31 colour to
 * colour 133 MB), whatever the number of pairs.
 */

import { KernelLearnError } from '../errors.js';
import { encodeSafetensors } from '../io/safetensors.js';
import type { GramStats } from '../kernels/gram.js';
import type { ModelAlignment } from '../nn/model.js';

export const STATS_FORMAT = 'kernel-learn-stats';
export const STATS_VERSION = 1;
/** The valid-region convention of src/kernels/gram.ts, named in every file. */
export const STATS_CONVENTION = 'valid-window, anchor (kh>>1, kw>>1), bias feature last';

/** What a file says about its numbers (the JSON in __metadata__.stats). */
export interface StatsHeader {
  /** Pairs whose statistics are summed, and their input pixels (width x height). */
  pairs: number;
  pixels: number;
  /** Rows of X: valid output pixels (whole window inside the input) over the pairs. */
  rows: number;
  kh: number;
  kw: number;
  /** 'fixed': computed for --ksize kh x kw; 'auto-max': as the largest size of --ksize auto. */
  ksize: 'fixed' | 'auto-max';
  cin: number;
  cout: number;
  /** Always true today (train fits a bias); kept so a file says what its last feature is. */
  bias: boolean;
  convention: string;
  /** How targets were placed in their inputs' frame (train/align.ts); mode 'same' when they were not moved. */
  alignment: ModelAlignment;
  /** Depths of the inputs / targets ('mixed' when the pairs differ). */
  inputDepth: string;
  targetDepth: string;
  /** max |target| over every target pixel (the held-out PSNR's peak). */
  targetPeak: number;
  /** Training pairs, or held-out pairs (`stats --validation`). */
  role: 'train' | 'validation';
  /** Which shards of an n-way split the file holds (0-based); an unsharded file is shard 0 of 1. */
  shards: { count: number; indices: number[] };
}

/** Sums kept as hi + lo (see the header): the value is hi. */
export interface ExactSums {
  hi: Float64Array;
  lo: Float64Array;
}

export interface StatsFile {
  header: StatsHeader;
  xtx: ExactSums;
  xty: ExactSums;
  yty: ExactSums;
}

const ARRAYS = ['xtx', 'xty', 'yty'] as const;

export function emptySums(length: number): ExactSums {
  return { hi: new Float64Array(length), lo: new Float64Array(length) };
}

/**
 * acc += (bHi + bLo), elementwise, without losing the rounding error: TwoSum of the high words,
 * the error and both low words gathered, then renormalised so that hi is the rounded sum.
 */
export function addSums(acc: ExactSums, bHi: Float64Array, bLo?: Float64Array): void {
  const { hi, lo } = acc;
  for (let i = 0; i < hi.length; i++) {
    const a = hi[i], b = bHi[i];
    const s = a + b;
    const bb = s - a;
    const e = a - (s - bb) + (b - bb) + lo[i] + (bLo ? bLo[i] : 0);
    const h = s + e;
    hi[i] = h;
    lo[i] = e - (h - s);
  }
}

/** The statistics a file holds, as the solver takes them (the hi words). */
export function gramOf(file: StatsFile): GramStats {
  const { kh, kw, cin, cout, bias, rows } = file.header;
  const p = cin * kh * kw + (bias ? 1 : 0);
  return { cin, cout, kh, kw, bias, p, n: rows, xtx: file.xtx.hi, xty: file.xty.hi, yty: file.yty.hi };
}

/** The fields two files must agree on to be added, with how each reads in an error. */
const MUST_AGREE: { field: string; of: (h: StatsHeader) => string }[] = [
  { field: 'kernel size', of: (h) => `${h.kh}x${h.kw}` },
  { field: 'ksize mode', of: (h) => h.ksize },
  { field: 'input channels', of: (h) => String(h.cin) },
  { field: 'target channels', of: (h) => String(h.cout) },
  { field: 'bias', of: (h) => String(h.bias) },
  { field: 'convention', of: (h) => h.convention },
  { field: 'alignment', of: (h) => JSON.stringify(h.alignment) },
  { field: 'role', of: (h) => h.role },
  { field: 'shard count', of: (h) => String(h.shards.count) },
];

/**
 * Refuses, in one line naming the file and the field, files that disagree with the first on a
 * field of MUST_AGREE (those in `ignore` aside: held-out files have another role).
 */
export function assertSameProblem(files: { name: string; file: StatsFile }[], ignore: string[] = []): void {
  const [first] = files;
  for (const { name, file } of files) {
    for (const { field, of } of MUST_AGREE) {
      if (ignore.includes(field) || of(file.header) === of(first.file.header)) continue;
      throw new KernelLearnError(`${name}: its ${field} is ${of(file.header)} but ${first.name}'s is ${of(first.file.header)}; statistics add up only for one problem: recompute it with the same flags as ${first.name}`);
    }
  }
}

/**
 * The sum of files (named for errors), in the order given. Refuses, with one line naming the file
 * and the field, files that do not describe the same problem, and a shard held twice.
 */
export function mergeStats(files: { name: string; file: StatsFile }[]): StatsFile {
  if (files.length === 0) throw new KernelLearnError('no statistics files to merge');
  const [first] = files;
  assertSameProblem(files);
  const held = new Map<number, string>();
  for (const { name, file } of files) {
    for (const i of file.header.shards.indices) {
      const other = held.get(i);
      if (other !== undefined) throw new KernelLearnError(`${name}: holds shard ${i}/${file.header.shards.count}, which ${other} holds too; each shard counts once: leave one of them out`);
      held.set(i, name);
    }
  }
  const h = first.file.header;
  const out: StatsFile = {
    header: { ...h, pairs: 0, pixels: 0, rows: 0, targetPeak: 0, shards: { count: h.shards.count, indices: [...held.keys()].sort((a, b) => a - b) } },
    xtx: emptySums(first.file.xtx.hi.length),
    xty: emptySums(first.file.xty.hi.length),
    yty: emptySums(first.file.yty.hi.length),
  };
  const depth = (a: string, b: string): string => (a === b ? a : 'mixed');
  for (const { file } of files) {
    const f = file.header;
    Object.assign(out.header, {
      pairs: out.header.pairs + f.pairs, pixels: out.header.pixels + f.pixels, rows: out.header.rows + f.rows,
      targetPeak: Math.max(out.header.targetPeak, f.targetPeak), inputDepth: depth(out.header.inputDepth, f.inputDepth), targetDepth: depth(out.header.targetDepth, f.targetDepth),
    });
    for (const k of ARRAYS) addSums(out[k], file[k].hi, file[k].lo);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// bytes

/** The array shapes a header implies. */
function shapes(h: StatsHeader): Record<(typeof ARRAYS)[number], number[]> {
  const p = h.cin * h.kh * h.kw + (h.bias ? 1 : 0);
  return { xtx: [p, p], xty: [h.cout, p], yty: [h.cout] };
}

/** The file's bytes (deterministic: the same statistics give the same bytes). */
export function encodeStats(file: StatsFile): Uint8Array {
  const shape = shapes(file.header);
  const tensors = ARRAYS.flatMap((k) => [
    { name: k, dtype: 'F64' as const, shape: shape[k], data: file[k].hi },
    { name: `${k}_lo`, dtype: 'F64' as const, shape: shape[k], data: file[k].lo },
  ]);
  return encodeSafetensors({ format: STATS_FORMAT, version: String(STATS_VERSION), stats: JSON.stringify(file.header) }, tensors);
}

/** A one-line refusal naming the file and what to do. */
function refuse(name: string, what: string): KernelLearnError {
  return new KernelLearnError(`${name}: ${what}`);
}

const FOREIGN = 'is not a kernel-learn statistics file; statistics files are written by kernel-learn stats';

/** The JSON header of a safetensors-shaped file, or a refusal (foreign or truncated). */
function readJsonHeader(bytes: Uint8Array, name: string): { json: Record<string, unknown>; dataAt: number } {
  if (bytes.length < 8) throw refuse(name, `is ${bytes.length} bytes, too short for a statistics file (truncated?); recompute it with kernel-learn stats`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getBigUint64(0, true);
  if (len > BigInt(bytes.length - 8)) {
    // A plausible JSON length that runs past the end is a cut file; anything else is not ours.
    if (len < 1n << 24n && bytes[8] === 0x7b) throw refuse(name, `is truncated (its header alone needs ${8n + len} bytes, the file has ${bytes.length}); copy or recompute it`);
    throw refuse(name, FOREIGN);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + Number(len))));
  } catch {
    throw refuse(name, FOREIGN);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw refuse(name, FOREIGN);
  return { json: json as Record<string, unknown>, dataAt: 8 + Number(len) };
}

/** The StatsHeader in the metadata, checked field by field. */
function parseHeader(meta: Record<string, unknown>, name: string): StatsHeader {
  if (meta.format !== STATS_FORMAT) throw refuse(name, FOREIGN);
  const version = Number(meta.version);
  if (!(version >= 1)) throw refuse(name, `has no valid format version ("${String(meta.version)}"); recompute it with kernel-learn stats`);
  if (version > STATS_VERSION) throw refuse(name, `is format version ${version}, newer than this kernel-learn reads (${STATS_VERSION}); update kernel-learn`);
  let h: StatsHeader;
  try {
    h = JSON.parse(String(meta.stats)) as StatsHeader;
  } catch {
    throw refuse(name, 'has a damaged header (its statistics record is not JSON); recompute it with kernel-learn stats');
  }
  const ints = [h?.pairs, h?.pixels, h?.rows, h?.kh, h?.kw, h?.cin, h?.cout, h?.shards?.count];
  const ok =
    ints.every((v) => Number.isSafeInteger(v) && v >= 0) && h.kh >= 1 && h.kw >= 1 && h.cin >= 1 && h.cout >= 1 && h.shards.count >= 1 &&
    typeof h.bias === 'boolean' && (h.ksize === 'fixed' || h.ksize === 'auto-max') && (h.role === 'train' || h.role === 'validation') &&
    typeof h.convention === 'string' && typeof h.inputDepth === 'string' && typeof h.targetDepth === 'string' && Number.isFinite(h.targetPeak) &&
    typeof h.alignment === 'object' && h.alignment !== null && Array.isArray(h.shards.indices) && h.shards.indices.every((i) => Number.isSafeInteger(i) && i >= 0 && i < h.shards.count);
  if (!ok) throw refuse(name, 'has a damaged header (a field is missing or out of range); recompute it with kernel-learn stats');
  if (h.convention !== STATS_CONVENTION) throw refuse(name, `uses the convention "${h.convention}", not this kernel-learn's ("${STATS_CONVENTION}"); recompute it with this version`);
  return h;
}

/** Reads a statistics file's bytes; refuses foreign, truncated or damaged files in one line naming `name`. */
export function decodeStats(bytes: Uint8Array, name: string): StatsFile {
  const { json, dataAt } = readJsonHeader(bytes, name);
  const meta = json.__metadata__;
  if (typeof meta !== 'object' || meta === null) throw refuse(name, FOREIGN);
  const header = parseHeader(meta as Record<string, unknown>, name);
  const shape = shapes(header);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = (key: string, s: number[]): Float64Array => {
    const t = json[key] as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | undefined;
    const length = s.reduce((a, b) => a * b, 1);
    const offsets = t?.data_offsets as number[] | undefined;
    if (!t || t.dtype !== 'F64' || JSON.stringify(t.shape) !== JSON.stringify(s) || !Array.isArray(offsets) || !(Number.isSafeInteger(offsets[0]) && offsets[0] >= 0) || offsets[1] - offsets[0] !== length * 8) {
      throw refuse(name, `has no valid "${key}" array (F64, shape [${s.join(', ')}]); recompute it with kernel-learn stats`);
    }
    if (dataAt + offsets[1] > bytes.length) throw refuse(name, `is truncated (${bytes.length} bytes, its arrays need ${dataAt + offsets[1]}); copy or recompute it`);
    const out = new Float64Array(length);
    for (let i = 0, at = dataAt + offsets[0]; i < length; i++, at += 8) out[i] = view.getFloat64(at, true);
    return out;
  };
  const sums = (k: (typeof ARRAYS)[number]): ExactSums => ({ hi: read(k, shape[k]), lo: read(`${k}_lo`, shape[k]) });
  const file: StatsFile = { header, xtx: sums('xtx'), xty: sums('xty'), yty: sums('yty') };
  for (const k of ARRAYS) {
    if (!file[k].hi.every(Number.isFinite) || !file[k].lo.every(Number.isFinite)) throw refuse(name, `has non-finite numbers in "${k}" (damaged); recompute it with kernel-learn stats`);
  }
  return file;
}

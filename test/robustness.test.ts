/**
 * The bad-input matrix: every command, run as a user runs it (the built binary, in temporary
 * folders), fed missing, empty, truncated, mislabelled, corrupt, non-finite, mismatched,
 * oversized and unwritable inputs. Each case must give exactly one line
 * `kernel-learn: error: ...` naming the file (where there is one) and saying what to do, no stack
 * trace, exit code 1 (2 for bad usage), and leave nothing behind: no output, no `.tmp-` file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { crc32 } from 'node:zlib';
import { after, before, describe, it, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { syntheticImage } from '../src/data/synthetic.js';
import { applyFilter } from '../src/filters/ops.js';
import { createImage } from '../src/image.js';
import { encodeNpy, writeImage } from '../src/io/index.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, '../src/cli/main.js');
const NPY_FIXTURES = path.resolve(HERE, '..', '..', 'test', 'fixtures', 'npy');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The built binary as a child process. The matrix runs every case this way with
 * KL_MATRIX=binary (npm run test:matrix); in npm test it runs a sample of cases this way and the
 * rest in this process through the binary's own main() (same code, no Node start-up per case).
 */
export function runCli(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

let mainFn: ((argv: string[]) => Promise<number>) | undefined;

/** main() of dist/src/cli/main.js in this process, capturing what it writes (strings only: the test runner's own output is binary). */
async function runInProcess(args: string[], cwd: string): Promise<Run> {
  mainFn ??= (await import('../src/cli/main.js')).main;
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  const capture = (stream: NodeJS.WriteStream, real: typeof out, append: (s: string) => void) =>
    function (chunk: unknown, ...rest: unknown[]): boolean {
      if (typeof chunk === 'string') {
        append(chunk);
        return true;
      }
      return (real as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
    } as typeof out;
  const before = process.cwd();
  process.stdout.write = capture(process.stdout, out, (s) => (stdout += s));
  process.stderr.write = capture(process.stderr, err, (s) => (stderr += s));
  let code: number;
  try {
    process.chdir(cwd);
    code = await mainFn(args);
  } finally {
    process.chdir(before);
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return { code, stdout, stderr };
}

/** Every file and folder under `dir`, with sizes, so "nothing left behind" is one comparison. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) {
        out.push(path.relative(dir, full) + '/');
        walk(full);
      } else out.push(`${path.relative(dir, full)} ${statSync(full).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

/** A PNG whose header claims width x height; only a few bytes of (grey, 8-bit) data follow. */
function bombPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Fixtures, made once: good data beside every kind of bad data.

const root = mkdtempSync(path.join(os.tmpdir(), 'kl-robust-'));
const fx = path.join(root, 'fx');
let fxBefore: string[];
const F = (...p: string[]): string => path.join(fx, ...p);

async function makeFixtures(): Promise<void> {
  const grey = syntheticImage({ width: 16, height: 16, seed: 1 });
  const grey2 = syntheticImage({ width: 16, height: 16, seed: 2 });
  const rgb = syntheticImage({ width: 16, height: 16, channels: 3, seed: 3 });
  const sobel = { op: 'sobel', dx: 1, dy: 0, ksize: 3 } as const;
  const pairDir = async (name: string, items: Array<[string, typeof grey, typeof grey]>, targetExt = '.npy'): Promise<void> => {
    mkdirSync(F(name, 'in'), { recursive: true });
    mkdirSync(F(name, 'tg'), { recursive: true });
    for (const [stem, input, target] of items) {
      await writeImage(F(name, 'in', `${stem}.${input.depth === 'u8' ? 'png' : 'npy'}`), input);
      await writeImage(F(name, 'tg', stem + targetExt), target);
    }
  };
  await writeImage(F('good.png'), grey);
  await writeImage(F('rgb.png'), rgb);
  await pairDir('pairs', [['a', grey, applyFilter(grey, sobel)], ['b', grey2, applyFilter(grey2, sobel)]]);
  await pairDir('pairs-rgb', [['a', rgb, applyFilter(rgb, sobel)]]);

  // Non-finite values: the input of pair a has NaN at (x=3, y=2); the target of pair b has Inf at (x=5, y=7).
  const nanInput = createImage(16, 16, 1, 'f32');
  nanInput.data.set(grey.data);
  nanInput.data[2 * 16 + 3] = NaN;
  const infTarget = applyFilter(grey2, sobel);
  infTarget.data[7 * 16 + 5] = Infinity;
  await pairDir('pairs-nan', [['a', nanInput, applyFilter(grey, sobel)], ['b', grey2, applyFilter(grey2, sobel)]]);
  await pairDir('pairs-inf', [['a', grey, applyFilter(grey, sobel)], ['b', grey2, infTarget]]);
  await writeImage(F('nan.npy'), nanInput);

  // Mismatches: sizes within a pair; channels across pairs; unpaired stems.
  const small = syntheticImage({ width: 16, height: 12, seed: 4 });
  await pairDir('pairs-size', [['a', grey, applyFilter(small, sobel)]]);
  await pairDir('pairs-channels', [['a', grey, applyFilter(grey, sobel)], ['b', rgb, applyFilter(rgb, sobel)]]);
  await pairDir('pairs-unpaired', [['a', grey, applyFilter(grey, sobel)], ['b', grey2, applyFilter(grey2, sobel)]]);
  rmSync(F('pairs-unpaired', 'tg', 'b.npy'));
  mkdirSync(F('empty-dir'));

  // Broken image files.
  const png = readFileSync(F('good.png'));
  writeFileSync(F('empty.png'), '');
  writeFileSync(F('empty.npy'), '');
  writeFileSync(F('truncated.png'), png.subarray(0, Math.floor(png.length / 2)));
  writeFileSync(F('text.png'), 'this is a text file, not a PNG\n');
  writeFileSync(F('text.tiff'), 'this is a text file, not a TIFF\n');
  writeFileSync(F('text.jpg'), 'nor is this a JPEG\n');
  writeFileSync(F('bomb.png'), bombPng(100000, 100000));
  for (const name of ['bad_header.npy', 'f4_4d.npy', 'object.npy', 'truncated.npy', 'bad_magic.npy', 'structured.npy', 'f4_be_2x3.npy']) {
    copyFileSync(path.join(NPY_FIXTURES, name), F(name));
  }
  // Input folders that each hold one bad file among good ones (for train and dataset --images).
  for (const [name, bad] of [
    ['truncated', 'truncated.png'], ['text', 'text.png'], ['badnpy', 'bad_header.npy'], ['4d', 'f4_4d.npy'],
    ['object', 'object.npy'], ['bomb', 'bomb.png'], ['nan', 'nan.npy'], ['empty', 'empty.png'],
  ] as const) {
    mkdirSync(F('images-' + name));
    copyFileSync(F('good.png'), F('images-' + name, 'a.png'));
    copyFileSync(F(bad), F('images-' + name, `z-${bad}`));
    // The same bad file as a target of a pair set (target stem "a").
    mkdirSync(F('pairs-bad-' + name, 'in'), { recursive: true });
    mkdirSync(F('pairs-bad-' + name, 'tg'), { recursive: true });
    copyFileSync(F('good.png'), F('pairs-bad-' + name, 'in', 'a.png'));
    copyFileSync(F(bad), F('pairs-bad-' + name, 'tg', `a${path.extname(bad)}`));
  }

  // Models: a good one (trained here), and broken ones.
  const trained = await runCli(['train', '--input', F('pairs', 'in'), '--target', F('pairs', 'tg'), '--out', F('model.json')], fx);
  assert.equal(trained.code, 0, trained.stderr);
  const trainedRgb = await runCli(['train', '--input', F('pairs-rgb', 'in'), '--target', F('pairs-rgb', 'tg'), '--out', F('model-rgb.json')], fx);
  assert.equal(trainedRgb.code, 0, trainedRgb.stderr);
  const model = readFileSync(F('model.json'), 'utf8');
  const doc = JSON.parse(model);
  writeFileSync(F('model-truncated.json'), model.slice(0, Math.floor(model.length / 2)));
  writeFileSync(F('model-empty.json'), '');
  writeFileSync(F('model-text.json'), 'weights: 1 2 3\n');
  writeFileSync(F('model-v99.json'), JSON.stringify({ ...doc, version: 99 }));
  writeFileSync(F('model-v0.json'), JSON.stringify({ ...doc, version: 0 }));
  writeFileSync(F('model-format.json'), JSON.stringify({ ...doc, format: 'onnx' }));
  writeFileSync(F('model-array.json'), '[1, 2, 3]');
  const nullWeight = structuredClone(doc);
  nullWeight.layers[0].weights[0][0][1][1] = null;
  writeFileSync(F('model-nullweight.json'), JSON.stringify(nullWeight));
  const badBorder = structuredClone(doc);
  badBorder.border = 'mirror';
  writeFileSync(F('model-border.json'), JSON.stringify(badBorder));
  const badShape = structuredClone(doc);
  badShape.layers[0].kernelSize = [5, 5];
  writeFileSync(F('model-shape.json'), JSON.stringify(badShape));
  writeFileSync(F('not-json.png.json'), png);
}

// ---------------------------------------------------------------------------------------------
// The matrix.

interface Case {
  command: string;
  name: string;
  /** Arguments; `out` is this case's own empty folder (the working directory too). */
  args: (out: string) => string[];
  code: 1 | 2;
  /** What the one error line must contain: the file, and words of the fix. */
  mentions: Array<string | RegExp>;
  /** Makes files in `out` before the run (they must be unchanged after). */
  setup?: (out: string) => void;
}

const IMAGE_FAULTS: Array<{ name: string; file: string; says: RegExp }> = [
  { name: 'missing file', file: 'nope.png', says: /does not exist; check the path/ },
  { name: 'empty PNG', file: 'empty.png', says: /empty \(0 bytes\)/ },
  { name: 'empty .npy', file: 'empty.npy', says: /empty \(0 bytes\)/ },
  { name: 'truncated PNG', file: 'truncated.png', says: /truncated/ },
  { name: 'text file named .png', file: 'text.png', says: /not a PNG image/ },
  { name: 'text file named .tiff', file: 'text.tiff', says: /not a TIFF image/ },
  { name: 'text file named .jpg', file: 'text.jpg', says: /not a JPEG image/ },
  { name: '.npy with a bad header', file: 'bad_header.npy', says: /header is malformed/ },
  { name: '.npy with bad magic', file: 'bad_magic.npy', says: /not a \.npy file/ },
  { name: '4-D .npy', file: 'f4_4d.npy', says: /shape \(1, 2, 3, 4\).*\(H, W\) or \(H, W, C\)/ },
  { name: 'object-dtype .npy', file: 'object.npy', says: /dtype '\|O'.*not supported; use uint8/ },
  { name: 'structured-dtype .npy', file: 'structured.npy', says: /structured.*not supported/ },
  { name: 'truncated .npy', file: 'truncated.npy', says: /truncated/ },
  { name: 'folder given as image', file: 'empty-dir', says: /is a folder/ },
  { name: 'unsupported extension', file: 'model.json', says: /unsupported image type '\.json'; use one of/ },
  { name: 'decompression bomb (100000x100000 PNG)', file: 'bomb.png', says: /100000x100000 = 10000000000 pixels, over the limit.*--max-pixels/ },
];

const MODEL_FAULTS: Array<{ name: string; file: string; says: RegExp }> = [
  { name: 'missing model', file: 'nope.json', says: /cannot read the model file; check the path/ },
  { name: 'model is a folder', file: 'empty-dir', says: /cannot read the model file/ },
  { name: 'empty model', file: 'model-empty.json', says: /invalid JSON/ },
  { name: 'truncated model', file: 'model-truncated.json', says: /invalid JSON/ },
  { name: 'text model', file: 'model-text.json', says: /invalid JSON/ },
  { name: 'binary model', file: 'not-json.png.json', says: /invalid JSON/ },
  { name: 'newer model version', file: 'model-v99.json', says: /version 99 is not supported.*upgrade kernel-learn/ },
  { name: 'older model version', file: 'model-v0.json', says: /version 0 is not supported/ },
  { name: 'other format', file: 'model-format.json', says: /not a kernel-learn model/ },
  { name: 'JSON array', file: 'model-array.json', says: /must be an object/ },
  { name: 'null weight', file: 'model-nullweight.json', says: /weights\[0\]\[0\]\[1\]\[1\] must be a finite number/ },
  { name: 'unknown border in model', file: 'model-border.json', says: /unknown border "mirror"/ },
  { name: 'weights do not match kernelSize', file: 'model-shape.json', says: /has 3 entries, expected 5/ },
];

const FIX = /\b(use|give|check|create|choose|raise|convert|replace|add|remove|save|write|make|keep|upgrade|run|fix|pair|export|copy|train|reshape|leave)\b|--[a-z]/i;

function buildCases(withExport: boolean): Case[] {
  const cases: Case[] = [];
  const add = (c: Case): void => {
    cases.push(c);
  };
  const good = (): string => F('good.png');
  const model = (): string => F('model.json');

  // filter and apply read one image: every image fault, for both.
  for (const f of IMAGE_FAULTS) {
    add({ command: 'filter', name: f.name, args: (out) => ['filter', F(f.file), path.join(out, 'o.npy')], code: 1, mentions: [f.file, f.says] });
    add({ command: 'apply', name: f.name, args: (out) => ['apply', '--model', model(), F(f.file), path.join(out, 'o.npy')], code: 1, mentions: [f.file, f.says] });
  }
  add({ command: 'apply', name: 'NaN in the input', args: (out) => ['apply', '--model', model(), F('nan.npy'), path.join(out, 'o.npy')], code: 1, mentions: ['nan.npy', /pixel \(x=3, y=2\) is NaN/, /replace NaN/] });
  add({ command: 'apply', name: 'colour image, 3-channel model, grey input', args: (out) => ['apply', '--model', F('model-rgb.json'), good(), path.join(out, 'o.npy')], code: 1, mentions: ['good.png', /1 channel but the model takes 3/] });

  // apply's streaming path (big images, or --band-rows): its own readers and writer, the same errors.
  for (const f of IMAGE_FAULTS.filter((f) => /\.(npy|png)$/.test(f.file))) {
    add({ command: 'apply', name: `${f.name}, streamed in bands`, args: (out) => ['apply', '--model', model(), F(f.file), path.join(out, 'o.npy'), '--band-rows', '4'], code: 1, mentions: [f.file, f.says] });
  }
  add({ command: 'apply', name: 'NaN in the input, streamed in bands', args: (out) => ['apply', '--model', model(), F('nan.npy'), path.join(out, 'o.npy'), '--band-rows', '4'], code: 1, mentions: ['nan.npy', /pixel \(x=3, y=2\) is NaN/] });
  add({ command: 'apply', name: 'output folder missing, streamed in bands', args: (out) => ['apply', '--model', model(), good(), path.join(out, 'missing', 'o.npy'), '--band-rows', '4'], code: 1, mentions: [/folder .*missing does not exist; create it first/] });

  // Model faults: apply, inspect, export.
  for (const f of MODEL_FAULTS) {
    add({ command: 'apply', name: f.name, args: (out) => ['apply', '--model', F(f.file), good(), path.join(out, 'o.npy')], code: 1, mentions: [f.file, f.says] });
    add({ command: 'inspect', name: f.name, args: () => ['inspect', F(f.file)], code: 1, mentions: [f.file, f.says] });
    if (withExport) add({ command: 'export', name: f.name, args: (out) => ['export', F(f.file), '--out', path.join(out, 'm.onnx')], code: 1, mentions: [f.file, f.says] });
  }

  // Outputs that cannot be written: a missing folder, a file where a folder should be, a folder
  // where the file should be, a format that cannot hold the result.
  const outputFaults = (command: string, argsFor: (outFile: string) => string[], ext: string): void => {
    add({ command, name: 'output folder missing', args: (out) => argsFor(path.join(out, 'missing', `o${ext}`)), code: 1, mentions: [/folder .*missing does not exist; create it first/] });
    add({
      command, name: 'output folder is a file', setup: (out) => writeFileSync(path.join(out, 'file'), 'x'),
      args: (out) => argsFor(path.join(out, 'file', `o${ext}`)), code: 1, mentions: [/file is a file, not a folder; choose another path/],
    });
    add({
      command, name: 'output is a folder', setup: (out) => mkdirSync(path.join(out, `dir${ext}`)),
      args: (out) => argsFor(path.join(out, `dir${ext}`)), code: 1, mentions: [`dir${ext}`, /it is a folder; give a file name/],
    });
    // Permissions do not stop root, so this case only runs for other users.
    if (process.getuid?.() !== 0) {
      add({
        command, name: 'output folder not writable', setup: (out) => mkdirSync(path.join(out, 'ro'), { mode: 0o555 }),
        args: (out) => argsFor(path.join(out, 'ro', `o${ext}`)), code: 1, mentions: [`o${ext}`, /permission denied; choose a writable folder/],
      });
    }
  };
  outputFaults('filter', (o) => ['filter', good(), o], '.npy');
  outputFaults('apply', (o) => ['apply', '--model', model(), good(), o], '.npy');
  outputFaults('train', (o) => ['train', '--input', F('pairs', 'in'), '--target', F('pairs', 'tg'), '--out', o], '.json');
  if (withExport) outputFaults('export', (o) => ['export', model(), '--out', o], '.onnx');
  for (const command of ['filter', 'apply']) {
    const pre = command === 'filter' ? ['filter'] : ['apply', '--model', model()];
    add({ command, name: 'unsupported output format', args: (out) => [...pre, good(), path.join(out, 'o.bmp')], code: 1, mentions: ['o.bmp', /unsupported image type '\.bmp'; use one of/] });
    add({ command, name: 'output format cannot hold the depth', args: (out) => [...pre, good(), path.join(out, 'o.png')], code: 1, mentions: ['o.png', /cannot store f32 pixels.*use .*--depth/] });
  }

  // filter: unknown op, border, depth; kernel sizes out of range; bad kernels.
  const filterUsage: Array<[string, string[], RegExp]> = [
    ['unknown op', ['--op', 'median'], /--op.*median.*Allowed choices/],
    ['unknown border', ['--border', 'mirror'], /unknown border "mirror"; use one of/],
    ['unknown depth', ['--depth', 'u32'], /unknown depth "u32"; use one of/],
    ['ksize not an integer', ['--ksize', 'three'], /not an integer/],
    ['kernel not JSON', ['--op', 'kernel', '--kernel', '[[1,2],[3'], /not valid JSON/],
    ['kernel rows of unequal length', ['--op', 'kernel', '--kernel', '[[1,2],[3]]'], /rows of equal length/],
    ['kernel file missing', ['--op', 'kernel', '--kernel', 'nokernel.json'], /nokernel\.json cannot be read/],
    ['missing output argument', [], /missing required argument 'out'/],
    ['unknown option', ['--colour'], /unknown option '--colour'/],
    ['max-pixels zero', ['--max-pixels', '0'], /not a whole number >= 1/],
  ];
  for (const [name, extra, says] of filterUsage) {
    add({ command: 'filter', name, args: (out) => ['filter', good(), ...(name === 'missing output argument' ? [] : [path.join(out, 'o.npy')]), ...extra], code: 2, mentions: [says] });
  }
  const filterBad: Array<[string, string[], RegExp]> = [
    ['sobel ksize 9', ['--op', 'sobel', '--ksize', '9'], /sobel ksize=9 is not allowed: use 1, 3, 5 or 7/],
    ['sobel ksize -1', ['--op', 'sobel', '--ksize', '-1'], /sobel ksize=-1 is not allowed/],
    ['laplacian ksize 4', ['--op', 'laplacian', '--ksize', '4'], /laplacian ksize=4 is not allowed/],
    ['gaussian even ksize', ['--op', 'gaussian', '--ksize', '4'], /gaussian ksize=4 is not allowed: use an odd size/],
    ['gaussian ksize 999999999', ['--op', 'gaussian', '--ksize', '999999999'], /too large: use at most 1023/],
    ['gaussian sigma 1e9', ['--op', 'gaussian', '--sigma', '1e9'], /sigma=1000000000 is too large/],
    ['box ksize 0', ['--op', 'box', '--ksize', '0'], /box ksize=0 is not allowed/],
    ['box ksize 99999999', ['--op', 'box', '--ksize', '99999999'], /too large: use at most 1023/],
    ['scharr ksize 5', ['--op', 'scharr', '--ksize', '5'], /Scharr is always 3x3/],
    ['sobel order too high', ['--op', 'sobel', '--dx', '3', '--ksize', '3'], /the order must be below 3/],
    ['kernel 4-D .npy', ['--op', 'kernel', '--kernel', 'KERNEL4D'], /f4_4d\.npy has shape \(1, 2, 3, 4\); a kernel is 2-D/],
  ];
  for (const [name, extra, says] of filterBad) {
    const code = name === 'kernel 4-D .npy' ? 2 : 1;
    add({ command: 'filter', name, args: (out) => ['filter', good(), path.join(out, 'o.npy'), ...extra.map((a) => (a === 'KERNEL4D' ? F('f4_4d.npy') : a))], code, mentions: [says] });
  }
  add({ command: 'filter', name: '--max-pixels below the image', args: (out) => ['filter', good(), path.join(out, 'o.npy'), '--max-pixels', '100'], code: 1, mentions: ['good.png', /16x16 = 256 pixels, over the limit of 100; raise it with --max-pixels 256/] });

  // apply: usage.
  add({ command: 'apply', name: 'unknown depth', args: (out) => ['apply', '--model', model(), good(), path.join(out, 'o.npy'), '--depth', 'u32'], code: 2, mentions: [/unknown depth "u32"/] });
  add({ command: 'apply', name: 'missing --model', args: (out) => ['apply', good(), path.join(out, 'o.npy')], code: 2, mentions: [/required option '--model/] });
  add({ command: 'apply', name: '--max-pixels below the image', args: (out) => ['apply', '--model', model(), good(), path.join(out, 'o.npy'), '--max-pixels', '100'], code: 1, mentions: ['good.png', /raise it with --max-pixels 256/] });

  // train: folders and pairs.
  const train = (dir: string, extra: string[] = []) => (out: string): string[] =>
    ['train', '--input', F(dir, 'in'), '--target', F(dir, 'tg'), '--out', path.join(out, 'm.json'), ...extra];
  add({ command: 'train', name: 'input folder missing', args: (out) => ['train', '--input', F('nope'), '--target', F('pairs', 'tg'), '--out', path.join(out, 'm.json')], code: 1, mentions: ['nope', /no such folder; check the path/] });
  add({ command: 'train', name: 'input is a file', args: (out) => ['train', '--input', good(), '--target', F('pairs', 'tg'), '--out', path.join(out, 'm.json')], code: 1, mentions: ['good.png', /is a file, not a folder/] });
  add({ command: 'train', name: 'empty input folder', args: (out) => ['train', '--input', F('empty-dir'), '--target', F('pairs', 'tg'), '--out', path.join(out, 'm.json')], code: 1, mentions: ['empty-dir', /no image files found/] });
  add({ command: 'train', name: 'empty target folder', args: (out) => ['train', '--input', F('pairs', 'in'), '--target', F('empty-dir'), '--out', path.join(out, 'm.json')], code: 1, mentions: ['empty-dir', /no image files found/] });
  add({ command: 'train', name: 'unpaired stems', args: train('pairs-unpaired'), code: 1, mentions: [path.join('pairs-unpaired', 'in', 'b.png'), /no target with stem "b".*add the targets or remove the inputs/] });
  add({ command: 'train', name: 'unpaired stems (target side)', args: (out) => ['train', '--input', F('pairs-unpaired', 'tg'), '--target', F('pairs', 'tg'), '--out', path.join(out, 'm.json')], code: 1, mentions: [path.join('pairs', 'tg', 'b.npy'), /no input with stem "b"/] });
  add({ command: 'train', name: 'input/target size mismatch', args: train('pairs-size'), code: 1, mentions: [path.join('pairs-size', 'tg', 'a.npy'), /no alignment explains the targets \(16x12 for a 16x16 input/] });
  add({ command: 'train', name: 'channel mismatch across pairs', args: train('pairs-channels'), code: 1, mentions: [path.join('pairs-channels', 'in', 'b.png'), /has 3 channels but .* has 1; .*grey/] });
  add({ command: 'train', name: 'NaN in an input', args: train('pairs-nan'), code: 1, mentions: [path.join('pairs-nan', 'in', 'a.npy'), /pixel \(x=3, y=2\) is NaN/, /replace NaN/] });
  add({ command: 'train', name: 'Inf in a target', args: train('pairs-inf'), code: 1, mentions: [path.join('pairs-inf', 'tg', 'b.npy'), /pixel \(x=5, y=7\) is Infinity/] });
  for (const [name, bad, says] of [
    ['truncated', 'truncated.png', /truncated or corrupt/], ['text', 'text.png', /not a PNG image/], ['badnpy', 'bad_header.npy', /header is malformed/],
    ['4d', 'f4_4d.npy', /shape \(1, 2, 3, 4\)/], ['object', 'object.npy', /dtype '\|O'/], ['bomb', 'bomb.png', /over the limit.*--max-pixels/],
    ['empty', 'empty.png', /empty \(0 bytes\)/],
  ] as const) {
    add({ command: 'train', name: `bad target: ${bad}`, args: train('pairs-bad-' + name), code: 1, mentions: [path.join('pairs-bad-' + name, 'tg', 'a' + path.extname(bad)), says] });
  }
  add({ command: 'train', name: '--max-pixels below the images', args: train('pairs', ['--max-pixels', '100']), code: 1, mentions: ['a.png', /raise it with --max-pixels 256/] });
  for (const [name, extra, says] of [
    ['ksize above 31', ['--ksize', '32'], /kernels go up to 31x31/], ['ksize HxW above 31', ['--ksize', '5x33'], /kernels go up to 31x31/],
    ['ksize 0', ['--ksize', '0'], /give a size like 5, 4 or 5x9/], ['ksize word', ['--ksize', 'big'], /give a size like 5, 4 or 5x9/],
    ['unknown border', ['--border', 'mirror'], /unknown border "mirror"/], ['unknown solver', ['--solver', 'lbfgs'], /Allowed choices/],
    ['unknown arch', ['--arch', 'resnet'], /Allowed choices/], ['seed not a number', ['--seed', 'x'], /not an integer/],
    ['max-pixels negative', ['--max-pixels', '-5'], /not a whole number >= 1/],
  ] as const) {
    add({ command: 'train', name, args: train('pairs', [...extra]), code: 2, mentions: [says] });
  }
  add({ command: 'train', name: 'missing --target', args: (out) => ['train', '--input', F('pairs', 'in'), '--out', path.join(out, 'm.json')], code: 2, mentions: [/required option '--target/] });

  // dataset: sources, filters, outputs.
  const ds = (extra: string[]) => (out: string): string[] => ['dataset', '--out', path.join(out, 'ds'), ...extra];
  add({ command: 'dataset', name: 'no source', args: ds([]), code: 2, mentions: [/give exactly one of --images DIR or --synthetic N/] });
  add({ command: 'dataset', name: 'both sources', args: ds(['--images', F('pairs', 'in'), '--synthetic', '2']), code: 2, mentions: [/exactly one of/] });
  add({ command: 'dataset', name: '--synthetic 0', args: ds(['--synthetic', '0']), code: 2, mentions: [/at least 1/] });
  add({ command: 'dataset', name: '--channels 2', args: ds(['--synthetic', '1', '--channels', '2']), code: 2, mentions: [/--channels must be 1 or 3/] });
  add({ command: 'dataset', name: 'bad --size', args: ds(['--synthetic', '1', '--size', '0x5']), code: 2, mentions: [/not a size like 256x256/] });
  add({ command: 'dataset', name: 'unknown op', args: ds(['--synthetic', '1', '--op', 'median']), code: 2, mentions: [/Allowed choices/] });
  add({ command: 'dataset', name: 'unknown border', args: ds(['--synthetic', '1', '--border', 'mirror']), code: 2, mentions: [/unknown border/] });
  add({ command: 'dataset', name: 'unknown depth', args: ds(['--synthetic', '1', '--depth', 'u32']), code: 2, mentions: [/unknown depth/] });
  add({ command: 'dataset', name: 'sobel ksize 9', args: ds(['--synthetic', '2', '--ksize', '9']), code: 1, mentions: [/sobel ksize=9 is not allowed/] });
  add({ command: 'dataset', name: 'gaussian ksize out of range', args: ds(['--synthetic', '2', '--op', 'gaussian', '--ksize', '99999']), code: 1, mentions: [/too large: use at most 1023/] });
  add({ command: 'dataset', name: '--images folder missing', args: ds(['--images', F('nope')]), code: 1, mentions: ['nope', /no such folder/] });
  add({ command: 'dataset', name: '--images folder empty', args: ds(['--images', F('empty-dir')]), code: 1, mentions: ['empty-dir', /no image files found/] });
  for (const [name, bad, says] of [
    ['truncated', 'truncated.png', /truncated or corrupt/], ['text', 'text.png', /not a PNG image/], ['badnpy', 'bad_header.npy', /header is malformed/],
    ['4d', 'f4_4d.npy', /shape \(1, 2, 3, 4\)/], ['object', 'object.npy', /dtype '\|O'/], ['bomb', 'bomb.png', /over the limit.*--max-pixels/],
    ['nan', 'nan.npy', /pixel \(x=3, y=2\) is NaN/], ['empty', 'empty.png', /empty \(0 bytes\)/],
  ] as const) {
    // The bad file comes after a good one, so a pair has already been written when it fails.
    add({ command: 'dataset', name: `--images with ${bad}`, args: ds(['--images', F('images-' + name)]), code: 1, mentions: [`z-${bad}`, says] });
  }
  add({ command: 'dataset', name: '--max-pixels below the images', args: ds(['--images', F('pairs', 'in'), '--max-pixels', '100']), code: 1, mentions: ['a.png', /raise it with --max-pixels 256/] });
  add({ command: 'dataset', name: '--out is a file', setup: (out) => writeFileSync(path.join(out, 'ds'), 'x'), args: ds(['--synthetic', '1']), code: 1, mentions: ['ds', /it is a file; choose a folder path/] });
  add({
    command: 'dataset', name: '--out below a file', setup: (out) => writeFileSync(path.join(out, 'file'), 'x'),
    args: (out) => ['dataset', '--synthetic', '1', '--out', path.join(out, 'file', 'ds')], code: 1, mentions: [/file is a file; choose another path/],
  });

  // demo.
  add({ command: 'demo', name: '--images 0', args: (out) => ['demo', '--out', path.join(out, 'd'), '--images', '0'], code: 2, mentions: [/not a whole number >= 1/] });
  add({ command: 'demo', name: '--images not a number', args: (out) => ['demo', '--out', path.join(out, 'd'), '--images', 'many'], code: 2, mentions: [/not an integer/] });
  add({ command: 'demo', name: '--seed not a number', args: (out) => ['demo', '--out', path.join(out, 'd'), '--seed', '1.5'], code: 2, mentions: [/not an integer/] });
  add({ command: 'demo', name: 'unknown option', args: (out) => ['demo', '--out', path.join(out, 'd'), '--fast'], code: 2, mentions: [/unknown option '--fast'/] });
  add({ command: 'demo', name: '--out is a file', setup: (out) => writeFileSync(path.join(out, 'd'), 'x'), args: (out) => ['demo', '--out', path.join(out, 'd'), '--images', '1'], code: 1, mentions: [/it is a file; choose a folder path/] });
  add({
    command: 'demo', name: '--out below a file', setup: (out) => writeFileSync(path.join(out, 'file'), 'x'),
    args: (out) => ['demo', '--out', path.join(out, 'file', 'd'), '--images', '1'], code: 1, mentions: [/file is a file; choose another path/],
  });

  // inspect and export: usage.
  add({ command: 'inspect', name: 'missing argument', args: () => ['inspect'], code: 2, mentions: [/missing required argument/] });
  add({ command: 'inspect', name: 'unknown option', args: () => ['inspect', model(), '--yaml'], code: 2, mentions: [/unknown option '--yaml'/] });
  if (withExport) {
    add({ command: 'export', name: 'unknown format', args: (out) => ['export', model(), '--format', 'tflite', '--out', path.join(out, 'm.tflite')], code: 2, mentions: [/Allowed choices/] });
    add({ command: 'export', name: 'format not given, extension unknown', args: (out) => ['export', model(), '--out', path.join(out, 'm.bin')], code: 2, mentions: [/give --format onnx or --format safetensors/] });
  }
  add({ command: '(top level)', name: 'unknown command', args: () => ['bogus'], code: 2, mentions: [/unknown command 'bogus'/] });
  return cases;
}

// ---------------------------------------------------------------------------------------------

const topHelp = await runCli(['--help'], os.tmpdir());
const withExport = /^\s+export\b/m.test(topHelp.stdout);
const CASES = buildCases(withExport);

before(async () => {
  mkdirSync(fx);
  await makeFixtures();
  fxBefore = snapshot(fx);
});

after(() => {
  rmSync(root, { recursive: true, force: true });
});

const ALL_BINARY = process.env.KL_MATRIX === 'binary';
/** In npm test, these go through the spawned binary too: the first case of each command and exit code, and a few more. */
const SAMPLE = new Set<number>();
{
  const seen = new Set<string>();
  for (const [i, c] of CASES.entries()) {
    const key = `${c.command} ${c.code}`;
    if (!seen.has(key) || /bomb|NaN|Inf|output folder missing/.test(c.name) && !seen.has(key + c.name.slice(0, 8))) {
      SAMPLE.add(i);
      seen.add(key);
      seen.add(key + c.name.slice(0, 8));
    }
  }
}

describe(`bad-input matrix: ${CASES.length} cases, ${ALL_BINARY ? 'all' : 'each'} through main()${ALL_BINARY ? ' in the spawned binary' : ''}`, { concurrency: ALL_BINARY ? Math.max(2, Math.min(4, os.availableParallelism())) : 1 }, () => {
  for (const [i, c] of CASES.entries()) it(`${c.command}: ${c.name}`, () => checkCase(c, i, ALL_BINARY ? 'binary' : 'main'));
});

if (!ALL_BINARY) {
  describe(`bad-input matrix, the same checks through the spawned binary (${SAMPLE.size} sampled cases; KL_MATRIX=binary runs all)`, { concurrency: 2 }, () => {
    for (const i of SAMPLE) it(`${CASES[i].command}: ${CASES[i].name}`, () => checkCase(CASES[i], i, 'binary'));
  });
}

async function checkCase(c: Case, i: number, how: 'binary' | 'main'): Promise<void> {
      const out = path.join(root, `case-${i}-${how}`);
      mkdirSync(out);
      c.setup?.(out);
      const beforeRun = snapshot(out);
      const args = c.args(out);
      const r = how === 'binary' ? await runCli(args, out) : await runInProcess(args, out);
      const context = `kernel-learn ${args.join(' ')}\nexit ${r.code}\nstderr: ${r.stderr}`;
      assert.equal(r.code, c.code, context);
      const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('kernel-learn: error: '));
      assert.equal(errorLines.length, 1, `exactly one error line\n${context}`);
      const line = errorLines[0];
      assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace\n${context}`);
      assert.ok(!/looks like a bug/.test(r.stderr), `an unexpected error type\n${context}`);
      assert.ok(r.stderr.endsWith(line + '\n'), `the error is the last line\n${context}`);
      for (const m of c.mentions) {
        if (typeof m === 'string') assert.ok(line.includes(m), `error names ${m}\n${context}`);
        else assert.match(line, m, context);
      }
      assert.match(line, FIX, `error says what to do\n${context}`);
      assert.deepEqual(snapshot(out), beforeRun, `nothing left behind in the output folder\n${context}`);
}

test('the matrix covers every command', async () => {
  const commands = new Set(CASES.map((c) => c.command));
  for (const cmd of ['demo', 'dataset', 'filter', 'train', 'apply', 'inspect', ...(withExport ? ['export'] : [])]) assert.ok(commands.has(cmd), cmd);
  // Every command that reads image files has --max-pixels.
  await Promise.all(
    ['dataset', 'filter', 'train', 'apply'].map(async (cmd) => {
      const help = await runCli([cmd, '--help'], os.tmpdir());
      assert.match(help.stdout, /--max-pixels <n>/, `${cmd} --help`);
    }),
  );
});

test('fixture files are never changed by a failing command', () => {
  assert.deepEqual(snapshot(fx), fxBefore);
  const strays = snapshot(root).filter((f) => f.includes('.tmp-'));
  assert.deepEqual(strays, []);
});

test('handled, not refused: big-endian .npy reads as its little-endian twin; a raised --max-pixels admits the file', async () => {
  const out = path.join(root, 'handled');
  mkdirSync(out);
  // The same float32 image stored little-endian ('<f4') and big-endian ('>f4').
  const image = syntheticImage({ width: 7, height: 5, seed: 9 });
  const f32 = createImage(7, 5, 1, 'f32');
  f32.data.set(image.data);
  const le = encodeNpy('f4', [5, 7], f32.data as Float32Array);
  const be = Buffer.from(le);
  const header = be.toString('latin1', 0, 128);
  const dataStart = be.length - 5 * 7 * 4;
  be.write(header.replace("'<f4'", "'>f4'").slice(0, dataStart), 0, 'latin1');
  for (let i = dataStart; i < be.length; i += 4) be.subarray(i, i + 4).reverse();
  writeFileSync(path.join(out, 'le.npy'), le);
  writeFileSync(path.join(out, 'be.npy'), be);
  for (const name of ['le', 'be']) {
    const r = await runCli(['apply', '--model', F('model.json'), path.join(out, `${name}.npy`), path.join(out, `${name}-out.npy`)], out);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.ok(readFileSync(path.join(out, 'be-out.npy')).equals(readFileSync(path.join(out, 'le-out.npy'))));
  const raised = await runCli(['filter', F('good.png'), path.join(out, 'o.npy'), '--max-pixels', '256'], out);
  assert.equal(raised.code, 0, raised.stderr);
});

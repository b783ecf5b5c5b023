/**
 * Fuzzing the three loaders of untrusted files with fast-check: the .npy parser, the image loader
 * (readImage on random and mutated PNG/TIFF/JPEG/WebP/.npy files), and the model-file loader
 * (parseModel on mutated models). Each must load or throw KernelLearnError; never crash with
 * another error, hang, or allocate without bound (a header claiming 10^10 pixels must be refused
 * before anything that size is allocated).
 *
 * npm test runs a few thousand cases with a fixed seed (reproducible); `npm run fuzz` runs
 * FUZZ_SCALE times more (default there: 25) with a fresh random seed, printed on failure so a
 * counterexample can be replayed with FUZZ_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { syntheticImage } from '../src/data/synthetic.js';
import { KernelLearnError } from '../src/errors.js';
import { createImage, type Depth, type Image } from '../src/image.js';
import { bandImageSize, canReadInBands, openBandReader } from '../src/io/bands.js';
import { parseNpy, readImage, writeImage } from '../src/io/index.js';
import { applyModel } from '../src/nn/apply.js';
import { parseModel, serializeModel } from '../src/nn/model.js';

const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : process.env.FUZZ_SCALE ? undefined : 20261125;
const runs = (n: number): fc.Parameters<unknown> => ({ numRuns: Math.round(n * SCALE), ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true });
/** The slowest single case allowed: anything slower is a hang (or an unbounded loop over a claimed size). */
const MAX_CASE_MS = 3000;
/** No case may grow the heap by more than this: the files are at most a few KiB. */
const MAX_HEAP_GROWTH = 256 * 2 ** 20;

export const FUZZ_COUNTS: Record<string, number> = {};

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODEL_FIXTURE = path.resolve(HERE, '..', '..', 'test', 'fixtures', 'export', 'model.json');
const dir = mkdtempSync(path.join(os.tmpdir(), 'kl-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `f`, which must return or throw KernelLearnError, quickly and without a heap explosion. */
async function loadsOrRefuses<T>(what: string, f: () => T | Promise<T>): Promise<T | undefined> {
  const heap = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  try {
    return await f();
  } catch (err) {
    if (!(err instanceof KernelLearnError)) {
      throw new Error(`${what}: threw ${(err as Error)?.name}: ${(err as Error)?.message} (not a KernelLearnError)`, { cause: err });
    }
    return undefined;
  } finally {
    const ms = performance.now() - t0;
    assert.ok(ms < MAX_CASE_MS, `${what}: took ${ms.toFixed(0)} ms`);
    assert.ok(process.memoryUsage().heapUsed - heap < MAX_HEAP_GROWTH, `${what}: heap grew by ${process.memoryUsage().heapUsed - heap} bytes`);
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations of valid files.

type Mutation =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; n: number }
  | { kind: 'u32'; at: number; value: number };

const position = fc.oneof(fc.nat({ max: 80 }), fc.nat({ max: 1 << 16 }));
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: position, n: fc.integer({ min: 1, max: 24 }) }),
  // Sizes and lengths in headers: 0, 1, huge, and the largest 31/32-bit values.
  fc.record({ kind: fc.constant('u32' as const), at: position, value: fc.oneof(fc.constantFrom(0, 1, 100000, 0x7fffffff, 0xffffffff), fc.nat()) }),
);

function mutate(input: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    switch (m.kind) {
      case 'flip':
        if (b.length > 0) b[at] = m.value;
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
        break;
      case 'u32':
        if (at + 4 <= b.length) b.writeUInt32BE(m.value >>> 0, at);
        break;
    }
  }
  return new Uint8Array(b);
}

/** Recomputes the CRC of every PNG chunk, so mutations reach the decoder instead of failing the CRC check. */
function fixPngCrcs(bytes: Uint8Array): Uint8Array {
  const b = Buffer.from(bytes);
  let p = 8;
  while (p + 12 <= b.length) {
    const len = b.readUInt32BE(p);
    if (p + 12 + len > b.length) break;
    b.writeUInt32BE(crc32(b.subarray(p + 4, p + 8 + len)), p + 8 + len);
    p += 12 + len;
  }
  return new Uint8Array(b);
}

// ---------------------------------------------------------------------------------------------
// Valid seeds: small images in every format and depth.

const DEPTH_OF_EXT: Record<string, Depth[]> = { '.png': ['u8', 'u16'], '.tiff': ['u8', 'u16', 's16', 'f32'], '.npy': ['u8', 's16', 'u16', 'f32', 'f64'], '.jpg': ['u8'], '.webp': ['u8'] };

function seedImage(width: number, height: number, channels: number, depth: Depth, seed: number): Image {
  const base = syntheticImage({ width, height, channels, seed });
  const image = createImage(width, height, channels, depth);
  if (depth === 'f64') image.data = new Float64Array(base.data.length);
  const scale = depth === 'u16' ? 257 : depth === 's16' ? 100 : 1;
  for (let i = 0; i < base.data.length; i++) image.data[i] = base.data[i] * scale - (depth === 's16' ? 12000 : 0);
  return image;
}

const seeds = new Map<string, Uint8Array[]>();
async function seedFiles(ext: string): Promise<Uint8Array[]> {
  const have = seeds.get(ext);
  if (have) return have;
  const files: Uint8Array[] = [];
  let i = 0;
  for (const depth of DEPTH_OF_EXT[ext]) {
    for (const [w, h, c] of [[5, 3, 1], [4, 4, 3], [1, 1, 1]] as const) {
      const file = path.join(dir, `seed-${i++}${ext}`);
      await writeImage(file, seedImage(w, h, c, depth, i));
      files.push(new Uint8Array(readFileSync(file)));
    }
  }
  seeds.set(ext, files);
  return files;
}

let fileCounter = 0;
async function readBytesAs(ext: string, bytes: Uint8Array): Promise<Image | undefined> {
  const file = path.join(dir, `case-${fileCounter++ % 64}${ext}`);
  writeFileSync(file, bytes);
  const image = await loadsOrRefuses(`readImage(${ext}, ${bytes.length} bytes)`, () => readImage(file, { maxPixels: 1 << 20 }));
  if (image) {
    // What loads is a well-formed image.
    assert.ok(image.width >= 1 && image.height >= 1 && image.channels >= 1 && image.channels <= 4);
    assert.equal(image.data.length, image.width * image.height * image.channels);
    assert.ok(image.width * image.height <= 1 << 20);
  }
  return image;
}

// ---------------------------------------------------------------------------------------------

describe('fuzz: .npy parser', () => {
  it('random bytes', async () => {
    const n = runs(1500).numRuns!;
    FUZZ_COUNTS['npy random bytes'] = n;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 32 }).map((b) => new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, ...b]))), async (bytes) => {
        await loadsOrRefuses('parseNpy(random)', () => parseNpy(bytes));
      }),
      runs(1500),
    );
  });

  it('headers from the grammar: every dtype, order, shape (huge ones too) and data length', async () => {
    const descr = fc.oneof(
      fc.constantFrom('<f4', '>f4', '|u1', '<u1', '<i2', '>i2', '<u2', '<f8', '>f8', '=f4', '|O', '<i8', '<c8', '|b1', '<U3', '|S4', '<M8[ns]', 'f4', ''),
      fc.string({ maxLength: 6 }),
    );
    const dim = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constantFrom(100000, 2 ** 31, 2 ** 53, 2 ** 64, -1));
    const shape = fc.array(dim, { maxLength: 5 });
    const arb = fc.record({
      descr,
      fortran: fc.constantFrom('False', 'True', '0', 'None'),
      shape,
      shapeText: fc.option(fc.string({ maxLength: 12 }), { nil: undefined }),
      version: fc.constantFrom(1, 2, 3, 4),
      dataLength: fc.oneof(fc.nat({ max: 200 }), fc.constant(-1)),
      extraKey: fc.boolean(),
    });
    const n = runs(1500).numRuns!;
    FUZZ_COUNTS['npy header grammar'] = n;
    await fc.assert(
      fc.asyncProperty(arb, async (h) => {
        const shapeText = h.shapeText ?? (h.shape.length === 1 ? `(${h.shape[0]},)` : `(${h.shape.join(', ')})`);
        const header = `{'descr': '${h.descr}', 'fortran_order': ${h.fortran}, 'shape': ${shapeText}, ${h.extraKey ? "'x': 1, " : ''}}`;
        const count = h.shape.reduce((a, b) => a * b, 1);
        const item = /\d+/.exec(h.descr)?.[0] ?? '1';
        const dataLength = h.dataLength >= 0 ? h.dataLength : Math.max(0, Math.min(4096, count * Number(item)));
        const prefix = h.version === 1 ? 10 : 12;
        const text = Buffer.from(header + '\n', h.version === 3 ? 'utf8' : 'latin1');
        const out = Buffer.alloc(prefix + text.length + dataLength);
        out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, h.version, 0]);
        if (h.version === 1) out.writeUInt16LE(Math.min(text.length, 0xffff), 8);
        else out.writeUInt32LE(text.length, 8);
        out.set(text, prefix);
        const arr = await loadsOrRefuses(`parseNpy(${header})`, () => parseNpy(new Uint8Array(out)));
        if (arr) assert.equal(arr.data.length, arr.shape.reduce((a, b) => a * b, 1));
      }),
      runs(1500),
    );
  });

  it('mutated numpy.save files', async () => {
    const valid = await seedFiles('.npy');
    const n = runs(1500).numRuns!;
    FUZZ_COUNTS['npy mutated'] = n;
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), async (k, muts) => {
        const bytes = mutate(valid[k % valid.length], muts);
        const arr = await loadsOrRefuses('parseNpy(mutated)', () => parseNpy(bytes));
        if (arr) assert.equal(arr.data.length, arr.shape.reduce((a, b) => a * b, 1));
      }),
      runs(1500),
    );
  });
});

describe('fuzz: image loader (readImage on files)', () => {
  for (const ext of ['.png', '.tiff', '.npy', '.jpg', '.webp']) {
    it(`mutated ${ext} files`, async () => {
      const valid = await seedFiles(ext);
      const n = runs(ext === '.png' || ext === '.npy' ? 300 : 150).numRuns!;
      FUZZ_COUNTS[`readImage mutated ${ext}`] = n;
      await fc.assert(
        fc.asyncProperty(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.boolean(), async (k, muts, fixCrc) => {
          let bytes = mutate(valid[k % valid.length], muts);
          if (ext === '.png' && fixCrc) bytes = fixPngCrcs(bytes);
          await readBytesAs(ext, bytes);
        }),
        runs(ext === '.png' || ext === '.npy' ? 300 : 150),
      );
    });
  }

  it('random bytes under every image extension', async () => {
    const n = runs(200).numRuns!;
    FUZZ_COUNTS['readImage random bytes'] = n;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('.png', '.tiff', '.tif', '.npy', '.jpg', '.webp'), fc.uint8Array({ maxLength: 200 }), async (ext, bytes) => {
        await readBytesAs(ext, bytes);
      }),
      runs(200),
    );
  });

  it('PNG headers claiming any size (decompression bombs) are refused before decoding', async () => {
    const [png] = await seedFiles('.png');
    const n = runs(100).numRuns!;
    FUZZ_COUNTS['readImage PNG claimed sizes'] = n;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 0x7fffffff }), fc.integer({ min: 1, max: 0x7fffffff }), async (w, h) => {
        const b = Buffer.from(png);
        b.writeUInt32BE(w, 16); // IHDR width
        b.writeUInt32BE(h, 20); // IHDR height
        const image = await readBytesAs('.png', fixPngCrcs(b));
        if (w * h > 1 << 20) assert.equal(image, undefined);
      }),
      runs(100),
    );
  });
});

describe('fuzz: band reader (apply streams big .npy and PNG files in bands)', () => {
  for (const ext of ['.png', '.npy']) {
    it(`mutated ${ext} files read band by band`, async () => {
      const valid = await seedFiles(ext);
      const n = runs(200).numRuns!;
      FUZZ_COUNTS[`band reader mutated ${ext}`] = n;
      await fc.assert(
        fc.asyncProperty(fc.nat(), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.integer({ min: 1, max: 4 }), async (k, muts, fixCrc, bandRows) => {
          let bytes = mutate(valid[k % valid.length], muts);
          if (ext === '.png' && fixCrc) bytes = fixPngCrcs(bytes);
          const file = path.join(dir, `band-${fileCounter++ % 64}${ext}`);
          writeFileSync(file, bytes);
          await loadsOrRefuses(`band reader (${ext}, ${bytes.length} bytes)`, async () => {
            if (!(await canReadInBands(file))) return;
            // As apply does: the size from the header is checked against the pixel limit first.
            const { width, height } = await bandImageSize(file);
            if (width * height > 1 << 20) return;
            const reader = await openBandReader(file);
            try {
              for (let y = 0; y < reader.height; y += bandRows) {
                const band = await reader.readRows(y, Math.min(bandRows, reader.height - y));
                assert.equal(band.length, reader.width * Math.min(bandRows, reader.height - y) * reader.channels);
              }
            } finally {
              await reader.close();
            }
          });
        }),
        runs(200),
      );
    });
  }
});

describe('fuzz: model-file loader (parseModel)', () => {
  const text = readFileSync(MODEL_FIXTURE, 'utf8');
  const doc = JSON.parse(text) as unknown;

  /** Every path into a JSON value. */
  const paths = (v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> => {
    const out: Array<Array<string | number>> = [prefix];
    if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
    return out;
  };
  const allPaths = paths(doc);

  const checkParsed = async (json: string): Promise<void> => {
    const model = await loadsOrRefuses('parseModel', () => parseModel(json, 'fuzz.json'));
    if (!model) return;
    // What loads can be saved and loaded again unchanged, and run (or be refused for the image).
    const again = parseModel(serializeModel(model), 'again.json');
    assert.equal(serializeModel(again), serializeModel(model));
    const image = createImage(4, 3, model.inputChannels, 'f32');
    await loadsOrRefuses('applyModel', () => applyModel(model, image));
  };

  it('a value anywhere replaced, removed or duplicated', async () => {
    const edit = fc.record({
      at: fc.nat(),
      action: fc.constantFrom('replace', 'remove', 'duplicate'),
      value: fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom(0, -1, 1e308, -1e308, 2 ** 31, 0.5, 3, 1000000, '', 'conv2d', 'relu', 'magnitude', 'clamp', 'abs', null, [], {}, [[[]]]),
      ),
    });
    const n = runs(2000).numRuns!;
    FUZZ_COUNTS['parseModel JSON edits'] = n;
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), async (edits) => {
        const d = structuredClone(doc);
        for (const e of edits) {
          const p = allPaths[e.at % allPaths.length];
          if (p.length === 0) continue;
          let parent = d as Record<string | number, unknown>;
          for (const k of p.slice(0, -1)) parent = (parent?.[k] ?? {}) as Record<string | number, unknown>;
          const key = p[p.length - 1];
          if (parent === null || typeof parent !== 'object') continue;
          if (e.action === 'replace') parent[key] = e.value;
          else if (e.action === 'remove') {
            if (Array.isArray(parent)) parent.splice(Number(key), 1);
            else delete parent[key];
          } else if (Array.isArray(parent)) parent.splice(Number(key), 0, structuredClone(parent[Number(key)]));
        }
        await checkParsed(JSON.stringify(d));
      }),
      runs(2000),
    );
  });

  it('the text mutated byte by byte', async () => {
    const bytes = new Uint8Array(Buffer.from(text));
    const n = runs(1000).numRuns!;
    FUZZ_COUNTS['parseModel text mutations'] = n;
    await fc.assert(
      fc.asyncProperty(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), fc.constantFrom('1e999', '-1e999', 'NaN', '"x"', '{}', '[]', 'null', '99999999999999999999'), fc.nat(), async (muts, token, where) => {
        let t = Buffer.from(mutate(bytes, muts)).toString('latin1');
        // Also splice a token over a number: 1e999 parses as Infinity.
        const nums = [...t.matchAll(/-?\d+\.\d+/g)];
        if (nums.length > 0) {
          const m = nums[where % nums.length];
          t = t.slice(0, m.index) + token + t.slice(m.index! + m[0].length);
        }
        await checkParsed(t);
      }),
      runs(1000),
    );
  });
});

after(() => {
  const total = Object.values(FUZZ_COUNTS).reduce((a, b) => a + b, 0);
  process.stderr.write(`fuzz cases: ${total} (${Object.entries(FUZZ_COUNTS).map(([k, v]) => `${k} ${v}`).join(', ')})${SEED === undefined ? '' : `, seed ${SEED}`}\n`);
});

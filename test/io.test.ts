/**
 * Image I/O: bit-exact round trips for every format and depth, the numpy-made .npy fixtures
 * (tools/make_npy_fixtures.py), and one clear KernelLearnError for each kind of bad input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { KernelLearnError } from '../src/errors.js';
import type { Depth, Image } from '../src/image.js';
import { encodeNpy, IMAGE_EXTENSIONS, isImageFile, parseNpy, readImage, writeImage } from '../src/io/index.js';

// Compiled to dist/test/, so the fixtures are two folders up in the source tree.
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'npy');
const manifest = JSON.parse(readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as {
  good: Record<string, { dtype: string; shape: number[]; hex: string; numpySave: boolean }>;
  bad: Record<string, string>;
};

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kernel-learn-io-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});
const tmp = (name: string): string => path.join(dir, name);

const SIZES: Array<[number, number]> = [[1, 1], [1, 7], [7, 1], [13, 5]];

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const F32_SPECIALS = [NaN, -0, Infinity, -Infinity, 1e-45, -3.4028234663852886e38, 0.1, -1234.5678, 65536.5];
const F64_SPECIALS = [NaN, -0, Infinity, -Infinity, 5e-324, Math.PI, -1e300, 0.1];

/** An image whose samples cover the depth's range, its extremes and (for floats) awkward values. */
function sampleImage(width: number, height: number, channels: number, depth: Depth, seed = 1): Image {
  const r = rng(seed * 7919 + width * 31 + height * 17 + channels);
  const n = width * height * channels;
  const data = depth === 'f64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    switch (depth) {
      case 'u8': data[i] = i === 0 ? 255 : i === 1 ? 0 : Math.floor(u * 256); break;
      case 'u16': data[i] = i === 0 ? 65535 : i === 1 ? 0 : Math.floor(u * 65536); break;
      case 's16': data[i] = i === 0 ? -32768 : i === 1 ? 32767 : Math.floor(u * 65536) - 32768; break;
      case 'f32': data[i] = i < F32_SPECIALS.length && n > 1 ? F32_SPECIALS[(i + seed) % F32_SPECIALS.length] : (u - 0.5) * 10 ** Math.floor(u * 12 - 4); break;
      case 'f64': data[i] = i < F64_SPECIALS.length && n > 1 ? F64_SPECIALS[(i + seed) % F64_SPECIALS.length] : (u - 0.5) * 10 ** Math.floor(u * 40 - 20); break;
    }
  }
  return { width, height, channels, depth, data };
}

function assertSameImage(actual: Image, expected: Image, what: string): void {
  assert.equal(actual.width, expected.width, `${what}: width`);
  assert.equal(actual.height, expected.height, `${what}: height`);
  assert.equal(actual.channels, expected.channels, `${what}: channels`);
  assert.equal(actual.depth, expected.depth, `${what}: depth`);
  assert.equal(actual.data.constructor, expected.depth === 'f64' ? Float64Array : Float32Array, `${what}: array type`);
  assert.equal(actual.data.length, expected.data.length, `${what}: length`);
  for (let i = 0; i < expected.data.length; i++) {
    // Object.is: NaN equals NaN, and -0 differs from 0.
    if (!Object.is(actual.data[i], expected.data[i])) assert.fail(`${what}: sample ${i} is ${actual.data[i]}, expected ${expected.data[i]}`);
  }
}

async function assertKernelLearnError(promise: Promise<unknown> | (() => unknown), pattern: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof KernelLearnError, `expected a KernelLearnError matching ${pattern}, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.match(caught.message, pattern);
  assert.ok(!caught.message.includes('\n'), 'error messages are one line');
}

async function roundTrip(ext: string, image: Image, label: string): Promise<Image> {
  const file = tmp(`${label}-${image.width}x${image.height}x${image.channels}-${image.depth}${ext}`);
  await writeImage(file, image);
  return readImage(file);
}

// ---------------------------------------------------------------------------------------------

describe('bit-exact round trips', () => {
  const cases: Array<[string, Depth[], number[]]> = [
    ['.png', ['u8', 'u16'], [1, 3]],
    ['.webp', ['u8'], [1, 3]],
    ['.tiff', ['u8', 'u16', 's16', 'f32'], [1, 3]],
    ['.npy', ['u8', 's16', 'u16', 'f32', 'f64'], [1, 2, 3, 4]],
  ];
  for (const [ext, depths, channelCounts] of cases) {
    for (const depth of depths) {
      for (const channels of channelCounts) {
        test(`${ext} ${depth} ${channels} channel(s)`, async () => {
          for (const [w, h] of SIZES) {
            const image = sampleImage(w, h, channels, depth);
            assertSameImage(await roundTrip(ext, image, 'rt'), image, `${ext} ${depth} ${w}x${h}x${channels}`);
          }
        });
      }
    }
  }

  test('.tif and upper-case extensions work like .tiff', async () => {
    const image = sampleImage(13, 5, 3, 'f32', 4);
    assertSameImage(await roundTrip('.tif', image, 'tif'), image, '.tif');
    assertSameImage(await roundTrip('.TIFF', image, 'upper'), image, '.TIFF');
    const grey = sampleImage(13, 5, 1, 'u16', 5);
    assertSameImage(await roundTrip('.PNG', grey, 'upper'), grey, '.PNG');
  });

  test('.npy files hold (H, W) for one channel and (H, W, C) otherwise, in HWC order', async () => {
    const image: Image = { width: 2, height: 1, channels: 3, depth: 'u8', data: Float32Array.from([1, 2, 10, 20, 100, 200]) };
    await writeImage(tmp('hwc.npy'), image);
    const arr = parseNpy(await fs.readFile(tmp('hwc.npy')), 'hwc.npy');
    assert.deepEqual(arr.shape, [1, 2, 3]);
    assert.deepEqual(Array.from(arr.data), [1, 10, 100, 2, 20, 200]);
    await writeImage(tmp('hw.npy'), { ...image, channels: 1, width: 6 });
    assert.deepEqual(parseNpy(await fs.readFile(tmp('hw.npy'))).shape, [1, 6]);
  });

  test('integer depths are saturated and rounded half to even on write', async () => {
    const image: Image = { width: 7, height: 1, channels: 1, depth: 'u8', data: Float32Array.from([-5, 300, 1.5, 2.5, NaN, 254.49, 0.5]) };
    const back = await roundTrip('.png', image, 'saturate');
    assert.deepEqual(Array.from(back.data), [0, 255, 2, 2, 0, 254, 0]);
    const s16: Image = { width: 3, height: 1, channels: 1, depth: 's16', data: Float32Array.from([-40000, 40000, -2.5]) };
    assert.deepEqual(Array.from((await roundTrip('.tiff', s16, 'saturate')).data), [-32768, 32767, -2]);
  });
});

describe('lossy and special cases', () => {
  test('JPEG: close to the original, grey stays grey, colour stays colour', async () => {
    for (const channels of [1, 3]) {
      // A smooth image: JPEG's errors on noise are large by design.
      const w = 32;
      const h = 24;
      const data = new Float32Array(w * h * channels);
      for (let c = 0; c < channels; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[(c * h + y) * w + x] = Math.round(128 + 100 * Math.sin((x + 2 * c) / 5) * Math.cos(y / 7));
      const image: Image = { width: w, height: h, channels, depth: 'u8', data };
      for (const ext of ['.jpg', '.jpeg', '.JPG']) {
        const back = await roundTrip(ext, image, 'jpeg');
        assert.equal(back.channels, channels);
        assert.equal(back.depth, 'u8');
        let max = 0;
        for (let i = 0; i < data.length; i++) max = Math.max(max, Math.abs(back.data[i] - data[i]));
        assert.ok(max <= 6, `JPEG ${channels}ch max error ${max}`);
      }
    }
  });

  test('WebP holds RGB only: a grey image comes back as one channel, colour as three', async () => {
    const grey = sampleImage(13, 5, 1, 'u8', 9);
    const back = await roundTrip('.webp', grey, 'webp-grey');
    assert.equal(back.channels, 1);
    assertSameImage(back, grey, 'webp grey');
    const meta = await sharp(tmp('webp-grey-13x5x1-u8.webp')).metadata();
    assert.equal(meta.channels, 3, 'the file itself is RGB');
  });

  test('RGBA PNG: alpha dropped with a notice', async () => {
    const rgba = Uint8Array.from({ length: 13 * 5 * 4 }, (_, i) => (i * 53) % 256);
    const file = tmp('rgba.png');
    await sharp(rgba, { raw: { width: 13, height: 5, channels: 4 } }).png().toFile(file);
    const notices: string[] = [];
    const image = await readImage(file, { onNotice: (m) => notices.push(m) });
    assert.deepEqual(notices, [`${file}: alpha channel dropped`]);
    assert.equal(image.channels, 3);
    for (let c = 0; c < 3; c++) for (let i = 0; i < 65; i++) assert.equal(image.data[c * 65 + i], rgba[i * 4 + c]);
  });

  test('16-bit RGBA and grey+alpha PNGs: alpha dropped, values and depth kept', async () => {
    const rgba16 = Uint16Array.from({ length: 7 * 4 }, (_, i) => (i * 4099) % 65536);
    await sharp(rgba16, { raw: { width: 7, height: 1, channels: 4 } }).toColourspace('rgb16').png().toFile(tmp('rgba16.png'));
    const notices: string[] = [];
    const a = await readImage(tmp('rgba16.png'), { onNotice: (m) => notices.push(m) });
    assert.equal(a.depth, 'u16');
    assert.equal(a.channels, 3);
    for (let c = 0; c < 3; c++) for (let i = 0; i < 7; i++) assert.equal(a.data[c * 7 + i], rgba16[i * 4 + c]);
    const ga = Uint8Array.from({ length: 7 * 2 }, (_, i) => (i * 37) % 256);
    await sharp(ga, { raw: { width: 7, height: 1, channels: 2 } }).toColourspace('b-w').png().toFile(tmp('ga.png'));
    assert.equal((await sharp(tmp('ga.png')).metadata()).channels, 2, 'the file is grey+alpha');
    const g = await readImage(tmp('ga.png'), { onNotice: (m) => notices.push(m) });
    assert.equal(g.channels, 1);
    assert.deepEqual(Array.from(g.data), Array.from({ length: 7 }, (_, i) => ga[2 * i]));
    assert.equal(notices.length, 2);
  });

  test('palette PNG is expanded to its colours', async () => {
    const colours = [[255, 0, 0], [0, 128, 255], [10, 20, 30], [255, 255, 255]];
    const w = 13;
    const h = 5;
    const rgb = new Uint8Array(w * h * 3);
    for (let i = 0; i < w * h; i++) rgb.set(colours[(i * 7) % 4], i * 3);
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png({ palette: true, colours: 4, dither: 0 }).toFile(tmp('palette.png'));
    assert.equal((await sharp(tmp('palette.png')).metadata()).isPalette, true);
    const image = await readImage(tmp('palette.png'));
    assert.equal(image.channels, 3);
    for (let c = 0; c < 3; c++) for (let i = 0; i < w * h; i++) assert.equal(image.data[c * w * h + i], rgb[i * 3 + c]);
  });

  test('an embedded ICC profile is ignored: values as stored, as OpenCV reads them', async () => {
    const rgb = Uint8Array.from({ length: 13 * 5 * 3 }, (_, i) => (i * 37) % 256);
    // withIccProfile converts the pixels to Display P3 and embeds that profile.
    await sharp(rgb, { raw: { width: 13, height: 5, channels: 3 } }).withIccProfile('p3').png().toFile(tmp('p3.png'));
    const stored = await sharp(tmp('p3.png'), { ignoreIcc: true }).toColourspace('srgb').raw().toBuffer();
    const converted = await sharp(tmp('p3.png')).raw().toBuffer();
    assert.notDeepEqual(stored, converted, 'the profile matters for this file');
    const image = await readImage(tmp('p3.png'));
    for (let c = 0; c < 3; c++) for (let i = 0; i < 65; i++) assert.equal(image.data[c * 65 + i], stored[i * 3 + c]);
  });

  test('EXIF orientation is not applied: pixels as stored, with a notice', async () => {
    const image = sampleImage(7, 1, 3, 'u8', 3);
    await writeImage(tmp('plain.tiff'), image);
    await sharp(tmp('plain.tiff')).withMetadata({ orientation: 6 }).tiff({ compression: 'deflate' }).toFile(tmp('rotated.tiff'));
    assert.equal((await sharp(tmp('rotated.tiff')).metadata()).orientation, 6);
    const notices: string[] = [];
    const back = await readImage(tmp('rotated.tiff'), { onNotice: (m) => notices.push(m) });
    assertSameImage(back, image, 'orientation 6');
    assert.match(notices.join('\n'), /EXIF orientation 6 is not applied/);
  });

  test('multi-page TIFF: first page, with a notice', async () => {
    const a = sampleImage(7, 1, 1, 'u8', 1);
    const b = sampleImage(7, 1, 1, 'u8', 2);
    await writeImage(tmp('page-a.png'), a);
    await writeImage(tmp('page-b.png'), b);
    await sharp([tmp('page-a.png'), tmp('page-b.png')], { join: { animated: true } }).toColourspace('b-w').tiff({ compression: 'deflate' }).toFile(tmp('pages.tiff'));
    const notices: string[] = [];
    const back = await readImage(tmp('pages.tiff'), { onNotice: (m) => notices.push(m) });
    assertSameImage(back, a, 'first page');
    assert.match(notices.join('\n'), /has 2 pages; only the first is read/);
  });

  test('a PNG named .jpg is read as PNG, with a notice', async () => {
    const image = sampleImage(13, 5, 3, 'u8', 6);
    await writeImage(tmp('real.png'), image);
    await fs.copyFile(tmp('real.png'), tmp('fake.jpg'));
    const notices: string[] = [];
    assertSameImage(await readImage(tmp('fake.jpg'), { onNotice: (m) => notices.push(m) }), image, 'png as jpg');
    assert.match(notices.join('\n'), /holds PNG data/);
  });
});

describe('numpy-made .npy fixtures', () => {
  const hexOf = (data: ArrayBufferView): string => Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex');

  for (const [name, want] of Object.entries(manifest.good)) {
    test(`${name} parses to numpy's values`, () => {
      const bytes = readFileSync(path.join(FIXTURES, name));
      const arr = parseNpy(bytes, name);
      assert.equal(arr.dtype, want.dtype);
      assert.deepEqual(arr.shape, want.shape);
      assert.equal(hexOf(arr.data), want.hex);
      // Same result from an unaligned copy of the file.
      const shifted = new Uint8Array(bytes.length + 1).subarray(1);
      shifted.set(bytes);
      assert.equal(hexOf(parseNpy(shifted, name).data), want.hex);
      if (want.numpySave) {
        assert.deepEqual(Buffer.from(encodeNpy(arr.dtype, arr.shape, arr.data)), bytes, 'encodeNpy is byte-identical to numpy.save');
      }
    });
  }

  const expectedError: Record<string, RegExp> = {
    'object.npy': /dtype '\|O' \(object/,
    'i8.npy': /dtype '<i8' \(signed integer, 8 bytes per item\) is not supported; use uint8, int16/,
    'c8.npy': /dtype '<c8' \(complex/,
    'b1.npy': /dtype '\|b1' \(bool/,
    'structured.npy': /structured/,
    'truncated.npy': /data is truncated: shape \(2, 3\) of float32 needs 24 bytes, the file has 21/,
    'extra.npy': /4 unexpected bytes after the data/,
    'header_cut.npy': /truncated inside its header/,
    'bad_magic.npy': /not a \.npy file \(bad magic/,
    'bad_header.npy': /header is malformed/,
    'bad_version.npy': /version 9\.0 is not supported/,
  };
  for (const name of Object.keys(manifest.bad)) {
    test(`${name} is refused: ${manifest.bad[name]}`, async () => {
      assert.ok(expectedError[name], `no expectation for ${name}`);
      const file = path.join(FIXTURES, name);
      await assertKernelLearnError(() => parseNpy(readFileSync(file), file), new RegExp(`^${escape(file)}: .*${expectedError[name].source}`));
      // readImage gives the same error, naming the file.
      await assertKernelLearnError(readImage(file), expectedError[name]);
    });
  }

  test('readImage maps dtypes to depths and HWC to planar', async () => {
    const u1 = await readImage(path.join(FIXTURES, 'u1_2x3.npy'));
    assert.deepEqual([u1.width, u1.height, u1.channels, u1.depth], [3, 2, 1, 'u8']);
    assert.deepEqual(Array.from(u1.data), [0, 1, 2, 127, 254, 255]);
    const i2 = await readImage(path.join(FIXTURES, 'i2_3x2x3.npy'));
    assert.deepEqual([i2.width, i2.height, i2.channels, i2.depth], [2, 3, 3, 's16']);
    // Channel 0 of an HWC array [-32768, -1, 0, 1, 32767, 1234, ...] is every third value.
    assert.deepEqual(Array.from(i2.data.subarray(0, 6)), [-32768, 1, -32768, 1, -32768, 1]);
    const f8 = await readImage(path.join(FIXTURES, 'f8_2x3.npy'));
    assert.equal(f8.depth, 'f64');
    assert.ok(f8.data instanceof Float64Array);
    assert.ok(Object.is(f8.data[1], -0) && Object.is(f8.data[2], 5e-324) && Number.isNaN(f8.data[5]));
    const be = await readImage(path.join(FIXTURES, 'f4_be_2x3.npy'));
    assert.deepEqual(Array.from(be.data.subarray(0, 2)), [1.5, -2.25]);
    const fortran = await readImage(path.join(FIXTURES, 'u1_fortran_2x3x4.npy'));
    assert.deepEqual([fortran.width, fortran.height, fortran.channels], [3, 2, 4]);
    assert.deepEqual(Array.from(fortran.data.subarray(0, 6)), [0, 4, 8, 12, 16, 20]);
    assert.equal((await readImage(path.join(FIXTURES, 'u2_v3_2x2.npy'))).depth, 'u16');
  });

  test('readImage refuses arrays that are not images', async () => {
    await assertKernelLearnError(readImage(path.join(FIXTURES, 'f4_4d.npy')), /shape \(1, 2, 3, 4\); an image is \(H, W\) or \(H, W, C\)/);
    await assertKernelLearnError(readImage(path.join(FIXTURES, 'f4_1d.npy')), /shape \(3\); an image is/);
    await assertKernelLearnError(readImage(path.join(FIXTURES, 'f8_scalar.npy')), /shape \(\); an image is/);
    await fs.writeFile(tmp('c5.npy'), encodeNpy('u1', [2, 2, 5], new Uint8Array(20)));
    await assertKernelLearnError(readImage(tmp('c5.npy')), /5 channels; an image has 1 to 4/);
  });

  test('a header claiming a huge shape is refused before allocating', () => {
    const npy = (header: string, dataBytes: number): Buffer => {
      const text = header + ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
      const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, text.length & 0xff, text.length >> 8]);
      return Buffer.concat([prefix, Buffer.from(text, 'latin1'), Buffer.alloc(dataBytes)]);
    };
    assert.equal(parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24)).data.length, 6, 'the helper makes valid files');
    const huge = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (9999999, 99999999), }", 24);
    assert.throws(() => parseNpy(huge, 'huge.npy'), /^KernelLearnError: huge\.npy: \.npy data is truncated: shape \(9999999, 99999999\) of float32 needs \d+ bytes, the file has 24/);
    const overflow = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999, 99999999, 9999), }", 24);
    assert.throws(() => parseNpy(overflow, 'overflow.npy'), /too large/);
    const negative = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 3), }", 24);
    assert.throws(() => parseNpy(negative, 'negative.npy'), /shape \(-1, 3\) is invalid/);
    const keys = npy("{'descr': '<f8', 'shape': (3,), }", 24);
    assert.throws(() => parseNpy(keys, 'keys.npy'), /expected descr, fortran_order and shape/);
    // Python 2 longs and double-quoted strings, which old numpy versions wrote.
    assert.deepEqual(parseNpy(npy('{"descr": "<f8", "fortran_order": False, "shape": (3L,), }', 24)).shape, [3]);
  });

  test('encodeNpy refuses mismatched data (a programming error, not a user one)', () => {
    assert.throws(() => encodeNpy('f4', [2], new Float64Array(2)), /needs a Float32Array/);
    assert.throws(() => encodeNpy('u1', [2, 2], new Uint8Array(3)), /holds 4 items/);
  });
});

describe('errors name the file and the fix', () => {
  test('missing, empty, folder, unknown extension', async () => {
    await assertKernelLearnError(readImage(tmp('nope.png')), /nope\.png does not exist/);
    await assertKernelLearnError(readImage(tmp('nope.npy')), /nope\.npy does not exist/);
    await fs.writeFile(tmp('empty.png'), '');
    await assertKernelLearnError(readImage(tmp('empty.png')), /empty\.png is empty/);
    await fs.writeFile(tmp('empty.npy'), '');
    await assertKernelLearnError(readImage(tmp('empty.npy')), /empty\.npy is empty/);
    await fs.mkdir(tmp('folder.png'));
    await assertKernelLearnError(readImage(tmp('folder.png')), /folder\.png is a folder/);
    await assertKernelLearnError(readImage(tmp('x.bmp')), /x\.bmp: unsupported image type '\.bmp'; use one of \.png \.jpg \.jpeg \.webp \.tif \.tiff \.npy$/);
    await assertKernelLearnError(readImage(tmp('noext')), /noext: has no file extension/);
    await assertKernelLearnError(writeImage(tmp('x.gif'), sampleImage(1, 1, 1, 'u8')), /unsupported image type '\.gif'/);
  });

  test('a text file named .png is not a PNG image', async () => {
    await fs.writeFile(tmp('text.png'), 'hello, I am not an image\n');
    await assertKernelLearnError(readImage(tmp('text.png')), /text\.png is not a PNG image/);
    await fs.writeFile(tmp('text.tiff'), 'hello, I am not an image\n');
    await assertKernelLearnError(readImage(tmp('text.tiff')), /text\.tiff is not a TIFF image/);
  });

  test('truncated PNG, JPEG and TIFF', async () => {
    const image = sampleImage(64, 48, 3, 'u8', 8);
    for (const ext of ['.png', '.jpg', '.tiff', '.webp']) {
      await writeImage(tmp(`whole${ext}`), image);
      const bytes = await fs.readFile(tmp(`whole${ext}`));
      await fs.writeFile(tmp(`cut${ext}`), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      await assertKernelLearnError(readImage(tmp(`cut${ext}`)), /cut\.\w+: cannot decode the \w+ image, it is truncated or corrupt/);
    }
  });

  test('the pixel limit is checked from the header, with --max-pixels as the fix', async () => {
    const image = sampleImage(13, 5, 1, 'u8');
    for (const ext of ['.png', '.npy', '.tiff']) {
      await writeImage(tmp(`limit${ext}`), image);
      await assertKernelLearnError(readImage(tmp(`limit${ext}`), { maxPixels: 64 }), /limit\.\w+ is 13x5 = 65 pixels, over the limit of 64; raise it with --max-pixels 65/);
      assertSameImage(await readImage(tmp(`limit${ext}`), { maxPixels: 65 }), image, 'at the limit');
    }
  });

  test('a decompression bomb is refused from its header, before decoding', async () => {
    // A real 13x5 PNG whose header claims 30000x30000: the decoder must never get to run.
    await writeImage(tmp('small.png'), sampleImage(13, 5, 1, 'u8'));
    const png = await fs.readFile(tmp('small.png'));
    const ihdr = png.indexOf('IHDR');
    png.writeUInt32BE(30000, ihdr + 4);
    png.writeUInt32BE(30000, ihdr + 8);
    png.writeUInt32BE(crc32(png.subarray(ihdr, ihdr + 17)), ihdr + 17);
    await fs.writeFile(tmp('bomb.png'), png);
    await assertKernelLearnError(readImage(tmp('bomb.png')), /bomb\.png is 30000x30000 = 900000000 pixels, over the limit of 268435456; raise it with --max-pixels/);
  });

  test('CMYK is refused with the fix', async () => {
    const rgb = Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 11) % 256);
    await sharp(rgb, { raw: { width: 8, height: 8, channels: 3 } }).toColourspace('cmyk').jpeg().toFile(tmp('cmyk.jpg'));
    await assertKernelLearnError(readImage(tmp('cmyk.jpg')), /cmyk\.jpg has CMYK colour \(4 channels\), which is not supported; convert it to RGB or greyscale/);
  });

  test('unsupported depth or channel count for a format says what to use', async () => {
    await assertKernelLearnError(
      writeImage(tmp('out.png'), sampleImage(2, 2, 1, 'f32')),
      /^cannot store f32 pixels in .*out\.png: PNG holds u8 or u16; use \.tiff or \.npy, or --depth u8$/,
    );
    await assertKernelLearnError(writeImage(tmp('out.png'), sampleImage(2, 2, 1, 's16')), /cannot store s16 pixels in .*out\.png: PNG holds u8 or u16; use \.tiff or \.npy/);
    await assertKernelLearnError(writeImage(tmp('out.jpg'), sampleImage(2, 2, 3, 'u16')), /JPEG holds u8; use \.png or \.tiff or \.npy, or --depth u8/);
    await assertKernelLearnError(writeImage(tmp('out.webp'), sampleImage(2, 2, 3, 'f32')), /WebP holds u8/);
    await assertKernelLearnError(writeImage(tmp('out.tiff'), sampleImage(2, 2, 1, 'f64')), /TIFF holds u8 or u16 or s16 or f32; use \.npy, or --depth f32/);
    await assertKernelLearnError(writeImage(tmp('out.png'), sampleImage(2, 2, 2, 'u8')), /cannot store 2 channels in .*out\.png: PNG holds 1 \(grey\) or 3 \(RGB\) channels; use \.npy/);
    await assertKernelLearnError(writeImage(tmp('out.tiff'), sampleImage(2, 2, 4, 'u8')), /cannot store 4 channels/);
    await assertKernelLearnError(writeImage(tmp('out.npy'), sampleImage(2, 2, 5, 'u8')), /\.npy holds 1 to 4 channels/);
    assert.deepEqual((await fs.readdir(dir)).filter((f) => f.startsWith('out')), [], 'nothing written');
  });

  test('a failed write leaves no file and no temporary file behind', async () => {
    const sub = tmp('sub');
    await fs.mkdir(sub);
    await assertKernelLearnError(writeImage(path.join(sub, 'missing', 'out.png'), sampleImage(3, 3, 1, 'u8')), /cannot write .*out\.png: folder .*missing does not exist; create it first/);
    // The target exists as a folder: the rename fails after the temporary file was written.
    await fs.mkdir(path.join(sub, 'taken.npy'));
    await assertKernelLearnError(writeImage(path.join(sub, 'taken.npy'), sampleImage(3, 3, 1, 'u8')), /cannot write .*taken\.npy/);
    assert.deepEqual(await fs.readdir(sub), ['taken.npy']);
    assert.deepEqual(await fs.readdir(path.join(sub, 'taken.npy')), []);
  });
});

describe('extensions', () => {
  test('IMAGE_EXTENSIONS and isImageFile are case-insensitive', () => {
    assert.deepEqual([...IMAGE_EXTENSIONS], ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.npy']);
    for (const f of ['a.png', 'B.PNG', 'c.JpEg', 'd.jpg', 'e.webp', 'f.tif', 'g.TIFF', 'h.npy', '/x/y.z/i.png']) assert.ok(isImageFile(f), f);
    for (const f of ['a.bmp', 'b.gif', 'png', 'c.png.txt', '.x.png.tmp-123-abc', 'd.npz', 'e']) assert.ok(!isImageFile(f), f);
  });
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

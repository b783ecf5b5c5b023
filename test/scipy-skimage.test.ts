/**
 * scipy.ndimage and skimage.filters (src/filters/libraries/) against the real libraries: fixtures
 * made by tools/make_scipy_skimage_golden.py (test/fixtures/scipy-skimage/manifest.json), no
 * Python needed here.
 *
 * Comparison rule, per case (the manifest's `tol`):
 *  - tol 0: every value identical (Object.is, except that -0 and +0 count as equal), which is
 *    what we get: integer outputs truncate and wrap exactly as scipy's C casts, and float outputs
 *    repeat scipy's float64 sums in the C code's order and numpy's float32 roundings.
 *  - tol > 0: max |ours - theirs| <= tol * max |theirs|.
 * Also: every call string equals the one that made the output (so each printed call really ran),
 * refused calls are refused, and the numeric building blocks (numpy's exp, its pairwise sum,
 * _gaussian_kernel1d, the C casts) match the library bit for bit.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KernelLearnError } from '../src/errors.js';
import { createImage, type Depth, type Image } from '../src/image.js';
import { parseNpy, type NpyDtype } from '../src/io/npy.js';
import { applyLibraryCall, libraryCallString, librarySearchSpaces, SCIPY_FNS, SKIMAGE_FNS, type LibrarySpec } from '../src/filters/libraries/index.js';
import { cCast, pairwiseSum, svmlExp } from '../src/filters/libraries/numpy.js';
import { gaussianKernel1d } from '../src/filters/libraries/scipy.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'scipy-skimage');

interface Case {
  name: string;
  input: string;
  output: string;
  spec: LibrarySpec;
  call: string;
  tol: number;
  dtype: Depth;
}
interface Manifest {
  versions: Record<string, unknown>;
  cases: Case[];
  refused: { input: string; spec: LibrarySpec; call: string; error: string }[];
  tables: {
    exp: { args: number[]; values: number[] };
    gaussianKernels: { sigma: number; order: number; radius: number; values: number[] }[];
    sums: { values: number[]; sum: number }[];
    casts: Record<'values' | 'u8' | 's16' | 'u16', number[]>;
  };
}

const manifest = JSON.parse(readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as Manifest;
const DEPTH_OF: Record<NpyDtype, Depth> = { u1: 'u8', i2: 's16', u2: 'u16', f4: 'f32', f8: 'f64' };

/** A fixture as an Image: (H, W) or (H, W, C) to planar CHW. */
function readImage(file: string): Image {
  const arr = parseNpy(readFileSync(path.join(FIXTURES, file)), file);
  const [height, width, channels = 1] = arr.shape;
  const img = createImage(width, height, channels, DEPTH_OF[arr.dtype]);
  const n = width * height;
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) img.data[c * n + i] = arr.data[i * channels + c];
  return img;
}

const stats: { library: string; name: string; depth: Depth; maxAbs: number; maxRel: number; differing: number; samples: number }[] = [];

describe(`golden cases (numpy ${manifest.versions.numpy}, scipy ${manifest.versions.scipy}, skimage ${manifest.versions.skimage})`, () => {
  for (const c of manifest.cases) {
    test(`${c.name}: ${c.call}`, () => {
      const got = applyLibraryCall(readImage(c.input), c.spec);
      const want = readImage(c.output);
      assert.equal(got.depth, want.depth, 'output dtype');
      assert.deepEqual([got.width, got.height, got.channels], [want.width, want.height, want.channels], 'shape');
      let scale = 0;
      for (const v of want.data) scale = Math.max(scale, Math.abs(v));
      let maxAbs = 0;
      let differing = 0;
      let first = '';
      for (let i = 0; i < want.data.length; i++) {
        const a = got.data[i];
        const b = want.data[i];
        if (a === b || (Number.isNaN(a) && Number.isNaN(b))) continue;
        differing++;
        const e = Math.abs(a - b);
        if (!(e <= maxAbs)) maxAbs = e;
        if (!first) first = `sample ${i}: ours ${a}, library ${b}`;
      }
      const maxRel = maxAbs / Math.max(scale, 1e-300);
      stats.push({ library: c.spec.library, name: c.name, depth: want.depth, maxAbs, maxRel, differing, samples: want.data.length });
      if (c.tol === 0) assert.equal(differing, 0, `${differing} of ${want.data.length} values differ (first: ${first}, max abs ${maxAbs})`);
      else assert.ok(maxRel <= c.tol, `max error ${maxAbs} is ${maxRel.toExponential(2)} of max |output| (tolerance ${c.tol}); first: ${first}`);
    });
  }

  test('summary', (t) => {
    for (const library of ['scipy.ndimage', 'skimage.filters']) {
      const of = stats.filter((s) => s.library === library);
      const exact = of.filter((s) => s.differing === 0).length;
      const worst = of.reduce((w, s) => (s.maxRel > w.maxRel ? s : w), { maxRel: 0, maxAbs: 0, name: '-' });
      t.diagnostic(`${library}: ${of.length} cases, ${exact} identical in every value; worst ${worst.name}: max abs ${worst.maxAbs}, rel ${worst.maxRel.toExponential(2)}`);
    }
    assert.ok(stats.length >= 200);
  });
});

describe('call strings are the calls that made the fixtures', () => {
  test('every case and every refused call', () => {
    for (const c of [...manifest.cases, ...manifest.refused]) assert.equal(libraryCallString(c.spec), c.call);
  });

  test('defaults are left out, output dtypes printed as numpy names', () => {
    assert.equal(libraryCallString({ library: 'scipy.ndimage', fn: 'gaussian_filter', sigma: 1.5, mode: 'reflect', truncate: 4 }), 'scipy.ndimage.gaussian_filter(x, sigma=1.5)');
    assert.equal(
      libraryCallString({ library: 'scipy.ndimage', fn: 'gaussian_filter', sigma: [2, 2, 0], order: 1, output: 'f32', mode: 'constant', cval: 0.5 }),
      "scipy.ndimage.gaussian_filter(x, sigma=[2, 2, 0], order=1, output=np.float32, mode='constant', cval=0.5)",
    );
    assert.equal(libraryCallString({ library: 'scipy.ndimage', fn: 'sobel', axis: 0 }), 'scipy.ndimage.sobel(x, axis=0)');
    assert.equal(libraryCallString({ library: 'scipy.ndimage', fn: 'uniform_filter', size: 3 }), 'scipy.ndimage.uniform_filter(x)');
    assert.equal(libraryCallString({ library: 'skimage.filters', fn: 'sobel_h' }), 'skimage.filters.sobel_h(x)');
    assert.equal(libraryCallString({ library: 'skimage.filters', fn: 'gaussian', sigma: 1, mode: 'nearest', preserve_range: true }), 'skimage.filters.gaussian(x, preserve_range=True)');
  });
});

describe('refused calls', () => {
  test('unknown libraries and functions, sequences of modes where scipy takes one', () => {
    const img = createImage(5, 4, 1, 'f32');
    for (const spec of [
      { library: 'cv2', fn: 'GaussianBlur' },
      { library: 'scipy.ndimage', fn: 'median_filter', size: 3 },
      { library: 'skimage.filters', fn: 'roberts' },
      { library: 'scipy.ndimage', fn: 'correlate1d', weights: [1, 2], mode: ['reflect'] },
      { library: 'scipy.ndimage', fn: 'gaussian_filter', sigma: 1, order: 4 },
    ]) {
      assert.throws(() => applyLibraryCall(img, spec as unknown as LibrarySpec), KernelLearnError, JSON.stringify(spec));
    }
  });

  for (const r of manifest.refused) {
    test(`${r.call} -> ${r.error.split(':')[0]}`, () => {
      assert.throws(() => applyLibraryCall(readImage(r.input), r.spec), KernelLearnError);
    });
  }
});

describe('numeric building blocks, bit for bit', () => {
  test("numpy's float64 exp (SVML on AVX512)", () => {
    const { args, values } = manifest.tables.exp;
    const bad = args.filter((x, i) => svmlExp(x) !== values[i]);
    assert.equal(bad.length, 0, `${bad.length} of ${args.length} differ, e.g. exp(${bad[0]})`);
  });

  test("scipy's _gaussian_kernel1d, orders 0..3", () => {
    for (const k of manifest.tables.gaussianKernels) {
      assert.deepEqual(Array.from(gaussianKernel1d(k.sigma, k.order, k.radius)), k.values, `sigma ${k.sigma} order ${k.order} radius ${k.radius}`);
    }
  });

  test("numpy's pairwise sum", () => {
    for (const s of manifest.tables.sums) assert.equal(pairwiseSum(s.values), s.sum, `n=${s.values.length}`);
  });

  test('C casts to integer outputs: truncate, then wrap; outside int32 gives 0', () => {
    const { values } = manifest.tables.casts;
    for (const d of ['u8', 's16', 'u16'] as const) assert.deepEqual(values.map((v) => cCast(v, d)), manifest.tables.casts[d], d);
  });
});

describe('search spaces', () => {
  const spaces = librarySearchSpaces().filter((s) => s.library === 'scipy.ndimage' || s.library === 'skimage.filters');
  const grey = createImage(9, 7, 1, 'u8');
  for (let i = 0; i < grey.data.length; i++) grey.data[i] = (i * 37) % 256;

  test('one per reproduced call, with coherent ranges and defaults', () => {
    assert.deepEqual(spaces.map((s) => s.fn), [...SCIPY_FNS, ...SKIMAGE_FNS]);
    for (const s of spaces) {
      for (const [name, p] of Object.entries(s.params)) {
        if (p.kind === 'discrete' && p.default !== undefined) assert.ok(p.values.some((v) => JSON.stringify(v) === JSON.stringify(p.default)), `${s.fn} ${name}`);
        if (p.kind === 'continuous') assert.ok(p.min < p.max && (p.default === undefined || (p.default >= p.min && p.default <= p.max)), `${s.fn} ${name}`);
      }
    }
  });

  test('every discrete value is a call the library accepts (the others at their defaults)', () => {
    for (const s of spaces) {
      // Required arguments: a 3-tap (3x3) kernel, sigma 1.5, size 3.
      const base: Record<string, unknown> = { library: s.library, fn: s.fn };
      if (s.params.weights) base.weights = s.fn.endsWith('1d') ? [1, 2, -1] : [[1, 2, -1], [0, 1, 0], [2, 0, 1]];
      if (s.params.sigma && s.params.sigma.kind === 'continuous' && s.params.sigma.default === undefined) base.sigma = 1.5;
      if (s.fn === 'uniform_filter1d') base.size = 3;
      for (const [name, p] of Object.entries(s.params)) {
        if (p.kind !== 'discrete') continue;
        for (const v of p.values) {
          const spec = { ...base, ...(v === null ? {} : { [name]: v }) } as unknown as LibrarySpec;
          assert.doesNotThrow(() => applyLibraryCall(grey, spec), libraryCallString(spec));
        }
      }
    }
  });
});

test('a 512x512 image with a 25-tap Gaussian filters in well under a second', () => {
  const img = createImage(512, 512, 1, 'u8');
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 7919) % 256;
  const t0 = performance.now();
  const out = applyLibraryCall(img, { library: 'scipy.ndimage', fn: 'gaussian_filter', sigma: 3 });
  const ms = performance.now() - t0;
  assert.equal(out.depth, 'u8');
  assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
});

/**
 * The reference filters against OpenCV 4.6 itself: fixtures made by tools/make_golden.py
 * (test/fixtures/opencv/manifest.json).
 *
 * Comparison rule:
 *  - integer outputs (u8, s16, u16): exactly equal, every pixel.
 *  - float outputs: |ours - opencv| <= tol * max|opencv| over the case (1e-30 floor for an
 *    all-zero case), tol = 1e-4 for f32 and 1e-12 for f64 (OpenCV computes f64 outputs in double
 *    throughout, so only summation order differs). Why relative to the case's largest response
 *    and not per pixel: the
 *    float32 rounding OpenCV does is proportional to the size of the terms being summed, not to
 *    the (possibly cancelled, near-zero) result, and the largest response is a fair proxy for
 *    the term size; a per-pixel relative rule would fail on flat regions where the exact answer
 *    is ~0 and both sides hold rounding noise. 1e-4 is ~1000 float32 ulps: far above the ~1e-7
 *    we measure, far below any real mistake (a wrong tap, border or scale moves results by >1%).
 *    1e-12 on f64 catches even a kernel stored in float32 where OpenCV stores double (~1e-8).
 * The worst errors are reported as test diagnostics.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KernelLearnError } from '../src/errors.js';
import { type Depth, type Image } from '../src/image.js';
import { parseNpy, type NpyDtype } from '../src/io/npy.js';
import { BORDER_MODES, type BorderMode, borderInterpolate } from '../src/filters/border.js';
import { convertDepth, roundHalfEven, saturateCast } from '../src/filters/depth.js';
import { correlate, correlateSeparable } from '../src/filters/filter2d.js';
import {
  filterKernel,
  getDerivKernels,
  getGaussianKernel,
  getGaussianKernelFixedPoint,
  gaussianKsizeFromSigma,
  kernelFromRows,
  outerProduct,
  fusedMultiplyAdd,
} from '../src/filters/kernels.js';
import { applyFilter, describeFilter } from '../src/filters/ops.js';
import { type FilterSpec } from '../src/filters/spec.js';

// Compiled to dist/test/, so the fixtures are two folders up in the source tree.
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'opencv');

interface Case {
  name: string;
  input: string;
  output: string;
  spec: FilterSpec;
  opencv: string;
  /** Integer outputs may differ by 1 where the exact value is a .5 tie (non-dyadic scale; see make_golden.py). */
  ties?: boolean;
}
interface Manifest {
  opencv: string;
  cases: Case[];
  refused: { name: string; input: string; spec: FilterSpec; error: string }[];
  gridOps: FilterSpec[];
  grid: { input: string; op: number; depth: Depth; border: BorderMode; accepted: boolean }[];
  borderInterpolate: { pFrom: number; pTo: number; modes: Record<string, Record<string, number[]>> };
  derivKernels: { dx: number; dy: number; ksize: number; normalize: boolean; kx?: number[]; ky?: number[]; refused?: boolean }[];
  gaussianKernels: { n: number; sigma: number; values: number[] }[];
  saturate: Record<'values' | 'u8' | 's16' | 'u16' | 'f32', string[]>;
}

const manifest = JSON.parse(readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as Manifest;

const DEPTH_OF: Record<NpyDtype, Depth> = { u1: 'u8', i2: 's16', u2: 'u16', f4: 'f32', f8: 'f64' };

/** A .npy fixture as an Image: HWC (numpy's layout) to planar CHW. */
function readImage(file: string): Image {
  const arr = parseNpy(readFileSync(path.join(FIXTURES, file)), file);
  const [height, width, channels = 1] = arr.shape;
  const depth = DEPTH_OF[arr.dtype];
  const n = width * height;
  const data = depth === 'f64' ? new Float64Array(n * channels) : new Float32Array(n * channels);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) data[c * n + i] = arr.data[i * channels + c];
  return { width, height, channels, depth, data };
}

/** Python repr of a float ('nan', 'inf', '-inf', '1.5') to a number. */
function pyFloat(s: string): number {
  return s === 'nan' ? NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s);
}

const isInteger = (d: Depth) => d === 'u8' || d === 's16' || d === 'u16';
const REL_TOL: Record<'f32' | 'f64', number> = { f32: 1e-4, f64: 1e-12 };

/** Per-case float statistics for the summary diagnostic. */
const floatStats: { name: string; depth: Depth; rel: number; bitExact: boolean }[] = [];
const intStats: { name: string; ties: number; samples: number }[] = [];

/** Whether an exact value sits on a .5 rounding tie, up to float32 noise in the terms that made it. */
function isTie(v: number): boolean {
  return Math.abs(v - Math.floor(v) - 0.5) <= 1e-6 * (1 + Math.abs(v));
}

describe(`OpenCV ${manifest.opencv} golden cases`, () => {
  for (const c of manifest.cases) {
    test(`${c.name}: ${describeFilter(c.spec)}`, () => {
      const input = readImage(c.input);
      const want = readImage(c.output);
      const got = applyFilter(input, c.spec);
      assert.equal(got.depth, want.depth, 'depth');
      assert.deepEqual([got.width, got.height, got.channels], [want.width, want.height, want.channels], 'size');
      assert.ok(got.depth === 'f64' ? got.data instanceof Float64Array : got.data instanceof Float32Array, 'storage type');
      if (isInteger(want.depth)) {
        // For "ties" cases, the exact value (float64 model) tells where OpenCV's float32 noise decides.
        const exact = c.ties ? applyFilter(input, { ...c.spec, depth: 'f64' }).data : undefined;
        let bad = 0;
        let ties = 0;
        let first = '';
        for (let i = 0; i < want.data.length; i++) {
          if (Object.is(got.data[i], want.data[i])) continue;
          if (exact && Math.abs(got.data[i] - want.data[i]) === 1 && isTie(exact[i])) {
            ties++;
            continue;
          }
          if (!bad) first = `sample ${i}: ours ${got.data[i]}, OpenCV ${want.data[i]}`;
          bad++;
        }
        assert.equal(bad, 0, `${bad} of ${want.data.length} samples differ (first: ${first}); OpenCV call: ${c.opencv}`);
        intStats.push({ name: c.name, ties, samples: want.data.length });
      } else {
        let maxAbs = 0;
        for (const v of want.data) maxAbs = Math.max(maxAbs, Math.abs(v));
        const scale = Math.max(maxAbs, 1e-30);
        let worst = 0;
        let worstAt = -1;
        let exact = true;
        for (let i = 0; i < want.data.length; i++) {
          const e = Math.abs(got.data[i] - want.data[i]);
          if (got.data[i] !== want.data[i]) exact = false;
          if (!(e <= worst)) {
            worst = e;
            worstAt = i;
          }
        }
        const rel = worst / scale;
        assert.ok(rel <= REL_TOL[want.depth as 'f32' | 'f64'], `max error ${worst} at sample ${worstAt} (ours ${got.data[worstAt]}, OpenCV ${want.data[worstAt]}) is ${rel.toExponential(2)} of max|output| ${maxAbs}; OpenCV call: ${c.opencv}`);
        floatStats.push({ name: c.name, depth: want.depth, rel, bitExact: exact });
      }
    });
  }

  test('summary', (t) => {
    for (const depth of ['f32', 'f64'] as const) {
      const of = floatStats.filter((s) => s.depth === depth).sort((a, b) => b.rel - a.rel);
      t.diagnostic(`${of.length} ${depth}-output cases, ${of.filter((s) => s.bitExact).length} bit-exact; worst relative errors: ${of.slice(0, 3).map((s) => `${s.name} ${s.rel.toExponential(2)}`).join(', ')}`);
    }
    const tieCases = intStats.filter((s) => s.ties > 0);
    t.diagnostic(`${intStats.length} integer-output cases: ${intStats.length - tieCases.length} exact in every sample; ${tieCases.map((s) => `${s.name} differs by 1 at ${s.ties} of ${s.samples} samples, all exact .5 ties`).join('; ') || 'no tie differences'}`);
    assert.ok(manifest.cases.length >= 60);
  });
});

describe('what OpenCV refuses, we refuse', () => {
  for (const r of manifest.refused) {
    test(`${r.name} (OpenCV: ${r.error.replace(/^.*error: /, '').slice(0, 80)})`, () => {
      assert.throws(() => applyFilter(readImage(r.input), r.spec), KernelLearnError);
    });
  }

  test(`grid of ${manifest.grid.length} op x depth x border combinations: accepted exactly where OpenCV accepts`, () => {
    const images = new Map<string, Image>();
    const mismatches: string[] = [];
    for (const g of manifest.grid) {
      if (!images.has(g.input)) images.set(g.input, readImage(g.input));
      const spec: FilterSpec = { ...manifest.gridOps[g.op], depth: g.depth, border: g.border };
      let accepted = true;
      try {
        applyFilter(images.get(g.input)!, spec);
      } catch (e) {
        if (!(e instanceof KernelLearnError)) throw e;
        accepted = false;
      }
      if (accepted !== g.accepted) mismatches.push(`${g.input} ${describeFilter(spec)}: OpenCV ${g.accepted ? 'accepts' : 'refuses'}, we ${accepted ? 'accept' : 'refuse'}`);
    }
    assert.deepEqual(mismatches, []);
  });
});

describe('tables from OpenCV', () => {
  test('borderInterpolate equals cv2.borderInterpolate for every mode, len 1..7, p -20..20', () => {
    const t = manifest.borderInterpolate;
    for (const mode of BORDER_MODES) {
      for (const [len, row] of Object.entries(t.modes[mode])) {
        for (let p = t.pFrom; p <= t.pTo; p++) {
          assert.equal(borderInterpolate(p, Number(len), mode), row[p - t.pFrom], `${mode} p=${p} len=${len}`);
        }
      }
    }
  });

  test('getDerivKernels equals cv2.getDerivKernels (Sobel ksize 1..31, Scharr), including what it refuses', () => {
    for (const r of manifest.derivKernels) {
      const label = `dx=${r.dx} dy=${r.dy} ksize=${r.ksize} normalize=${r.normalize}`;
      if (r.refused) {
        assert.throws(() => getDerivKernels(r.dx, r.dy, r.ksize, r.normalize), KernelLearnError, label);
        continue;
      }
      const k = getDerivKernels(r.dx, r.dy, r.ksize, r.normalize);
      assert.deepEqual(Array.from(k.kx), r.kx, `kx ${label}`);
      assert.deepEqual(Array.from(k.ky), r.ky, `ky ${label}`);
    }
  });

  test('getGaussianKernel is bit-identical to cv2.getGaussianKernel(CV_64F), sigma <= 0 tables and formula', () => {
    for (const r of manifest.gaussianKernels) {
      assert.deepEqual(Array.from(getGaussianKernel(r.n, r.sigma)), r.values, `n=${r.n} sigma=${r.sigma}`);
    }
  });

  test('saturateCast equals OpenCV saturate_cast<T>(double) on ties, out-of-range values, NaN and infinities', () => {
    const s = manifest.saturate;
    s.values.forEach((v, i) => {
      for (const d of ['u8', 's16', 'u16', 'f32'] as const) {
        assert.equal(saturateCast(pyFloat(v), d), pyFloat(s[d][i]), `saturate_cast<${d}>(${v})`);
      }
    });
  });
});

describe('kernels', () => {
  test('Sobel 3x3 is the textbook kernel and filterKernel folds scale in', () => {
    const k = filterKernel({ op: 'sobel', dx: 1, dy: 0, ksize: 3 });
    assert.deepEqual([k.kh, k.kw, Array.from(k.data)], [3, 3, [-1, 0, 1, -2, 0, 2, -1, 0, 1]]);
    const ky = filterKernel({ op: 'sobel', dy: 1, scale: 0.5 });
    assert.deepEqual(Array.from(ky.data), [-0.5, -1, -0.5, 0, 0, 0, 0.5, 1, 0.5]);
    assert.deepEqual(Array.from(filterKernel({ op: 'sobel', dx: 1, ksize: 1 }).data), [-1, 0, 1]);
    assert.deepEqual(Array.from(filterKernel({ op: 'scharr', dx: 1 }).data), [-3, 0, 3, -10, 0, 10, -3, 0, 3]);
  });

  test('Laplacian apertures: ksize 1 and 3 tables, ksize 5 = d2x + d2y', () => {
    assert.deepEqual(Array.from(filterKernel({ op: 'laplacian', ksize: 1 }).data), [0, 1, 0, 1, -4, 1, 0, 1, 0]);
    assert.deepEqual(Array.from(filterKernel({ op: 'laplacian', ksize: 3 }).data), [2, 0, 2, 0, -8, 0, 2, 0, 2]);
    const k5 = filterKernel({ op: 'laplacian', ksize: 5 });
    const dx = filterKernel({ op: 'sobel', dx: 2, dy: 0, ksize: 5 });
    const dy = filterKernel({ op: 'sobel', dx: 0, dy: 2, ksize: 5 });
    assert.deepEqual(Array.from(k5.data), Array.from(dx.data, (v, i) => v + dy.data[i]));
    let sum = 0;
    for (const v of k5.data) sum += v;
    assert.equal(sum, 0);
  });

  test('box and Gaussian kernels sum to 1; u8 Gaussian uses the 8-bit fixed-point kernel', () => {
    const b = filterKernel({ op: 'box', ksize: 4 });
    assert.deepEqual([b.kh, b.kw], [4, 4]);
    assert.ok(b.data.every((v) => v === 1 / 16));
    const g = filterKernel({ op: 'gaussian', ksize: 5, sigma: 0 });
    assert.deepEqual(Array.from(g.data.subarray(10, 15)), [0.375 * 0.0625, 0.375 * 0.25, 0.375 * 0.375, 0.375 * 0.25, 0.375 * 0.0625]);
    const fx = getGaussianKernelFixedPoint(5, 1.2, 8);
    assert.equal(fx.reduce((a, v) => a + v, 0), 256);
    const g8 = filterKernel({ op: 'gaussian', ksize: 5, sigma: 1.2, depth: 'u8' });
    assert.deepEqual(Array.from(g8.data.subarray(10, 15)), Array.from(fx, (v) => (fx[2] / 256) * (v / 256)));
    // ksize from sigma depends on the depth, as in OpenCV's createGaussianKernels.
    assert.equal(gaussianKsizeFromSigma(2, 'u8'), 13);
    assert.equal(gaussianKsizeFromSigma(2, 'f32'), 17);
    assert.equal(filterKernel({ op: 'gaussian', sigma: 2 }).kw, 17);
    assert.equal(filterKernel({ op: 'gaussian', sigma: 2, depth: 'u8' }).kw, 13);
  });

  test('filter2D kernels keep their rows; outerProduct is ky (x) kx', () => {
    const rows = [[1, 2, 3], [4, 5, 6]];
    const k = filterKernel({ op: 'kernel', kernel: rows, scale: 2 });
    assert.deepEqual([k.kh, k.kw, Array.from(k.data)], [2, 3, [2, 4, 6, 8, 10, 12]]);
    assert.deepEqual(Array.from(outerProduct([1, 2], [3, 4, 5]).data), [3, 4, 5, 6, 8, 10]);
  });

  test('fusedMultiplyAdd rounds once (values from exact rational arithmetic in Python)', () => {
    // 0.1 * 10 - 1 is 0 with two roundings; rounded once it is the residue of 0.1's own rounding.
    assert.equal(0.1 * 10 - 1, 0);
    assert.equal(fusedMultiplyAdd(0.1, 10, -1), 2 ** -54);
    assert.equal(fusedMultiplyAdd(3, 0.15, 0.35), 0.7999999999999999);
    assert.equal(fusedMultiplyAdd(11, 0.15, 0.35), 2);
  });
});

describe('plain correlation (filter2d.ts)', () => {
  const img = (w: number, h: number, values: number[]): Image => ({ width: w, height: h, channels: 1, depth: 'f32', data: Float32Array.from(values) });

  test('correlation does not flip the kernel and handles every border on a 1x1 image', () => {
    const k = kernelFromRows([[0, 0, 0], [1, 0, 0], [0, 0, 0]]); // reads the left neighbour
    const out = correlate(img(3, 1, [10, 20, 30]), k, { border: 'constant' });
    assert.deepEqual(Array.from(out.data), [0, 10, 20]);
    assert.equal(out.depth, 'f64');
    assert.ok(out.data instanceof Float64Array);
    for (const border of BORDER_MODES) {
      const one = correlate(img(1, 1, [7]), kernelFromRows([[1, 1, 1], [1, 1, 1], [1, 1, 1]]), { border });
      assert.equal(one.data[0], border === 'constant' ? 7 : 63, border);
    }
  });

  test('separable = 2-D with the outer product, for 1xN, Nx1 and kernels larger than the image', () => {
    const ky = [1, 4, 6, 4, 1];
    const kx = [-1, -2, 0, 2, 1];
    for (const [w, h] of [[1, 1], [1, 6], [6, 1], [2, 3], [7, 5]]) {
      const values = Array.from({ length: w * h }, (_, i) => (i * 37) % 11);
      for (const border of BORDER_MODES) {
        const a = correlate(img(w, h, values), outerProduct(ky, kx), { border, scale: 0.5, delta: 1 });
        const b = correlateSeparable(img(w, h, values), ky, kx, { border, scale: 0.5, delta: 1 });
        assert.deepEqual(Array.from(a.data), Array.from(b.data), `${w}x${h} ${border}`);
      }
    }
  });

  test('even kernels anchor at (floor(kw/2), floor(kh/2)) like cv2.filter2D', () => {
    const out = correlate(img(3, 1, [1, 2, 3]), kernelFromRows([[1, 0]]), { border: 'constant' });
    // anchor x = 1: out[x] = 1*src[x-1] + 0*src[x]
    assert.deepEqual(Array.from(out.data), [0, 1, 2]);
  });
});

describe('depth conversion', () => {
  test('round half to even, saturate, and keep Float64Array only for f64', () => {
    assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999999999999996].map(roundHalfEven), [0, 2, 2, -0, -2, -2, 2]);
    const im: Image = { width: 4, height: 1, channels: 1, depth: 'f32', data: Float32Array.from([-3.5, 2.5, 300, 1e6]) };
    assert.deepEqual(Array.from(convertDepth(im, 'u8').data), [0, 2, 255, 255]);
    assert.deepEqual(Array.from(convertDepth(im, 's16').data), [-4, 2, 300, 32767]);
    const f64 = convertDepth(im, 'f64');
    assert.ok(f64.data instanceof Float64Array);
    assert.equal(f64.depth, 'f64');
    assert.ok(convertDepth(f64, 'f32').data instanceof Float32Array);
  });
});

describe('border wrap', () => {
  // The definition (ops.ts): OpenCV after copyMakeBorder(BORDER_WRAP), i.e. the image's periodic
  // extension. A 3x3 tiling is such an extension, so its centre tile filtered with any border is
  // the wrap result, bit for bit (the golden cases check the same against OpenCV itself).
  const tile = (img: Image): Image => {
    const { width: w, height: h, channels: c } = img;
    const out: Image = { width: 3 * w, height: 3 * h, channels: c, depth: img.depth, data: new Float32Array(9 * w * h * c) };
    for (let k = 0; k < c; k++) for (let y = 0; y < 3 * h; y++) for (let x = 0; x < 3 * w; x++) out.data[(k * 3 * h + y) * 3 * w + x] = img.data[(k * h + (y % h)) * w + (x % w)];
    return out;
  };
  const centre = (img: Image, w: number, h: number): number[] => {
    const out: number[] = [];
    for (let k = 0; k < img.channels; k++) for (let y = h; y < 2 * h; y++) for (let x = w; x < 2 * w; x++) out.push(img.data[(k * img.height + y) * img.width + x]);
    return out;
  };
  const specs: FilterSpec[] = [
    { op: 'sobel', dx: 1, dy: 1, ksize: 5, depth: 's16' },
    { op: 'scharr', dx: 0, dy: 1 },
    { op: 'laplacian', ksize: 7 },
    { op: 'gaussian', ksize: 7, sigma: 1.5, depth: 'u8' },
    { op: 'gaussian', ksize: 5, sigma: 1, depth: 'f32' },
    { op: 'box', ksize: 4, depth: 'u8' },
    { op: 'kernel', kernel: [[1, -2, 0.5], [0.25, 3, -1]], delta: 2 },
  ];
  for (const [w, h] of [[9, 7], [5, 4]]) {
    const img: Image = { width: w, height: h, channels: 2, depth: 'u8', data: Float32Array.from({ length: w * h * 2 }, (_, i) => (i * 37 + (i >> 3) * 11) % 256) };
    for (const spec of specs) {
      test(`${w}x${h}: ${describeFilter(spec)} with wrap = the centre of a 3x3 tiling filtered`, () => {
        const want = centre(applyFilter(tile(img), { ...spec, border: 'reflect101' }), w, h);
        assert.deepEqual(Array.from(applyFilter(img, { ...spec, border: 'wrap' }).data), want);
      });
    }
  }
});

describe('invalid specs throw one-line KernelLearnErrors', () => {
  const image: Image = { width: 4, height: 4, channels: 1, depth: 'u8', data: new Float32Array(16) };
  const bad: [FilterSpec, RegExp][] = [
    [{ op: 'sobel', dx: 0, dy: 0 }, /dx \+ dy > 0/],
    [{ op: 'sobel', ksize: 9 }, /1, 3, 5 or 7/],
    [{ op: 'sobel', ksize: 4 }, /1, 3, 5 or 7/],
    [{ op: 'sobel', dx: 3, ksize: 3 }, /below 3/],
    [{ op: 'sobel', dx: 3, ksize: 1 }, /below 3/],
    [{ op: 'sobel', dx: 1.5 }, /whole numbers/],
    [{ op: 'sobel', dx: -1, dy: 1 }, /whole numbers/],
    [{ op: 'scharr', dx: 1, dy: 1 }, /dx \+ dy == 1/],
    [{ op: 'scharr', dx: 1, ksize: 5 }, /always 3x3/],
    [{ op: 'laplacian', ksize: 2 }, /1, 3, 5 or 7/],
    [{ op: 'gaussian', ksize: 4 }, /odd size/],
    [{ op: 'gaussian', ksize: 0 }, /sigma > 0/],
    [{ op: 'gaussian', ksize: 5, scale: 2 }, /no scale or delta/],
    [{ op: 'box', ksize: 0 }, />= 1/],
    [{ op: 'box', sigma: 1 }, /no sigma/],
    [{ op: 'kernel' }, /non-empty 2-D array/],
    [{ op: 'kernel', kernel: [] }, /non-empty 2-D array/],
    [{ op: 'kernel', kernel: [[1, 2], [3]] }, /same length/],
    [{ op: 'kernel', kernel: [[1, NaN]] }, /finite/],
    [{ op: 'kernel', kernel: [[1]], ksize: 3 }, /no ksize/],
    [{ op: 'laplacian', dx: 1 }, /no dx\/dy/],
    [{ op: 'sobel', scale: Infinity }, /finite number/],
    [{ op: 'sobel', border: 'mirror' as BorderMode }, /reflect101/],
    [{ op: 'sobel', depth: 'u32' as Depth }, /u8, s16/],
    [{ op: 'blur' as FilterSpec['op'] }, /sobel, scharr/],
    [{ op: 'kernel', kernel: [[1]], depth: 'u8' }, /./], // accepted: u8 -> u8 (checked below)
  ];
  for (const [spec, msg] of bad.slice(0, -1)) {
    test(JSON.stringify(spec), () => {
      assert.throws(
        () => applyFilter(image, spec),
        (e: unknown) => e instanceof KernelLearnError && msg.test(e.message) && !e.message.includes('\n'),
      );
    });
  }
  test('f32 -> u8 filter2D is refused with the supported pairs listed; a valid spec is not', () => {
    const f32: Image = { ...image, depth: 'f32' };
    assert.throws(() => applyFilter(f32, { op: 'kernel', kernel: [[1]], depth: 'u8' }), /no f32 -> u8 path/);
    assert.doesNotThrow(() => applyFilter(image, bad[bad.length - 1][0]));
  });
  test('describeFilter names the parameters that matter', () => {
    assert.equal(describeFilter({ op: 'sobel', dx: 1, dy: 0, ksize: 3 }), 'sobel dx=1 dy=0 ksize=3');
    assert.equal(describeFilter({ op: 'sobel', dy: 1 }), 'sobel dx=0 dy=1 ksize=3');
    assert.equal(describeFilter({ op: 'gaussian', sigma: 2, depth: 'u8' }), 'gaussian ksize=0 (13 from sigma) sigma=2 depth=u8');
    assert.equal(describeFilter({ op: 'kernel', kernel: [[1, 0, -1]], delta: 3, border: 'constant' }), 'kernel 1x3 [[1,0,-1]] delta=3 border=constant');
  });
});

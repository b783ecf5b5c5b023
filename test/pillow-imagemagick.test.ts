/**
 * Pillow's ImageFilter and ImageMagick's convolution calls (src/filters/pillow.ts,
 * imagemagick.ts) against the real tools: fixtures made by tools/make_pillow_imagemagick_golden.py
 * (test/fixtures/pillow-imagemagick/manifest.json; Debian python3-pil 9.4 and imagemagick
 * 6.9.11-60 Q16). Every case must match the tool's 8-bit output exactly, sample for sample, and
 * our callString must print exactly the call that made it. Set KL_PILLOW_IM_FIXTURES to a folder
 * written by the tool's --sweep mode to check a random sweep the same way.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KernelLearnError } from '../src/errors.js';
import { type Image } from '../src/image.js';
import { parseNpy } from '../src/io/npy.js';
import { buildImKernel, getOptimalKernelWidth1D, getOptimalKernelWidth2D, imKernelString } from '../src/filters/libraries/imagemagick-kernels.js';
import { type ImageMagickSpec, applyImageMagick, imageMagickCallString, imageMagickLinearForm, quantumToPngByte, scaleQuantumToChar } from '../src/filters/libraries/imagemagick.js';
import { applyLibraryCall, libraryCallString, libraryLinearForm, librarySearchSpaces } from '../src/filters/libraries/index.js';
import { shellQuote } from '../src/filters/libraries/common.js';
import { type PillowSpec, applyPillow, pillowBoxWeights, pillowCallString, pillowGaussianBoxRadius, pillowLinearForm } from '../src/filters/libraries/pillow.js';
import { correlate } from '../src/filters/filter2d.js';

// Compiled to dist/test/, so the fixtures are two folders up in the source tree.
const FIXTURES = process.env.KL_PILLOW_IM_FIXTURES ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'pillow-imagemagick');

interface Case {
  library: 'Pillow' | 'ImageMagick';
  input: string;
  spec: PillowSpec | ImageMagickSpec;
  call: string;
  output: string;
  index: number;
}
interface Manifest {
  versions: Record<string, string>;
  inputs: Record<string, { file: string; shape: number[] }>;
  cases: Case[];
}

const manifest = JSON.parse(readFileSync(path.join(FIXTURES, 'manifest.json'), 'utf8')) as Manifest;

/** HW or HWC uint8 (numpy's layout) to a planar CHW u8 Image. */
function toImage(data: ArrayLike<number>, height: number, width: number, channels: number): Image {
  const n = width * height;
  const out = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) out[c * n + i] = data[i * channels + c];
  return { width, height, channels, depth: 'u8', data: out };
}

const inputs = new Map<string, Image>();
for (const [name, { file }] of Object.entries(manifest.inputs)) {
  const arr = parseNpy(readFileSync(path.join(FIXTURES, file)), file);
  const [h, w, c = 1] = arr.shape;
  inputs.set(name, toImage(arr.data, h, w, c));
}

/** Stacked outputs: N x H x W(x C); the index-th as an Image. */
const stacks = new Map<string, { shape: number[]; data: ArrayLike<number> }>();
function expected(c: Case): Image {
  if (!stacks.has(c.output)) {
    const arr = parseNpy(readFileSync(path.join(FIXTURES, c.output)), c.output);
    stacks.set(c.output, { shape: arr.shape, data: arr.data });
  }
  const { shape, data } = stacks.get(c.output)!;
  const [, h, w, ch = 1] = shape;
  const size = h * w * ch;
  return toImage(Array.prototype.slice.call(data, c.index * size, (c.index + 1) * size) as number[], h, w, ch);
}

/** A short name for grouping: library, call, kernel name. */
function kind(spec: PillowSpec | ImageMagickSpec): string {
  if (spec.library === 'Pillow') return `Pillow ${['GaussianBlur', 'BoxBlur', 'UnsharpMask', 'Kernel'].includes(spec.fn) ? spec.fn : 'named'}`;
  return spec.op === '-morphology' ? `ImageMagick -morphology ${spec.kernel.name}` : `ImageMagick ${spec.op}`;
}

const stats = new Map<string, { cases: number; exact: number; samples: number; differing: number; maxErr: number }>();

describe(`golden cases (${manifest.versions.pillow} / ${manifest.versions.imagemagick})`, () => {
  test('every case equals the tool output, sample for sample', (t) => {
    const failures: string[] = [];
    for (const c of manifest.cases) {
      const got = applyLibraryCall(inputs.get(c.input)!, c.spec);
      const want = expected(c);
      assert.equal(got.depth, 'u8');
      assert.deepEqual([got.width, got.height, got.channels], [want.width, want.height, want.channels]);
      let differing = 0;
      let maxErr = 0;
      for (let i = 0; i < want.data.length; i++) {
        const e = Math.abs(got.data[i] - want.data[i]);
        if (e > 0) differing++;
        maxErr = Math.max(maxErr, e);
      }
      const s = stats.get(kind(c.spec)) ?? { cases: 0, exact: 0, samples: 0, differing: 0, maxErr: 0 };
      s.cases++;
      s.exact += differing === 0 ? 1 : 0;
      s.samples += want.data.length;
      s.differing += differing;
      s.maxErr = Math.max(s.maxErr, maxErr);
      stats.set(kind(c.spec), s);
      if (differing > 0) failures.push(`${c.input}: ${c.call}: ${differing}/${want.data.length} samples differ, max ${maxErr}`);
    }
    for (const [k, s] of [...stats].sort()) {
      t.diagnostic(`${k}: ${s.exact}/${s.cases} cases exact, ${s.samples - s.differing}/${s.samples} samples (${((100 * (s.samples - s.differing)) / s.samples).toFixed(3)}%), max error ${s.maxErr}`);
    }
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${manifest.cases.length} cases differ`);
  });

  test('callString prints exactly the call that made each output', () => {
    for (const c of manifest.cases) assert.equal(libraryCallString(c.spec), c.call);
  });
});

describe('Pillow semantics', () => {
  const img: Image = toImage(Array.from({ length: 42 }, (_, i) => (i * 37) % 256), 6, 7, 1);

  test('Kernel is applied upside down: its linear form is the given kernel flipped vertically', () => {
    const spec: PillowSpec = { library: 'Pillow', fn: 'Kernel', size: 3, kernel: [1, 2, 3, 4, 5, 6, 7, 8, 9], scale: 45 };
    const form = pillowLinearForm(spec);
    assert.deepEqual(Array.from(form.kernel.data, (v) => v * 45), [7, 8, 9, 4, 5, 6, 1, 2, 3]);
    assert.equal(form.edge, 'kept');
    assert.equal(form.margin, 1);
    // Inside the margin the tool equals floor(correlation + 0.5) with that kernel.
    const out = applyPillow(img, spec);
    const ref = correlate(img, form.kernel, { border: 'replicate' });
    for (let y = 1; y < 5; y++) for (let x = 1; x < 6; x++) assert.equal(out.data[y * 7 + x], Math.floor(ref.data[y * 7 + x] + 0.5));
  });

  test('the edge band is the input, and an image smaller than the kernel comes back unchanged', () => {
    const out = applyPillow(img, { library: 'Pillow', fn: 'SMOOTH_MORE' });
    for (let x = 0; x < 7; x++) for (const y of [0, 1, 4, 5]) assert.equal(out.data[y * 7 + x], img.data[y * 7 + x]);
    const small = toImage([10, 200, 30, 40, 250, 60, 70, 80], 2, 4, 1);
    assert.deepEqual(Array.from(applyPillow(small, { library: 'Pillow', fn: 'SHARPEN' }).data), Array.from(small.data));
  });

  test('box weights and the Gaussian box radius follow BoxBlur.c', () => {
    assert.deepEqual(pillowBoxWeights(1), { radius: 1, ww: 5592405, fw: 0 });
    assert.deepEqual(pillowBoxWeights(0), { radius: 0, ww: 16777216, fw: 0 });
    const w = pillowBoxWeights(1.5);
    assert.equal(w.radius, 1);
    assert.equal(w.ww, 4194304);
    assert.equal(w.fw, 2097152);
    assert.equal(pillowGaussianBoxRadius(0), 0);
    assert.equal(pillowGaussianBoxRadius(2), 1.375); // sigma^2 = 4/3 per pass: l = 1, a = 3 (2 - 4) / (6 (4/3 - 4))
  });

  test('refusals: zero scale, wrong sizes, non-integer UnsharpMask percent, non-8-bit input', () => {
    assert.throws(() => applyPillow(img, { library: 'Pillow', fn: 'Kernel', size: 3, kernel: [1, 0, -1, 2, 0, -2, 1, 0, -1] }), KernelLearnError);
    assert.throws(() => applyPillow(img, { library: 'Pillow', fn: 'Kernel', size: 3, kernel: [1, 2, 3] }), KernelLearnError);
    assert.throws(() => applyPillow(img, { library: 'Pillow', fn: 'Kernel', size: 7 as 3, kernel: Array(49).fill(1) }), KernelLearnError);
    assert.throws(() => applyPillow(img, { library: 'Pillow', fn: 'UnsharpMask', radius: 2, percent: 1.5, threshold: 3 }), KernelLearnError);
    assert.throws(() => applyPillow({ ...img, data: img.data.map((v) => v + 0.5) }, { library: 'Pillow', fn: 'BLUR' }), KernelLearnError);
  });

  test('callString', () => {
    assert.equal(pillowCallString({ library: 'Pillow', fn: 'GaussianBlur', radius: 2 }), 'image.filter(ImageFilter.GaussianBlur(2))');
    assert.equal(pillowCallString({ library: 'Pillow', fn: 'BoxBlur', radius: 1.5 }), 'image.filter(ImageFilter.BoxBlur(1.5))');
    assert.equal(pillowCallString({ library: 'Pillow', fn: 'EMBOSS' }), 'image.filter(ImageFilter.EMBOSS)');
    assert.equal(
      pillowCallString({ library: 'Pillow', fn: 'Kernel', size: 3, kernel: [-2, -2, -2, -2, 32, -2, -2, -2, -2], scale: 16 }),
      'image.filter(ImageFilter.Kernel((3, 3), [-2, -2, -2, -2, 32, -2, -2, -2, -2], scale=16))',
    );
    assert.equal(
      pillowCallString({ library: 'Pillow', fn: 'UnsharpMask', radius: 2, percent: 150, threshold: 3 }),
      'image.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=3))',
    );
  });
});

describe('ImageMagick semantics', () => {
  test('kernel widths: radius 0 is chosen from sigma (GetOptimalKernelWidth1D/2D)', () => {
    assert.equal(getOptimalKernelWidth1D(0, 1), 9);
    assert.equal(getOptimalKernelWidth2D(0, 1), 9);
    assert.equal(getOptimalKernelWidth1D(1.2, 5), 5);
    assert.equal(buildImKernel({ name: 'Blur', radius: 0, sigma: 1 }).width, 9); // showKernel: Blur 9x1
    assert.equal(buildImKernel({ name: 'Gaussian', radius: 2, sigma: 9 }).width, 5);
  });

  test("Debian's build sizes a fractional radius floor(2r+1); even 2-D kernels are refused (ImageMagick reads uninitialised memory)", () => {
    assert.equal(buildImKernel({ name: 'Blur', radius: 1.5, sigma: 1 }).width, 4);
    assert.equal(buildImKernel({ name: 'Gaussian', radius: 1.4, sigma: 1 }).width, 3);
    assert.throws(() => buildImKernel({ name: 'Gaussian', radius: 1.5, sigma: 1 }), KernelLearnError);
    assert.throws(() => buildImKernel({ name: 'Disk', radius: 2.5 }), KernelLearnError);
  });

  test('named kernels and rotations', () => {
    assert.deepEqual(Array.from(buildImKernel({ name: 'Sobel', angle: 90 }).values), [1, 2, 1, 0, 0, 0, -1, -2, -1]); // showKernel Sobel:90
    assert.deepEqual(Array.from(buildImKernel({ name: 'Kirsch', angle: 45 }).values), [5, 5, -3, 5, 0, -3, -3, -3, -3]);
    const comet = buildImKernel({ name: 'Comet', width: 5, sigma: 2, angle: 90 });
    assert.deepEqual([comet.width, comet.height, comet.x, comet.y], [1, 5, 0, 0]);
    assert.ok(Math.abs(comet.values[0] - 0.371019) < 1e-6);
  });

  test('Sobel: ImageMagick convolves (flips the kernel), so the linear form is the x-derivative; negatives clip at 0', () => {
    const form = imageMagickLinearForm({ library: 'ImageMagick', op: '-morphology', method: 'Convolve', kernel: { name: 'Sobel' } });
    assert.deepEqual(Array.from(form.kernel.data), [-1, 0, 1, -2, 0, 2, -1, 0, 1]);
    assert.equal(form.edge, 'replicate');
    const ramp = toImage([0, 10, 20, 30, 30, 20, 10, 0], 1, 8, 1);
    const out = applyImageMagick(ramp, { library: 'ImageMagick', op: '-morphology', method: 'Convolve', kernel: { name: 'Sobel' } });
    assert.deepEqual(Array.from(out.data), [40, 80, 80, 40, 0, 0, 0, 0]);
  });

  test('quantum scaling: 257 v in; a PNG stores floor(q / 257), a PGM round(q / 257)', () => {
    for (let v = 0; v < 256; v++) assert.equal(scaleQuantumToChar(257 * v), v);
    for (let v = 0; v < 256; v++) assert.equal(quantumToPngByte(257 * v), v);
    assert.equal(scaleQuantumToChar(257 * 3 + 128), 3);
    assert.equal(scaleQuantumToChar(257 * 3 + 129), 4);
    assert.equal(quantumToPngByte(257 * 3 + 256), 3);
    // Unity:0.5 on v = 1: q = trunc(128.5 + 0.5) = 129; the PNG holds 0 (measured), a PGM 1.
    const out = applyImageMagick(toImage([1, 3], 1, 2, 1), { library: 'ImageMagick', op: '-morphology', method: 'Convolve', kernel: { name: 'Unity', scale: 0.5 } });
    assert.deepEqual(Array.from(out.data), [0, 1]);
  });

  test('callString: argv quoted as shlex.join', () => {
    const g: ImageMagickSpec = { library: 'ImageMagick', op: '-gaussian-blur', radius: 0, sigma: 1.5 };
    assert.equal(imageMagickCallString(g), 'convert in.png -gaussian-blur 0x1.5 out.png');
    assert.equal(imageMagickCallString({ library: 'ImageMagick', op: '-unsharp', radius: 0, sigma: 1, gain: 1, threshold: 0.05 }), 'convert in.png -unsharp 0x1+1+0.05 out.png');
    assert.equal(
      imageMagickCallString({ library: 'ImageMagick', op: '-morphology', method: 'Convolve', kernel: { name: 'Sobel', angle: 90 }, bias: 50 }),
      'convert in.png -define convolve:bias=50% -morphology Convolve Sobel:90 out.png',
    );
    assert.equal(
      imageMagickCallString({ library: 'ImageMagick', op: '-morphology', method: 'Convolve', kernel: { name: 'Square', radius: 1 }, scale: { normalize: '!' } }),
      "convert in.png -define 'convolve:scale=!' -morphology Convolve Square:1 out.png",
    );
    assert.equal(imKernelString({ name: 'User', width: 3, height: 3, values: [1, 2, 1, 2, 4, 2, 1, 2, 1] }), '3x3: 1,2,1,2,4,2,1,2,1');
    assert.equal(shellQuote("it's"), `'it'"'"'s'`);
  });
});

describe('for identify', () => {
  test('every call has a parameter space and a linear form', () => {
    const spaces = librarySearchSpaces();
    assert.ok(spaces.some((s) => s.library === 'Pillow' && s.fn === 'GaussianBlur'));
    assert.ok(spaces.some((s) => s.library === 'ImageMagick' && s.fn === '-gaussian-blur'));
    for (const c of manifest.cases) {
      const form = libraryLinearForm(c.spec);
      assert.equal(form.kernel.data.length, form.kernel.kh * form.kernel.kw);
      assert.ok(form.kernel.kh % 2 === 1 && form.kernel.kw % 2 === 1, `${c.call}: linear form must be centred`);
    }
  });

  test('a blur linear form sums to ~1', () => {
    const sum = (s: PillowSpec | ImageMagickSpec) => libraryLinearForm(s).kernel.data.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum({ library: 'Pillow', fn: 'GaussianBlur', radius: 2 }) - 1) < 1e-5);
    assert.ok(Math.abs(sum({ library: 'ImageMagick', op: '-blur', radius: 0, sigma: 2 }) - 1) < 1e-9);
  });
});

describe('linear forms marked exact reproduce the tool', () => {
  // Pillow sums in float32: where the exact sum is a .5 tie (DETAIL's /6, the 0.1-step kernel),
  // float32 noise decides the rounding, so the float64 form may differ by 1 there and only there.
  test('clamp(Q(offset + correlation)) with the stated edge equals apply on every golden input (but at exact .5 ties of Pillow kernels)', (t) => {
    let samples = 0;
    let differing = 0;
    let ties = 0;
    for (const c of manifest.cases) {
      const form = libraryLinearForm(c.spec);
      if (!form.exact) continue;
      const img = inputs.get(c.input)!;
      const got = applyLibraryCall(img, c.spec);
      const sum = correlate(img, form.kernel, { border: 'replicate', delta: form.offset });
      const { width: w, height: h } = img;
      const m = form.edge === 'kept' ? (w < form.kernel.kw || h < form.kernel.kh ? Infinity : form.margin) : 0;
      for (let i = 0; i < sum.data.length; i++) {
        const x = i % w;
        const y = Math.floor(i / w) % h;
        const inBand = x < m || y < m || x >= w - m || y >= h - m;
        const q = form.quantize === 'round' ? Math.floor(sum.data[i] + 0.5) : Math.floor(sum.data[i]);
        const want = inBand ? img.data[i] : Math.min(255, Math.max(0, q));
        samples++;
        if (want === got.data[i]) continue;
        const tie = c.library === 'Pillow' && Math.abs(sum.data[i] - Math.floor(sum.data[i]) - 0.5) < 1e-9 && Math.abs(want - got.data[i]) === 1;
        if (tie) ties++;
        else differing++;
      }
    }
    t.diagnostic(`linear forms: ${samples - differing - ties}/${samples} samples equal, ${ties} differ by 1 at an exact .5 tie (Pillow's float32 sum)`);
    assert.equal(differing, 0);
  });
});

/**
 * Exports checked by the runtimes that read them:
 *  - ONNX: the exported graph runs in onnxruntime-node (a devDependency) and matches applyModel within
 *    1e-4 relative, for every border, several sizes, batch 2, several model shapes and output stages;
 *  - safetensors: bit-exact round trip, the header as the spec says, and PyTorch's result on the
 *    committed fixtures (tools/check_safetensors_torch.py, which also checks PyTorch against OpenCV)
 *    equals applyModel;
 *  - the export command writes the same bytes.
 */

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { register } from '../src/cli/export.js';
import { KernelLearnError } from '../src/errors.js';
import { exportOnnx, onnxMinimumSize } from '../src/export/onnx.js';
import { exportSafetensors, parseSafetensors } from '../src/export/safetensors.js';
import { BORDER_MODES, type BorderMode } from '../src/filters/border.js';
import { parseNpy } from '../src/io/npy.js';
import { applyModel } from '../src/nn/apply.js';
import { curveLayers, type Curve } from '../src/nn/curve.js';
import { parseModel } from '../src/nn/model.js';
import type { Conv2dSpec, LayerSpec, Network } from '../src/nn/network.js';
import { createRng } from '../src/random.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/export');
const rng = createRng(606);

function conv(cin: number, cout: number, kh: number, kw: number, bias: boolean): Conv2dSpec {
  const r = (): number => Math.fround(rng() * 2 - 1);
  return {
    type: 'conv2d',
    inChannels: cin,
    outChannels: cout,
    kernelSize: [kh, kw],
    weights: Array.from({ length: cout }, () => Array.from({ length: cin }, () => Array.from({ length: kh }, () => Array.from({ length: kw }, r)))),
    bias: bias ? Array.from({ length: cout }, r) : null,
  };
}

/** A network to export, with a name for the messages. */
type Named = Network & { name: string };

function makeModel(name: string, layers: LayerSpec[], border: BorderMode, inputChannels: number, outputChannels: number): Named {
  return { name, inputChannels, outputChannels, border, layers };
}

/** Power curves on [0, 255], one per channel, with unevenly spaced knots (as fitted curves have). */
function curves(channels: number, gamma: number): Curve[] {
  return Array.from({ length: channels }, (_, c) => {
    const m = 12 + 4 * c;
    const knots = Array.from({ length: m }, (_, j) => Math.fround(255 * (j / (m - 1)) ** 1.5));
    return { knots, values: knots.map((t) => Math.fround(255 * (t / 255) ** gamma)) };
  });
}

/** Model shapes to export, each for every border. */
function models(border: BorderMode): Named[] {
  return [
    makeModel('1->1 3x3 bias', [conv(1, 1, 3, 3, true)], border, 1, 1),
    makeModel('3->3 5x5 no bias', [conv(3, 3, 5, 5, false)], border, 3, 3),
    makeModel('1->2 even 4x2 bias', [conv(1, 2, 4, 2, true)], border, 1, 2),
    makeModel('2->1 1x1', [conv(2, 1, 1, 1, true)], border, 2, 1),
    makeModel('1->1 1x3 row kernel', [conv(1, 1, 1, 3, true)], border, 1, 1),
    // The clamp bites at both ends for inputs 0..255 (magnitudes here run ~0..2400).
    makeModel(
      'deep: conv relu conv abs magnitude clamp',
      [conv(3, 4, 3, 3, true), { type: 'relu' }, conv(4, 4, 3, 3, false), { type: 'abs' }, { type: 'magnitude', groupSize: 2 }, { type: 'clamp', min: 300, max: 1200 }],
      border,
      3,
      2,
    ),
    makeModel('sobel magnitude: 1->2 3x3, magnitude of one group', [conv(1, 2, 3, 3, false), { type: 'magnitude', groupSize: 2 }], border, 1, 1),
    // --arch deep's shape: dilated 3x3 convs (Conv's dilations attribute, pads of each extent), then 1x1.
    makeModel(
      'CAN: 3x3 convs dilated 1, 2, 3, relu after each, then 1x1',
      [conv(1, 4, 3, 3, true), { type: 'relu' }, { ...conv(4, 4, 3, 3, true), dilation: 2 }, { type: 'relu' }, { ...conv(4, 4, 3, 3, true), dilation: 3 }, { type: 'relu' }, conv(4, 1, 1, 1, true)],
      border,
      1,
      1,
    ),
    // A curves model (train --arch curves): per-channel curves before and after the kernel, each a
    // 1x1 conv, a relu and a 1x1 conv, then the clamp of 8-bit targets.
    makeModel('curves: decode-like before, 3->3 5x5, encode-like after, clamp', [...curveLayers(curves(3, 2.2)), conv(3, 3, 5, 5, true), ...curveLayers(curves(3, 1 / 2.2)), { type: 'clamp', min: 0, max: 255 }], border, 3, 3),
  ];
}

/** The model of `models(border)` whose name starts with `name`. */
function testModel(border: BorderMode, name: string): Named {
  const m = models(border).find((x) => x.name.startsWith(name));
  if (!m) throw new Error(`no test model ${name}`);
  return m;
}

// ---------------------------------------------------------------------------------------------
// onnxruntime-node

interface OrtTensor {
  data: Float32Array;
  dims: readonly number[];
}
interface OrtSession {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(model: Uint8Array, options?: { logSeverityLevel?: number }): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => OrtTensor;
}

let ortPromise: Promise<Ort> | null = null;
/** onnxruntime-node, or a loud failure: these tests are the proof that the export works. */
function loadOrt(): Promise<Ort> {
  const name = 'onnxruntime-node'; // a variable, so tsc does not need the package to build this file
  ortPromise ??= import(name).then(
    (m) => (m.default ?? m) as Ort,
    (e: Error) => {
      throw new Error(`onnxruntime-node cannot be loaded (${e.message}); it is a devDependency: run npm install`);
    },
  );
  return ortPromise;
}

/** logSeverityLevel 4: onnxruntime prints nothing for the runs expected to fail. */
const QUIET = { logSeverityLevel: 4 };

function randomImages(n: number, c: number, h: number, w: number): Float32Array {
  return Float32Array.from({ length: n * c * h * w }, () => Math.fround(rng() * 255));
}

/** max |a - b| / max |b|: the error relative to the output's scale (elementwise ratios blow up near 0). */
function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? err : err / scale;
}

/** applyModel on each image of a batch, concatenated as [N, Cout, H, W]. */
function applyBatch(model: Network, data: Float32Array, n: number, h: number, w: number): Float32Array {
  const inSize = model.inputChannels * h * w;
  const out = new Float32Array(n * model.outputChannels * h * w);
  for (let k = 0; k < n; k++) {
    const image = { width: w, height: h, channels: model.inputChannels, depth: 'f32' as const, data: data.subarray(k * inSize, (k + 1) * inSize) };
    out.set(applyModel(model, image).data, k * model.outputChannels * h * w);
  }
  return out;
}

const SIZES: [number, number][] = [[1, 1], [2, 3], [1, 9], [9, 1], [8, 5], [33, 17], [64, 64]]; // [height, width]

test('ONNX export runs in onnxruntime-node and matches applyModel within 1e-4 for every border, size and model', async (t) => {
  const ort = await loadOrt();
  const worst: string[] = [];
  for (const border of BORDER_MODES) {
    let borderWorst = 0;
    for (const model of models(border)) {
      const session = await ort.InferenceSession.create(exportOnnx(model), QUIET);
      assert.deepEqual(session.inputNames, ['input']);
      assert.deepEqual(session.outputNames, ['output']);
      const min = onnxMinimumSize(model);
      if (border === 'constant' || border === 'replicate') assert.deepEqual(min, { height: 1, width: 1 }, 'constant and replicate are exact at any size');
      // Every size at or above the limit, and the limit itself (the smallest size claimed to be exact).
      const sizes = [...SIZES, [min.height, min.width] as [number, number]].filter(([h, w]) => h >= min.height && w >= min.width);
      for (const [h, w] of sizes) {
        const n = 2;
        const input = randomImages(n, model.inputChannels, h, w);
        const result = await session.run({ input: new ort.Tensor('float32', input, [n, model.inputChannels, h, w]) });
        assert.deepEqual([...result.output.dims], [n, model.outputChannels, h, w], `${border} ${model.name} ${h}x${w}: output shape`);
        const rel = relError(result.output.data, applyBatch(model, input, n, h, w));
        assert.ok(rel <= 1e-4, `${border} ${model.name} ${h}x${w} (HxW): relative error ${rel}`);
        borderWorst = Math.max(borderWorst, rel);
      }
      await session.release();
    }
    worst.push(`${border} ${borderWorst.toExponential(2)}`);
  }
  t.diagnostic(`max relative error ONNX vs applyModel per border: ${worst.join(', ')}`);
});

test('ONNX limit: below onnxMinimumSize reflect101 fails loudly in onnxruntime instead of answering wrong', async () => {
  const ort = await loadOrt();
  const model = makeModel('1->1 5x5', [conv(1, 1, 5, 5, true)], 'reflect101', 1, 1);
  assert.deepEqual(onnxMinimumSize(model), { height: 3, width: 3 });
  assert.deepEqual(onnxMinimumSize({ ...model, border: 'reflect' }), { height: 2, width: 2 });
  assert.deepEqual(onnxMinimumSize({ ...model, border: 'wrap' }), { height: 2, width: 2 });
  const session = await ort.InferenceSession.create(exportOnnx(model), QUIET);
  await assert.rejects(session.run({ input: new ort.Tensor('float32', randomImages(1, 1, 2, 8), [1, 1, 2, 8]) }));
  await session.release();
});

test('ONNX export: deterministic bytes, producer and opset in the file', () => {
  const model = testModel('reflect101', 'deep');
  const a = exportOnnx(model);
  const b = exportOnnx(structuredClone(model));
  assert.deepEqual(a, b);
  const text = Buffer.from(a).toString('latin1');
  assert.ok(text.includes('kernel-learn'));
  // opset_import { domain "" version 19 }: field 8, length 4, (1:"") (2:19)
  assert.ok(Buffer.from(a).includes(Buffer.from([0x42, 0x04, 0x0a, 0x00, 0x10, 19])));
});

test('ONNX export refuses a model whose channels do not chain', () => {
  const model = makeModel('bad', [conv(2, 1, 3, 3, true)], 'reflect101', 1, 1);
  assert.throws(() => exportOnnx(model), KernelLearnError);
});

// ---------------------------------------------------------------------------------------------
// safetensors

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

test('safetensors: one conv gives "weight" and "bias", bit-exact round trip', () => {
  const model = testModel('reflect', '1->1 3x3');
  const l = model.layers[0] as Conv2dSpec;
  const st = parseSafetensors(exportSafetensors(model));
  assert.deepEqual([...st.tensors.keys()], ['weight', 'bias']);
  assert.deepEqual(st.tensors.get('weight')!.shape, [1, 1, 3, 3]);
  assert.deepEqual(bits(st.tensors.get('weight')!.data), bits(Float32Array.from(l.weights.flat(3))));
  assert.deepEqual(bits(st.tensors.get('bias')!.data), bits(Float32Array.from(l.bias!)));
  assert.equal(st.metadata.format, 'kernel-learn');
  assert.equal(st.metadata.border, 'reflect');
  assert.equal(st.metadata.torch_pad_mode, 'symmetric');
  assert.deepEqual(JSON.parse(st.metadata.layers)[0].torch_pad, [1, 1, 1, 1]);
  // No bias: no "bias" tensor, so Conv2d(..., bias=False) loads it strictly.
  assert.deepEqual([...parseSafetensors(exportSafetensors(testModel('constant', '3->3'))).tensors.keys()], ['weight']);
});

test('safetensors: deeper models use nn.Sequential names "<layer index>.weight"', () => {
  const model = testModel('wrap', 'deep');
  const st = parseSafetensors(exportSafetensors(model));
  assert.deepEqual([...st.tensors.keys()], ['0.weight', '0.bias', '2.weight']);
  assert.deepEqual(bits(st.tensors.get('2.weight')!.data), bits(Float32Array.from((model.layers[2] as Conv2dSpec).weights.flat(3))));
  assert.equal(st.metadata.torch_pad_mode, 'circular');
  const layers = JSON.parse(st.metadata.layers);
  assert.deepEqual(layers.map((l: { type: string }) => l.type), ['conv2d', 'relu', 'conv2d', 'abs', 'magnitude', 'clamp']);
  assert.deepEqual(layers[5], { type: 'clamp', min: 300, max: 1200 });
});

test('safetensors: the file layout is the spec: u64 LE header length, space-padded JSON, contiguous data', () => {
  const model = testModel('replicate', '1->2 even');
  const bytes = exportSafetensors(model);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  assert.equal(n % 8, 0, 'data starts 8-byte aligned');
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert.match(text, /^\{.*\} *$/s);
  const header = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const { __metadata__: metadata, ...tensors } = header as unknown as Record<string, never>;
  assert.ok(Object.values(metadata as Record<string, unknown>).every((v) => typeof v === 'string'), 'metadata values are strings');
  let end = 0;
  for (const [name, t] of Object.entries(tensors) as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][]) {
    assert.equal(t.dtype, 'F32', name);
    assert.equal(t.data_offsets[0], end, `${name} starts where the previous ends`);
    assert.equal(t.data_offsets[1] - t.data_offsets[0], 4 * t.shape.reduce((a, b) => a * b, 1));
    end = t.data_offsets[1];
  }
  assert.equal(bytes.length, 8 + n + end);
  assert.deepEqual(header.weight.shape, [2, 1, 4, 2]);
  // Little-endian float32 data: the first weight's bytes.
  assert.equal(view.getFloat32(8 + n, true), (model.layers[0] as Conv2dSpec).weights[0][0][0][0]);
  assert.deepEqual(exportSafetensors(structuredClone(model)), bytes, 'deterministic bytes');
});

test('parseSafetensors rejects broken files with one-line errors', () => {
  const good = exportSafetensors(testModel('reflect101', '1->1 3x3'));
  assert.throws(() => parseSafetensors(good.subarray(0, 5), 'x.safetensors'), /x\.safetensors: not a valid safetensors file/);
  assert.throws(() => parseSafetensors(good.subarray(0, good.length - 4)), /do not cover/);
  const long = new Uint8Array([...good, 0, 0, 0, 0]);
  assert.throws(() => parseSafetensors(long), /do not cover/);
  const badHeader = good.slice();
  badHeader[8] = 0x5b; // '[' : not an object
  assert.throws(() => parseSafetensors(badHeader), KernelLearnError);
});

test('safetensors fixtures: committed files are what we export, and applyModel equals PyTorch (tools/check_safetensors_torch.py)', (t) => {
  const model = parseModel(readFileSync(path.join(FIXTURES, 'model.json'), 'utf8'), 'model.json');
  const input = parseNpy(new Uint8Array(readFileSync(path.join(FIXTURES, 'input.npy'))));
  const [, c, h, w] = input.shape;
  const report: string[] = [];
  for (const border of BORDER_MODES) {
    const m = { ...model, border };
    const committed = new Uint8Array(readFileSync(path.join(FIXTURES, `model_${border}.safetensors`)));
    assert.deepEqual(exportSafetensors(m), committed, `model_${border}.safetensors is exportSafetensors' output (rerun the python tool after a format change)`);
    const torch = parseNpy(new Uint8Array(readFileSync(path.join(FIXTURES, `torch_${border}.npy`))));
    assert.deepEqual(torch.shape, [1, model.outputChannels, h, w]);
    const ours = applyModel(m, { width: w, height: h, channels: c, depth: 'f32', data: input.data as Float32Array });
    const rel = relError(ours.data, torch.data as Float32Array);
    assert.ok(rel <= 1e-5, `${border}: applyModel vs PyTorch relative error ${rel}`);
    report.push(`${border} ${rel.toExponential(2)}`);
  }
  t.diagnostic(`max relative error applyModel vs PyTorch per border: ${report.join(', ')}`);
});

test('safetensors: a curves model (a real fit) is what we export, and applyModel equals PyTorch running its metadata (tools/check_safetensors_torch.py)', (t) => {
  const model = parseModel(readFileSync(path.join(FIXTURES, 'curves_model.json'), 'utf8'), 'curves_model.json');
  assert.equal(model.arch, 'curves');
  const committed = new Uint8Array(readFileSync(path.join(FIXTURES, 'curves_model.safetensors')));
  assert.deepEqual(exportSafetensors(model), committed, 'curves_model.safetensors is exportSafetensors\' output');
  const input = parseNpy(new Uint8Array(readFileSync(path.join(FIXTURES, 'input.npy'))));
  const [, c, h, w] = input.shape;
  const torch = parseNpy(new Uint8Array(readFileSync(path.join(FIXTURES, 'torch_curves.npy'))));
  assert.deepEqual(torch.shape, [1, model.outputChannels, h, w]);
  const ours = applyModel(model, { width: w, height: h, channels: c, depth: 'f32', data: input.data as Float32Array });
  const rel = relError(ours.data, torch.data as Float32Array);
  assert.ok(rel <= 1e-5, `curves model: applyModel vs PyTorch relative error ${rel}`);
  t.diagnostic(`curves model: applyModel vs PyTorch relative error ${rel.toExponential(2)}`);
});

// ---------------------------------------------------------------------------------------------
// The export command

async function runExport(args: string[]): Promise<void> {
  const program = new Command('kernel-learn').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(program);
  const stderr = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write; // silence the notice
  try {
    await program.parseAsync(['export', ...args], { from: 'user' });
  } finally {
    process.stderr.write = stderr;
  }
}

test('export command: writes the library bytes; format from --format or the extension', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kl-export-'));
  const modelFile = path.join(FIXTURES, 'model.json');
  const model = parseModel(readFileSync(modelFile, 'utf8'), modelFile);
  const onnx = path.join(dir, 'a.onnx');
  await runExport([modelFile, '--format', 'onnx', '--out', onnx]);
  assert.deepEqual(new Uint8Array(readFileSync(onnx)), exportOnnx(model));
  const st = path.join(dir, 'b.safetensors');
  await runExport([modelFile, '--out', st]);
  assert.deepEqual(new Uint8Array(readFileSync(st)), exportSafetensors(model));
  const odd = path.join(dir, 'weights.bin');
  await runExport([modelFile, '--format', 'safetensors', '--out', odd]);
  assert.deepEqual(new Uint8Array(readFileSync(odd)), exportSafetensors(model));
});

test('export command: one-line errors for an unknown format, a missing model, an unwritable path', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kl-export-'));
  const modelFile = path.join(FIXTURES, 'model.json');
  await assert.rejects(runExport([modelFile, '--out', path.join(dir, 'x.bin')]), (e: KernelLearnError) => e.exitCode === 2 && /--format onnx/.test(e.message));
  await assert.rejects(runExport([modelFile, '--format', 'tflite']), /Allowed choices are onnx, safetensors/);
  await assert.rejects(runExport([path.join(dir, 'missing.json'), '--format', 'onnx']), (e: KernelLearnError) => e.exitCode === 1 && /cannot read the model file/.test(e.message));
  await assert.rejects(runExport([modelFile, '--out', path.join(dir, 'no/such/dir/m.onnx')]), (e: KernelLearnError) => e.exitCode === 1 && /cannot write the onnx file/.test(e.message));
});

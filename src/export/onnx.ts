/**
 * Export a model to ONNX, written by our own few-line protobuf encoder (no dependency).
 *
 * The graph reproduces applyModel: input "input" float32 [N, C, H, W] (N, H, W dynamic), and for
 * each conv the model's border as explicit padding followed by a 'valid' Conv, so the output
 * "output" [N, Cout, H, W] has the input's size. Borders:
 *   reflect101 -> Pad mode "reflect"   (ONNX/numpy reflect excludes the edge sample: gfedcb|abcdefgh)
 *   replicate  -> Pad mode "edge"
 *   constant   -> Pad mode "constant" (0)
 *   wrap       -> Pad mode "wrap"      (new in opset 19, hence the opset)
 *   reflect    -> Slice (reversed) + Concat: ONNX has no mode repeating the edge sample (fedcba|abcdefgh)
 * Output stages: relu -> Relu, abs -> Abs, clamp -> Clip, magnitude -> ReduceSumSquare over each
 * group of channels (Split first when there are several groups) then Sqrt.
 *
 * Limit: OpenCV reflects again and again when the border is wider than the image; ONNX padding does
 * not. For reflect101, reflect and wrap the export is exact when every image side is at least
 * (kernel size along it) / 2 + 1 (see onnxMinimumSize); constant and replicate are exact at any size.
 *
 * The bytes are deterministic: the same model always gives the same file.
 */

import { KernelLearnError } from '../errors.js';
import type { BorderMode } from '../filters/border.js';
import { alignedCrop, edgeRing, type Margins } from '../nn/alignment.js';
import { KERNEL_LEARN_VERSION, type Arch, type ModelAlignment } from '../nn/model.js';
import { convExtent, dilationOf, type Conv2dSpec, type Network } from '../nn/network.js';

export const ONNX_OPSET = 19;
/** IR version 9 is the one that goes with opset 19 (ONNX 1.14). */
export const ONNX_IR_VERSION = 9;

// ---------------------------------------------------------------------------------------------
// Protobuf wire format: every field is a key (field number << 3 | wire type) then the value.
// Wire type 0 = varint, 2 = length-delimited (strings, bytes, nested messages).

type Bytes = Uint8Array;

const encoder = new TextEncoder();

function varint(value: number | bigint): number[] {
  // int64 fields encode negatives as their 64-bit two's complement (10 bytes).
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function concat(parts: Bytes[]): Bytes {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A varint field. */
function int(field: number, value: number | bigint): Bytes {
  return Uint8Array.from([...varint((field << 3) | 0), ...varint(value)]);
}

/** A length-delimited field: bytes, a string or a nested message (given as its parts). */
function bytes(field: number, value: Bytes | string | Bytes[]): Bytes {
  const data = typeof value === 'string' ? encoder.encode(value) : Array.isArray(value) ? concat(value) : value;
  return concat([Uint8Array.from([...varint((field << 3) | 2), ...varint(data.length)]), data]);
}

// Field numbers from onnx/onnx.proto.
const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9 };
const DTYPE_FLOAT = 1;
const DTYPE_INT64 = 7;
const ATTR = { name: 1, i: 3, s: 4, ints: 8, type: 20 };
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_INTS = 7;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 };
const GRAPH = { node: 1, name: 2, initializer: 5, docString: 10, input: 11, output: 12 };
const MODEL = { irVersion: 1, producerName: 2, producerVersion: 3, docString: 6, graph: 7, opsetImport: 8, metadataProps: 14 };

type Attr = { name: string; int: number } | { name: string; string: string } | { name: string; ints: number[] };

function attribute(a: Attr): Bytes {
  if ('ints' in a) return concat([bytes(ATTR.name, a.name), ...a.ints.map((v) => int(ATTR.ints, v)), int(ATTR.type, ATTR_INTS)]);
  return 'int' in a
    ? concat([bytes(ATTR.name, a.name), int(ATTR.i, a.int), int(ATTR.type, ATTR_INT)])
    : concat([bytes(ATTR.name, a.name), bytes(ATTR.s, a.string), int(ATTR.type, ATTR_STRING)]);
}

function tensorProto(name: string, dataType: number, dims: number[], raw: Bytes): Bytes {
  return concat([...dims.map((d) => int(TENSOR.dims, d)), int(TENSOR.dataType, dataType), bytes(TENSOR.name, name), bytes(TENSOR.rawData, raw)]);
}

/** ValueInfoProto for a float tensor; a string dim is symbolic (dim_param), a number fixed (dim_value). */
function valueInfo(name: string, dims: (number | string)[]): Bytes {
  const shape = dims.map((d) => bytes(1, [typeof d === 'number' ? int(1, d) : bytes(2, d)])); // TensorShapeProto.dim
  const tensorType = [int(1, DTYPE_FLOAT), bytes(2, shape)]; // TypeProto.Tensor: elem_type, shape
  return concat([bytes(1, name), bytes(2, [bytes(1, tensorType)])]); // ValueInfoProto: name, type { tensor_type }
}

/** Raw little-endian data, whatever the platform's byte order. */
function float32Raw(values: number[]): Bytes {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return new Uint8Array(view.buffer);
}

function int64Raw(values: (number | bigint)[]): Bytes {
  const view = new DataView(new ArrayBuffer(values.length * 8));
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return new Uint8Array(view.buffer);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

// ---------------------------------------------------------------------------------------------
// Graph building

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Attr[];
}

class Graph {
  readonly nodes: Node[] = [];
  readonly initializers: Bytes[] = [];

  node(op: string, inputs: string[], output: string, attrs: Attr[] = []): string {
    this.nodes.push({ op, inputs, outputs: [output], attrs });
    return output;
  }

  floats(name: string, dims: number[], values: number[]): string {
    this.initializers.push(tensorProto(name, DTYPE_FLOAT, dims, float32Raw(values)));
    return name;
  }

  int64s(name: string, values: (number | bigint)[]): string {
    this.initializers.push(tensorProto(name, DTYPE_INT64, [values.length], int64Raw(values)));
    return name;
  }
}

/** Padding of a conv as applyModel does it: the anchor at kh>>1, kw>>1 of its extent (so even kernels pad one less after). */
function convPads(l: Conv2dSpec): { top: number; bottom: number; left: number; right: number } {
  const [kh, kw] = convExtent(l);
  return { top: kh >> 1, bottom: kh - 1 - (kh >> 1), left: kw >> 1, right: kw - 1 - (kw >> 1) };
}

const PAD_MODE: Record<Exclude<BorderMode, 'reflect'>, string> = { reflect101: 'reflect', replicate: 'edge', constant: 'constant', wrap: 'wrap' };

/** x padded by `pads` with OpenCV's `border`; returns the padded value's name. */
function pad(g: Graph, x: string, p: ReturnType<typeof convPads>, border: BorderMode, prefix: string): string {
  if (p.top + p.bottom + p.left + p.right === 0) return x;
  if (border !== 'reflect') {
    // Pad's pads: [begin of each axis..., end of each axis...] for axes N, C, H, W.
    const pads = g.int64s(`${prefix}.pads`, [0, 0, p.top, p.left, 0, 0, p.bottom, p.right]);
    return g.node('Pad', [x, pads], `${prefix}.padded`, [{ name: 'mode', string: PAD_MODE[border] }]);
  }
  // Symmetric padding along one axis: the first `before` samples reversed, x, the last `after` reversed.
  // A reversing Slice reads starts down to (not including) ends; INT64_MIN means "through index 0".
  const axisPad = (input: string, axis: number, before: number, after: number, name: string): string => {
    if (before + after === 0) return input;
    const axes = g.int64s(`${name}.axes`, [axis]);
    const step = g.int64s(`${name}.step`, [-1]);
    const parts = [input];
    if (before > 0) {
      const starts = g.int64s(`${name}.before.starts`, [before - 1]);
      const ends = g.int64s(`${name}.before.ends`, [INT64_MIN]);
      parts.unshift(g.node('Slice', [input, starts, ends, axes, step], `${name}.before`));
    }
    if (after > 0) {
      const starts = g.int64s(`${name}.after.starts`, [-1]);
      const ends = g.int64s(`${name}.after.ends`, [-1 - after]);
      parts.push(g.node('Slice', [input, starts, ends, axes, step], `${name}.after`));
    }
    return g.node('Concat', parts, `${name}.padded`, [{ name: 'axis', int: axis }]);
  };
  const rows = axisPad(x, 2, p.top, p.bottom, `${prefix}.h`);
  return axisPad(rows, 3, p.left, p.right, `${prefix}.w`);
}

/**
 * The output `x` with its outer ring (`ring` pixels on each side) taken from the network's input
 * `input` instead (edge 'kept', see nn/network.ts): rows above and below from the input, and in
 * between the input's left and right columns around the output's core.
 */
function keepRing(g: Graph, input: string, x: string, ring: Margins): string {
  const slice = (v: string, axis: number, start: number, end: number | bigint, name: string): string =>
    g.node('Slice', [v, g.int64s(`${name}.starts`, [start]), g.int64s(`${name}.ends`, [end]), g.int64s(`${name}.axes`, [axis])], name);
  const concat = (parts: string[], axis: number, name: string): string => (parts.length === 1 ? parts[0] : g.node('Concat', parts, name, [{ name: 'axis', int: axis }]));
  const untilEnd = (n: number): number | bigint => (n > 0 ? -n : INT64_MAX);
  // The middle rows: the input's left columns, the output's core, the input's right columns.
  const outRows = slice(x, 2, ring.top, untilEnd(ring.bottom), 'edge.out.rows');
  const inRows = ring.left + ring.right > 0 ? slice(input, 2, ring.top, untilEnd(ring.bottom), 'edge.in.rows') : '';
  const middle = concat([
    ...(ring.left > 0 ? [slice(inRows, 3, 0, ring.left, 'edge.left')] : []),
    slice(outRows, 3, ring.left, untilEnd(ring.right), 'edge.core'),
    ...(ring.right > 0 ? [slice(inRows, 3, -ring.right, INT64_MAX, 'edge.right')] : []),
  ], 3, 'edge.middle');
  return concat([
    ...(ring.top > 0 ? [slice(input, 2, 0, ring.top, 'edge.top')] : []),
    middle,
    ...(ring.bottom > 0 ? [slice(input, 2, -ring.bottom, INT64_MAX, 'edge.bottom')] : []),
  ], 2, 'edge.joined');
}

/**
 * The smallest image (height, width) the exported graph reproduces applyModel for. Below it
 * OpenCV's border reflects more than once while ONNX padding cannot (onnxruntime errors or differs).
 */
export function onnxMinimumSize(model: Network & { alignment?: ModelAlignment }): { height: number; width: number } {
  let height = 1;
  let width = 1;
  // An aligned model's input is padded once more, with the same rule, before the first conv.
  const { grow } = alignedCrop(model);
  const extra0 = model.border === 'reflect101' ? 1 : model.border === 'reflect' || model.border === 'wrap' ? 0 : -Infinity;
  if (grow) {
    height = Math.max(height, Math.max(grow.top, grow.bottom) + extra0);
    width = Math.max(width, Math.max(grow.left, grow.right) + extra0);
  }
  for (const l of model.layers) {
    if (l.type !== 'conv2d') continue;
    const p = convPads(l);
    // reflect101 needs pad <= size - 1; reflect (our Slice) and wrap need pad <= size.
    const extra = model.border === 'reflect101' ? 1 : model.border === 'reflect' || model.border === 'wrap' ? 0 : -Infinity;
    height = Math.max(height, Math.max(p.top, p.bottom) + extra);
    width = Math.max(width, Math.max(p.left, p.right) + extra);
  }
  return { height, width };
}

export function exportOnnx(model: Network & { arch?: Arch; alignment?: ModelAlignment }): Uint8Array {
  // A bare Network (no file record) says so where a model names its arch.
  const arch = model.arch ?? 'network';
  const g = new Graph();
  // A model aligned to targets of another size: the input grown first, the output cut last (apply.ts alignedCrop).
  const crop = alignedCrop(model);
  let x = crop.grow ? pad(g, 'input', crop.grow, model.border, 'align') : 'input';
  const source = x; // what the layers see: an edge 'kept' takes its ring from it
  let channels = model.inputChannels;
  model.layers.forEach((l, i) => {
    const prefix = String(i);
    switch (l.type) {
      case 'conv2d': {
        if (l.inChannels !== channels) throw new KernelLearnError(`cannot export: layers[${i}] takes ${l.inChannels} channels but receives ${channels}`);
        const padded = pad(g, x, convPads(l), model.border, prefix);
        const w = g.floats(`${prefix}.weight`, [l.outChannels, l.inChannels, ...l.kernelSize], l.weights.flat(3));
        const inputs = l.bias ? [padded, w, g.floats(`${prefix}.bias`, [l.outChannels], l.bias)] : [padded, w];
        // No pads attribute: a 'valid' conv over the padded input (kernel_shape comes from the weight).
        const d = dilationOf(l);
        x = g.node('Conv', inputs, `${prefix}.conv`, d > 1 ? [{ name: 'dilations', ints: [d, d] }] : []);
        channels = l.outChannels;
        break;
      }
      case 'relu':
        x = g.node('Relu', [x], `${prefix}.relu`);
        break;
      case 'abs':
        x = g.node('Abs', [x], `${prefix}.abs`);
        break;
      case 'clamp': {
        const lo = g.floats(`${prefix}.min`, [], [l.min]);
        const hi = g.floats(`${prefix}.max`, [], [l.max]);
        x = g.node('Clip', [x, lo, hi], `${prefix}.clamp`);
        break;
      }
      case 'magnitude': {
        const groups = channels / l.groupSize;
        if (!Number.isInteger(groups)) throw new KernelLearnError(`cannot export: layers[${i}]: ${channels} channels do not split into groups of ${l.groupSize}`);
        const axes = g.int64s(`${prefix}.axes`, [1]);
        let parts = [x];
        if (groups > 1) {
          const sizes = g.int64s(`${prefix}.split`, new Array(groups).fill(l.groupSize));
          parts = Array.from({ length: groups }, (_, k) => `${prefix}.group${k}`);
          g.nodes.push({ op: 'Split', inputs: [x, sizes], outputs: parts, attrs: [{ name: 'axis', int: 1 }] });
        }
        const sums = parts.map((p, k) => g.node('ReduceSumSquare', [p, axes], `${prefix}.sumsq${groups > 1 ? k : ''}`, [{ name: 'keepdims', int: 1 }]));
        const sum = groups > 1 ? g.node('Concat', sums, `${prefix}.sumsq`, [{ name: 'axis', int: 1 }]) : sums[0];
        x = g.node('Sqrt', [sum], `${prefix}.magnitude`);
        channels = groups;
        break;
      }
    }
  });
  if (channels !== model.outputChannels) throw new KernelLearnError(`cannot export: the layers produce ${channels} channels but outputChannels is ${model.outputChannels}`);
  if (model.edge === 'kept') x = keepRing(g, source, x, edgeRing(model));
  if (crop.start.some((v) => v !== 0) || crop.end.some((v) => v !== 0)) {
    // Ends are offsets from each axis' end (0: through the end, which Slice spells INT64_MAX).
    const starts = g.int64s('align.starts', crop.start);
    const ends = g.int64s('align.ends', crop.end.map((e): number | bigint => (e === 0 ? INT64_MAX : e)));
    x = g.node('Slice', [x, starts, ends, g.int64s('align.axes', [2, 3])], 'align.cropped');
  }

  // The last value becomes the graph output "output" (an input-only model gets an Identity).
  if (x === 'input') x = g.node('Identity', [x], 'identity');
  const last = x;
  const nodes = g.nodes.map((n, k) => {
    const outputs = n.outputs.map((o) => (o === last ? 'output' : o));
    return bytes(GRAPH.node, [
      ...n.inputs.map((s) => bytes(NODE.input, s)),
      ...outputs.map((s) => bytes(NODE.output, s)),
      bytes(NODE.name, `${n.op}_${k}`),
      bytes(NODE.opType, n.op),
      ...n.attrs.map((a) => bytes(NODE.attribute, attribute(a))),
    ]);
  });
  const graph = [
    ...nodes,
    bytes(GRAPH.name, 'kernel-learn'),
    ...g.initializers.map((t) => bytes(GRAPH.initializer, t)),
    bytes(GRAPH.docString, `${arch}; border ${model.border}`),
    bytes(GRAPH.input, valueInfo('input', ['N', model.inputChannels, 'H', 'W'])),
    bytes(GRAPH.output, valueInfo('output', ['N', model.outputChannels, 'H', 'W'])),
  ];
  const min = onnxMinimumSize(model);
  const metadata: [string, string][] = [
    ['border', model.border],
    ['arch', arch],
    ['minimum_size', `${min.width}x${min.height}`], // width x height, as the CLI writes sizes
  ];
  return concat([
    int(MODEL.irVersion, ONNX_IR_VERSION),
    bytes(MODEL.producerName, 'kernel-learn'),
    bytes(MODEL.producerVersion, KERNEL_LEARN_VERSION),
    bytes(MODEL.docString, `kernel-learn model: ${arch}, border ${model.border} (OpenCV semantics); exact for images of at least ${min.width}x${min.height} (width x height)`),
    bytes(MODEL.graph, graph),
    bytes(MODEL.opsetImport, [bytes(1, ''), int(2, ONNX_OPSET)]),
    ...metadata.map(([k, v]) => bytes(MODEL.metadataProps, [bytes(1, k), bytes(2, v)])),
  ]);
}

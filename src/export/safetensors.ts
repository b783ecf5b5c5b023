/**
 * Export a model's weights as safetensors (Hugging Face's format, readable by PyTorch without pickle;
 * the container is written by io/safetensors.ts):
 *   8 bytes   N, the header length, u64 little-endian
 *   N bytes   JSON header: {"__metadata__": {string: string}, "<name>": {"dtype": "F32", "shape": [...],
 *             "data_offsets": [begin, end]}, ...}, padded with spaces so the data starts 8-byte aligned
 *   the rest  the tensors' bytes back to back, little-endian, row-major, offsets relative to here
 *
 * Names: a model with one conv writes "weight" [out, in, kh, kw] and "bias" [out], so
 * torch.nn.Conv2d(in, out, (kh, kw)).load_state_dict(...) takes them as they are. A model with more
 * convs writes "<layer index>.weight" / "<layer index>.bias" (layer index in model.layers), as an
 * nn.Sequential with one module per layer would name them. The border and the layer list (which
 * PyTorch cannot take from a state dict) are in __metadata__, whose values are strings by the spec.
 * The bytes are deterministic.
 */

import { KernelLearnError } from '../errors.js';
import { encodeSafetensors } from '../io/safetensors.js';
import type { BorderMode } from '../filters/border.js';
import { KERNEL_LEARN_VERSION, type Arch, type ModelAlignment } from '../nn/model.js';
import { convExtent, dilationOf, type Network } from '../nn/network.js';

export interface SafetensorsTensor {
  dtype: 'F32';
  shape: number[];
  data: Float32Array;
}

export interface Safetensors {
  metadata: Record<string, string>;
  /** In file order. */
  tensors: Map<string, SafetensorsTensor>;
}

/**
 * torch.nn.functional.pad's mode for each border. OpenCV's reflect (edge sample repeated) has no
 * torch mode: it is numpy's "symmetric", done in torch by flipping and concatenating (docs/export.md).
 */
export const TORCH_PAD_MODE: Record<BorderMode, string> = {
  reflect101: 'reflect',
  replicate: 'replicate',
  constant: 'constant',
  wrap: 'circular',
  reflect: 'symmetric',
};

export function exportSafetensors(model: Network & { arch?: Arch; alignment?: ModelAlignment }): Uint8Array {
  const convs = model.layers.flatMap((l, i) => (l.type === 'conv2d' ? [{ l, i }] : []));
  const tensors: [string, number[], number[]][] = [];
  for (const { l, i } of convs) {
    const prefix = convs.length === 1 ? '' : `${i}.`;
    tensors.push([`${prefix}weight`, [l.outChannels, l.inChannels, ...l.kernelSize], l.weights.flat(3)]);
    if (l.bias) tensors.push([`${prefix}bias`, [l.outChannels], l.bias]);
  }
  // The layers without their weights (those are the tensors). torch_pad is F.pad's [left, right,
  // top, bottom] for the anchor at (kh>>1, kw>>1) of the kernel's extent, so even kernels pad one
  // less after than before; a dilated conv says its dilation (torch's conv2d dilation argument).
  const layers = model.layers.map((l) => {
    if (l.type !== 'conv2d') return l;
    const [kh, kw] = convExtent(l);
    const torchPad = [kw >> 1, kw - 1 - (kw >> 1), kh >> 1, kh - 1 - (kh >> 1)];
    const dilation = dilationOf(l) > 1 ? { dilation: dilationOf(l) } : {};
    return { type: l.type, inChannels: l.inChannels, outChannels: l.outChannels, kernelSize: l.kernelSize, ...dilation, bias: l.bias !== null, torch_pad: torchPad };
  });
  const metadata: Record<string, string> = {
    format: 'kernel-learn',
    kernel_learn_version: KERNEL_LEARN_VERSION,
    arch: model.arch ?? 'network',
    border: model.border,
    torch_pad_mode: TORCH_PAD_MODE[model.border],
    // Beyond one conv: the output's ring is the input's own ('kept'), or the output another size (alignment).
    ...(model.edge ? { edge: model.edge } : {}),
    ...(model.alignment ? { alignment: JSON.stringify(model.alignment) } : {}),
    layers: JSON.stringify(layers),
  };
  return encodeSafetensors(metadata, tensors.map(([name, shape, data]) => ({ name, dtype: 'F32', shape, data })));
}

/** Reads a safetensors file (F32 tensors only, which is all kernel-learn writes), checking the offsets as the reference reader does. */
export function parseSafetensors(bytes: Uint8Array, file = '<buffer>'): Safetensors {
  const fail = (what: string): never => {
    throw new KernelLearnError(`${file}: not a valid safetensors file: ${what}`);
  };
  if (bytes.length < 8) fail('shorter than its 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) fail(`header length ${n} runs past the end of the file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + Number(n))));
  } catch (e) {
    fail(`header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail('header is not a JSON object');
  const dataStart = 8 + Number(n);
  const metadata: Record<string, string> = {};
  const entries: [string, { dtype: string; shape: number[]; begin: number; end: number }][] = [];
  for (const [name, value] of Object.entries(header)) {
    const v = value as Record<string, unknown>;
    if (name === '__metadata__') {
      for (const [k, s] of Object.entries(v ?? {})) {
        if (typeof s !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = s as string;
      }
      continue;
    }
    const shape = v?.shape;
    const offsets = v?.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`${name}: bad shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isInteger(d) && d >= 0)) fail(`${name}: bad data_offsets`);
    entries.push([name, { dtype: String(v.dtype), shape: shape as number[], begin: (offsets as number[])[0], end: (offsets as number[])[1] }]);
  }
  // The spec: tensors tile the data buffer exactly, without gaps or overlaps, in offset order.
  const sorted = [...entries].sort((a, b) => a[1].begin - b[1].begin);
  let expected = 0;
  for (const [name, t] of sorted) {
    if (t.begin !== expected) fail(`${name}: data_offsets leave a gap or overlap`);
    if (t.dtype !== 'F32') fail(`${name}: dtype ${t.dtype} (kernel-learn reads F32 only)`);
    if (t.end - t.begin !== 4 * t.shape.reduce((a, b) => a * b, 1)) fail(`${name}: data_offsets do not match shape ${JSON.stringify(t.shape)}`);
    expected = t.end;
  }
  if (dataStart + expected !== bytes.length) fail('the tensors do not cover the data exactly');
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, t] of sorted) {
    const data = new Float32Array((t.end - t.begin) / 4);
    for (let k = 0; k < data.length; k++) data[k] = view.getFloat32(dataStart + t.begin + 4 * k, true);
    tensors.set(name, { dtype: 'F32', shape: t.shape, data });
  }
  return { metadata, tensors };
}

/**
 * The safetensors container (Hugging Face's format, read by PyTorch and numpy without pickle), as
 * written by the model export (src/export/safetensors.ts) and the statistics files
 * (src/train/stats-file.ts):
 *   8 bytes   N, the header length, u64 little-endian
 *   N bytes   JSON header: {"__metadata__": {string: string}, "<name>": {"dtype", "shape",
 *             "data_offsets": [begin, end]}, ...}, padded with spaces so the data starts 8-byte aligned
 *   the rest  the tensors' bytes back to back, little-endian, row-major, offsets relative to here
 * The bytes are deterministic: tensors in the order given, the header's keys in that order.
 */

export interface TensorOut {
  name: string;
  dtype: 'F32' | 'F64';
  shape: number[];
  data: ArrayLike<number>;
}

const BYTES = { F32: 4, F64: 8 } as const;

export function encodeSafetensors(metadata: Record<string, string>, tensors: TensorOut[]): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const { name, dtype, shape, data } of tensors) {
    header[name] = { dtype, shape, data_offsets: [offset, offset + data.length * BYTES[dtype]] };
    offset += data.length * BYTES[dtype];
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerBytes = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20); // space-padded: data 8-byte aligned
  headerBytes.set(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const { dtype, data } of tensors) {
    for (let i = 0; i < data.length; i++, at += BYTES[dtype]) {
      if (dtype === 'F32') view.setFloat32(at, data[i], true);
      else view.setFloat64(at, data[i], true);
    }
  }
  return out;
}

/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0), read and written by our own code.
 *
 * The format is a magic string, a version, a header length, a Python dict literal such as
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }`, and then the raw array bytes.
 * See numpy/lib/format.py; `encodeNpy` reproduces what `numpy.save` writes byte for byte.
 *
 * Only the five plain numeric types that map onto our depths are supported. Object arrays are
 * refused without looking at their (pickled) payload, so a hostile file can never run code here.
 */
import { KernelLearnError } from '../errors.js';

/** The dtypes that match our depths: u8, s16, u16, f32, f64. */
export type NpyDtype = 'u1' | 'i2' | 'u2' | 'f4' | 'f8';
export type NpyData = Uint8Array | Int16Array | Uint16Array | Float32Array | Float64Array;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  /** C order, native byte order. May be a view into the bytes given to parseNpy when no copy was needed. */
  data: NpyData;
}

export interface NpyHeader {
  dtype: NpyDtype;
  shape: number[];
  fortranOrder: boolean;
  /** Byte order of the stored data (u1 counts as little-endian). */
  littleEndian: boolean;
  /** Where the array bytes start. */
  dataOffset: number;
  /** shape product * item size. */
  dataBytes: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** numpy refuses headers over 10000 bytes by default; ours are under 200. Anything this big is not an image. */
export const NPY_MAX_HEADER_BYTES = 65536;
/** numpy aligns the data start to this, so the file can be memory-mapped. */
const ARRAY_ALIGN = 64;
/** numpy >= 1.23 leaves room after the header so the first axis can grow in place (format.py). */
const GROWTH_AXIS_MAX_DIGITS = 21;

const ITEM_SIZE: Record<NpyDtype, number> = { u1: 1, i2: 2, u2: 2, f4: 4, f8: 8 };
const CTOR = { u1: Uint8Array, i2: Int16Array, u2: Uint16Array, f4: Float32Array, f8: Float64Array } as const;
const DTYPE_NAME: Record<NpyDtype, string> = { u1: 'uint8', i2: 'int16', u2: 'uint16', f4: 'float32', f8: 'float64' };
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const SUPPORTED_HINT = 'use uint8, int16, uint16, float32 or float64 (for example np.save(path, a.astype(np.float32)))';

/** Latin-1: each byte is the code point of the same value (TextDecoder's 'latin1' is windows-1252). */
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

function fail(file: string, what: string, fix = 'write it again with numpy.save'): never {
  // Every refusal says what to do; most faults (truncation, bad headers) mean a damaged file.
  throw new KernelLearnError(`${file}: ${what}${fix ? `; ${fix}` : ''}`);
}

/**
 * Reads and checks the header. `fileSize` is the size of the whole file when `bytes` holds only
 * its beginning; the data length is checked against it, so a caller can refuse a file before
 * reading (and allocating) all of it.
 */
export function parseNpyHeader(bytes: Uint8Array, file = '<buffer>', fileSize = bytes.length): NpyHeader {
  if (bytes.length < MAGIC.length || !MAGIC.every((b, i) => bytes[i] === b)) fail(file, 'not a .npy file (bad magic: it should start with "\\x93NUMPY")', 'save arrays with numpy.save');
  if (fileSize < 8 || bytes.length < 8) fail(file, '.npy file is truncated inside its header');
  const major = bytes[6];
  const minor = bytes[7];
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) fail(file, `.npy format version ${major}.${minor} is not supported (only 1.0, 2.0 and 3.0)`);
  const lengthBytes = major === 1 ? 2 : 4;
  const start = 8 + lengthBytes;
  if (fileSize < start || bytes.length < start) fail(file, '.npy file is truncated inside its header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > NPY_MAX_HEADER_BYTES) fail(file, `.npy header claims ${headerLength} bytes (more than ${NPY_MAX_HEADER_BYTES}); the file is corrupt or not a plain array`);
  const dataOffset = start + headerLength;
  if (dataOffset > fileSize || dataOffset > bytes.length) fail(file, `.npy file is truncated inside its header (header needs ${dataOffset} bytes, file has ${fileSize})`);
  // Versions 1 and 2 store the header as latin1, version 3 as utf8.
  // TextDecoder and a byte-to-code-point loop (not Buffer) so this module also runs in the browser app.
  const headerBytes = bytes.subarray(start, start + headerLength);
  const headerText = major === 3 ? new TextDecoder('utf-8', { ignoreBOM: true }).decode(headerBytes) : latin1(headerBytes);

  let dict: PyValue;
  try {
    dict = parsePyLiteral(headerText);
  } catch (err) {
    fail(file, `.npy header is malformed (${(err as Error).message}): ${JSON.stringify(headerText.trim().slice(0, 120))}`);
  }
  if (!(dict instanceof Map)) fail(file, '.npy header is malformed (not a dict)');
  const keys = [...dict.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') fail(file, `.npy header has keys {${[...dict.keys()].join(', ')}}; expected descr, fortran_order and shape`);

  const descr = dict.get('descr');
  if (typeof descr !== 'string') fail(file, '.npy dtype is a structured (record) dtype, which is not supported', SUPPORTED_HINT);
  const { dtype, littleEndian } = parseDescr(descr, file);

  const fortranOrder = dict.get('fortran_order');
  if (typeof fortranOrder !== 'boolean') fail(file, '.npy header is malformed (fortran_order is not True or False)');

  const shapeValue = dict.get('shape');
  if (!Array.isArray(shapeValue) || !shapeValue.every((d) => typeof d === 'number')) fail(file, '.npy header is malformed (shape is not a tuple of integers)');
  const shape = shapeValue as number[];
  let count = 1;
  for (const d of shape) {
    // Number.isSafeInteger keeps the product exact; anything bigger cannot be in a real file.
    if (!Number.isSafeInteger(d) || d < 0) fail(file, `.npy shape (${shape.join(', ')}) is invalid`);
    count *= d;
    if (!Number.isSafeInteger(count)) fail(file, `.npy shape (${shape.join(', ')}) is too large`);
  }
  const dataBytes = count * ITEM_SIZE[dtype];
  const have = fileSize - dataOffset;
  if (have < dataBytes) fail(file, `.npy data is truncated: shape (${shape.join(', ')}) of ${DTYPE_NAME[dtype]} needs ${dataBytes} bytes, the file has ${have} after the header`);
  if (have > dataBytes) fail(file, `.npy file has ${have - dataBytes} unexpected bytes after the data of shape (${shape.join(', ')}) ${DTYPE_NAME[dtype]}; it is corrupt`);
  return { dtype, shape, fortranOrder, littleEndian, dataOffset, dataBytes };
}

/** Parses a whole .npy file. Throws KernelLearnError naming `file` and the problem for any malformed input. */
export function parseNpy(bytes: Uint8Array, file = '<buffer>'): NpyArray {
  const header = parseNpyHeader(bytes, file);
  const { dtype, shape, dataOffset, dataBytes } = header;
  const Ctor = CTOR[dtype];
  const size = ITEM_SIZE[dtype];
  const count = dataBytes / size;
  const absolute = bytes.byteOffset + dataOffset;
  const swap = size > 1 && header.littleEndian !== HOST_LITTLE_ENDIAN;
  let data: NpyData;
  if (!swap && absolute % size === 0) {
    data = new Ctor(bytes.buffer as ArrayBuffer, absolute, count);
  } else {
    // Typed arrays need aligned offsets and native byte order: copy (sizes were checked above).
    // (Not bytes.slice: on a Node Buffer that is a view, and the swap would change the input.)
    const copy = new Uint8Array(dataBytes);
    copy.set(bytes.subarray(dataOffset, dataOffset + dataBytes));
    if (swap) swapBytes(copy, size);
    data = new Ctor(copy.buffer, 0, count);
  }
  if (header.fortranOrder && shape.length > 1) data = fortranToC(data, shape);
  return { dtype, shape: shape.slice(), data };
}

/**
 * Encodes an array exactly as numpy.save does (format 1.0, or 2.0 when the header needs it):
 * little-endian data, C order, the header padded with spaces and a newline so that the data
 * starts at a multiple of 64 bytes.
 */
export function encodeNpy(dtype: NpyDtype, shape: number[], data: NpyData): Uint8Array {
  const Ctor = CTOR[dtype];
  if (!Ctor) throw new Error(`encodeNpy: unknown dtype ${String(dtype)}`);
  if (!(data instanceof Ctor)) throw new Error(`encodeNpy: dtype ${dtype} needs a ${Ctor.name}, got ${data.constructor.name}`);
  let count = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`encodeNpy: invalid shape (${shape.join(', ')})`);
    count *= d;
  }
  if (count !== data.length) throw new Error(`encodeNpy: shape (${shape.join(', ')}) holds ${count} items, data has ${data.length}`);

  const header = encodeNpyHeader(dtype, shape);
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header, 0);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  if (!HOST_LITTLE_ENDIAN && ITEM_SIZE[dtype] > 1) swapBytes(out.subarray(header.length), ITEM_SIZE[dtype]);
  return out;
}

/**
 * Just the header (magic, version, length, padded dict) that encodeNpy writes before the data of
 * an array of this dtype and shape: for writers that stream the data after it (io/bands.ts).
 */
export function encodeNpyHeader(dtype: NpyDtype, shape: number[]): Uint8Array {
  const Ctor = CTOR[dtype];
  if (!Ctor) throw new Error(`encodeNpyHeader: unknown dtype ${String(dtype)}`);
  let header = `{'descr': '${dtype === 'u1' ? '|' : '<'}${dtype}', 'fortran_order': False, 'shape': ${pyTuple(shape)}, }`;
  if (shape.length > 0) header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  // numpy tries version 1.0 first and falls back to 2.0 when the header length overflows 16 bits.
  let major = 1;
  let prefixLength = 10;
  let padded = paddedHeaderLength(header.length, prefixLength);
  if (padded > 0xffff) {
    major = 2;
    prefixLength = 12;
    padded = paddedHeaderLength(header.length, prefixLength);
  }
  const out = new Uint8Array(prefixLength + padded);
  out.set(MAGIC, 0);
  out[6] = major;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, padded, true);
  else view.setUint32(8, padded, true);
  // The header is ASCII: descr, shape digits and spaces.
  for (let i = 0; i < header.length; i++) out[prefixLength + i] = header.charCodeAt(i);
  out.fill(0x20, prefixLength + header.length, prefixLength + padded - 1);
  out[prefixLength + padded - 1] = 0x0a;
  return out;
}

/** Header text plus trailing newline, padded so that prefix + header ends on a 64-byte boundary (numpy's _wrap_header). */
function paddedHeaderLength(textLength: number, prefixLength: number): number {
  const hlen = textLength + 1;
  // Like numpy, a header that already ends on the boundary still gets a full 64 bytes of padding.
  const padlen = ARRAY_ALIGN - ((prefixLength + hlen) % ARRAY_ALIGN);
  return hlen + padlen;
}

/** Python's repr of a tuple of ints: (), (3,), (3, 5). */
function pyTuple(shape: number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/** Reorders Fortran (first axis fastest) data into C order (last axis fastest). */
function fortranToC(src: NpyData, shape: number[]): NpyData {
  const out = new (src.constructor as { new (n: number): NpyData })(src.length);
  if (src.length === 0) return out;
  const n = shape.length;
  // Fortran strides (in items) of each axis, and the C-order walk over the output.
  const fStride = new Array<number>(n);
  fStride[0] = 1;
  for (let k = 1; k < n; k++) fStride[k] = fStride[k - 1] * shape[k - 1];
  const index = new Array<number>(n).fill(0);
  const last = shape[n - 1];
  const lastStride = fStride[n - 1];
  let base = 0; // Fortran offset of index[0..n-2] with the last index at 0
  for (let o = 0; o < out.length; o += last) {
    for (let j = 0, s = base; j < last; j++, s += lastStride) out[o + j] = src[s];
    // Odometer increment over the axes before the last one.
    for (let k = n - 2; k >= 0; k--) {
      index[k]++;
      base += fStride[k];
      if (index[k] < shape[k]) break;
      base -= fStride[k] * shape[k];
      index[k] = 0;
    }
  }
  return out;
}

/** Explains unsupported dtypes in numpy's words, so the fix is obvious. */
function parseDescr(descr: string, file: string): { dtype: NpyDtype; littleEndian: boolean } {
  const m = /^([<>|=]?)([a-zA-Z])(\d*)(.*)$/.exec(descr);
  const order = m ? m[1] : '';
  const kind = m ? m[2] : '';
  const size = m ? m[3] : '';
  const code = kind + size;
  if (m && m[4] === '' && (code === 'u1' || code === 'i2' || code === 'u2' || code === 'f4' || code === 'f8')) {
    // '|' means "not applicable" (single bytes); '=' means native, which numpy only writes resolved.
    const littleEndian = order === '>' ? false : order === '<' ? true : code === 'u1' ? true : HOST_LITTLE_ENDIAN;
    return { dtype: code, littleEndian };
  }
  const names: Record<string, string> = {
    O: 'object (pickled Python objects)', b: 'bool', i: 'signed integer', u: 'unsigned integer', f: 'floating point',
    c: 'complex', U: 'unicode string', S: 'byte string', a: 'byte string', V: 'void/raw bytes', M: 'datetime', m: 'timedelta',
  };
  const name = names[kind] ? `${names[kind]}${size && kind !== 'O' ? `, ${Number(size) * (kind === 'U' ? 4 : 1)} bytes per item` : ''}` : 'unknown';
  fail(file, `.npy dtype '${descr}' (${name}) is not supported`, SUPPORTED_HINT);
}

// ---------------------------------------------------------------------------------------------
// A parser for the tiny subset of Python literals that .npy headers use: dicts, tuples, lists,
// strings, integers, True/False/None. Hand-written because the header is untrusted input and
// must never be evaluated.

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const skip = (): void => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const expect = (ch: string): void => {
    skip();
    if (text[pos] !== ch) throw new Error(`expected '${ch}' at character ${pos}`);
    pos++;
  };
  const value = (depth: number): PyValue => {
    if (depth > 16) throw new Error('nested too deeply');
    skip();
    const ch = text[pos];
    if (ch === '{') {
      pos++;
      const map = new Map<string, PyValue>();
      for (;;) {
        skip();
        if (text[pos] === '}') {
          pos++;
          return map;
        }
        const key = value(depth + 1);
        if (typeof key !== 'string') throw new Error('dict key is not a string');
        if (map.has(key)) throw new Error(`duplicate key '${key}'`);
        expect(':');
        map.set(key, value(depth + 1));
        skip();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== '}') throw new Error(`expected ',' or '}' at character ${pos}`);
      }
    }
    if (ch === '(' || ch === '[') {
      const close = ch === '(' ? ')' : ']';
      pos++;
      const items: PyValue[] = [];
      let sawComma = false;
      for (;;) {
        skip();
        if (text[pos] === close) {
          pos++;
          // (3) is just 3 in Python; only (3,) is a tuple.
          if (ch === '(' && items.length === 1 && !sawComma) return items[0];
          return items;
        }
        items.push(value(depth + 1));
        skip();
        if (text[pos] === ',') {
          pos++;
          sawComma = true;
        } else if (text[pos] !== close) throw new Error(`expected ',' or '${close}' at character ${pos}`);
      }
    }
    if (ch === "'" || ch === '"') {
      pos++;
      let s = '';
      while (pos < text.length && text[pos] !== ch) {
        if (text[pos] === '\\') {
          pos++;
          if (pos >= text.length) break;
        }
        s += text[pos++];
      }
      if (text[pos] !== ch) throw new Error('unterminated string');
      pos++;
      return s;
    }
    const word = /^(?:[+-]?\d+L?|True|False|None)/.exec(text.slice(pos, pos + 40));
    if (!word) throw new Error(`unexpected ${pos < text.length ? `'${text[pos]}'` : 'end'} at character ${pos}`);
    pos += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    // Python 2 wrote longs as 3L; numpy still accepts them.
    return Number(word[0].replace('L', ''));
  };
  const result = value(0);
  skip();
  if (pos !== text.length) throw new Error(`unexpected text after the dict at character ${pos}`);
  return result;
}

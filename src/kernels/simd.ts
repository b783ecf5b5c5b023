/**
 * Convolution forward in WebAssembly SIMD with float32 sums: the inference path (apply, the
 * streaming apply, the worker threads). Training keeps conv2d.ts's float64 sums, where gradients
 * and the exact solver want them; inference sums in float32 like cv2.filter2D, ONNX Runtime and
 * torch on CPU, four samples per instruction.
 *
 * The kernel (assembly/conv.ts, compiled by `npm run build:wasm` into conv-wasm.generated.ts)
 * reads input rows through a table of row addresses and writes output rows at a stride, so it
 * works on the image in place when the image lives in the module's memory: in Node that memory
 * is shared (one WebAssembly.Memory over a SharedArrayBuffer for every thread), and the buffers
 * that matter for speed (the worker threads' arenas, the streaming apply's bands) are allocated in
 * it with heapAlloc, so the kernel reads and writes them with no copies. Other arrays are copied
 * in a band of rows at a time (small enough to stay in cache). Rows above and below the image
 * (border modes) come from the row table (a reflected row is the same row again, a constant
 * border a row of zeros); the few columns near the left and right border, whose taps fall outside
 * the row, go through small padded copies.
 *
 * Every output sample is summed in one fixed order, bias first, then taps in (ci, ky, kx) order,
 * each product and each sum rounded to float32, whatever the band, thread or memory it is in, so
 * results are bit-identical across band sizes, thread counts and the streaming path, and equal
 * bit for bit to conv2dForwardF32Reference below (test/simd.test.ts).
 */

import { KernelLearnError } from '../errors.js';
import { borderIndexTable } from '../filters/border.js';
import { conv2dForwardReference, conv2dOutputShape, extent, tensor, type Padding, type Tensor } from './conv2d.js';
import { CONV_WASM_BASE64, CONV_WASM_SHARED_BASE64 } from './conv-wasm.generated.js';

type ConvRows = (rowPtrs: number, out: number, outStride: number, ow: number, rows: number, w: number, kh: number, kw: number, bias: number, accumulate: number, dil: number) => void;

interface Wasm {
  memory: WebAssembly.Memory;
  shared: boolean;
  convRows: ConvRows;
}

/** Samples a band copies in and out (when the arrays are not in the module's memory): 1 MB, in cache. */
const BAND_SAMPLES = 1 << 18;
/** Output rows a kernel call takes when input and output are in place. */
const IN_PLACE_ROWS = 64;
const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, the most a 32-bit WebAssembly memory holds

let wasm: Wasm | null = null;

const decode = (base64: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));

/** The module's bytes, shared-memory build and private-memory build (for the reproducibility test). */
export function convWasmBytes(): { shared: Uint8Array<ArrayBuffer>; private: Uint8Array<ArrayBuffer> } {
  return { shared: decode(CONV_WASM_SHARED_BASE64), private: decode(CONV_WASM_BASE64) };
}

function instantiate(memory: WebAssembly.Memory, shared: boolean): Wasm {
  const module = new WebAssembly.Module(decode(shared ? CONV_WASM_SHARED_BASE64 : CONV_WASM_BASE64));
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as { convRows: ConvRows };
  return { memory, shared, convRows: exports.convRows };
}

/**
 * This thread's module, over a new shared memory where shared memory exists (Node; browsers only
 * when cross-origin isolated) and a private one otherwise. Compiled on first use (under 2 KB).
 */
function getWasm(): Wasm {
  if (!wasm) {
    let memory: WebAssembly.Memory | null = null;
    try {
      memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    } catch {
      memory = null;
    }
    wasm = memory ? instantiate(memory, true) : instantiate(new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES }), false);
    if (wasm.shared) heapBuffers.add(memory!.buffer);
  }
  return wasm;
}

/** The shared memory to hand to worker threads (null where memory is not shared). */
export function sharedConvMemory(): WebAssembly.Memory | null {
  const w = getWasm();
  return w.shared ? w.memory : null;
}

/** In a worker thread: run on the main thread's shared memory (its heap and arenas). */
export function attachSharedConvMemory(memory: WebAssembly.Memory): void {
  wasm = instantiate(memory, true);
  heapBuffers.add(memory.buffer);
}

// ---------------------------------------------------------------------------------------------
// The per-pixel layers' kernels (assembly/conv.ts pointwiseConv, pointwiseElementwise; driven by
// nn/pointwise.ts) on a private memory of this thread: a few small blocks of scratch, apart from
// the shared heap below (whose free list belongs to the main thread).

type PointwiseConv = (a: number, out: number, w: number, bias: number, hasBias: number, cin: number, cout: number, stride: number, n: number) => void;
type PointwiseElementwise = (a: number, n: number, kind: number, lo: number, hi: number) => void;

export interface PointwiseKernels {
  memory: WebAssembly.Memory;
  conv: PointwiseConv;
  elementwise: PointwiseElementwise;
}

let pointwise: PointwiseKernels | null = null;

/** This thread's per-pixel kernels, their memory grown to at least `bytes` (views of it made before a call may be stale). */
export function pointwiseKernels(bytes: number): PointwiseKernels {
  if (!pointwise) {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
    const exports = new WebAssembly.Instance(new WebAssembly.Module(decode(CONV_WASM_BASE64)), { env: { memory } }).exports as unknown as {
      pointwiseConv: PointwiseConv;
      pointwiseElementwise: PointwiseElementwise;
    };
    pointwise = { memory, conv: exports.pointwiseConv, elementwise: exports.pointwiseElementwise };
  }
  const need = Math.ceil((bytes - pointwise.memory.buffer.byteLength) / PAGE);
  if (need > 0) pointwise.memory.grow(need);
  return pointwise;
}

// ---------------------------------------------------------------------------------------------
// The heap: blocks of the module's memory handed out as Float32Arrays. Main thread only (workers
// use blocks the main thread gives them). First fit over a free list, 64-byte aligned blocks.

/** SharedArrayBuffer objects that are views of the module's memory (a new one after each grow). */
const heapBuffers = new WeakSet<ArrayBufferLike>();
/** Free blocks [start, end) in bytes, sorted, coalesced; `heapTop` is the end of the used part. */
const freeBlocks: { start: number; end: number }[] = [];
let heapTop = 1024; // the module has no data of its own; a little room keeps address 0 unused
const blockSizes = new Map<number, number>();

function heapView(): ArrayBuffer | SharedArrayBuffer {
  const buf = getWasm().memory.buffer;
  heapBuffers.add(buf);
  return buf;
}

/**
 * A float32 array of `samples` in the module's shared memory (the kernel works on it in place, and
 * worker threads see it), or an ordinary SharedArrayBuffer where the memory is not shared.
 * Release it with heapFree when done.
 */
export function heapAlloc(samples: number): Float32Array {
  const w = getWasm();
  if (!w.shared) return new Float32Array(new SharedArrayBuffer(Math.max(1, samples) * 4));
  const bytes = (Math.max(1, samples) * 4 + 63) & ~63;
  let start = -1;
  for (let i = 0; i < freeBlocks.length; i++) {
    const b = freeBlocks[i];
    if (b.end - b.start >= bytes) {
      start = b.start;
      b.start += bytes;
      if (b.start === b.end) freeBlocks.splice(i, 1);
      break;
    }
  }
  if (start < 0) {
    start = heapTop;
    heapTop += bytes;
    const need = Math.ceil((heapTop - w.memory.buffer.byteLength) / PAGE);
    if (need > 0) {
      if (w.memory.buffer.byteLength / PAGE + need > MAX_PAGES) {
        heapTop -= bytes;
        throw new KernelLearnError(`out of WebAssembly memory: ${samples} samples do not fit in 4 GiB; use --band-rows to stream in smaller bands`);
      }
      w.memory.grow(need);
    }
  }
  blockSizes.set(start, bytes);
  return new Float32Array(heapView(), start, samples);
}

/** Returns a heapAlloc block (other arrays are ignored). */
export function heapFree(a: Float32Array): void {
  if (!heapBuffers.has(a.buffer)) return;
  const bytes = blockSizes.get(a.byteOffset);
  if (bytes === undefined) return;
  blockSizes.delete(a.byteOffset);
  let start = a.byteOffset, end = start + bytes;
  // Insert sorted, merging with neighbours; a block ending at the top lowers the top instead.
  let i = 0;
  while (i < freeBlocks.length && freeBlocks[i].end < start) i++;
  if (i < freeBlocks.length && freeBlocks[i].end === start) { start = freeBlocks[i].start; freeBlocks.splice(i, 1); }
  if (i < freeBlocks.length && freeBlocks[i].start === end) { end = freeBlocks[i].end; freeBlocks.splice(i, 1); }
  if (end === heapTop) heapTop = start;
  else freeBlocks.splice(i, 0, { start, end });
}

/** A float32 view of `samples` at `byteOffset` of the module's memory (worker threads: the arrays a job names). */
export function heapArray(byteOffset: number, samples: number): Float32Array {
  return new Float32Array(heapView(), byteOffset, samples);
}

/** True when `a` lies in the module's memory, where the kernel can use it in place. */
export function inHeap(a: Float32Array): boolean {
  return heapBuffers.has(a.buffer);
}

// ---------------------------------------------------------------------------------------------
// The convolution.

/** Scratch memory for one call (weights, row tables, copied and padded rows): byte offset and size. */
export interface Scratch { offset: number; bytes: number }

/** Where conv2dForwardF32Rows finds its input and output: in the module's memory (byte offset) or not. */
interface Placement { inPlaceIn: boolean; inPlaceOut: boolean }

/**
 * Output columns [xa, xb) read only samples inside the row (the interior); the columns before and
 * after read padded fragments. No interior (images narrower than the kernel): one fragment takes
 * the whole row.
 */
function interiorColumns(ow: number, kw: number, padding: Padding): { xa: number; xb: number } {
  if (padding === 'valid') return { xa: 0, xb: ow };
  const xa = kw >> 1, xb = ow - (kw - 1 - (kw >> 1));
  return xb > xa ? { xa, xb } : { xa: ow, xb: ow };
}

/**
 * How a call is cut into bands, and the scratch it needs (bytes). With dilation d the geometry
 * (band rows, padded fragments, border columns) is that of the kernel's extent d(k - 1) + 1.
 */
export function planConv(x: Tensor, cout: number, kh: number, kw: number, padding: Padding, rowsWanted: number, where: Placement, dilation = 1): { rows: number; bytes: number } {
  // Shapes as conv2dOutputShape gives them (the callers have checked the arguments with it).
  const eh = extent(kh, dilation), ew = extent(kw, dilation);
  const oh = padding === 'valid' ? x.h - eh + 1 : x.h;
  const ow = padding === 'valid' ? x.w - ew + 1 : x.w;
  const w = x.w;
  const copyPerRow = (where.inPlaceIn ? 0 : x.c * (w + 8)) + (where.inPlaceOut ? 0 : ow);
  let rows = where.inPlaceIn && where.inPlaceOut ? IN_PLACE_ROWS : Math.max(1, Math.floor(BAND_SAMPLES / Math.max(1, copyPerRow)));
  rows = Math.max(1, Math.min(rows, rowsWanted, oh));
  return { rows, bytes: scratchLayout(x.c, cout, kh, kw, w, ow, rows, where, interiorColumns(ow, ew, padding), dilation).bytes };
}

/** Float offsets within the scratch block. */
function scratchLayout(cin: number, cout: number, kh: number, kw: number, w: number, ow: number, rows: number, where: Placement, cols: { xa: number; xb: number }, dilation: number) {
  const eh = extent(kh, dilation), ew = extent(kw, dilation);
  const bandRows = rows + eh - 1;
  const up4 = (n: number): number => (n + 3) & ~3;
  const fragW = up4(Math.max(cols.xa, ow - cols.xb) + ew - 1 + 4); // the longer padded fragment, plus room
  const rowSlot = up4(w + 8);
  let at = 0;
  const weights = at; at += up4(cout * cin * kh * kw);
  const zeros = at; at += up4(w + ew);
  const ptrs = at; at += up4(3 * cin * bandRows); // interior, left and right row tables
  const copies = at; at += where.inPlaceIn ? 0 : cin * bandRows * rowSlot;
  const frags = at; at += 2 * cin * bandRows * fragW;
  const outBand = at; at += where.inPlaceOut ? 0 : up4(rows * ow + 4);
  return { weights, zeros, ptrs, copies, rowSlot, frags, fragW, outBand, bytes: at * 4 + 64 };
}

let mainScratch: Float32Array | null = null;

/** This (main) thread's scratch, grown to at least `bytes`. */
function ownScratch(bytes: number): Scratch {
  if (!getWasm().shared) {
    // Private memory: the whole memory is this thread's; scratch starts past the unused first KB.
    const m = getWasm().memory;
    const need = Math.ceil((1024 + bytes - m.buffer.byteLength) / PAGE);
    if (need > 0) m.grow(need);
    return { offset: 1024, bytes };
  }
  if (!mainScratch || mainScratch.byteLength < bytes) {
    if (mainScratch) heapFree(mainScratch);
    mainScratch = heapAlloc(Math.max(bytes, 1 << 20) / 4);
  }
  return { offset: mainScratch.byteOffset, bytes: mainScratch.byteLength };
}

/**
 * Output rows [y0, y1) of conv2dForwardF32 written into `out` (its output shape; other rows are
 * left alone). Bit-identical to conv2dForwardF32's rows whatever the band: the worker threads
 * and the streaming apply run this on their bands. `scratch` is for worker threads (a block of the
 * shared memory the main thread gave them); on the main thread it is found here. `dilation` d > 1
 * (odd kernels only): taps d samples apart, anchor d*(k >> 1), the centre of the extent.
 */
export function conv2dForwardF32Rows(
  x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding,
  out: Tensor, y0: number, y1: number, scratch?: Scratch, dilation = 1,
): void {
  const { oh, ow } = conv2dOutputShape(x, weights, bias, cout, kh, kw, padding, dilation);
  if (out.n !== x.n || out.c !== cout || out.h !== oh || out.w !== ow) throw new KernelLearnError('conv2d: output tensor has the wrong shape');
  if (dilation > 1 && (kh % 2 === 0 || kw % 2 === 0)) throw new KernelLearnError(`conv2d: a dilated kernel must have odd sides, got ${kh}x${kw}`);
  if (y1 <= y0) return;
  const { convRows, memory } = getWasm();
  const where: Placement = { inPlaceIn: inHeap(x.data), inPlaceOut: inHeap(out.data) };
  const plan = planConv(x, cout, kh, kw, padding, y1 - y0, where, dilation);
  if (scratch && scratch.bytes < plan.bytes) throw new KernelLearnError(`conv2d: scratch of ${scratch.bytes} bytes, ${plan.bytes} needed`);
  const s = scratch ?? ownScratch(plan.bytes);
  const rows = plan.rows;
  const { c: cin, h, w } = x;
  const eh = extent(kh, dilation), ew = extent(kw, dilation); // the window the kernel covers
  const { xa, xb } = interiorColumns(ow, ew, padding);
  const L = scratchLayout(cin, cout, kh, kw, w, ow, rows, where, { xa, xb }, dilation);
  const bandRows = rows + eh - 1;
  const base = s.offset >> 2; // float offset of the scratch block
  const mem = new Float32Array(memory.buffer);
  const ptr = new Uint32Array(memory.buffer, (base + L.ptrs) * 4, 3 * cin * bandRows);
  mem.set(weights, base + L.weights);
  mem.fill(0, base + L.zeros, base + L.zeros + w + ew);

  const padded = padding !== 'valid';
  const ay = padded ? eh >> 1 : 0;
  const ax = padded ? ew >> 1 : 0;
  const rowTable = padded ? borderIndexTable(h, ay, eh - 1 - ay, padding) : null;
  const colTable = padded ? borderIndexTable(w, ax, ew - 1 - ax, padding) : null;
  const leftW = xa + ew - 1; // padded columns [0, xa + ew - 1) give outputs [0, xa)
  const rightW = ow - xb + ew - 1; // padded columns [xb, ow + ew - 1) give outputs [xb, ow)

  const src = x.data;
  const srcAlign = src.byteOffset >> 2;
  const outAlign = out.data.byteOffset >> 2;
  const zerosPtr = (base + L.zeros) * 4;

  for (let n = 0; n < x.n; n++) {
    for (let ys = y0; ys < y1; ys += rows) {
      const r = Math.min(rows, y1 - ys);
      // Row tables for the band's input rows ys .. ys + r + eh - 2 (padded row indices), every channel.
      for (let ci = 0; ci < cin; ci++) {
        const plane = (n * cin + ci) * h * w;
        for (let i = 0; i < r + eh - 1; i++) {
          const row = padded ? rowTable![ys + i] : ys + i;
          const t = ci * bandRows + i;
          const start = plane + row * w; // float index of the row in x.data
          if (xb > xa) {
            if (row < 0) {
              ptr[t] = zerosPtr;
            } else if (where.inPlaceIn) {
              ptr[t] = src.byteOffset + (start + xa - ax) * 4;
            } else {
              // The copy starts at the source row's offset mod 16 bytes (SharedArrayBuffer copies
              // are word copies only when both sides are equally aligned; byte copies are 3x slower).
              const dst = base + L.copies + t * L.rowSlot + ((srcAlign + start) & 3);
              mem.set(src.subarray(start, start + w), dst);
              ptr[t] = (dst + xa - ax) * 4;
            }
          }
          // Padded fragments for the border columns.
          const fragL = base + L.frags + t * L.fragW;
          const fragR = base + L.frags + (cin * bandRows + t) * L.fragW;
          for (let j = 0; j < leftW; j++) {
            const c = padded ? colTable![j] : j;
            mem[fragL + j] = row < 0 || c < 0 ? 0 : src[start + c];
          }
          if (xb < ow) {
            for (let j = 0; j < rightW; j++) {
              const c = colTable![xb + j];
              mem[fragR + j] = row < 0 || c < 0 ? 0 : src[start + c];
            }
          }
          ptr[cin * bandRows + t] = fragL * 4;
          ptr[2 * cin * bandRows + t] = fragR * 4;
        }
      }
      for (let co = 0; co < cout; co++) {
        const b = bias ? bias[co] : 0;
        const at = ((n * cout + co) * oh + ys) * ow; // float index of the band in out.data
        const o = where.inPlaceOut ? out.data.byteOffset + at * 4 : (base + L.outBand + ((outAlign + at) & 3)) * 4;
        for (let ci = 0; ci < cin; ci++) {
          const wp = (base + L.weights + (co * cin + ci) * kh * kw) * 4;
          const acc = ci > 0 ? 1 : 0;
          const tables = (base + L.ptrs) * 4 + ci * bandRows * 4;
          if (xb > xa) convRows(tables, o + xa * 4, ow, xb - xa, r, wp, kh, kw, b, acc, dilation);
          if (xa > 0) convRows(tables + cin * bandRows * 4, o, ow, xa, r, wp, kh, kw, b, acc, dilation);
          if (xb < ow) convRows(tables + 2 * cin * bandRows * 4, o + xb * 4, ow, ow - xb, r, wp, kh, kw, b, acc, dilation);
        }
        if (!where.inPlaceOut) out.data.set(mem.subarray(o >> 2, (o >> 2) + r * ow), at);
      }
    }
  }
}

/**
 * Correlation of `x` with `weights` plus `bias`, like conv2dForward (same shapes, padding and
 * anchor), summed in float32 with WebAssembly SIMD; taps `dilation` apart.
 */
export function conv2dForwardF32(x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding, dilation = 1): Tensor {
  const { oh, ow } = conv2dOutputShape(x, weights, bias, cout, kh, kw, padding, dilation);
  const out = tensor(x.n, cout, oh, ow);
  conv2dForwardF32Rows(x, weights, bias, cout, kh, kw, padding, out, 0, oh, undefined, dilation);
  return out;
}

/**
 * Reference for conv2dForwardF32: conv2dForwardReference with float32 sums, one output sample at
 * a time, every product and sum rounded to float32 in the kernel's order.
 */
export function conv2dForwardF32Reference(
  x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding, dilation = 1,
): Tensor {
  return conv2dForwardReference(x, weights, bias, cout, kh, kw, padding, 'f32', dilation);
}

/**
 * Convolution forward in WebAssembly SIMD with float32 sums: the inference path (apply, the
 * streaming apply, the worker threads). Training keeps conv2d.ts's float64 sums, where gradients
 * and the exact solver want them; inference sums in float32 like cv2.filter2D, ONNX Runtime and
 * torch on CPU, four samples per instruction.
 *
 * The kernel (assembly/conv.ts, compiled by `npm run build:wasm` into conv-wasm.generated.ts)
 * sees one padded input plane band and one output band at a time: this module copies a band of
 * rows (with the border already applied, through borderIndexTable like conv2d.ts) into the
 * module's memory, runs the kernel, and copies the band out. Bands are small enough to stay in
 * cache, so the extra copies cost little next to the one read and one write of each sample from
 * main memory that any convolution pays.
 *
 * Every output sample is summed in one fixed order, bias first, then taps in (ci, ky, kx) order,
 * each product and each sum rounded to float32, whatever the band or thread it falls in, so results
 * are bit-identical across band sizes, thread counts and the streaming path, and equal bit for bit
 * to conv2dForwardF32Reference below (test/simd.test.ts).
 */

import { KernelLearnError } from '../errors.js';
import { borderIndexTable, borderInterpolate } from '../filters/border.js';
import { conv2dOutputShape, tensor, type Padding, type Tensor } from './conv2d.js';
import { CONV_WASM_BASE64 } from './conv-wasm.generated.js';

interface ConvExports {
  memory: WebAssembly.Memory;
  convPlane(rowPtrs: number, out: number, ow: number, rows: number, w: number, kh: number, kw: number, bias: number, accumulate: number): void;
}

/** Samples per band (input and output together): 1 MB, in a core's share of L2 and L3 cache. */
const BAND_SAMPLES = 1 << 18;
/** Float offset of the first buffer in the module's memory (the module itself uses none). */
const HEAP_START = 16;

let instance: ConvExports | null = null;

/** The module's bytes (exported for the reproducibility test). */
export function convWasmBytes(): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(CONV_WASM_BASE64), (ch) => ch.charCodeAt(0));
}

/** This thread's instance, compiled on first use (1.6 KB, so synchronous compilation is fine everywhere). */
function wasm(): ConvExports {
  if (!instance) {
    const module = new WebAssembly.Module(convWasmBytes());
    instance = new WebAssembly.Instance(module, {}).exports as unknown as ConvExports;
  }
  return instance;
}

/** A float32 view of the module's memory, grown to at least `bytes`. */
function heap(bytes: number): Float32Array {
  const m = wasm().memory;
  const need = Math.ceil((bytes - m.buffer.byteLength) / 65536);
  if (need > 0) m.grow(need);
  return new Float32Array(m.buffer);
}

/**
 * Output rows [y0, y1) of conv2dForwardF32 written into `out` (its output shape; other rows are
 * left alone). Bit-identical to conv2dForwardF32's rows whatever the band: the worker threads
 * and the streaming apply run this on their bands.
 */
export function conv2dForwardF32Rows(
  x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding,
  out: Tensor, y0: number, y1: number,
): void {
  const { oh, ow } = conv2dOutputShape(x, weights, bias, cout, kh, kw, padding);
  if (out.n !== x.n || out.c !== cout || out.h !== oh || out.w !== ow) throw new KernelLearnError('conv2d: output tensor has the wrong shape');
  if (y1 <= y0) return;
  const { c: cin, h, w } = x;
  const padded = padding !== 'valid';
  const ay = padded ? kh >> 1 : 0;
  const ax = padded ? kw >> 1 : 0;
  const pw = ow + kw - 1; // padded input row length
  const rowTable = padded ? borderIndexTable(h, ay, kh - 1 - ay, padding) : null;
  const colTable = padded ? borderIndexTable(w, ax, kw - 1 - ax, padding) : null;

  // Rows per band: input (cin planes of rows + kh - 1 rows) and output fit in BAND_SAMPLES.
  const rows = Math.max(1, Math.min(y1 - y0, Math.floor((BAND_SAMPLES - cin * (kh - 1) * pw) / (cin * pw + ow))));
  const bandRows = rows + kh - 1;
  // Layout (float offsets): weights, the row pointer table, the input row slots, the output band.
  // Each input row slot has 3 spare floats, so a row can start at the same offset mod 16 bytes as
  // its source row (and the output band as its destination): copies between a SharedArrayBuffer
  // and the module's memory are word copies only when both sides are equally aligned, byte
  // copies otherwise (measured: 3x slower).
  const slot = (pw + 3 + 3) & ~3;
  const wOff = HEAP_START;
  const ptrOff = (wOff + weights.length + 3) & ~3;
  const inOff = (ptrOff + cin * bandRows + 3) & ~3;
  const outOff = inOff + cin * bandRows * slot;
  const mem = heap((outOff + rows * ow + 4) * 4);
  const ptrs = new Uint32Array(mem.buffer, ptrOff * 4, cin * bandRows);
  const { convPlane } = wasm();
  mem.set(weights, wOff);
  const src = x.data;
  const srcAlign = src.byteOffset >> 2;
  const outAlign = out.data.byteOffset >> 2;

  for (let n = 0; n < x.n; n++) {
    for (let ys = y0; ys < y1; ys += rows) {
      const r = Math.min(rows, y1 - ys);
      // The band's padded input rows ys .. ys + r + kh - 2, every channel.
      for (let ci = 0; ci < cin; ci++) {
        const plane = (n * cin + ci) * h * w;
        for (let i = 0; i < r + kh - 1; i++) {
          const row = padded ? rowTable![ys + i] : ys + i;
          const start = plane + row * w;
          const dst = inOff + (ci * bandRows + i) * slot + ((srcAlign + start - ax) & 3);
          ptrs[ci * bandRows + i] = dst * 4;
          if (row < 0) { mem.fill(0, dst, dst + pw); continue; }
          mem.set(src.subarray(start, start + w), dst + ax);
          if (!padded) continue;
          for (let j = 0; j < ax; j++) { const c = colTable![j]; mem[dst + j] = c < 0 ? 0 : src[start + c]; }
          for (let j = ax + w; j < pw; j++) { const c = colTable![j]; mem[dst + j] = c < 0 ? 0 : src[start + c]; }
        }
      }
      for (let co = 0; co < cout; co++) {
        const b = bias ? bias[co] : 0;
        const at = ((n * cout + co) * oh + ys) * ow;
        const band = outOff + ((outAlign + at) & 3);
        for (let ci = 0; ci < cin; ci++) {
          convPlane((ptrOff + ci * bandRows) * 4, band * 4, ow, r, (wOff + (co * cin + ci) * kh * kw) * 4, kh, kw, b, ci > 0 ? 1 : 0);
        }
        out.data.set(mem.subarray(band, band + r * ow), at);
      }
    }
  }
}

/**
 * Correlation of `x` with `weights` plus `bias`, like conv2dForward (same shapes, padding and
 * anchor), summed in float32 with WebAssembly SIMD.
 */
export function conv2dForwardF32(
  x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding,
): Tensor {
  const { oh, ow } = conv2dOutputShape(x, weights, bias, cout, kh, kw, padding);
  const out = tensor(x.n, cout, oh, ow);
  conv2dForwardF32Rows(x, weights, bias, cout, kh, kw, padding, out, 0, oh);
  return out;
}

/**
 * Reference for conv2dForwardF32: one output sample at a time, borders through
 * borderInterpolate, every product and sum rounded to float32 in the kernel's order.
 */
export function conv2dForwardF32Reference(
  x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding,
): Tensor {
  const { oh, ow } = conv2dOutputShape(x, weights, bias, cout, kh, kw, padding);
  const { c: cin, h, w } = x;
  const out = tensor(x.n, cout, oh, ow);
  const ay = padding === 'valid' ? 0 : kh >> 1;
  const ax = padding === 'valid' ? 0 : kw >> 1;
  const f = Math.fround;
  for (let n = 0; n < x.n; n++) {
    for (let co = 0; co < cout; co++) {
      for (let y = 0; y < oh; y++) {
        for (let xx = 0; xx < ow; xx++) {
          let s = f(bias ? bias[co] : 0);
          for (let ci = 0; ci < cin; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                let iy = y + ky - ay;
                let ix = xx + kx - ax;
                if (padding !== 'valid') {
                  iy = borderInterpolate(iy, h, padding);
                  ix = borderInterpolate(ix, w, padding);
                }
                const v = iy < 0 || ix < 0 ? 0 : x.data[((n * cin + ci) * h + iy) * w + ix];
                s = f(s + f(weights[((co * cin + ci) * kh + ky) * kw + kx] * v));
              }
            }
          }
          out.data[((n * cout + co) * oh + y) * ow + xx] = s;
        }
      }
    }
  }
  return out;
}

/**
 * The WebAssembly module of the exact solver's hot loops (assembly/gram.ts, compiled by
 * `npm run build:wasm` (tools/build_wasm.mjs) into gram-wasm.generated.ts): the lag sums of the
 * fast Gram (src/kernels/gram.ts), the row Grams of the masked one (gram-masked.ts),
 * the responses of the valid-window loop (windows.ts), the curve stages' weighted normal
 * equations (linalg.ts addWeightedRows) and the dense SPD algebra of
 * src/linalg-fast.ts. One instance per thread over a private memory, compiled on first use (a few
 * KB, so browsers compile it synchronously too), grown on demand. Callers lay out their buffers from byte 0 for the length of
 * one call: the memory holds nothing between calls.
 */
import { KernelLearnError } from '../errors.js';
import { GRAM_WASM_BASE64 } from './gram-wasm.generated.js';

export interface GramWasmExports {
  lagSums(
    aPtr: number, aRow0: number, bPtr: number, bRow0: number, W: number, u0: number, u1: number, di: number,
    djLo: number, m: number, cc: number, nc: number, seg: number, acc: number,
  ): void;
  cholesky(a: number, l: number, p: number): number;
  solveFactor(l: number, lt: number, p: number, x: number): void;
  inverseDiagonal(l: number, p: number, out: number, z: number): void;
  matVec(a: number, p: number, v: number, out: number): void;
  rowGram(x: number, wx: number, n: number, P: number, out: number): void;
  maskedRows(
    src: number, W: number, plane: number, cin: number, kh: number, kw: number, hv: number, wv: number, weights: number, shift: number,
    targets: number, cout: number, bias: number, X: number, WX: number, wts: number, count: number, B: number, P: number, r: number, out: number,
  ): number;
  flushRows(X: number, WX: number, wts: number, r: number, P: number, out: number): number;
  responses(src: number, W: number, plane: number, cin: number, kh: number, kw: number, coef: number, s0: number, hv: number, wv: number, out: number): void;
  weightedRowPairs(x: number, wx: number, n: number, P: number, out: number): void;
}

export interface GramWasm extends GramWasmExports {
  memory: WebAssembly.Memory;
}

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, the most a 32-bit WebAssembly memory holds
let instance: GramWasm | null = null;

/** This thread's module, its memory grown to at least `bytes`. Views of the memory made before are stale after a grow. */
export function gramWasm(bytes = 0): GramWasm {
  if (!instance) {
    const code = Uint8Array.from(atob(GRAM_WASM_BASE64), (ch) => ch.charCodeAt(0));
    const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES });
    const exports = new WebAssembly.Instance(new WebAssembly.Module(code), { env: { memory } }).exports as unknown as GramWasmExports;
    const { lagSums, cholesky, solveFactor, inverseDiagonal, matVec, rowGram, maskedRows, flushRows, responses, weightedRowPairs } = exports;
    instance = { memory, lagSums, cholesky, solveFactor, inverseDiagonal, matVec, rowGram, maskedRows, flushRows, responses, weightedRowPairs };
  }
  const need = Math.ceil(bytes / PAGE) - instance.memory.buffer.byteLength / PAGE;
  if (need > 0) {
    if (instance.memory.buffer.byteLength / PAGE + need > MAX_PAGES) throw new KernelLearnError(`out of WebAssembly memory (${bytes} bytes needed by the exact solver)`);
    instance.memory.grow(need);
  }
  return instance;
}

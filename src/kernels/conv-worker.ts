/**
 * Worker-thread side of threads.ts: computes one band of output rows of a conv forward. Input and
 * output are either blocks of the WebAssembly module's shared memory (which every thread runs on:
 * the kernel works on them in place) or other SharedArrayBuffers (copied through the thread's
 * scratch block a band at a time).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { conv2dForwardSeparable, type Padding, type Tensor } from './conv2d.js';
import { attachSharedConvMemory, conv2dForwardF32Rows, heapArray, type Scratch } from './simd.js';

/** A tensor a job names: in the shared module memory (`buf` null) or in its own SharedArrayBuffer. */
export interface JobTensor { n: number; c: number; h: number; w: number; buf: SharedArrayBuffer | null; offset: number }

export interface ConvJob {
  id: number;
  x: JobTensor;
  out: JobTensor;
  weights: Float32Array;
  bias: Float32Array | null;
  cout: number;
  kh: number;
  kw: number;
  padding: Padding;
  y0: number;
  y1: number;
  separable: boolean;
  /** This thread's scratch block in the shared module memory; undefined on the main thread. */
  scratch?: Scratch;
  /** Taps this many samples apart. */
  dilation: number;
}

function view(t: JobTensor): Tensor {
  const size = t.n * t.c * t.h * t.w;
  return { n: t.n, c: t.c, h: t.h, w: t.w, data: t.buf ? new Float32Array(t.buf, t.offset, size) : heapArray(t.offset, size) };
}

/** Runs one job (also called on the main thread for its own band). */
export function runConvJob(j: ConvJob): void {
  const x = view(j.x);
  const out = view(j.out);
  if (j.separable && conv2dForwardSeparable(x, j.weights, j.bias, j.cout, j.kh, j.kw, j.padding, out, j.y0, j.y1)) return;
  conv2dForwardF32Rows(x, j.weights, j.bias, j.cout, j.kh, j.kw, j.padding, out, j.y0, j.y1, j.scratch, j.dilation);
}

// Only in a worker that threads.ts started (not whenever this module loads inside some worker).
const data = workerData as { kernelLearnConvWorker?: boolean; memory?: WebAssembly.Memory | null } | null;
if (parentPort && data?.kernelLearnConvWorker) {
  if (data.memory) attachSharedConvMemory(data.memory);
  const port = parentPort;
  port.on('message', (j: ConvJob) => {
    try {
      runConvJob(j);
      port.postMessage({ id: j.id });
    } catch (err) {
      port.postMessage({ id: j.id, error: (err as Error).message });
    }
  });
}

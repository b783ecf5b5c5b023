/**
 * Worker-thread side of threads.ts: computes one band of output rows of a conv forward, reading
 * the input and writing the output through SharedArrayBuffers (no copies).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { conv2dForwardSeparable, type Padding } from './conv2d.js';
import { conv2dForwardF32Rows } from './simd.js';

export interface ConvJob {
  id: number;
  x: { n: number; c: number; h: number; w: number; buf: SharedArrayBuffer; offset: number };
  out: { n: number; c: number; h: number; w: number; buf: SharedArrayBuffer; offset: number };
  weights: Float32Array;
  bias: Float32Array | null;
  cout: number;
  kh: number;
  kw: number;
  padding: Padding;
  y0: number;
  y1: number;
  separable: boolean;
}

/** Runs one job (also called on the main thread for its own band). */
export function runConvJob(j: ConvJob): void {
  const x = { n: j.x.n, c: j.x.c, h: j.x.h, w: j.x.w, data: new Float32Array(j.x.buf, j.x.offset, j.x.n * j.x.c * j.x.h * j.x.w) };
  const out = { n: j.out.n, c: j.out.c, h: j.out.h, w: j.out.w, data: new Float32Array(j.out.buf, j.out.offset, j.out.n * j.out.c * j.out.h * j.out.w) };
  if (j.separable && conv2dForwardSeparable(x, j.weights, j.bias, j.cout, j.kh, j.kw, j.padding, out, j.y0, j.y1)) return;
  conv2dForwardF32Rows(x, j.weights, j.bias, j.cout, j.kh, j.kw, j.padding, out, j.y0, j.y1);
}

// Only in a worker that threads.ts started (not whenever this module loads inside some worker).
if (parentPort && (workerData as { kernelLearnConvWorker?: boolean } | null)?.kernelLearnConvWorker) {
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

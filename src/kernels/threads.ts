/**
 * Conv forward over worker threads: the output rows are cut into one band per thread, the input
 * and output live in shared memory (reused arenas), and each thread runs conv2dForwardF32Rows (simd.ts,
 * WebAssembly SIMD) on its band. The main thread computes the first band itself, so T threads means
 * T-1 workers. Every row is computed exactly as the one-thread conv2dForwardF32 computes it, so the
 * result is bit-identical for every thread count (test/perf-kernels.test.ts checks 1..5 threads on
 * random shapes).
 *
 * Workers start on first use, stay for later calls, and do not keep the process alive when idle.
 * Node only: the browser build never imports this module.
 */
import { Worker } from 'node:worker_threads';
import { defaultThreadCount } from './cpus.js';
import { conv2dForward, conv2dForwardSeparable, conv2dOutputShape, tensor, type Padding, type Tensor } from './conv2d.js';
import { conv2dForwardF32, conv2dForwardF32Rows, heapAlloc, heapFree, inHeap, planConv, sharedConvMemory, type Scratch } from './simd.js';
import { runConvJob, type ConvJob, type JobTensor } from './conv-worker.js';

/** Below this many output samples a call stays on one thread (posting work costs ~0.1 ms). */
export const MIN_PARALLEL_SAMPLES = 1 << 18;

export { defaultThreadCount };

/** Thread counts worth measuring on this machine: 1, 2, ... up to the CPU count. */
export function threadCounts(): number[] {
  return Array.from({ length: Math.max(1, defaultThreadCount()) }, (_, i) => i + 1);
}

interface PoolWorker { worker: Worker; busy: number; pending: Map<number, { resolve: () => void; reject: (e: Error) => void }> }
const pool: PoolWorker[] = [];
let nextId = 1;

function getWorker(i: number): PoolWorker {
  while (pool.length <= i) {
    // Every worker runs the WebAssembly kernel on the main thread's shared memory.
    const worker = new Worker(new URL('./conv-worker.js', import.meta.url), { workerData: { kernelLearnConvWorker: true, memory: sharedConvMemory() } });
    const pw: PoolWorker = { worker, busy: 0, pending: new Map() };
    worker.on('message', (m: { id: number; error?: string }) => {
      const p = pw.pending.get(m.id);
      if (!p) return;
      pw.pending.delete(m.id);
      if (--pw.busy === 0) worker.unref();
      if (m.error) p.reject(new Error(m.error));
      else p.resolve();
    });
    worker.on('error', (err) => {
      for (const p of pw.pending.values()) p.reject(err);
      pw.pending.clear();
      const k = pool.indexOf(pw);
      if (k >= 0) pool.splice(k, 1);
    });
    worker.unref();
    pool.push(pw);
  }
  return pool[i];
}

function post(pw: PoolWorker, job: ConvJob): Promise<void> {
  return new Promise((resolve, reject) => {
    pw.pending.set(job.id, { resolve, reject });
    if (pw.busy++ === 0) pw.worker.ref(); // keep the process alive while work is out
    pw.worker.postMessage(job);
  });
}

/** Ends the worker threads (they are restarted on the next call). */
export async function shutdown(): Promise<void> {
  const all = pool.splice(0, pool.length);
  inputArena.release();
  outputArena.release();
  for (const a of scratchArenas) a.release();
  await Promise.all(all.map((p) => p.worker.terminate()));
}

/**
 * A float32 array over shared memory holding `data` (no copy when it already is shared): a block
 * of the WebAssembly module's memory, where the kernel works in place (release it with heapFree
 * from simd.ts when done, or let it live as long as the process).
 */
export function toShared(data: Float32Array): Float32Array {
  if (data.buffer instanceof SharedArrayBuffer) return data;
  const s = heapAlloc(data.length);
  s.set(data);
  return s;
}

export interface ThreadOptions {
  /** Thread count (default defaultThreadCount()); 1 runs conv2dForwardF32 on this thread. */
  threads?: number;
  /** Use the (float64, JavaScript) separable path when the kernel is rank 1 (1 -> 1 channel, no dilation). Default false. */
  separable?: boolean;
  /** Taps this many samples apart (default 1; odd kernels only when > 1). */
  dilation?: number;
  /**
   * Write the output here (its first n*cout*oh*ow samples) instead of a new array; must not
   * overlap the input. When it is in shared memory (like an input in shared memory) the threads
   * write it directly, with no copy: callers that reuse buffers (the streaming apply) allocate
   * them shared.
   */
  into?: Float32Array;
}

/**
 * Shared memory (blocks of the WebAssembly module's memory), reused from call to call. Fresh
 * SharedArrayBuffers per call would pile up: a worker that allocates little rarely collects
 * garbage, so it keeps every buffer it was sent alive (measured: 1.6 GB peak for a 16384^2
 * streamed apply, against 0.2 GB with arenas).
 */
class Arena {
  private data: Float32Array | null = null;
  get(samples: number): Float32Array {
    if (!this.data || this.data.length < samples) {
      if (this.data) heapFree(this.data);
      this.data = heapAlloc(Math.max(samples, 1));
    }
    return this.data.subarray(0, samples);
  }
  release(): void {
    if (this.data) heapFree(this.data);
    this.data = null;
  }
}
const inputArena = new Arena();
const outputArena = new Arena();
/** Scratch blocks of the worker threads (worker i uses scratchArenas[i]). */
const scratchArenas: Arena[] = [];
/** Calls share the arenas, so they run one at a time. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * conv2dForwardF32 over worker threads, bit-identical to it (with `separable`, identical to
 * conv2dForwardSeparable instead). The input is copied into shared memory unless it already is
 * shared; the output comes back in an ordinary Float32Array.
 */
export function conv2dForwardThreaded(
  x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding,
  opts: ThreadOptions = {},
): Promise<Tensor> {
  const run = queue.then(() => threadedOnce(x, weights, bias, cout, kh, kw, padding, opts));
  queue = run.catch(() => {});
  return run;
}

async function threadedOnce(
  x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding,
  opts: ThreadOptions,
): Promise<Tensor> {
  const dilation = opts.dilation ?? 1;
  const { oh, ow } = conv2dOutputShape(x, weights, bias, cout, kh, kw, padding, dilation);
  const separable = !!opts.separable && x.c === 1 && cout === 1 && dilation === 1;
  const threads = Math.max(1, Math.min(opts.threads ?? defaultThreadCount(), oh));
  const size = x.n * cout * oh * ow;
  const into = opts.into && opts.into.length >= size ? opts.into.subarray(0, size) : null;
  if (threads === 1 || (size < MIN_PARALLEL_SAMPLES && opts.threads === undefined)) {
    if (!into) return (separable && conv2dForwardSeparable(x, weights, bias, cout, kh, kw, padding)) || conv2dForwardF32(x, weights, bias, cout, kh, kw, padding, dilation);
    const out = tensor(x.n, cout, oh, ow, into);
    if (!(separable && conv2dForwardSeparable(x, weights, bias, cout, kh, kw, padding, out))) conv2dForwardF32Rows(x, weights, bias, cout, kh, kw, padding, out, 0, oh, undefined, dilation);
    return out;
  }
  // Workers read the input from shared memory: an input elsewhere is copied into the arena.
  let xs = x.data;
  if (!(xs.buffer instanceof SharedArrayBuffer)) {
    xs = inputArena.get(x.data.length);
    xs.set(x.data);
  }
  const direct = into !== null && into.buffer instanceof SharedArrayBuffer;
  const outShared = tensor(x.n, cout, oh, ow, direct ? into : outputArena.get(size));
  const xShared = tensor(x.n, x.c, x.h, x.w, xs);
  const shape = (t: Tensor): JobTensor => ({
    n: t.n, c: t.c, h: t.h, w: t.w, buf: inHeap(t.data) ? null : (t.data.buffer as SharedArrayBuffer), offset: t.data.byteOffset,
  });
  const jobs: ConvJob[] = [];
  for (let t = 0; t < threads; t++) {
    const y0 = Math.floor((oh * t) / threads);
    const y1 = Math.floor((oh * (t + 1)) / threads);
    if (y1 <= y0) continue;
    let scratch: Scratch | undefined;
    if (jobs.length > 0) {
      // A worker's scratch: a block of the shared memory only it uses during the call.
      const k = jobs.length - 1;
      const plan = planConv(xShared, cout, kh, kw, padding, y1 - y0, { inPlaceIn: inHeap(xs), inPlaceOut: inHeap(outShared.data) }, dilation);
      while (scratchArenas.length <= k) scratchArenas.push(new Arena());
      const block = scratchArenas[k].get(Math.ceil(plan.bytes / 4));
      scratch = { offset: block.byteOffset, bytes: block.byteLength };
    }
    jobs.push({ id: nextId++, x: shape(xShared), out: shape(outShared), weights, bias, cout, kh, kw, padding, y0, y1, separable, scratch, dilation });
  }
  const done = jobs.slice(1).map((j, i) => post(getWorker(i), j));
  try {
    runConvJob(jobs[0]); // this thread takes the first band
  } finally {
    await Promise.allSettled(done);
  }
  await Promise.all(done); // rethrows a worker's error
  if (direct) return outShared;
  // Not slice(): V8 copies out of shared memory element by element there (400 ms for 64 MB, measured).
  const result = into ?? new Float32Array(size);
  result.set(outShared.data);
  return tensor(x.n, cout, oh, ow, result);
}

/** conv2dForward, through the separable path when the kernel is rank 1 and 1 -> 1 channel. One thread. */
export function conv2dForwardAuto(
  x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding,
): Tensor {
  return conv2dForwardSeparable(x, weights, bias, cout, kh, kw, padding) ?? conv2dForward(x, weights, bias, cout, kh, kw, padding);
}

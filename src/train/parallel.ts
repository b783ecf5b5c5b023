/**
 * The loss and gradient of a net over a batch, item by item, on worker threads.
 *
 * An item is one input crop (or validation tile) and its target. Each item's squared-error sum
 * and parameter gradient are computed on their own, into the item's own float64 slot, and the
 * slots are summed in item order on the calling thread: so the result does not depend on how many
 * threads ran or which thread took which item, and the same seed still gives the same model bytes
 * on any machine. Thread t of T takes the items i with i % T = t; the calling thread is thread 0.
 *
 * The trainer is synchronous (trainFilter returns its result; the CLI runs it in a worker thread of
 * its own), so the threads meet through shared memory and Atomics, not messages: the inputs,
 * targets, weights and slots live in SharedArrayBuffers; a step bumps a sequence number and
 * notifies, each worker runs its items and counts itself done. The weights are shared too: the
 * calling thread's layers are re-pointed at the shared copy, so what the optimizer writes is what
 * every worker reads, with no copy per step. Workers start once per thread that uses them, take a
 * new net for each training run, and never keep the process alive.
 *
 * Where worker threads do not exist (browsers, Node before 20.16) everything runs on the calling
 * thread, with the same result.
 */
import { tensor, type Tensor } from '../kernels/conv2d.js';
import { defaultThreadCount, nodeModule } from '../kernels/cpus.js';
import { convLossGrad } from '../kernels/train-wasm.js';
import { buildLayers, Conv2d, describeLayers, zeroGrad, type LayerDesc, type Param, type Sequential } from '../nn/layers.js';
import { KernelLearnError } from '../errors.js';

/** An item's place in the shared data (float offsets) and shapes: input cin x h x w, target cout x oh x ow. */
export interface Item { xAt: number; h: number; w: number; tAt: number; oh: number; ow: number }

/** Items whose losses (and gradients) are summed together; `count` is the MSE's N: every target value of the set. */
export interface ItemSet { items: Item[]; count: number }

/** Control words in the shared Int32Array. */
const SEQ = 0, DONE = 1, ERROR = 2, JOB = 3;
/** JOB values: stop (leave the loop), or 1 + 2 * set + (1 when gradients are wanted). */
const STOP = 0;
/** How long a thread waits for the others before it gives up (a lost worker, not a slow one). */
const TIMEOUT_MS = 600_000;

/** What a worker thread receives once per training run. */
export interface WorkerSetup {
  layers: LayerDesc[];
  cin: number;
  cout: number;
  sets: ItemSet[];
  thread: number;
  threads: number;
  ctl: SharedArrayBuffer;
  message: SharedArrayBuffer;
  data: SharedArrayBuffer;
  weights: SharedArrayBuffer;
  /** Per set: item losses (float64), then, for gradient sets, item gradients (float64, params in order). */
  slots: SharedArrayBuffer[];
}

/** The layers' own Param objects, in params() order (Sequential.params() wraps them in fresh objects). */
const ownParams = (net: Sequential): Param[] => net.layers.flatMap((l) => l.params());

/** The float32 sizes of a net's parameters, in params() order. */
const paramSizes = (params: Param[]): number[] => params.map((p) => p.value.length);

/**
 * One item: the forward pass, its squared-error sum (float64), and with `grad`, the backward pass
 * for dL/dout = 2 (out - t) / count, the parameters' gradients copied into `grad` (float64).
 */
export function runItem(net: Sequential, params: Param[], x: Tensor, t: Tensor, count: number, grad: Float64Array | null): number {
  const only = net.layers.length === 1 ? net.layers[0] : null;
  if (grad && only instanceof Conv2d) return oneConvItem(only, x, t, count, grad);
  const out = net.forward(x);
  if (!grad) return squaredError(out.data, t.data);
  const g = tensor(out.n, out.c, out.h, out.w);
  const s = residual(out.data, t.data, 2 / count, g.data);
  zeroGrad(params);
  net.backward(g, false);
  let k = 0;
  for (const p of params) for (let j = 0; j < p.grad.length; j++) grad[k++] = p.grad[j];
  return s;
}

/**
 * runItem for a net of one conv (what the one-conv trainer descends): the same numbers in one
 * WebAssembly call (convLossGrad), so the sample, its output and its gradient do not cross between
 * JavaScript and WebAssembly memory three times a step. The gradients are rounded to float32 as
 * the layers' Param.grad arrays round them on the general path, which keeps the bytes equal.
 */
function oneConvItem(conv: Conv2d, x: Tensor, t: Tensor, count: number, grad: Float64Array): number {
  const { loss, dWeights, dBias } = convLossGrad(x, t.data, conv.weight.value, conv.bias ? conv.bias.value : null, conv.outChannels, conv.kh, conv.kw, conv.dilation, 2 / count, conv.sums);
  let k = 0;
  for (let j = 0; j < dWeights.length; j++) grad[k++] = Math.fround(dWeights[j]);
  if (conv.bias) for (let j = 0; j < dBias.length; j++) grad[k++] = Math.fround(dBias[j]);
  return loss;
}

/** sum of (o - t)^2 in float64. */
function squaredError(o: Float32Array, t: Float32Array): number {
  let s = 0;
  for (let i = 0; i < o.length; i++) {
    const d = o[i] - t[i];
    s += d * d;
  }
  return s;
}

/** g = scale (o - t) (the MSE's gradient for scale 2 / N), and sum of (o - t)^2, in float64. */
function residual(o: Float32Array, t: Float32Array, scale: number, g: Float32Array): number {
  let s = 0;
  for (let i = 0; i < o.length; i++) {
    const d = o[i] - t[i];
    s += d * d;
    g[i] = scale * d;
  }
  return s;
}

/** The items of `set` that thread `thread` of `threads` takes, run into their slots. */
export function runShare(net: Sequential, params: Param[], data: Float32Array, cin: number, cout: number, set: ItemSet, slots: Float64Array, grads: boolean, thread: number, threads: number): void {
  const n = set.items.length, P = paramSizes(params).reduce((a, b) => a + b, 0);
  for (let i = thread; i < n; i += threads) {
    const it = set.items[i];
    const x = tensor(1, cin, it.h, it.w, data.subarray(it.xAt, it.xAt + cin * it.h * it.w));
    const t = tensor(1, cout, it.oh, it.ow, data.subarray(it.tAt, it.tAt + cout * it.oh * it.ow));
    slots[i] = runItem(net, params, x, t, set.count, grads ? slots.subarray(n + i * P, n + (i + 1) * P) : null);
  }
}

/** Floats of one set's slots: a loss per item, and a gradient per item when the set trains. */
const slotLength = (set: ItemSet, P: number, grads: boolean): number => set.items.length * (grads ? 1 + P : 1);

/** What this module uses of node:worker_threads (typed here: the browser build has no Node types). */
interface NodeWorker { postMessage(message: unknown): void; unref(): void; terminate(): Promise<number> }
type WorkerCtor = new (file: URL, options: { workerData: unknown }) => NodeWorker;
/** This thread's worker threads, started on first use and kept (unreferenced) for later runs. */
const pool: NodeWorker[] = [];
// Not a literal inside new URL(): bundlers would try to package the worker for the browser.
const WORKER_FILE = './descent-worker.js';

function workers(n: number): NodeWorker[] | null {
  const wt = nodeModule<{ Worker: WorkerCtor }>('node:worker_threads');
  if (!wt) return null;
  while (pool.length < n) {
    const w = new wt.Worker(new URL(WORKER_FILE, import.meta.url), { workerData: { kernelLearnDescentWorker: true } });
    w.unref();
    pool.push(w);
  }
  return pool.slice(0, n);
}

/**
 * A net, its items' shared data and slots, and the threads that run them. The net's parameters
 * are re-pointed at shared memory (values kept), so keep using the same Param arrays afterwards.
 */
export class GradientEngine {
  /** Every item's input and target (float32), shared with the workers. */
  readonly data: Float32Array;
  readonly threads: number;
  private readonly params: Param[];
  private readonly P: number;
  private readonly slots: Float64Array[];
  private readonly ctl: Int32Array;
  private readonly message: Uint8Array;

  constructor(private readonly net: Sequential, private readonly cin: number, private readonly cout: number, private readonly sets: ItemSet[], gradSets: boolean[], threads: number) {
    this.params = ownParams(net);
    this.P = paramSizes(this.params).reduce((a, b) => a + b, 0);
    const floats = Math.max(0, ...sets.flatMap((s) => s.items.map((it) => Math.max(it.xAt + cin * it.h * it.w, it.tAt + cout * it.oh * it.ow))));
    const pool = threads > 1 ? workers(threads - 1) : null;
    this.threads = pool ? threads : 1;
    const buffer = (bytes: number): ArrayBuffer | SharedArrayBuffer => (pool ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
    this.data = new Float32Array(buffer(floats * 4));
    const slotBufs = sets.map((s, k) => buffer(slotLength(s, this.P, gradSets[k]) * 8));
    this.slots = slotBufs.map((b) => new Float64Array(b));
    this.ctl = new Int32Array(buffer(16));
    this.message = new Uint8Array(buffer(1024));
    const weights = buffer(this.P * 4);
    this.shareParams(weights);
    if (pool) this.start(pool, weights as SharedArrayBuffer, slotBufs as SharedArrayBuffer[]);
  }

  /** Points every parameter's values at `weights` (their values copied over). */
  private shareParams(weights: ArrayBuffer | SharedArrayBuffer): void {
    let at = 0;
    for (const p of this.params) {
      const view = new Float32Array(weights, at * 4, p.value.length);
      view.set(p.value);
      p.value = view;
      at += view.length;
    }
    // The convs hold their Param objects; params() returned those same objects, so they see the views.
    for (const l of this.net.layers) if (l instanceof Conv2d && l.weight.value.buffer !== weights) throw new Error('GradientEngine: a conv kept its own weights');
  }

  private start(pool: NodeWorker[], weights: SharedArrayBuffer, slots: SharedArrayBuffer[]): void {
    const layers = describeLayers(this.net);
    pool.forEach((w, i) => {
      const setup: WorkerSetup = {
        layers, cin: this.cin, cout: this.cout, sets: this.sets, thread: i + 1, threads: this.threads,
        ctl: this.ctl.buffer as SharedArrayBuffer, message: this.message.buffer as SharedArrayBuffer,
        data: this.data.buffer as SharedArrayBuffer, weights, slots,
      };
      w.postMessage(setup);
    });
    this.waitForWorkers('start'); // each counts itself once its net is built
  }

  /** Blocks until every worker has counted itself done, or reports its error (the pool is then ended: later runs start afresh). */
  private waitForWorkers(what: string): void {
    const t0 = Date.now();
    for (;;) {
      let problem: string | null = null;
      if (Atomics.load(this.ctl, ERROR) !== 0) problem = `a training worker thread failed: ${new TextDecoder().decode(this.message.slice(0, Math.max(0, this.message.indexOf(0))))}`;
      else if (Date.now() - t0 > TIMEOUT_MS) problem = `a training worker thread did not ${what} within ${TIMEOUT_MS / 1000} s`;
      if (problem) {
        for (const w of pool.splice(0)) void w.terminate();
        throw new KernelLearnError(problem);
      }
      const done = Atomics.load(this.ctl, DONE);
      if (done >= this.threads - 1) break;
      Atomics.wait(this.ctl, DONE, done, 1000);
    }
    Atomics.store(this.ctl, DONE, 0);
  }

  /** Set `set`'s mean squared error and, when it trains, the gradient of each parameter (float64, params order). */
  run(set: number, grads: boolean): { loss: number; grads: Float64Array[] | null } {
    const s = this.sets[set], slots = this.slots[set];
    if (this.threads > 1) {
      Atomics.store(this.ctl, JOB, 1 + 2 * set + (grads ? 1 : 0));
      Atomics.add(this.ctl, SEQ, 1);
      Atomics.notify(this.ctl, SEQ);
    }
    runShare(this.net, this.params, this.data, this.cin, this.cout, s, slots, grads, 0, this.threads);
    if (this.threads > 1) this.waitForWorkers('finish a step');
    const n = s.items.length;
    let loss = 0;
    for (let i = 0; i < n; i++) loss += slots[i];
    if (!grads) return { loss: loss / s.count, grads: null };
    const out = paramSizes(this.params).map((len) => new Float64Array(len));
    for (let i = 0; i < n; i++) {
      let k = n + i * this.P;
      for (const g of out) for (let j = 0; j < g.length; j++) g[j] += slots[k++];
    }
    return { loss: loss / s.count, grads: out };
  }

  /** Sends the workers back to wait for their next run. */
  close(): void {
    if (this.threads === 1) return;
    Atomics.store(this.ctl, JOB, STOP);
    Atomics.add(this.ctl, SEQ, 1);
    Atomics.notify(this.ctl, SEQ);
  }
}

/** The threads worth using for `work` multiply-adds a step: one below ~4M (the hand-off costs ~0.1 ms), else every CPU, at most one per item. */
export function threadsFor(work: number, items: number): number {
  return work < 4e6 ? 1 : Math.max(1, Math.min(defaultThreadCount(), items));
}

/** Multiply-adds of a forward and backward pass of the convs of `net` over an item with a (h x w) input. */
export function itemWork(layers: LayerDesc[], h: number, w: number): number {
  let work = 0;
  for (const l of layers) {
    if (l.type !== 'conv2d') continue;
    const o = l.options, d = o.dilation ?? 1;
    h -= d * (o.kh - 1);
    w -= d * (o.kw - 1);
    work += 3 * o.inChannels * o.outChannels * o.kh * o.kw * h * w;
  }
  return work;
}

/** The worker side: build the net, then run shares until told to stop (see the module comment). */
export function serveWorker(s: WorkerSetup): void {
  const ctl = new Int32Array(s.ctl);
  const fail = (e: unknown): void => {
    const bytes = new TextEncoder().encode(String((e as Error)?.message ?? e).slice(0, 1000));
    new Uint8Array(s.message).set(bytes);
    Atomics.store(ctl, ERROR, 1);
    Atomics.notify(ctl, DONE);
  };
  let net: Sequential, params: Param[];
  try {
    net = buildLayers(s.layers);
    params = ownParams(net);
    let at = 0;
    for (const p of params) { p.value = new Float32Array(s.weights, at * 4, p.value.length); at += p.value.length; }
  } catch (e) { fail(e); return; }
  const data = new Float32Array(s.data);
  const slots = s.slots.map((b) => new Float64Array(b));
  let seq = Atomics.load(ctl, SEQ);
  Atomics.add(ctl, DONE, 1);
  Atomics.notify(ctl, DONE);
  for (;;) {
    Atomics.wait(ctl, SEQ, seq);
    seq = Atomics.load(ctl, SEQ);
    const job = Atomics.load(ctl, JOB);
    if (job === STOP) return;
    const set = (job - 1) >> 1, grads = ((job - 1) & 1) === 1;
    try { runShare(net, params, data, s.cin, s.cout, s.sets[set], slots[set], grads, s.thread, s.threads); } catch (e) { fail(e); return; }
    Atomics.add(ctl, DONE, 1);
    Atomics.notify(ctl, DONE);
  }
}

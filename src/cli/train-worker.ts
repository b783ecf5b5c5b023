/**
 * Training in a worker thread, so that Ctrl-C stops `train` at once: trainFilter is synchronous,
 * and on the main thread a SIGINT handler could only run after training ended. Here the main
 * thread stays free; on SIGINT it says how far training got, removes any temporary output, and
 * exits (the model is written only after training, so nothing half-made is left).
 * The worker runs the same trainFilter on the same data, so the model bytes are the same.
 *
 * Start-up cost is kept off the critical path: `startTrainWorker()` may be called before the
 * images are decoded, so the worker boots and loads the trainer (src/train, imported only in the
 * worker) while the main thread decodes. Pairs can be handed over one by one as they are decoded
 * (`send`): with `prefetch` the worker computes each pair's Gram statistics then, while the next
 * files decode, and trainFilter uses them (a GramCache: the same bits as computing them later).
 * The pixel buffers move to the worker and back by transfer, not by copy.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ImagePair } from '../data/pairs.js';
import { KernelLearnError } from '../errors.js';
import type { Pixels } from '../image.js';
import type { GramCache } from '../kernels/gram.js';
import type { TrainOptions, TrainResult } from '../train/index.js';
import { handleInterrupts } from './shared.js';

type Progress = Parameters<NonNullable<TrainOptions['onProgress']>>[0];
type Message =
  | { kind: 'progress'; event: Progress }
  | { kind: 'done'; result: TrainResult; data: Pixels[] }
  | { kind: 'error'; message: string; exitCode: number | null; stack?: string; data: Pixels[] };
type Job =
  | { kind: 'prefetch'; kh: number; kw: number; bias: boolean }
  | { kind: 'pair'; index: number; pair: ImagePair }
  /** Train on the pairs sent before (indices below `from`), then `rest`. */
  | { kind: 'train'; from: number; rest: ImagePair[]; options: Omit<TrainOptions, 'onProgress'> };

const WORKER_TAG = 'kernel-learn-train';

/** Every pixel array of the pairs, inputs then targets, pair by pair. */
function pixelArrays(pairs: ImagePair[]): Pixels[] {
  return pairs.flatMap((p) => [p.input.data, p.target.data]);
}

/**
 * The buffers that can move instead of being copied: a plain ArrayBuffer that the array covers
 * alone (not a shared one, and not Node's pooled Buffer memory that other objects use too).
 */
function transferable(arrays: Pixels[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const a of arrays) {
    const b = a.buffer;
    if (b instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === b.byteLength) out.add(b);
  }
  // A buffer behind two arrays (e.g. two views of one allocation) is only safe when every view
  // covers it whole, which the test above already demands of each.
  return [...out];
}

export interface TrainWorker {
  /**
   * Hands one pair over now (pairs in order, from index 0); its pixel arrays are lent to the worker
   * (until train's answer) and, with prefetch, its Gram statistics are computed meanwhile.
   */
  send(pair: ImagePair): void;
  /** Trains on `pairs` (once; those sent before must be its first ones); their pixel arrays are lent to the worker and put back before this resolves. */
  train(pairs: ImagePair[], options: TrainOptions, unwritten?: string): Promise<TrainResult>;
  /** Stops the worker without training (e.g. when reading the images failed). */
  stop(): void;
}

/**
 * Starts the training worker now (it boots and loads the trainer meanwhile); it keeps the process
 * alive only while it trains.
 */
export function startTrainWorker(prefetch?: { kh: number; kw: number; bias: boolean }): TrainWorker {
  const worker = new Worker(new URL(import.meta.url), { workerData: { tag: WORKER_TAG } });
  worker.unref();
  // A worker that fails before train() is called: kept for train() to report.
  let early: Error | undefined;
  let exited: number | undefined;
  worker.on('error', (err) => void (early ??= err));
  worker.on('exit', (code) => void (exited = code));
  if (prefetch) worker.postMessage({ kind: 'prefetch', ...prefetch } satisfies Job);
  let used = false;
  const sent: ImagePair[] = [];
  return {
    stop: () => void worker.terminate(),
    send(pair) {
      worker.postMessage({ kind: 'pair', index: sent.length, pair } satisfies Job, transferable(pixelArrays([pair])));
      sent.push(pair);
    },
    train(pairs, options, unwritten = 'no model was written') {
      if (used) throw new Error('a training worker trains once');
      used = true;
      if (sent.some((p, i) => pairs[i] !== p)) throw new Error('trainWorker.train: the pairs sent before must be the first pairs');
      if (early) return Promise.reject(early);
      if (exited !== undefined) return Promise.reject(new Error(`the training worker stopped (exit code ${exited})`));
      const { onProgress, ...rest } = options;
      let last: Progress | undefined;
      handleInterrupts(() =>
        last ? `training stopped at ${last.solver} step ${last.step} of at most ${last.maxSteps}; ${unwritten}` : `training had not finished; ${unwritten}`,
      );
      worker.ref();
      const more = pairs.slice(sent.length);
      worker.postMessage({ kind: 'train', from: sent.length, rest: more, options: rest } satisfies Job, transferable(pixelArrays(more)));
      // The lent arrays come back with the answer (or the error); put them back into the caller's pairs.
      const putBack = (data: Pixels[]): void => {
        pairs.forEach((p, i) => {
          p.input.data = data[2 * i];
          p.target.data = data[2 * i + 1];
        });
      };
      return new Promise<TrainResult>((resolve, reject) => {
        let settled = false;
        const finish = (): void => {
          settled = true;
          worker.unref();
          void worker.terminate();
        };
        worker.on('message', (m: Message) => {
          if (m.kind === 'progress') {
            last = m.event;
            onProgress?.(m.event);
          } else if (m.kind === 'done') {
            putBack(m.data);
            finish();
            resolve(m.result);
          } else {
            putBack(m.data);
            finish();
            if (m.exitCode !== null) reject(new KernelLearnError(m.message, m.exitCode));
            else reject(Object.assign(new Error(m.message), { stack: m.stack }));
          }
        });
        worker.on('error', (err) => {
          settled = true;
          reject(err);
        });
        worker.on('exit', (code) => {
          if (!settled) reject(new Error(`the training worker stopped (exit code ${code})`));
        });
      });
    },
  };
}

/** trainFilter in a fresh worker thread (see startTrainWorker to overlap its start with decoding). */
export async function trainInterruptibly(pairs: ImagePair[], options: TrainOptions, unwritten = 'no model was written'): Promise<TrainResult> {
  return startTrainWorker().train(pairs, options, unwritten);
}

if (!isMainThread && (workerData as { tag?: string } | null)?.tag === WORKER_TAG && parentPort) {
  const port = parentPort;
  // Load the trainer now, while the main thread is still reading the images.
  const loading = Promise.all([import('../train/index.js'), import('../kernels/gram.js')]);
  const received: ImagePair[] = [];
  let prefetch: { kh: number; kw: number; bias: boolean } | undefined;
  let cache: GramCache | undefined;
  // Messages are handled in order: each handler's work runs after the modules are loaded, in the
  // order the messages came (the awaits resolve first in, first out).
  port.on('message', async (job: Job) => {
    const [{ trainFilter }, { GramCache: Cache }] = await loading;
    if (job.kind === 'prefetch') {
      prefetch = { kh: job.kh, kw: job.kw, bias: job.bias };
      cache = new Cache();
    } else if (job.kind === 'pair') {
      received[job.index] = job.pair;
      // A pair's statistics while the main thread decodes the next; a failure here (bad data)
      // is left for trainFilter to report.
      try {
        if (prefetch && cache) cache.add(job.pair, prefetch.kh, prefetch.kw, prefetch.bias);
      } catch {
        // trainFilter checks the pairs and says what is wrong.
      }
    } else {
      port.removeAllListeners('message');
      const pairs = [...received.slice(0, job.from), ...job.rest];
      const data = pixelArrays(pairs);
      try {
        const result = trainFilter(
          pairs,
          { ...job.options, onProgress: (event) => port.postMessage({ kind: 'progress', event } satisfies Message) },
          { gramCache: cache },
        );
        port.postMessage({ kind: 'done', result, data } satisfies Message, transferable(data));
      } catch (err) {
        const e = err as Error;
        const exitCode = err instanceof KernelLearnError ? err.exitCode : null;
        port.postMessage({ kind: 'error', message: String(e?.message ?? err), exitCode, stack: e?.stack, data } satisfies Message, transferable(data));
      }
    }
  });
}

/**
 * Training in a worker thread, so that Ctrl-C stops `train` at once: trainFilter is synchronous,
 * and on the main thread a SIGINT handler could only run after training ended. Here the main
 * thread stays free; on SIGINT it says how far training got, removes any temporary output, and
 * exits (the model is written only after training, so nothing half-made is left).
 * The worker runs the same trainFilter on the same data, so the model bytes are the same.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ImagePair } from '../data/pairs.js';
import { KernelLearnError } from '../errors.js';
import { trainFilter, type TrainOptions, type TrainResult } from '../train/index.js';
import { handleInterrupts } from './interrupt.js';

type Progress = Parameters<NonNullable<TrainOptions['onProgress']>>[0];
type Message =
  | { kind: 'progress'; event: Progress }
  | { kind: 'done'; result: TrainResult }
  | { kind: 'error'; message: string; exitCode: number | null; stack?: string };

const WORKER_TAG = 'kernel-learn-train';

export async function trainInterruptibly(pairs: ImagePair[], options: TrainOptions, unwritten = 'no model was written'): Promise<TrainResult> {
  const { onProgress, ...rest } = options;
  let last: Progress | undefined;
  handleInterrupts(() =>
    last ? `training stopped at ${last.solver} step ${last.step} of at most ${last.maxSteps}; ${unwritten}` : `training had not finished; ${unwritten}`,
  );
  const worker = new Worker(new URL(import.meta.url), { workerData: { tag: WORKER_TAG, pairs, options: rest } });
  return new Promise<TrainResult>((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: Message) => {
      if (m.kind === 'progress') {
        last = m.event;
        onProgress?.(m.event);
      } else if (m.kind === 'done') {
        settled = true;
        resolve(m.result);
      } else {
        settled = true;
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
}

if (!isMainThread && (workerData as { tag?: string } | null)?.tag === WORKER_TAG && parentPort) {
  const port = parentPort;
  const { pairs, options } = workerData as { pairs: ImagePair[]; options: TrainOptions };
  try {
    const result = trainFilter(pairs, { ...options, onProgress: (event) => port.postMessage({ kind: 'progress', event } satisfies Message) });
    port.postMessage({ kind: 'done', result } satisfies Message);
  } catch (err) {
    const e = err as Error;
    port.postMessage({ kind: 'error', message: String(e?.message ?? err), exitCode: err instanceof KernelLearnError ? err.exitCode : null, stack: e?.stack } satisfies Message);
  }
}

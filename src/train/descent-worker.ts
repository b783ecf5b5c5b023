/**
 * A worker thread of parallel.ts: for each training run it is sent (a WorkerSetup), it builds the
 * net and serves gradient steps through shared memory until the run ends, then waits for the next.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serveWorker, type WorkerSetup } from './parallel.js';

// Only in a worker that parallel.ts started (not whenever this module loads inside some worker).
if (parentPort && (workerData as { kernelLearnDescentWorker?: boolean } | null)?.kernelLearnDescentWorker) {
  parentPort.on('message', (setup: WorkerSetup) => serveWorker(setup));
}

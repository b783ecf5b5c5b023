/**
 * Ctrl-C (SIGINT) and SIGTERM during a command that writes outputs: remove the temporaries in
 * flight (half-written files, a dataset folder being filled; see io/atomic.ts), say what was
 * finished, and exit with 128 + the signal number, as shells expect.
 */
import { removeTemporaries, stopWrites } from '../io/atomic.js';

let report: () => string = () => 'nothing was finished';
let installed = false;

/** Installs the handler once; `describe` says what is finished so far (called at interrupt time). */
export function handleInterrupts(describe: () => string): void {
  report = describe;
  if (installed) return;
  installed = true;
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      stopWrites();
      const removed = removeTemporaries();
      process.stderr.write(`\nkernel-learn: interrupted (${signal}): ${report()}${removed > 0 ? '; partial outputs removed' : ''}\n`);
      // A mkdir or write already in libuv's thread pool can land after the sweep: let it, then sweep again.
      setTimeout(() => {
        removeTemporaries();
        process.exit(code);
      }, 100);
    });
  }
}

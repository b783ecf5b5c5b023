/**
 * Errors a user can act on. The CLI prints `kernel-learn: error: <message>` and exits with
 * `exitCode` (1 for bad input, 2 for bad usage); anything else is a bug and shows a stack trace.
 */
export class KernelLearnError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'KernelLearnError';
    this.exitCode = exitCode;
  }
}

/** Bad flags or arguments: exit code 2. */
export class UsageError extends KernelLearnError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

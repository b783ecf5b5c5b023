/**
 * The trainer's size limits, in a module of their own so that the CLI's main thread can check
 * options without loading the trainer (which it runs in a worker thread: cli/train-worker.ts).
 */

/** Largest kernel side --ksize takes, and --ksize auto tries when the images are big enough. */
export const KSIZE_MAX = 31;

/**
 * The trainer's size limits, in a module of their own so that the CLI's main thread can check
 * options without loading the trainer (which it runs in a worker thread: cli/train-worker.ts).
 */

/** Largest kernel side --ksize takes, and --ksize auto tries when the images are big enough. */
export const KSIZE_MAX = 31;

/** --arch deep: the most relu layers (--depth), channels (--width) and dilation a layer may have. */
export const DEEP_MAX_DEPTH = 12;
export const DEEP_MAX_WIDTH = 64;
export const DEEP_MAX_DILATION = 64;

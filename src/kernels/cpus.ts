/**
 * How many threads to use, in a module the browser build can load too (it imports nothing from
 * Node: where Node's modules cannot be reached, the answer is 1).
 */

/** Node's built-in module `id` when this runs in Node (>= 20.16), else null (browsers, older Node). */
export function nodeModule<T>(id: string): T | null {
  const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  return typeof p?.getBuiltinModule === 'function' ? ((p.getBuiltinModule(id) as T | undefined) ?? null) : null;
}

/** What this module uses of node:os (typed here: the browser build has no Node types). */
interface NodeOs { availableParallelism?: () => number; cpus(): unknown[] }

/** Threads to use: $KERNEL_LEARN_THREADS, else the number of CPUs (at most 8); 1 outside Node. */
export function defaultThreadCount(): number {
  const os = nodeModule<NodeOs>('node:os');
  if (!os) return 1;
  const env = Number((globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.KERNEL_LEARN_THREADS);
  if (Number.isInteger(env) && env >= 1) return Math.min(env, 64);
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, n));
}

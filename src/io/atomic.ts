import { rmSync, statSync, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { KernelLearnError } from '../errors.js';

/**
 * Outputs appear whole or not at all: files are written under a temporary sibling name and
 * renamed into place, folders (datasets) are filled under a temporary sibling name and renamed
 * at the end. Temporaries still in flight are remembered, so an interrupt (SIGINT) can remove
 * them with removeTemporaries() before the process exits.
 */

const inFlight = new Set<string>();
let stopped = false;
const never = new Promise<never>(() => {});

/**
 * After an interrupt, writes that have not started yet never start (their promise never settles),
 * so nothing new races the cleanup while the process is on its way out.
 */
export function stopWrites(): void {
  stopped = true;
}

/** Writes `data` to `file` atomically. Failures are KernelLearnErrors naming the file and the fix. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  if (stopped) return never;
  const tmp = temporaryName(file);
  inFlight.add(tmp);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw writeError(err, file);
  } finally {
    inFlight.delete(tmp);
  }
}

/** A sibling name that no other writer will pick; the `.tmp-` marker lets cleanup find strays. */
export function temporaryName(file: string): string {
  const dir = path.dirname(file);
  const base = path.basename(file);
  return path.join(dir, `.${base}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

/** Remembers a temporary file or folder until forgetTemporary(): removeTemporaries() deletes it. */
export function trackTemporary(p: string): void {
  inFlight.add(p);
}

export function forgetTemporary(p: string): void {
  inFlight.delete(p);
}

/**
 * The temporary in flight for `file` (its sibling made by temporaryName), if any: lets a caller
 * follow a long write as the file grows (apply's progress bar) without a hook in every writer.
 */
export function temporaryOf(file: string): string | undefined {
  const prefix = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-`);
  for (const p of inFlight) if (p.startsWith(prefix)) return p;
  return undefined;
}

/**
 * Deletes every temporary in flight, synchronously (safe in a signal handler). Returns how many.
 * They stay remembered: a second sweep catches what a file-system call already in flight (in
 * libuv's thread pool) re-created after the first.
 */
export function removeTemporaries(): number {
  let n = 0;
  for (const p of inFlight) {
    try {
      rmSync(p, { recursive: true, force: true });
      n++;
    } catch {
      // best effort: the process is going away
    }
  }
  return n;
}

/**
 * Creates `dir` (and its parents) or explains in one line why it cannot be. Existing folders are
 * fine; an existing file in the way is not.
 */
export async function makeFolder(dir: string): Promise<void> {
  if (stopped) return never;
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new KernelLearnError(`cannot create folder ${dir}: ${blockingFile(dir) ?? 'a file is in the way'} is a file; choose another path`);
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new KernelLearnError(`cannot create folder ${dir}: permission denied; choose a writable location`);
    if (code === 'ENOSPC') throw new KernelLearnError(`cannot create folder ${dir}: the disk is full`);
    throw new KernelLearnError(`cannot create folder ${dir}: ${(err as Error)?.message ?? String(err)}`);
  }
}

/** The first path from `dir` upwards that exists and is not a folder. */
function blockingFile(dir: string): string | undefined {
  let p = path.resolve(dir);
  for (;;) {
    try {
      if (!statSync(p).isDirectory()) return path.relative(process.cwd(), p) || p;
    } catch {
      // does not exist: look further up
    }
    const up = path.dirname(p);
    if (up === p) return undefined;
    p = up;
  }
}

/**
 * Fills a new folder atomically: `fill` writes into a temporary sibling of `dir`, which is renamed
 * to `dir` when `fill` resolves, or removed when it throws (or the process is interrupted).
 * When `dir` already exists, the files made are moved into it one by one (each a rename), so
 * existing files of other names are kept and nothing half-written appears there either.
 */
export async function writeFolderAtomic<T>(dir: string, fill: (tmpDir: string) => Promise<T>): Promise<T> {
  const parent = path.dirname(dir);
  await makeFolder(parent);
  let existing: Stats | undefined;
  try {
    existing = await fs.stat(dir);
  } catch {
    existing = undefined;
  }
  if (existing && !existing.isDirectory()) throw new KernelLearnError(`cannot write into ${dir}: it is a file; choose a folder path`);
  const tmp = temporaryName(dir);
  trackTemporary(tmp);
  try {
    try {
      await fs.mkdir(tmp);
    } catch (err) {
      throw writeError(err, dir); // name the folder the user asked for, not our temporary one
    }
    const result = await fill(tmp);
    if (!existing) {
      try {
        await fs.rename(tmp, dir);
      } catch (err) {
        throw writeError(err, dir);
      }
    } else {
      await mergeInto(tmp, dir);
      await fs.rm(tmp, { recursive: true, force: true });
    }
    return result;
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw err;
  } finally {
    forgetTemporary(tmp);
  }
}

async function mergeInto(from: string, to: string): Promise<void> {
  for (const entry of await fs.readdir(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (entry.isDirectory()) {
      await makeFolder(dst);
      await mergeInto(src, dst);
    } else {
      try {
        await fs.rename(src, dst);
      } catch (err) {
        throw writeError(err, dst);
      }
    }
  }
}

/** One line for a failed write of `file`: which folder is missing, or what else went wrong. */
export function writeError(err: unknown, file: string): KernelLearnError {
  if (err instanceof KernelLearnError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  const dir = path.dirname(file);
  if (code === 'ENOENT') return new KernelLearnError(`cannot write ${file}: folder ${dir} does not exist; create it first`);
  if (code === 'ENOTDIR') return new KernelLearnError(`cannot write ${file}: ${blockingFile(dir) ?? dir} is a file, not a folder; choose another path`);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new KernelLearnError(`cannot write ${file}: permission denied; choose a writable folder`);
  if (code === 'EISDIR') return new KernelLearnError(`cannot write ${file}: it is a folder; give a file name`);
  if (code === 'ENOSPC') return new KernelLearnError(`cannot write ${file}: the disk is full`);
  return new KernelLearnError(`cannot write ${file}: ${String((err as Error)?.message ?? err).split('\n')[0]}`);
}

import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Writes a file under a temporary name in the same folder and renames it into place, so a crash
 * or an error never leaves a half-written output behind.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = temporaryName(file);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** A sibling name that no other writer will pick; the `.tmp-` marker lets cleanup find strays. */
export function temporaryName(file: string): string {
  const dir = path.dirname(file);
  const base = path.basename(file);
  return path.join(dir, `.${base}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
}

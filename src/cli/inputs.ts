/**
 * Many inputs for `filter` and `apply`: <in> may be a folder (searched recursively) or a quoted
 * glob pattern; then <out> is a folder and each output keeps its input's stem (and subfolder)
 * with the extension of --ext.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { listImageFiles, stemOf } from '../data/dataset.js';
import { KernelLearnError } from '../errors.js';
import { IMAGE_EXTENSIONS, isImageFile } from '../io/index.js';

export interface InputPair {
  input: string;
  output: string;
}

const MAGIC = /[*?[\]{}]/;

/** "png" or ".png" -> ".png". */
export function parseExt(value: string): string {
  const v = value.trim();
  return v.startsWith('.') ? v : `.${v}`;
}

/** The folder of a glob pattern above its first wildcard ("data/**\/*.png" -> "data"). */
function globBase(pattern: string): string {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  for (const p of parts) {
    if (MAGIC.test(p)) break;
    fixed.push(p);
  }
  if (fixed.length === parts.length) fixed.pop();
  const base = fixed.join('/');
  return base === '' ? (pattern.startsWith('/') ? '/' : '.') : base;
}

/**
 * null when <in> is one image (an existing file, or a plain path the reader will report on);
 * else every (input, output) pair, outputs under `outDir`. Nothing is created here.
 */
export async function expandInputs(input: string, outDir: string, ext: string): Promise<InputPair[] | null> {
  let stat;
  try {
    stat = await fs.stat(input);
  } catch {
    stat = undefined;
  }
  let files: string[];
  let root: string;
  if (stat?.isDirectory()) {
    files = await listImageFiles(input);
    root = input;
    if (files.length === 0) {
      throw new KernelLearnError(`${input}: is a folder with no image files (looked for ${IMAGE_EXTENSIONS.join(' ')}); give an image, or a folder that holds some`);
    }
  } else if (!stat && MAGIC.test(input)) {
    const { glob } = await import('tinyglobby'); // loaded only for patterns
    files = (await glob(input, { onlyFiles: true, expandDirectories: false, dot: false })).filter(isImageFile).sort();
    root = globBase(input);
    if (files.length === 0) {
      throw new KernelLearnError(`${input}: no images match; check the pattern (quote it so the shell leaves it alone) and that the files end in ${IMAGE_EXTENSIONS.join(' ')}`);
    }
  } else {
    return null;
  }
  let outStat;
  try {
    outStat = await fs.stat(outDir);
  } catch {
    outStat = undefined;
  }
  if (outStat && !outStat.isDirectory()) {
    throw new KernelLearnError(`${outDir}: is a file; with a folder or pattern as input, give a folder for the outputs`);
  }
  const seen = new Map<string, string>();
  return files.map((file) => {
    const stem = stemOf(file, root);
    const other = seen.get(stem);
    if (other) throw new KernelLearnError(`${file}: has the same stem as ${other}, so both would write one output; keep one file per stem`);
    seen.set(stem, file);
    return { input: file, output: path.join(outDir, ...stem.split('/')) + ext };
  });
}

/** Create the folder of each output (after the inputs are known, so a failed run leaves nothing). */
export async function makeOutputFolders(pairs: InputPair[]): Promise<void> {
  for (const dir of new Set(pairs.map((p) => path.dirname(p.output)))) await fs.mkdir(dir, { recursive: true });
}

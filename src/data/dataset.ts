/**
 * Folders of images in, pairs out: finding image files, pairing inputs with targets by stem, and
 * writing datasets (DIR/input/<stem>.png, DIR/target/<stem>.npy) for the `dataset` command.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { KernelLearnError } from '../errors.js';
import type { Image } from '../image.js';
import { makeFolder } from '../io/atomic.js';
import { assertFinite, isImageFile, readImage, writeImage } from '../io/index.js';
import type { ImagePair } from './pairs.js';

/**
 * Image files under `dir`, recursively, sorted by path so every run sees them in the same order.
 * Hidden files and folders (including our own `.name.tmp-*` files) are skipped.
 */
export async function listImageFiles(dir: string): Promise<string[]> {
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch {
    throw new KernelLearnError(`${dir}: no such folder; check the path`);
  }
  if (!stat.isDirectory()) throw new KernelLearnError(`${dir}: is a file, not a folder of images; give the folder that holds them`);
  const found: string[] = [];
  async function walk(d: string): Promise<void> {
    const entries = await fs.readdir(d, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (isImageFile(entry.name)) found.push(full);
    }
  }
  await walk(dir);
  return found.sort();
}

/** The pairing key: the path below the folder, without extension ("a/b.png" -> "a/b"). */
export function stemOf(file: string, root: string): string {
  const rel = path.relative(root, file);
  return rel.slice(0, rel.length - path.extname(rel).length).split(path.sep).join('/');
}

/** Maps stem -> file, refusing two files with one stem (a.png and a.npy): which one would be meant? */
async function filesByStem(dir: string): Promise<Map<string, string>> {
  const files = await listImageFiles(dir);
  if (files.length === 0) throw new KernelLearnError(`${dir}: no image files found (looked for .png .jpg .jpeg .webp .tif .tiff .npy); check the path or add images`);
  const byStem = new Map<string, string>();
  for (const file of files) {
    const stem = stemOf(file, dir);
    const other = byStem.get(stem);
    if (other) throw new KernelLearnError(`${file}: has the same stem as ${other}; keep one file per stem`);
    byStem.set(stem, file);
  }
  return byStem;
}

export interface LoadPairsOptions {
  maxPixels?: number;
  onNotice?: (message: string) => void;
  /**
   * Called with each pair as soon as it is read and checked, in order (e.g. to start work on it
   * while the next files decode). It may take the pixel buffers away (transfer them to a worker);
   * loadPairs reads only sizes and channel counts of earlier pairs.
   */
  onPair?: (pair: ImagePair, index: number) => void;
  /**
   * 'same' (default): a target must have its input's size. 'any': targets of another size are
   * kept (training aligns them: a 'valid' or 'full' convolution, a crop).
   */
  sizes?: 'same' | 'any';
  /**
   * Which of the paired stems to read, given all of them in reading order (a shard: `stats
   * --shard`). Every stem is still checked for its partner first, so each shard sees the same list.
   */
  pick?: (stems: string[]) => string[];
}

/**
 * Reads every input/target pair, paired by stem. Every input needs a target and the other way
 * round: a silently dropped file would train on less data than the user thinks.
 */
export async function loadPairs(inputDir: string, targetDir: string, options: LoadPairsOptions = {}): Promise<ImagePair[]> {
  const inputs = await filesByStem(inputDir);
  const targets = await filesByStem(targetDir);
  const missingTargets = [...inputs.keys()].filter((s) => !targets.has(s));
  const missingInputs = [...targets.keys()].filter((s) => !inputs.has(s));
  if (missingTargets.length > 0) {
    throw new KernelLearnError(
      `${inputs.get(missingTargets[0])}: no target with stem "${missingTargets[0]}" in ${targetDir}` +
        `${missingTargets.length > 1 ? ` (and ${missingTargets.length - 1} more)` : ''}; add the targets or remove the inputs`,
    );
  }
  if (missingInputs.length > 0) {
    throw new KernelLearnError(
      `${targets.get(missingInputs[0])}: no input with stem "${missingInputs[0]}" in ${inputDir}` +
        `${missingInputs.length > 1 ? ` (and ${missingInputs.length - 1} more)` : ''}; add the inputs or remove the targets`,
    );
  }
  const pairs: ImagePair[] = [];
  const stems = options.pick ? options.pick([...inputs.keys()]) : [...inputs.keys()];
  for (const stem of stems) {
    const inputFile = inputs.get(stem)!;
    const targetFile = targets.get(stem)!;
    const input = await readImage(inputFile, options);
    const target = await readImage(targetFile, options);
    if ((options.sizes ?? 'same') === 'same' && (input.width !== target.width || input.height !== target.height)) {
      throw new KernelLearnError(
        `${targetFile}: is ${target.width}x${target.height} but its input ${inputFile} is ${input.width}x${input.height}; ` +
          'a filter keeps the size, so pair each input with its own filtered output',
      );
    }
    assertFinite(input, inputFile);
    assertFinite(target, targetFile);
    const first = pairs[0];
    if (first && input.channels !== first.input.channels) {
      throw new KernelLearnError(
        `${inputFile}: has ${input.channels} channel${input.channels === 1 ? '' : 's'} but ${first.inputFile} has ${first.input.channels}; ` +
          'one model takes one kind of input: make all inputs grey or all colour (kernel-learn dataset --grey converts)',
      );
    }
    if (first && target.channels !== first.target.channels) {
      throw new KernelLearnError(
        `${targetFile}: has ${target.channels} channel${target.channels === 1 ? '' : 's'} but ${first.targetFile} has ${first.target.channels}; ` +
          'all targets need the same number of channels',
      );
    }
    pairs.push({ stem, input, target, inputFile, targetFile });
    options.onPair?.(pairs[pairs.length - 1], pairs.length - 1);
  }
  return pairs;
}

/** Grey from colour with OpenCV's cv2.COLOR_RGB2GRAY weights (ITU-R BT.601), rounded for integer depths. */
export function toGrey(image: Image): Image {
  if (image.channels === 1) return image;
  if (image.channels !== 3) throw new KernelLearnError(`cannot convert a ${image.channels}-channel image to grey`);
  const plane = image.width * image.height;
  const data = image.depth === 'f64' ? new Float64Array(plane) : new Float32Array(plane);
  const integer = image.depth === 'u8' || image.depth === 's16' || image.depth === 'u16';
  for (let i = 0; i < plane; i++) {
    const v = 0.299 * image.data[i] + 0.587 * image.data[plane + i] + 0.114 * image.data[2 * plane + i];
    data[i] = integer ? Math.round(v) : v;
  }
  return { width: image.width, height: image.height, channels: 1, depth: image.depth, data };
}

/** Where a dataset keeps a pair: PNG holds u8/u16 exactly; anything else goes to .npy. */
export function datasetFileName(dir: string, stem: string, image: Image): string {
  const ext = image.depth === 'u8' || image.depth === 'u16' ? '.png' : '.npy';
  return path.join(dir, ...stem.split('/')) + ext;
}

/** Writes one pair into DIR/input and DIR/target, creating subfolders for nested stems. */
export async function writePair(outDir: string, stem: string, input: Image, target: Image): Promise<{ inputFile: string; targetFile: string }> {
  const inputFile = datasetFileName(path.join(outDir, 'input'), stem, input);
  const targetFile = datasetFileName(path.join(outDir, 'target'), stem, target);
  await makeFolder(path.dirname(inputFile));
  await makeFolder(path.dirname(targetFile));
  await writeImage(inputFile, input);
  await writeImage(targetFile, target);
  return { inputFile, targetFile };
}

/**
 * The corpus of test/fixtures/corpus/ (tools/make_corpus.py) for the learner's tests: a
 * configuration's pairs split into training and held-out photographs, and how a model does on the
 * held-out ones at the tool's own output size.
 */

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ImagePair } from '../src/data/pairs.js';
import type { Image } from '../src/image.js';
import { readImage } from '../src/io/index.js';
import { applyAligned } from '../src/nn/apply.js';
import type { Model } from '../src/nn/model.js';

const CORPUS = path.join(process.cwd(), 'test', 'fixtures', 'corpus');

export interface Config {
  name: string;
  inputs: string;
  target: { dtype: string; ext: string };
  heldOut: string[];
  params: { kernel?: number[][] };
}

const manifest = JSON.parse(readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')) as { stems: string[]; configurations: Config[] };
export const config = (name: string): Config => manifest.configurations.find((c) => c.name === name)!;

export async function load(c: Config): Promise<{ train: ImagePair[]; heldOut: ImagePair[] }> {
  const pairs = await Promise.all(
    manifest.stems.map(async (stem) => ({
      stem,
      input: await readImage(path.join(CORPUS, c.inputs, `${stem}${c.inputs === 'inputs' ? '.png' : '.npy'}`)),
      target: await readImage(path.join(CORPUS, c.name, 'target', `${stem}${c.target.ext}`)),
    })),
  );
  return { train: pairs.filter((p) => !c.heldOut.includes(p.stem)), heldOut: pairs.filter((p) => c.heldOut.includes(p.stem)) };
}

/** PSNR (peak = max |target|) and the share of samples within +-1 after rounding to 8 bits, over every held-out pixel at the tool's size. */
export function judge(model: Model, pairs: ImagePair[]): { psnr: number; within1: number } {
  let sse = 0, n = 0, peak = 0, ok = 0;
  for (const p of pairs) {
    const out: Image = applyAligned(model, p.input);
    assert.deepEqual([out.width, out.height], [p.target.width, p.target.height], `${p.stem}: the output has the tool's size`);
    for (let i = 0; i < out.data.length; i++, n++) {
      const t = p.target.data[i], y = out.data[i];
      sse += (y - t) ** 2;
      peak = Math.max(peak, Math.abs(t));
      if (Math.abs(Math.min(255, Math.max(0, Math.round(y))) - t) <= 1) ok++;
    }
  }
  return { psnr: 10 * Math.log10((peak * peak) / (sse / n)), within1: ok / n };
}


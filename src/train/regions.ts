/**
 * Which pixels train and which validate. A Region is a rectangle of one pair: a whole pair when
 * there are several (whole pairs are held out, so validation sees images the fit never saw), or a
 * band of the only pair (the longer side is cut: the last `fraction` of it validates).
 */

import { cropImage } from '../image.js';
import type { ImagePair } from '../data/pairs.js';
import type { GramPair } from '../kernels/gram.js';
import { createRng } from '../random.js';

export interface Region {
  pair: ImagePair;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface Split {
  train: Region[];
  /** Empty when kind is 'none' (one image too small to cut). */
  val: Region[];
  kind: 'pairs' | 'band' | 'none';
}

/** All of a pair that holds target data (its `known` rectangle, or the whole image). */
export function wholeRegion(pair: ImagePair): Region {
  return { pair, ...(pair.known ?? { x0: 0, y0: 0, x1: pair.input.width, y1: pair.input.height }) };
}

export const regionWidth = (r: Region): number => r.x1 - r.x0;
export const regionHeight = (r: Region): number => r.y1 - r.y0;
const shortSide = (r: Region): number => Math.min(regionWidth(r), regionHeight(r));

/**
 * Holds out whole pairs (about `fraction` of them, at least 1, chosen by a seeded shuffle, never
 * the one with the largest smallest side) when there are two or more; otherwise the last `fraction` of the only pair's longer side, provided
 * both parts keep at least `minSide` pixels across (so a kernel of that size has valid pixels).
 */
export function splitPairs(pairs: ImagePair[], fraction: number, seed: number, minSide: number): Split {
  if (pairs.length >= 2) {
    const order = pairs.map((_, i) => i);
    const rng = createRng(seed ^ 0x5eed5eed);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    // Never hold out the pair with the largest smallest side, so training keeps the pair most
    // likely to hold the kernel; and hold out pairs of at least minSide first, so validation has
    // pixels with a whole window (a 1x1 pair validates nothing).
    const side = (i: number): number => shortSide(wholeRegion(pairs[i]));
    const keep = order.reduce((best, i) => (side(i) > side(best) ? i : best), order[0]);
    const rest = order.filter((i) => i !== keep);
    const candidates = [...rest.filter((i) => side(i) >= minSide), ...rest.filter((i) => side(i) < minSide)];
    const nVal = Math.min(pairs.length - 1, Math.max(1, Math.round(fraction * pairs.length)));
    const valSet = new Set(candidates.slice(0, nVal));
    // Keep the input order within each part, so results do not depend on the shuffle beyond the choice.
    return {
      train: pairs.filter((_, i) => !valSet.has(i)).map(wholeRegion),
      val: pairs.filter((_, i) => valSet.has(i)).map(wholeRegion),
      kind: 'pairs',
    };
  }
  const whole = wholeRegion(pairs[0]);
  const w = regionWidth(whole), h = regionHeight(whole);
  const alongRows = h >= w;
  const len = alongRows ? h : w;
  const valLen = Math.max(minSide, Math.round(fraction * len));
  if (len - valLen < minSide || Math.min(w, h) < minSide) return { train: [whole], val: [], kind: 'none' };
  const cut = len - valLen;
  const part = (a: number, b: number): Region =>
    alongRows ? { ...whole, y0: whole.y0 + a, y1: whole.y0 + b } : { ...whole, x0: whole.x0 + a, x1: whole.x0 + b };
  return { train: [part(0, cut)], val: [part(cut, len)], kind: 'band' };
}

/** The regions as stand-alone input/target images (a copy only for bands), for Gram statistics. */
export function regionImages(regions: Region[]): GramPair[] {
  return regions.map((r) => ({ input: cropImage(r.pair.input, r.x0, r.y0, regionWidth(r), regionHeight(r)), target: cropImage(r.pair.target, r.x0, r.y0, regionWidth(r), regionHeight(r)) }));
}

/** A region as a plain record: `pair` indexes the pairs that were split. */
export interface RegionRecord {
  pair: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** How a run split its pairs, as plain records (no pixels): what results and reports carry. */
export interface SplitRecord {
  kind: Split['kind'];
  train: RegionRecord[];
  val: RegionRecord[];
}

export function splitRecord(split: Split, pairs: ImagePair[]): SplitRecord {
  const record = (r: Region): RegionRecord => ({ pair: pairs.indexOf(r.pair), x0: r.x0, y0: r.y0, x1: r.x1, y1: r.y1 });
  return { kind: split.kind, train: split.train.map(record), val: split.val.map(record) };
}

/** The pixels of the regions (width x height). */
export function regionsArea(regions: Region[]): number {
  return regions.reduce((s, r) => s + regionWidth(r) * regionHeight(r), 0);
}

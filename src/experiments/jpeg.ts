/**
 * docs/any-filter.md, "Lossy targets: JPEG": targets saved through sharp's JPEG encoder at qualities
 * 50 to 95, fitted at the filter's size; the compression check's grid correlation and warning, the
 * tap bias it estimates, and the real error (against the fit to the same targets before JPEG) beside
 * the taps' standard errors, which JPEG's bias dwarfs.
 */
import sharp from 'sharp';
import type { ImagePair } from '../data/pairs.js';
import { syntheticImages } from '../data/synthetic.js';
import { applyFilter } from '../filters/ops.js';
import type { FilterSpec } from '../filters/spec.js';
import type { Image } from '../image.js';
import { trainFilter, type TrainResult } from '../train/index.js';
import { photographs } from './deeper.js';
import { defineExperiment, type Row } from './types.js';

/** `image` (planar, 1 or 3 channels) through sharp's JPEG encoder and back, as a decoder gives it (u8). */
async function jpeg(image: Image, quality: number, chroma: '4:4:4' | '4:2:0' = '4:4:4'): Promise<Image> {
  const { width, height, channels } = image, plane = width * height;
  const raw = Buffer.alloc(plane * channels);
  for (let i = 0; i < plane; i++) for (let c = 0; c < channels; c++) raw[i * channels + c] = Math.min(255, Math.max(0, Math.round(image.data[c * plane + i]!)));
  const enc = sharp(raw, { raw: { width, height, channels: channels as 1 | 3 } });
  const file = await (channels === 1 ? enc.toColourspace('b-w') : enc).jpeg({ quality, chromaSubsampling: chroma }).toBuffer();
  const dec = sharp(file);
  const { data } = await (channels === 1 ? dec.toColourspace('b-w') : dec).raw().toBuffer({ resolveWithObject: true });
  const out = new Float32Array(plane * channels);
  for (let i = 0; i < plane; i++) for (let c = 0; c < channels; c++) out[c * plane + i] = data[i * channels + c]!;
  return { width, height, channels, depth: 'u8', data: out };
}

const fit = (pairs: ImagePair[], ksize: number): TrainResult => trainFilter(pairs, { arch: 'linear', ksize, solver: 'exact', border: 'reflect101', seed: 0 });
const taps = (r: TrainResult): number[] => {
  const conv = r.model.layers[0]!;
  if (conv.type !== 'conv2d') throw new Error('jpeg: a linear fit starts with its conv');
  return conv.weights.flat(3);
};
const rms = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);

/** One JPEG case: the fit to the JPEG'd targets against the fit to the same targets before JPEG. */
async function measure(inputs: Image[], spec: FilterSpec, k: number, quality: number, chroma: '4:4:4' | '4:2:0' = '4:4:4') {
  const clean = inputs.map((input, i) => ({ stem: `p${i}`, input, target: applyFilter(input, spec) }));
  const truth = taps(fit(clean, k));
  const lossy = await Promise.all(clean.map(async (p) => ({ ...p, target: await jpeg(p.target, quality, chroma) })));
  const r = fit(lossy, k);
  const err = taps(r).map((w, i) => w - truth[i]!);
  const c = r.diagnostics.compression;
  return { correlation: c.gridCorrelation, warned: c.jpeg, estimate: c.tapBias, realRms: rms(err), realMax: Math.max(...err.map(Math.abs)), se: rms(r.model.training.stdErrors?.weights.flat(3) ?? []) };
}

export const experiment = defineExperiment('jpeg', 'Any filter, lossy targets: JPEG at qualities 50 to 95, the compression check (grid correlation, warning, estimated tap bias) against the real error and the standard errors.', async ({ quick }) => {
  const qualities = quick ? [50, 90] : [50, 75, 90, 95];
  const sets: [string, Image[]][] = [['photos 160x120', await photographs()], ...(quick ? [] : [['synthetic 157x117', syntheticImages(6, { width: 157, height: 117, seed: 3 })] as [string, Image[]]])];
  const filters: [string, FilterSpec, number][] = [['Gaussian 5x5', { op: 'gaussian', ksize: 5 }, 5], ['box 3x3', { op: 'box', ksize: 3 }, 3]];
  const table: Row[] = [];
  const grey: Awaited<ReturnType<typeof measure>>[] = [];
  for (const [set, inputs] of sets)
    for (const [name, spec, k] of filters)
      for (const q of qualities) {
        const m = await measure(inputs, spec, k, q);
        grey.push(m);
        table.push({ images: set, filter: name, chroma: '-', quality: q, gridCorrelation: m.correlation, warned: m.warned ? 'yes' : 'no', 'estimated bias (RMS)': m.warned ? m.estimate : null, 'real error RMS': m.realRms, 'real error max': m.realMax, 'standard error RMS': m.se });
      }
  const colour: Record<string, Awaited<ReturnType<typeof measure>>[]> = { '4:4:4': [], '4:2:0': [] };
  const rgb = syntheticImages(4, { width: 160, height: 120, channels: 3, seed: 8 });
  for (const chroma of quick ? [] : (['4:4:4', '4:2:0'] as const))
    for (const q of qualities) {
      const m = await measure(rgb, { op: 'box', ksize: 3 }, 3, q, chroma);
      colour[chroma]!.push(m);
      table.push({ images: 'synthetic RGB 160x120', filter: 'box 3x3', chroma, quality: q, gridCorrelation: m.correlation, warned: m.warned ? 'yes' : 'no', 'estimated bias (RMS)': m.warned ? m.estimate : null, 'real error RMS': m.realRms, 'real error max': m.realMax, 'standard error RMS': m.se });
    }
  const ratio = (ms: typeof grey): number[] => ms.filter((m) => m.warned).map((m) => m.estimate / m.realRms);
  const full = [...grey, ...colour['4:4:4']!];
  const sub = colour['4:2:0']!.filter((m) => m.warned);
  return {
    table,
    claims: {
      cases: full.length, warned: full.filter((m) => m.warned).length,
      estimateOverRealMin: Math.min(...ratio(full)), estimateOverRealMax: Math.max(...ratio(full)),
      maxOverRmsMin: Math.min(...full.map((m) => m.realMax / m.realRms)), maxOverRmsMax: Math.max(...full.map((m) => m.realMax / m.realRms)),
      biasOverSeMin: Math.min(...full.map((m) => m.realRms / m.se)), biasOverSeMax: Math.max(...full.map((m) => m.realRms / m.se)),
      subsampledShortMin: sub.length ? Math.min(...sub.map((m) => m.realRms / m.estimate)) : -1, subsampledShortMax: sub.length ? Math.max(...sub.map((m) => m.realRms / m.estimate)) : -1,
      subsampledWarned: sub.length, subsampledCases: colour['4:2:0']!.length,
    },
    notes: [
      'Targets through sharp\'s JPEG encoder (grey; RGB with the chroma subsampling stated) and decoded, fitted at the filter\'s size (exact solver); real error: the taps against the fit to the same targets before JPEG; estimated bias: the compression check\'s tapBias (given when it warns); standard error: the stored standard errors of the taps (RMS).',
    ],
  };
});

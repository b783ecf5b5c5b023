/**
 * docs/any-filter.md, "Model size": the forms trainFilter reports for named and random kernels
 * (the full kernel, its separable factorisation truncated at the noise, and the kernel snapped to a
 * scale times small integers), each with its parameters, bytes and held-out error.
 */
import { syntheticImages } from '../data/synthetic.js';
import { applyFilter } from '../filters/ops.js';
import type { FilterSpec } from '../filters/spec.js';
import type { FormReport } from '../train/forms.js';
import { trainFilter } from '../train/index.js';
import { randomKernel } from './random-kernels.js';
import { defineExperiment, fmt, type Row } from './types.js';

const FILTERS: { name: string; spec: FilterSpec; ksize: number }[] = [
  { name: 'Sobel dx 3', spec: { op: 'sobel', dx: 1, dy: 0, ksize: 3 }, ksize: 3 },
  { name: 'Sobel dx 5', spec: { op: 'sobel', dx: 1, dy: 0, ksize: 5 }, ksize: 5 },
  { name: 'Gaussian 5', spec: { op: 'gaussian', ksize: 5 }, ksize: 5 },
  { name: 'Gaussian 7, sigma 1.3', spec: { op: 'gaussian', ksize: 7, sigma: 1.3 }, ksize: 7 },
  { name: 'box 3', spec: { op: 'box', ksize: 3 }, ksize: 3 },
  { name: 'Laplacian ksize 1', spec: { op: 'laplacian', ksize: 1 }, ksize: 3 },
  { name: 'random 5x5', spec: { op: 'kernel', kernel: randomKernel(5, 4) }, ksize: 5 },
];

/** One form as a table cell: its size and held-out error, the rank or the snapped scale first. */
function cell(f: FormReport | undefined, what: 'full' | 'separable' | 'snapped'): string {
  if (!f) return what === 'snapped' ? '(not integers)' : '-';
  const err = `err ${fmt(f.maxAbsError)}`;
  if (what === 'full') return `${f.params} params, ${f.bytes} B, ${err}`;
  if (what === 'separable') return `r=${f.ranks?.join(',') ?? '?'}: ${f.params} params, ${f.bytes} B, ${err}`;
  return `scale ${f.scales?.join(',') ?? '?'}: ${f.bytes} B, ${err}`;
}

export const experiment = defineExperiment('forms', 'Any filter, model size: full, separable and snapped forms of named and random kernels (parameters, bytes, held-out error).', async ({ quick }) => {
  const images = syntheticImages(2, quick ? { width: 64, height: 56, seed: 51 } : { width: 96, height: 80, seed: 51 });
  const table: Row[] = [];
  const claims: Record<string, number | boolean | string> = {};
  for (const f of quick ? FILTERS.slice(0, 3) : FILTERS) {
    const pairs = images.map((input, i) => ({ stem: `img${i}`, input, target: applyFilter(input, f.spec) }));
    const r = trainFilter(pairs, { arch: 'linear', ksize: f.ksize, solver: 'exact', border: 'reflect101', seed: 1, snap: true });
    const by = (form: string): FormReport | undefined => r.forms.find((x) => x.form === form);
    table.push({ filter: f.name, full: cell(by('full'), 'full'), separable: cell(by('separable'), 'separable'), snapped: cell(by('snapped'), 'snapped') });
    const key = f.name.replace(/[^A-Za-z0-9]/g, '');
    Object.assign(claims, {
      [`${key}Rank`]: by('separable')?.ranks?.[0] ?? -1, [`${key}Snapped`]: by('snapped') !== undefined, [`${key}SnappedError`]: by('snapped')?.maxAbsError ?? -1,
      [`${key}FullError`]: by('full')?.maxAbsError ?? -1, [`${key}SeparableError`]: by('separable')?.maxAbsError ?? -1,
    });
  }
  return {
    table,
    claims,
    notes: [
      `Float32 targets of two synthetic ${quick ? '64x56' : '96x80'} images, exact fits at the filter's size with --snap. "B": bytes of the weights as stored (4 per float32 parameter; snapped: an int8 per tap and a float32 scale); err: max abs error over held-out pixels (the separable form runs two float32 passes).`,
    ],
  };
});

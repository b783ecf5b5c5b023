/**
 * Q2: what should happen at the edges. Targets made with each border mode; a model applied with
 * each border mode; the error at border pixels (within the kernel's radius of an edge) against
 * the interior; and how often `--border auto` picks the mode the targets used.
 */
import { syntheticImages } from '../data/synthetic.js';
import { BORDER_MODES, type BorderMode } from '../filters/border.js';
import type { FilterSpec } from '../filters/spec.js';
import type { Image } from '../image.js';
import { applyModel } from '../nn/apply.js';
import type { Model } from '../nn/model.js';
import { trainFilter } from '../train/index.js';
import { defineExperiment, type Row } from './types.js';
import { maxAbs, pairsFor } from './util.js';

/** Largest |a - b| over the border ring of width r, and over the interior. */
function borderInterior(a: Image, b: Image, r: number): { border: number; interior: number } {
  let border = 0, interior = 0;
  const W = a.width, H = a.height;
  for (let c = 0; c < a.channels; c++)
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const i = (c * H + y) * W + x;
        const d = Math.abs(a.data[i]! - b.data[i]!);
        if (y < r || x < r || y >= H - r || x >= W - r) border = Math.max(border, d);
        else interior = Math.max(interior, d);
      }
  return { border, interior };
}

/** cv2.Sobel with the given border; OpenCV refuses BORDER_WRAP for it, so targets use the other four. */
const targetSpec = (border: BorderMode): FilterSpec => ({ op: 'sobel', dx: 1, dy: 0, ksize: 3, border });
const TARGET_MODES = BORDER_MODES.filter((m) => m !== 'wrap');

const withBorder = (m: Model, border: BorderMode): Model => ({ ...m, border });

export const experiment = defineExperiment('edges', 'Q2: what should happen at the edges of the image? Border error by mode, and how often --border auto is right.', async ({ quick }) => {
  const size = quick ? 48 : 128;
  const images = syntheticImages(3, { width: size, height: size, seed: 5 });
  const table: Row[] = [];
  let worstInterior = 0, worstMismatchedRel = Infinity, largestMismatchedRel = 0;
  for (const target of TARGET_MODES) {
    const pairs = pairsFor(images, targetSpec(target));
    const fit = trainFilter(pairs, { arch: 'linear', ksize: 3, solver: 'exact', border: 'auto', seed: 0 });
    const peak = Math.max(...pairs.map((p) => maxAbs(p.target)));
    const row: Row = { 'targets made with': target, 'auto chose': fit.model.border };
    let interior = 0;
    for (const mode of BORDER_MODES) {
      let border = 0;
      for (const p of pairs) {
        const e = borderInterior(applyModel(withBorder(fit.model, mode), p.input), p.target, 1);
        border = Math.max(border, e.border);
        interior = Math.max(interior, e.interior);
      }
      row[`border err, apply ${mode}`] = border / peak;
      if (mode === target) worstInterior = Math.max(worstInterior, border / peak);
    }
    row['interior err'] = interior / peak;
    worstInterior = Math.max(worstInterior, interior / peak);
    table.push(row);
  }
  // how often auto is right, over seeds and target modes; "equivalent" = the chosen mode gives the same output
  const seeds = quick ? 4 : 20;
  let exact = 0, equivalent = 0, total = 0;
  for (let s = 0; s < seeds; s++) {
    const imgs = syntheticImages(2, { width: 32, height: 32, seed: 100 + s });
    for (const target of TARGET_MODES) {
      const pairs = pairsFor(imgs, targetSpec(target));
      const fit = trainFilter(pairs, { arch: 'linear', ksize: 3, solver: 'exact', border: 'auto', seed: s });
      total++;
      if (fit.model.border === target) exact++;
      const peak = Math.max(...pairs.map((p) => maxAbs(p.target)));
      let d = 0;
      for (const p of pairs) d = Math.max(d, borderInterior(applyModel(fit.model, p.input), p.target, 1).border);
      if (d / peak < 1e-6) equivalent++;
    }
  }
  // mismatched modes: the smallest border error when the apply mode differs from the targets' (and is not equivalent)
  for (const row of table) {
    for (const mode of BORDER_MODES) {
      const v = row[`border err, apply ${mode}`] as number;
      if (mode !== row['targets made with'] && v > 1e-6) {
        worstMismatchedRel = Math.min(worstMismatchedRel, v);
        largestMismatchedRel = Math.max(largestMismatchedRel, v);
      }
    }
  }
  table.push({ 'targets made with': `auto over ${seeds} seeds x ${TARGET_MODES.length} modes`, 'auto chose': `${exact}/${total} the same mode, ${equivalent}/${total} an equivalent one` });
  return {
    table,
    claims: { matchedMaxError: worstInterior, autoExact: exact, autoEquivalent: equivalent, autoTotal: total, smallestMismatchError: worstMismatchedRel, largestMismatchError: largestMismatchedRel },
    notes: [
      'Targets: cv2.Sobel dx with each border mode OpenCV accepts (it refuses BORDER_WRAP); models applied with all five. Errors are max |model - target| / max |target| over 3 synthetic images; "border" = the 1-pixel ring a 3x3 kernel reads outside the image, "interior" = the rest (same for every apply mode).',
      'reflect and replicate give the same output for a 3x3 kernel (both repeat the edge pixel one step out), so auto cannot and need not tell them apart: "equivalent" counts a choice whose output equals the targets at every border pixel.',
      'What should happen: the model applies the border mode the targets were made with (OpenCV: BORDER_REFLECT_101); training uses only the valid region, and --border auto reads the mode off the border pixels.',
    ],
  };
});

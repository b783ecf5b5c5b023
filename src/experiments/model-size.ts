/**
 * Q5: optimising for model size. The forms trainFilter reports for a Sobel dx fit (full 3x3 + bias,
 * rank-1 separable 3 + 3, integer-snapped), with their parameters, bytes and held-out error; and
 * why nothing smaller reproduces Sobel: smaller kernels (1x1) or fewer taps leave a large error.
 */
import { syntheticImages } from '../data/synthetic.js';
import { trainFilter } from '../train/index.js';
import { defineExperiment, type Row } from './types.js';
import { SOBEL_DX, maxAbs, pairsFor } from './util.js';

export const experiment = defineExperiment('model-size', 'Q5: what if you optimised for model size? Parameters, bytes and accuracy of each model form.', async ({ quick }) => {
  const size = quick ? 96 : 256;
  const pairs = pairsFor(syntheticImages(5, { width: size, height: size, seed: 3 }), SOBEL_DX);
  const peak = Math.max(...pairs.map((p) => maxAbs(p.target)));
  const fit = trainFilter(pairs, { arch: 'linear', ksize: 3, solver: 'exact', border: 'reflect101', seed: 0, snap: true });
  const table: Row[] = [];
  const byForm: Record<string, { params: number; bytes: number; maxAbsError: number; integers?: number[][][][] }> = {};
  for (const f of fit.forms) {
    byForm[f.form] = f;
    // params: the snapped form counts its non-zero taps (the bytes store all of them as int8).
    table.push({ model: f.form === 'full' ? 'full 3x3 + bias' : f.form === 'separable' ? `separable (rank ${f.ranks?.join(',') ?? '?'})` : f.form === 'snapped' ? `snapped (${f.scales?.join(',') ?? ''} x integers)` : f.form, params: f.params, bytes: f.bytes, 'file bytes': f.fileBytes, 'held-out max abs error': f.maxAbsError, 'relative to max target': f.maxAbsError / peak, 'held-out MSE': f.mse });
  }
  // Smaller than 3x3: a 1x1 kernel (2 params), and a 3x3 without its zero centre column fitted as 1x3 / 3x1.
  const smaller: [string, number | [number, number]][] = [['1x1 + bias', 1]];
  for (const [label, ksize] of smaller) {
    const r = trainFilter(pairs, { arch: 'linear', ksize: ksize as number, solver: 'exact', border: 'reflect101', seed: 0 });
    const full = r.forms.find((f) => f.form === 'full')!;
    table.push({ model: label, params: full.params, bytes: full.bytes, 'file bytes': full.fileBytes, 'held-out max abs error': full.maxAbsError, 'relative to max target': full.maxAbsError / peak, 'held-out MSE': full.mse });
    byForm['k1'] = full;
  }
  const snapped = byForm['snapped'];
  const separable = byForm['separable'];
  return {
    table,
    claims: {
      fullParams: byForm['full']?.params ?? -1,
      separableParams: separable?.params ?? -1,
      separableMaxError: separable?.maxAbsError ?? -1,
      snappedMaxError: snapped?.maxAbsError ?? -1,
      snappedPresent: snapped !== undefined,
      // The snapped form's storage: every tap as an int8 (zeros included) and one float32 scale.
      snappedTaps: snapped?.integers?.flat(3).length ?? -1,
      snappedNonzero: snapped?.params ?? -1,
      snappedBytes: snapped?.bytes ?? -1,
      fullBytes: byForm['full']?.bytes ?? -1,
      separableBytes: separable?.bytes ?? -1,
      k1RelativeError: (byForm['k1']?.maxAbsError ?? 0) / peak,
      peak,
    },
    notes: [
      'Sobel dx is the outer product [1 2 1]^T (x) [-1 0 1]: rank 1, so 3 + 3 taps store it exactly; the snapped form stores the integers and one scale.',
      'Nothing smaller can: the kernel has rank 1 and extent 3 in both directions, so a factorisation needs at least 3 + 3 taps, and a smaller support (1x1 here) cannot represent a derivative at all - its error is of the order of the signal.',
    ],
  };
});

/**
 * The generated sections of docs/answers.md (Q1-Q3, Q5, Q6, the extra credit) and
 * docs/any-filter.md: each experiment's table as it printed it, and the sentences that quote it,
 * every number read from the experiment's committed run record (docs/records/NAME.json). They are
 * spread into SECTIONS (answers-doc.ts); tools/answers-doc.mjs writes them and
 * test/answers-doc.test.ts fails when a doc differs from what its records render.
 *
 * A prose renderer states only what its record shows; the wording that judges ("exact",
 * "every time") is held by test/docs-records.test.ts against the same record.
 */
import { runLine, type RunRecord } from './record.js';
import { fmt, markdownTable, type Cell, type Row } from './types.js';

type Claims = RunRecord['claims'];
const num = (c: Claims, k: string): number => {
  const v = c[k];
  if (typeof v !== 'number') throw new Error(`run record: claim ${k} is missing or not a number`);
  return v;
};
/** A share as a whole percentage (one decimal under 10%, two under 0.1%). */
export const pct = (v: number): string => `${v < 0.001 ? (100 * v).toFixed(2) : v < 0.1 ? (100 * v).toFixed(1) : Math.round(100 * v)}%`;
/** "a to b" from a list, each as the tables print it (fmt), or one value when they print the same. */
function span(xs: number[], show: (v: number) => string = fmt): string {
  const lo = show(Math.min(...xs)), hi = show(Math.max(...xs));
  return lo === hi ? lo : `${lo} to ${hi}`;
}
const col = (rows: Row[], name: string): Cell[] => rows.map((r) => r[name] ?? null);
const nums = (cells: Cell[]): number[] => cells.filter((v): v is number => typeof v === 'number');
/** "1x1, 7x13 and 211x173" */
const list = (xs: string[]): string => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

/** An experiment's table, its notes and where it ran. */
export function tableSection(rec: RunRecord): string {
  return `${markdownTable(rec.table).trimEnd()}\n\n${rec.notes?.join(' ') ?? ''}\n${runLine(rec)}`;
}

/** Q1: streaming very large images. */
export function largeImagesProse(rec: RunRecord): string {
  const c = rec.claims, last = rec.table[rec.table.length - 1]!;
  const growth = nums(col(rec.table, 'peak RSS growth MB'));
  return `Images of ${num(c, 'streamMinMpx')} Mpx (2^24 pixels) and more are applied in bands of rows from disk to disk, ${num(c, 'worstStreamVsWhole') === 0 ? 'bit-identical to' : `within ${fmt(num(c, 'worstStreamVsWhole'))} of`} the whole-image result and within ` +
    `${fmt(num(c, 'worstVsReference'))} of cv2.Sobel: ${fmt(last['Mpx'] ?? null)} Mpx (${String(last.image)}) in ${fmt(last['apply s'] ?? null)} s, while the process grew by ${span(growth)} MB whatever the size. ` +
    `The CLI streams .npy and 8/16-bit PNG inputs of ${num(c, 'streamMinMpx')} Mpx and more (\`--band-rows\` to force it).`;
}

/** Q2: border modes. */
export function edgesProse(rec: RunRecord): string {
  const c = rec.claims;
  return `A wrong mode is exact in the interior but off by ${pct(num(c, 'smallestMismatchError'))} to ${pct(num(c, 'largestMismatchError'))} of the peak at the 1-pixel ring; ` +
    `the right one is exact everywhere (within ${fmt(num(c, 'matchedMaxError'))} of the peak). Auto picked a mode whose output equals the targets at every border pixel in ` +
    `${num(c, 'autoEquivalent')}/${num(c, 'autoTotal')} cases (reflect and replicate are the same thing for a 3x3 kernel, so ${num(c, 'autoExact')}/${num(c, 'autoTotal')} were the literal name).`;
}

/** Q3: one convolution, any size, shifts commute. */
export function fullyConvolutionalProse(rec: RunRecord): string {
  const c = rec.claims;
  const sizes = rec.table.map((r) => /^apply to (\S+)$/.exec(String(r.test))?.[1]).filter((s): s is string => !!s);
  const shift = num(c, 'worstShiftError');
  return `Trained on 64x64 images, the same ${num(c, 'convParams')} numbers apply to ${list(sizes)} images, equal to cv2.Sobel within ${fmt(num(c, 'worstRelativeError'))} of the peak; ` +
    `shifting the input shifts the output by exactly the same amount (${shift === 0 ? 'a difference of 0' : `within ${fmt(shift)}`} away from the border). ` +
    `A dense map on 64x64 images would need ${(num(c, 'denseParams') / 1e6).toFixed(1)} million weights, could take no other size, and would have to learn translation equivariance from data.`;
}

/** Q5: the smallest exact model. */
export function modelSizeLead(rec: RunRecord): string {
  const c = rec.claims;
  return `**Store Sobel as ${num(c, 'snappedTaps')} int8 taps and a float32 scale: ${num(c, 'snappedBytes')} bytes, ${num(c, 'snappedMaxError') === 0 ? 'bit-exact' : `within ${fmt(num(c, 'snappedMaxError'))}`}.** ` +
    `The full model is ${num(c, 'fullParams') - 1} taps + bias (${num(c, 'fullBytes')} bytes of float32); Sobel dx has rank 1, so the separable form stores 3 + 3 taps + bias ` +
    `(${num(c, 'separableParams')} parameters, ${num(c, 'separableBytes')} bytes) to ${fmt(num(c, 'separableMaxError'))} (float32 rounding), and \`--snap\` stores the integer kernel [-1 0 1; -2 0 2; -1 0 1] ` +
    `(${num(c, 'snappedNonzero')} of its taps non-zero) with its scale, exact to the last bit. Nothing smaller reproduces it: a rank-1 kernel with extent 3 in both directions needs 3 + 3 numbers, ` +
    `and a smaller support cannot form a derivative (the best 1x1 kernel is off by ${pct(num(c, 'k1RelativeError'))} of the peak).`;
}

/** Extra credit: random kernels and the limits. */
export function randomKernelsProse(rec: RunRecord): string {
  const c = rec.claims;
  const sizes = String(c.sizes).split(',').map((s) => `${s}x${s}`);
  return `**Any linear shift-invariant kernel is learned exactly, with its support found.** Random kernels of ${sizes[0]} to ${sizes[sizes.length - 1]} ` +
    `(taps uniform in [-1, 1], ${num(c, 'seeds')} seeds each) were recovered to ${fmt(num(c, 'worstRecovered'))} per tap, \`--ksize auto\` finding the right size in ${num(c, 'supportRight')}/${num(c, 'total')} fits. ` +
    `The limits, each shown: a model smaller than the filter leaves a large error (a 7x7 kernel fitted 3x3: ${pct(num(c, 'tooSmallRel'))} of the peak, with a warning); ` +
    `noisy targets move the taps in proportion to the noise (sigma 1: ${fmt(num(c, 'noise1'))}, sigma 10: ${fmt(num(c, 'noise10'))}) and more pixels buy it back ` +
    `(${num(c, 'morePixels')}x the pixels: ${fmt(num(c, 'noise1Big'))}, ${(num(c, 'noise1') / num(c, 'noise1Big')).toFixed(1)}x less; 1 / sqrt(pixels) predicts ${Math.sqrt(num(c, 'morePixels')).toFixed(1)}x); ` +
    `a filter that is not a kernel (a median) gets a warning instead of a confident kernel, and so does one that is not shift-invariant ` +
    `(a kernel whose gain falls to ${fmt(num(c, 'vignetteCornerGain'))} in the corners: the fit is an average kernel, ${pct(num(c, 'vignetteRel'))} of the peak off, and the warning says the filter is not shift-invariant).`;
}

/** Extra credit: saturated and quantised targets. */
export function saturationProse(rec: RunRecord): string {
  const c = rec.claims;
  const qs = Object.keys(c).map((k) => /^quant([\d.]+)$/.exec(k)?.[1]).filter((q): q is string => !!q && Number(q) > 0);
  const perStep = qs.map((q) => num(c, `quant${q}`) / Number(q));
  return `cv2.Sobel to CV_8U sets ${pct(num(c, 'sobelSaturated'))} of the pixels to 0 or 255 (every negative response becomes 0): least squares bends the kernel toward those values ` +
    `(taps ${fmt(num(c, 'sobelPlainTapError'))} off, held-out R² ${fmt(num(c, 'sobelPlainR2'))}, ${pct(num(c, 'sobelPlainWithin1'))} of held-out pixels within one grey level) and warns, suggesting \`--clamp auto\`; ` +
    `with it the model is conv + clamp[0, 255] fitted with a censored loss (saturated pixels constrain only the side they lie on), the kernel is exact (${fmt(num(c, 'sobelClampTapError'))}) ` +
    `and ${pct(num(c, 'sobelClampWithin1'))} of held-out pixels match within one level. Scaled so that (almost) nothing saturates (scale 0.25, delta 128: ${pct(num(c, 'sobelScaledSaturated'))} of the pixels, ` +
    `under the share below which clamp auto does not act), the plain fit is right (its taps are off by ${fmt(num(c, 'sobelScaledPlainTapError'))}, the 8-bit rounding) and clamp auto leaves it alone. ` +
    `Targets rounded to a step q (q = 1: 8-bit output) move the taps by ${span(perStep)} x q (q from ${span(qs.map(Number))}) on ${num(c, 'quantPixels')} pixels: least squares averages rounding noise away like any other noise. ` +
    `For u8 targets the tool knows the step and ${c.quant1Warned ? 'still warns' : 'stays quiet'}; float targets rounded to a step of ${fmt(Math.min(...qs.filter((q) => q !== '1' && c[`quant${q}Warned`] === true).map(Number)))} or more leave a residual above float rounding, so it warns.`;
}

/** Extra credit: poorly conditioned images. */
export function conditioningProse(rec: RunRecord): string {
  const c = rec.claims, t = num(c, 'threshold');
  const bad = ['flat', 'vertical', 'horizontal', 'diagonal', 'smooth'];
  const e = (v: number): string => v.toExponential(0).replace('+', '');
  return `Flat images, stripes of one orientation, one diagonal grating and a smooth ramp give a singular or near-singular window Gram matrix (condition number infinite, or above the ` +
    `${e(t)} threshold): \`identifiable: false\` and the warning "too flat to identify". Their kernels reproduce their own images (${fmt(num(c, 'verticalOwnError'))} for the stripes) but are ` +
    `${span(bad.map((k) => num(c, `${k}ProbeError`)), pct)} of the peak off on textured images they never saw, because the taps in the unexcited directions are guesses. ` +
    `Low rank is not the problem: a rank-1 image f(x) g(y) of white noise has condition number ${fmt(num(c, 'lowRankCond'))} and gives the kernel to ${fmt(num(c, 'lowRankTapError'))}; ` +
    `a smooth rank-1 image comes within a factor of ${Math.round(t / num(c, 'lowRankSmoothCond'))} of the threshold (${fmt(num(c, 'lowRankSmoothCond'))}) and still gives it to ${fmt(num(c, 'lowRankSmoothTapError'))}. ` +
    `Noise helps: the vertical stripes plus noise of sigma 2 give the kernel to ${fmt(num(c, 'verticalNoisyTapError'))} (condition number ${fmt(num(c, 'verticalNoisyCond'))}).`;
}

/** Q6: what the certificate, the bound and the rounding floor measured. */
export function trainingCompleteProse(rec: RunRecord): string {
  const c = rec.claims;
  const d = (gap: number): string => fmt(num(c, `f32Gap${gap}Distance`));
  const tightest = Math.min(...[1e-3, 1e-6, 1e-9].map((gap) => num(c, `f32Gap${gap}BoundRatio`)));
  const off = c.f32PlateauStop === 'plateau'
    ? `With the certificate off, the plateau rule stopped at step ${num(c, 'f32PlateauSteps')} with the taps ${fmt(num(c, 'f32PlateauDistance'))} from the optimum: a plateau says the loss stopped moving, not where the weights are.`
    : `With the certificate off, the validation loss kept improving and the plateau rule never fired: trainFilter ran to its step limit (${num(c, 'f32PlateauSteps')} steps), ` +
      `${num(c, 'f32PlateauSteps') - num(c, 'f32DefaultSteps')} more than the certificate needed.`;
  const f32 = `**Float32 Sobel targets.** The bound holds at every row (|w - w*| is at most ${fmt(num(c, 'f32WorstBoundRatio'))} of it) and at the gap thresholds it is nearly tight ` +
    `(at least ${fmt(tightest)} of it): what Adam has left lies along the Gram's weakest directions, the ones its steps move slowest. A relative gap of 1e-3 still leaves the taps ${d(1e-3)} from the optimum, ` +
    `1e-6 leaves ${d(1e-6)}, 1e-9 leaves ${d(1e-9)}: the distance falls as the square root of the gap, which is why the default tolerance is as small as 1e-12. ` +
    `trainFilter's default run stopped on it (${String(c.f32DefaultStop)}) at step ${num(c, 'f32DefaultSteps')}, ${fmt(num(c, 'f32DefaultDistance'))} from the optimum. ${off}`;
  const reached = num(c, 'u8DoneStep') > 0
    ? `Adam's excess fell below the floor at step ${num(c, 'u8DoneStep')} (taps ${fmt(num(c, 'u8DoneTrueError'))} from the true ones)`
    : `In ${num(c, 'maxSteps')} steps Adam's excess got no lower than ${fmt(num(c, 'u8BestFloorShare'))} times the floor: its minibatch gradients carry the rounding noise, so it jitters around w* instead of reaching it`;
  const u8 = `**8-bit targets.** The exact fit's residual is ${fmt(num(c, 'u8ResidualOverRounding'))} x 1/12: the rounding noise itself. That noise pins the taps only so far: ` +
    `the true kernel's excess over w* is ${fmt(num(c, 'u8TruthOverFloor'))} times the floor (1/12) p / N = ${fmt(num(c, 'u8Floor'))} (p = 9 taps, N training pixels), as predicted, and w* is ${fmt(num(c, 'u8ExactTrueError'))} from the true taps. ` +
    `So descent is done when its excess over w* is below that floor: past it, steps move the taps by less than the data determine them. A relative gap of 1e-12 is far below it and never fires here. ` +
    `${reached}; trainFilter's default run ended on its ${c.u8DefaultStop === 'plateau' ? 'plateau rule' : `${String(c.u8DefaultStop)} rule`} at step ${num(c, 'u8DefaultSteps')}, ` +
    `${fmt(num(c, 'u8DefaultFloorShare'))} times the floor, ${fmt(num(c, 'u8DefaultTrueError'))} from the true taps against the exact solve's ${fmt(num(c, 'u8ExactTrueError'))}. ` +
    `The exact solve is w* itself, in one step, which is why it is the default.`;
  return `${f32}\n\n${u8}`;
}

/** any-filter.md: what the kernel-support record shows, under its table. */
export function kernelSupportProse(rec: RunRecord): string {
  const c = rec.claims;
  const sizes = String(c.sizes).split(',');
  return `Random kernels of ${sizes[0]}x${sizes[0]} to ${sizes[sizes.length - 1]}x${sizes[sizes.length - 1]} fitted at their size were recovered to ${fmt(num(c, 'worstFixed'))} per tap, ` +
    `with \`--ksize auto\` to ${fmt(num(c, 'worstAuto'))}, auto choosing the right size in ${num(c, 'autoRight')}/${num(c, 'autoTotal')} fits; ` +
    `the named kernels got their size and their zero taps in ${num(c, 'namedRight')}/${num(c, 'namedTotal')} cases. ` +
    `On these textured synthetic images the window Gram's condition number ran from ${fmt(num(c, 'condMin'))} to ${fmt(num(c, 'condMax'))} across the random kernels' sizes.`;
}

/** any-filter.md: saturated Sobel, measured once (the saturation record that docs/answers.md quotes). */
export function saturatedR2(rec: RunRecord): string {
  const c = rec.claims;
  return `Saturated targets (cv2.Sobel to CV_8U, ${pct(num(c, 'sobelSaturated'))} of the pixels at 0 or 255) are measured once, in [docs/answers.md](answers.md#saturated-and-quantised-targets): ` +
    `a plain fit's held-out R² is ${fmt(num(c, 'sobelPlainR2'))}, its taps ${fmt(num(c, 'sobelPlainTapError'))} off, and its warning suggests \`--clamp auto\`, which makes the kernel exact (${fmt(num(c, 'sobelClampTapError'))}).`;
}

/** any-filter.md: what the JPEG record shows, under its table. */
export function jpegProse(rec: RunRecord): string {
  const c = rec.claims;
  const x = (lo: string, hi: string): string => span([num(c, lo), num(c, hi)], (v) => v.toFixed(1));
  const sub = num(c, 'subsampledCases') > 0
    ? ` With 4:2:0 chroma subsampling the colour is also blurred, mostly shift-invariantly, which no test of the grid can tell from the filter: the real error is ${x('subsampledShortMin', 'subsampledShortMax')} times the estimate, ` +
      `and ${num(c, 'subsampledWarned')} of ${num(c, 'subsampledCases')} qualities were warned (the warning says "more if the colour was subsampled").`
    : '';
  return `For grey and 4:4:4 colour targets ${num(c, 'warned')} of ${num(c, 'cases')} cases were warned, and the estimate is ${x('estimateOverRealMin', 'estimateOverRealMax')} times the real RMS error; ` +
    `the largest tap is off by ${x('maxOverRmsMin', 'maxOverRmsMax')} times the RMS, and the bias is ${x('biasOverSeMin', 'biasOverSeMax')} times the standard errors, which assume independent noise and say nothing of it.${sub}`;
}

/** The sections above by name (spread into SECTIONS). */
export const ANSWER_SECTIONS: Record<string, { doc: string; record: string; render(rec: RunRecord): string }> = {
  'large-images-table': { doc: 'docs/answers.md', record: 'large-images', render: tableSection },
  'large-images-prose': { doc: 'docs/answers.md', record: 'large-images', render: largeImagesProse },
  'edges-table': { doc: 'docs/answers.md', record: 'edges', render: tableSection },
  'edges-prose': { doc: 'docs/answers.md', record: 'edges', render: edgesProse },
  'fully-convolutional-table': { doc: 'docs/answers.md', record: 'fully-convolutional', render: tableSection },
  'fully-convolutional-prose': { doc: 'docs/answers.md', record: 'fully-convolutional', render: fullyConvolutionalProse },
  'model-size-lead': { doc: 'docs/answers.md', record: 'model-size', render: modelSizeLead },
  'model-size-table': { doc: 'docs/answers.md', record: 'model-size', render: tableSection },
  'training-complete-table': { doc: 'docs/answers.md', record: 'training-complete', render: tableSection },
  'training-complete-prose': { doc: 'docs/answers.md', record: 'training-complete', render: trainingCompleteProse },
  'random-kernels-prose': { doc: 'docs/answers.md', record: 'random-kernels', render: randomKernelsProse },
  'random-kernels-table': { doc: 'docs/answers.md', record: 'random-kernels', render: tableSection },
  'saturation-prose': { doc: 'docs/answers.md', record: 'saturation', render: saturationProse },
  'saturation-table': { doc: 'docs/answers.md', record: 'saturation', render: tableSection },
  'conditioning-prose': { doc: 'docs/answers.md', record: 'conditioning', render: conditioningProse },
  'conditioning-table': { doc: 'docs/answers.md', record: 'conditioning', render: tableSection },
  'kernel-support-table': { doc: 'docs/any-filter.md', record: 'kernel-support', render: tableSection },
  'kernel-support-prose': { doc: 'docs/any-filter.md', record: 'kernel-support', render: kernelSupportProse },
  'diagnosis-table': { doc: 'docs/any-filter.md', record: 'diagnosis', render: tableSection },
  'saturated-r2': { doc: 'docs/any-filter.md', record: 'saturation', render: saturatedR2 },
  'jpeg-table': { doc: 'docs/any-filter.md', record: 'jpeg', render: tableSection },
  'jpeg-prose': { doc: 'docs/any-filter.md', record: 'jpeg', render: jpegProse },
  'forms-table': { doc: 'docs/any-filter.md', record: 'forms', render: tableSection },
};

/**
 * The search: fit every variant on the interior of a few crops (where the border mode cannot
 * matter), keep the best few, then choose each one's border mode on whole images and verify it on
 * every pair. Continuous parameters are fitted by a 1-D search on the MSE and reported as the
 * simplest number that re-filters as well (1.5, not 1.4999998); OpenCV's scale and delta by linear
 * least squares on the response, then likewise simplified.
 */
import { KernelLearnError } from '../errors.js';
import { type Depth, type Image } from '../image.js';
import { applyLibraryCall, libraryCallString, type LibrarySpec } from '../filters/libraries/index.js';
import { type Guide, guideAllows, narrowRange, TRUSTED_R2 } from './guide.js';
import { guidedRange } from './kernel.js';
import { minimize1d, simpleNumbersNear } from './numbers.js';
import { type Comparison, type PixelSet, type Score, compareScores, scoreCall } from './score.js';
import { explicitness, LIBRARIES, type Library, type Variant } from './variants.js';

export interface SearchContext {
  inDepth: Depth;
  cmp: Comparison;
  guide: Guide | null;
  /** One small crop compared in its interior: what every variant is first fitted on. */
  quick: PixelSet;
  /** Crops compared in their interior: what the best few are scored and refined on. */
  fit: PixelSet;
  /** A whole image or two: where the border mode is chosen (modes that differ at one image's edge differ at any). */
  border: PixelSet;
  /** Every pair, whole: the verification. */
  all: PixelSet;
  /** Some target is negative while no input is: a call that keeps non-negative images non-negative did not make them. */
  negativeTargets: boolean;
}

/** One call that was tried, verified on every pair. */
export interface IdentifiedCall {
  library: Library;
  /** The function as the library names it: Sobel, gaussian_filter, GaussianBlur, -morphology Convolve. */
  function: string;
  /** The call's parameters (our spec of it, without the library's name). */
  params: Record<string, unknown>;
  /** The call in the library's own syntax, x being the input array (ImageMagick: a shell command). */
  call: string;
  /** Share of target samples the call reproduces (score.ts: exactly, or within 1e-6 of the peak for floats). */
  fraction: number;
  maxAbsError: number;
}

interface Fitted {
  variant: Variant;
  spec: LibrarySpec;
  score: Score;
}

function scored(variant: Variant, spec: LibrarySpec, set: PixelSet, cmp: Comparison): Fitted | null {
  const score = scoreCall(spec, set, cmp);
  return score ? { variant, spec, score } : null;
}

/** At least as many matching samples, and an MSE no worse (beyond rounding) or within the float tolerance. */
function asGood(a: Score, bar: Score, cmp: Comparison): boolean {
  return a.fraction >= bar.fraction && (a.mse <= bar.mse * 1.01 || a.maxAbsError <= cmp.tolerance);
}

/** The first of `specs` (simplest first) that re-filters the fit set as well as `bar`. */
function firstAsGood(variant: Variant, specs: LibrarySpec[], bar: Score, ctx: SearchContext): Fitted | null {
  for (const spec of specs) {
    const f = scored(variant, spec, ctx.fit, ctx.cmp);
    if (f && asGood(f.score, bar, ctx.cmp)) return f;
  }
  return null;
}

/** A variant's best call on the fit crops; null when the library refuses it or the learned kernel rules it out. */
export function fitVariant(v: Variant, ctx: SearchContext): Fitted | null {
  if ((v.nonNegative && ctx.negativeTargets) || !guideAllows(ctx.guide, v.expect ?? 'any', v.width, v.parity)) return null;
  if (v.continuous) return fitContinuous(v, ctx);
  if (v.affine) return fitAffine(v, ctx);
  return scored(v, v.build(), ctx.fit, ctx.cmp);
}

/**
 * A continuous parameter: for a blur, bracketed by the learned kernel (the cheap guide: kernels
 * only, no image filtered), else searched over its range narrowed by the learned kernel's
 * spread; then a 1-D search on the re-filtered images' MSE and the simplest number as good.
 */
function fitContinuous(v: Variant, ctx: SearchContext): Fitted | null {
  const c = v.continuous!;
  const range = narrowRange(ctx.guide, v.expect ?? 'any', c.range);
  // Only blurs: a sharpen clips, which bends the learned kernel (the bracket would miss).
  const guided = v.expect === 'lowpass' && ctx.guide && ctx.guide.r2 >= TRUSTED_R2 ? guidedRange(v, ctx.guide.kernel, ctx.inDepth, range) : null;
  // Integer targets change in steps (an 8-bit kernel's taps in 1/256ths): a bracket 1e-4 wide is on
  // the step already, and the simplest number near it is tried next.
  const { x, value } = minimize1d((p) => scoreCall(v.build(p), ctx.fit, ctx.cmp)?.mse ?? Infinity, guided ?? range, guided ? 4 : 8, ctx.cmp.integer ? 1e-4 : 1e-8);
  if (!Number.isFinite(value)) return null;
  const raw = scored(v, v.build(x), ctx.fit, ctx.cmp)!;
  return firstAsGood(v, simpleNumbersNear(x).map((p) => v.build(p)), raw.score, ctx) ?? raw;
}

/** Below this share of matching samples a fitted scale is not worth simplifying: the call is not the one. */
const SIMPLIFY_FROM = 0.5;

/**
 * OpenCV's scale and delta: the response at scale 1, delta 0 (as float), a straight line through
 * (response, target) on the unsaturated samples, then the simplest (scale, delta) pair that does
 * as well, pairs tried in order of combined simplicity.
 */
function fitAffine(v: Variant, ctx: SearchContext): Fitted | null {
  const base = v.build();
  let responses: Image[];
  try {
    const depth = ctx.inDepth === 'f32' ? 'f32' : 'f64';
    responses = ctx.fit.inputs.map((x) => applyLibraryCall(x, { ...base, depth } as LibrarySpec));
  } catch (err) {
    if (err instanceof KernelLearnError) return null;
    throw err;
  }
  const line = fitLine(responses, ctx.fit, ctx.cmp);
  if (!line) return scored(v, base, ctx.fit, ctx.cmp);
  const raw = scored(v, { ...base, ...line } as LibrarySpec, ctx.fit, ctx.cmp);
  if (!raw || raw.score.fraction < SIMPLIFY_FROM) return raw;
  const scales = simpleNumbersNear(line.scale).slice(0, 6);
  const deltas = simpleNumbersNear(line.delta, 0.02, ctx.cmp.integer ? 1 : 10 * ctx.cmp.tolerance).slice(0, 4);
  const pairs = scales.flatMap((scale, i) => deltas.map((delta, j) => ({ scale, delta, order: i + j })));
  pairs.sort((a, b) => a.order - b.order);
  return firstAsGood(v, pairs.map(({ scale, delta }) => ({ ...base, scale, delta }) as LibrarySpec), raw.score, ctx) ?? raw;
}

/** Least squares target = scale * response + delta over the compared, unsaturated samples. */
function fitLine(responses: Image[], set: PixelSet, cmp: Comparison): { scale: number; delta: number } | null {
  let n = 0, sr = 0, st = 0, srr = 0, srt = 0;
  const m = set.margin;
  for (let k = 0; k < responses.length; k++) {
    const { width: w, height: h, channels } = set.targets[k];
    const r = responses[k].data;
    const t = set.targets[k].data;
    for (let c = 0; c < channels; c++) {
      for (let y = m; y < h - m; y++) {
        for (let i = (c * h + y) * w + m, end = (c * h + y) * w + w - m; i < end; i++) {
          if (cmp.range && (t[i] <= cmp.range.lo || t[i] >= cmp.range.hi)) continue;
          n++;
          sr += r[i];
          st += t[i];
          srr += r[i] * r[i];
          srt += r[i] * t[i];
        }
      }
    }
  }
  const varR = srr - (sr * sr) / n;
  if (!(n > 1 && varR > 0)) return null;
  const scale = (srt - (sr * st) / n) / varR;
  return { scale, delta: (st - scale * sr) / n };
}

/** The border mode that re-filters the whole images best (ties keep the library's default). */
function chooseBorder(f: Fitted, ctx: SearchContext): Fitted {
  const b = f.variant.border;
  if (!b) return f;
  let best: Fitted | null = null;
  for (const value of b.values) {
    const spec = { ...f.spec } as Record<string, unknown>;
    if (value === b.values[0]) delete spec[b.key];
    else spec[b.key] = value;
    const g = scored(f.variant, spec as unknown as LibrarySpec, ctx.border, ctx.cmp);
    if (g && (!best || compareScores(g.score, best.score) < 0)) best = g;
  }
  return best ?? f;
}

/** A variant's refinements (scipy's truncate), fitted on the quick crop and scored on the fit crops; the best of them and the call itself. */
function refine(f: Fitted, ctx: SearchContext): Fitted {
  if (!f.variant.refine) return f;
  let best = f;
  for (const sub of f.variant.refine(f.spec)) {
    const q = fitVariant({ ...f.variant, ...sub, refine: undefined }, { ...ctx, fit: ctx.quick });
    const g = q && scored(q.variant, q.spec, ctx.fit, ctx.cmp);
    if (g && compareScores(g.score, best.score) < 0) best = g;
  }
  return best;
}

function byEvidence(a: IdentifiedCall & { rank: number }, b: IdentifiedCall & { rank: number }): number {
  return (
    b.fraction - a.fraction ||
    a.maxAbsError - b.maxAbsError ||
    a.rank - b.rank ||
    explicitness(a.call) - explicitness(b.call) ||
    a.call.length - b.call.length ||
    LIBRARIES.indexOf(a.library) - LIBRARIES.indexOf(b.library)
  );
}

function toCall(f: Fitted, score: Score, inDepth: Depth): IdentifiedCall & { rank: number } {
  const { library: _library, ...params } = f.spec as unknown as Record<string, unknown>;
  return {
    library: f.variant.library,
    function: f.variant.fn,
    params,
    call: libraryCallString(f.spec, inDepth),
    fraction: score.fraction,
    maxAbsError: score.maxAbsError,
    rank: f.variant.rank,
  };
}

/** Best score first (ties: the simpler variant), one entry per distinct call, at most `count`. */
function bestDistinct(fitted: Fitted[], inDepth: Depth, count: number): Fitted[] {
  fitted.sort((a, b) => compareScores(a.score, b.score) || a.variant.rank - b.variant.rank);
  const seen = new Set<string>();
  return fitted
    .filter((f) => {
      const key = libraryCallString(f.spec, inDepth);
      return seen.has(key) ? false : (seen.add(key), true);
    })
    .slice(0, count);
}

/**
 * Every variant fitted on the quick crop; the best 2 `keep` scored on the fit crops; the best
 * `keep` of those given their border mode and verified on every pair, best evidence first (then
 * the simpler call). Refinements run only while no call re-makes the fit crops exactly: they
 * look for exactness, and a call that has it cannot be beaten, only equalled.
 */
export function searchCalls(variants: Variant[], ctx: SearchContext, keep = 6): IdentifiedCall[] {
  const quick = { ...ctx, fit: ctx.quick };
  const screened = bestDistinct(variants.map((v) => fitVariant(v, quick)).filter((f): f is Fitted => f !== null), ctx.inDepth, 2 * keep);
  let fitted = screened.map((f) => scored(f.variant, f.spec, ctx.fit, ctx.cmp)).filter((f): f is Fitted => f !== null);
  if (!fitted.some((f) => f.score.fraction >= 1)) fitted = fitted.map((f) => refine(f, ctx));
  const verified = bestDistinct(fitted, ctx.inDepth, keep).map((f) => {
    const g = chooseBorder(f, ctx);
    return toCall(g, scoreCall(g.spec, ctx.all, ctx.cmp)!, ctx.inDepth);
  });
  verified.sort(byEvidence);
  const calls = new Set<string>();
  return verified.filter((c) => (calls.has(c.call) ? false : (calls.add(c.call), true))).map(({ rank: _rank, ...c }) => c);
}

/**
 * Where a curves model leaves the data it was fitted on. A curve is known between its first and
 * last knots (the range its training data covered); beyond them it continues in a straight line
 * (the last hinge's slope), which is a guess: a gamma fitted on bright photographs says nothing
 * about the shadows of a darker one. So `apply` counts, per curve, the share of an image's values
 * that fall outside that range (the inputs for a curve before the kernel, the kernel's responses
 * for a curve after it) and warns when it is more than a trace.
 */
import type { Image } from '../image.js';
import { applyModel } from './apply.js';
import type { Curve } from './curve.js';
import { kernelLayer, type Model } from './model.js';

/** One curve's share of values outside its knots' range (by more than float32 rounding of it). */
export interface CurveCoverage {
  side: 'before' | 'after';
  channel: number;
  range: [number, number];
  outside: number;
  /** The values seen, [min, max]. */
  seen: [number, number];
}

/**
 * Values this close to the range (as a share of its width) count as inside: rounding (a kernel summing
 * to 1 within 1e-6 takes white a hair past the top knot), not
 * extrapolation. No more: a steep curve (a gamma near black) is far off a short way past its end.
 */
const SLACK = 1e-4;

/** Below this share of the values outside, a curve's extrapolation is not worth a warning. */
export const COVERAGE_WARNING = 1e-3;

/**
 * Every curve of the model, with the share of the image's values outside its range; empty for
 * models without curves, or when the image's channels are not the model's (a grey model run on
 * each channel of a colour image is checked by the caller per channel, if at all).
 */
export function curveCoverage(model: Model, image: Image): CurveCoverage[] {
  const curves = model.training.curves;
  if (!curves || image.channels !== model.inputChannels) return [];
  const out: CurveCoverage[] = [];
  const plane = image.width * image.height;
  curves.before?.forEach((c, ch) => out.push({ side: 'before', channel: ch, ...coverage(c, image.data.subarray(ch * plane, (ch + 1) * plane)) }));
  const kernel = kernelLayer(model);
  if (curves.after && kernel) {
    // The responses: the network up to and including the kernel (the curve before it, if any).
    const prefix = { ...model, outputChannels: kernel.conv.outChannels, layers: model.layers.slice(0, kernel.index + 1) };
    const responses = applyModel(prefix, image);
    curves.after.forEach((c, ch) => out.push({ side: 'after', channel: ch, ...coverage(c, responses.data.subarray(ch * plane, (ch + 1) * plane)) }));
  }
  return out;
}

function coverage(c: Curve, values: ArrayLike<number>): { range: [number, number]; outside: number; seen: [number, number] } {
  const lo = c.knots[0], hi = c.knots[c.knots.length - 1];
  const slack = SLACK * (hi - lo);
  let outside = 0, min = Infinity, max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo - slack || v > hi + slack) outside++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { range: [lo, hi], outside: values.length ? outside / values.length : 0, seen: [min, max] };
}

/** The warnings for one image (file): one line per curve with more than COVERAGE_WARNING outside. */
export function coverageWarnings(file: string, found: CurveCoverage[]): string[] {
  const num = (v: number): string => String(Number(v.toPrecision(3)));
  return found
    .filter((f) => f.outside > COVERAGE_WARNING)
    .map((f) => {
      const what = f.side === 'before' ? 'its values' : "the kernel's responses";
      const ch = found.filter((g) => g.side === f.side).length > 1 ? ` (channel ${f.channel})` : '';
      return (
        `${file}: ${num(100 * f.outside)}% of ${what} lie outside the range the curve ${f.side} the kernel${ch} was fitted on, ` +
        `[${num(f.range[0])}, ${num(f.range[1])}] (here [${num(f.seen[0])}, ${num(f.seen[1])}]): the curve continues in a straight line there, a guess; ` +
        'train on images that cover these values'
      );
    });
}

/**
 * Targets that are not the input's size, or not where the input is: another tool's output cropped
 * to the pixels whose window is inside the image (PyTorch conv2d without padding: 'valid',
 * (H-kh+1) x (W-kw+1)), grown by the window (a 'full' convolution, (H+kh-1) x (W+kw-1)), or shifted
 * by a few pixels (an off-by-one crop, an anchor not at the centre). One alignment explains all
 * pairs:
 *
 *   target(y, x) = same(y + dy, x + dx),   target size = (H + dh) x (W + dw)
 *
 * where `same` is the filter's output at the input's size with the anchor at the kernel's centre
 * (OpenCV's convention, the one kernel-learn fits). mode names the common cases: same (all 0),
 * valid (a centred crop: dy = ceil(-dh / 2)), full (a centred extension: dy = -floor(dh / 2)),
 * offset (anything else).
 *
 * How it is found (alignPairs):
 *  1. The candidate shifts: every (dy, dx) within MAX_OFFSET of the range the sizes allow
 *     (dy in [min(0, -dh), max(0, -dh)] grown by MAX_OFFSET each way).
 *  2. A proxy ranks them: the correlation between the magnitude of the input's and the target's
 *     high frequencies (|Laplacian|) over their overlap, on a central crop of a few pairs. Edges
 *     stay where they are under any compact, roughly centred filter (blurs, derivatives, sharpening),
 *     so the peak is the shift; it needs no kernel yet.
 *  3. The fit's own loss checks it: when the sizes differ and a 7x7 least-squares kernel (5x5 or 3x3 on small images) at the
 *     proxy's shift does not explain the targets (R² below MIN_R2), the pairs are refused: no
 *     alignment explains them. Same-size targets keep dy = dx = 0 unless the unshifted 7x7 fit is
 *     poor (R² below 0.99) and the shifted one halves its residual: a window absorbs a small shift.
 *  4. After the fit (trainFilter), a kernel whose non-zero taps sit off-centre in an odd-sized box
 *     is centred and the alignment moved by as much, then fitted again: the same output is a
 *     shifted target and a centred kernel, or an off-centre kernel, and kernel-learn takes the
 *     centred kernel, which is what the tools' own kernels are (an even box cannot be centred).
 *
 * The aligned pair keeps the input and places the target in the input's frame; `known` is the
 * rectangle of that frame the target covers, and every region of the fit stays inside it (the
 * Gram's windows, the border search, the metrics). Target pixels outside the input's frame (a
 * 'full' target's outer ring) are not fitted; the border mode found from the pixels inside
 * decides them when the model is applied.
 */

import type { ImagePair } from '../data/pairs.js';
import { KernelLearnError } from '../errors.js';
import { createImage, type Image, type Rect } from '../image.js';
import { gramStats } from '../kernels/gram.js';
import type { ModelAlignment } from '../nn/model.js';
import { solveExact } from './exact.js';
import { regionImages, type Region } from './regions.js';

/** dy, dx: where the target's top-left pixel sits in the input's frame; dh, dw: target size minus input size (see the header). */
export type Alignment = ModelAlignment;

export const SAME: Alignment = { mode: 'same', dy: 0, dx: 0, dh: 0, dw: 0 };
/** How far a target may be shifted beyond what its size implies. */
export const MAX_OFFSET = 16;
/** The least R² a 7x7 kernel must reach at the best shift for targets of another size to be aligned. */
export const MIN_R2 = 0.5;

/** The mode of a shift and size change (see the header). */
export function alignmentMode(dy: number, dx: number, dh: number, dw: number): Alignment['mode'] {
  if (dy === 0 && dx === 0 && dh === 0 && dw === 0) return 'same';
  if (dh <= 0 && dw <= 0 && dy === Math.ceil(-dh / 2) && dx === Math.ceil(-dw / 2)) return 'valid';
  if (dh >= 0 && dw >= 0 && dy === -Math.floor(dh / 2) && dx === -Math.floor(dw / 2)) return 'full';
  return 'offset';
}

/** The rectangle of the input's frame a target of alignment `a` covers. */
function knownRect(input: Image, a: Alignment): Rect {
  return {
    y0: Math.max(0, a.dy), y1: Math.min(input.height, a.dy + input.height + a.dh),
    x0: Math.max(0, a.dx), x1: Math.min(input.width, a.dx + input.width + a.dw),
  };
}

/** The pair with its target placed in the input's frame (zeros outside `known`). */
export function alignPair(pair: ImagePair, a: Alignment): ImagePair {
  if (a.mode === 'same') return pair;
  const { input, target } = pair;
  const known = knownRect(input, a);
  const placed = createImage(input.width, input.height, target.channels, target.depth);
  for (let c = 0; c < target.channels; c++) {
    for (let y = known.y0; y < known.y1; y++) {
      const src = (c * target.height + y - a.dy) * target.width + known.x0 - a.dx;
      placed.data.set(target.data.subarray(src, src + known.x1 - known.x0), (c * input.height + y) * input.width + known.x0);
    }
  }
  return { ...pair, target: placed, known };
}

/** The alignment that explains every pair (steps 1-4 of the header), or an error naming the pair it cannot explain. */
export function findAlignment(pairs: ImagePair[]): Alignment {
  const first = pairs[0];
  const dh = first.target.height - first.input.height, dw = first.target.width - first.input.width;
  for (const p of pairs) {
    if (p.target.height - p.input.height !== dh || p.target.width - p.input.width !== dw) {
      throw new KernelLearnError(
        `${p.targetFile ?? p.stem}: the target is ${p.target.width}x${p.target.height} for a ${p.input.width}x${p.input.height} input, but ${first.targetFile ?? first.stem}'s is ${first.target.width}x${first.target.height} for ${first.input.width}x${first.input.height}; ` +
          'all targets must differ from their inputs by the same amount (one filter, one crop)',
      );
    }
  }
  const sample = pairs.slice(0, 3);
  const proxy = bestShift(sample, dh, dw);
  const at = (dy: number, dx: number): Alignment => ({ mode: alignmentMode(dy, dx, dh, dw), dy, dx, dh, dw });
  if (dh === 0 && dw === 0) {
    // A window absorbs a small shift as an off-centre kernel (trainFilter centres it after the
    // fit); only a shift that the unshifted fit cannot explain is taken here.
    if (!proxy || (proxy.dy === 0 && proxy.dx === 0)) return SAME;
    const unshifted = checkFit(sample, SAME);
    const shifted = checkFit(sample, at(proxy.dy, proxy.dx));
    return unshifted.residual > 0.01 && shifted.residual < 0.5 * unshifted.residual ? shifted.alignment : SAME;
  }
  if (!proxy) throw noAlignment(first, 'the target and its input hardly overlap at any shift');
  const fit = checkFit(sample, at(proxy.dy, proxy.dx));
  if (Number.isNaN(fit.r2)) throw noAlignment(first, 'the images are too small to tell (a 3x3 check needs some 200 pixels the target and its input share)');
  if (!(fit.r2 >= MIN_R2)) throw noAlignment(first, `the best shift (dy=${proxy.dy}, dx=${proxy.dx}) leaves a kernel with R² ${fit.r2.toFixed(2)}`);
  return fit.alignment;
}

/** The alignment moved by (dy, dx) (trainFilter's centring of an off-centre kernel). */
export function shifted(a: Alignment, dy: number, dx: number): Alignment {
  return { ...a, dy: a.dy + dy, dx: a.dx + dx, mode: alignmentMode(a.dy + dy, a.dx + dx, a.dh, a.dw) };
}

function noAlignment(p: ImagePair, why: string): KernelLearnError {
  return new KernelLearnError(
    `${p.targetFile ?? p.stem}: no alignment explains the targets (${p.target.width}x${p.target.height} for a ${p.input.width}x${p.input.height} input: a crop, a grown border or a shift of up to ${MAX_OFFSET} pixels): ${why}; ` +
      'check that each target is its own input filtered (same stems, same images)',
  );
}

/** Known pixels a check's kernel needs per unknown: fewer, and a kernel fits noise (R² near 1 for anything). */
const CHECK_PIXELS_PER_UNKNOWN = 20;

/**
 * The least-squares kernel of the sample at an alignment, 7x7 or the largest of 5x5 and 3x3 that
 * has CHECK_PIXELS_PER_UNKNOWN known pixels per unknown (none: residual Infinity, R² NaN): its
 * relative residual (1 - R² over the known pixels, all target channels) and R².
 */
function checkFit(pairs: ImagePair[], a: Alignment): { alignment: Alignment; residual: number; r2: number } {
  const aligned = pairs.map((p) => alignPair(p, a));
  const regions: Region[] = aligned.map((p) => ({ pair: p, ...(p.known ?? { x0: 0, y0: 0, x1: p.input.width, y1: p.input.height }) }));
  const valid = (k: number): number => regions.reduce((s, r) => s + Math.max(0, r.x1 - r.x0 - k + 1) * Math.max(0, r.y1 - r.y0 - k + 1), 0);
  const cin = pairs[0].input.channels;
  const k = [7, 5, 3].find((kk) => valid(kk) >= CHECK_PIXELS_PER_UNKNOWN * (cin * kk * kk + 1));
  if (k === undefined) return { alignment: a, residual: Infinity, r2: NaN };
  const st = gramStats(regionImages(regions.filter((r) => r.x1 - r.x0 >= k && r.y1 - r.y0 >= k)), k, k, true);
  const sol = solveExact(st, { condition: false });
  let variance = 0;
  for (let o = 0; o < st.cout; o++) {
    const mean = st.xty[o * st.p + st.p - 1] / st.n;
    variance += Math.max(0, st.yty[o] / st.n - mean * mean) / st.cout;
  }
  const residual = variance > 0 ? sol.loss / variance : sol.loss > 0 ? Infinity : 0;
  return { alignment: a, residual, r2: 1 - residual };
}

/** |4 x - its 4 neighbours| summed over channels, 0 on the outer ring. */
function highPass(image: Image): Float64Array {
  const { width: W, height: H, channels, data } = image;
  const out = new Float64Array(W * H);
  for (let c = 0; c < channels; c++) {
    const o = c * W * H;
    for (let y = 1; y < H - 1; y++) {
      for (let x = 1; x < W - 1; x++) {
        const i = o + y * W + x;
        out[y * W + x] += Math.abs(4 * data[i] - data[i - 1] - data[i + 1] - data[i - W] - data[i + W]);
      }
    }
  }
  return out;
}

/** Side of the central crop of each target the proxy correlates (see the header). */
const PROXY_CROP = 96;

/**
 * The shift with the highest mean correlation of high-pass magnitudes over the sample (step 2 of
 * the header), or null when no shift leaves enough overlap.
 */
function bestShift(pairs: ImagePair[], dh: number, dw: number): { dy: number; dx: number } | null {
  const ys = [Math.min(0, -dh) - MAX_OFFSET, Math.max(0, -dh) + MAX_OFFSET];
  const xs = [Math.min(0, -dw) - MAX_OFFSET, Math.max(0, -dw) + MAX_OFFSET];
  const maps = pairs.map((p) => ({ x: highPass(p.input), t: highPass(p.target), p }));
  let best: { dy: number; dx: number; score: number } | null = null;
  for (let dy = ys[0]; dy <= ys[1]; dy++) {
    for (let dx = xs[0]; dx <= xs[1]; dx++) {
      let score = 0, n = 0;
      for (const m of maps) {
        const r = overlapCorrelation(m.x, m.p.input, m.t, m.p.target, dy, dx);
        if (r !== null) (score += r), n++;
      }
      // Ties (flat images) go to the smallest shift, scanning from the range's centre outwards.
      if (n > 0 && (!best || score / n > best.score + 1e-12 || (Math.abs(score / n - best.score) <= 1e-12 && Math.abs(dy) + Math.abs(dx) < Math.abs(best.dy) + Math.abs(best.dx)))) best = { dy, dx, score: score / n };
    }
  }
  return best && best.score > 0 ? { dy: best.dy, dx: best.dx } : null;
}

/**
 * Pearson correlation of the target's high-pass map (a central crop) with the input's at the
 * shift, over the pixels both have away from their outer rings; null under 64 such pixels.
 */
function overlapCorrelation(hx: Float64Array, input: Image, ht: Float64Array, target: Image, dy: number, dx: number): number | null {
  const cy = Math.max(1, (target.height - PROXY_CROP) >> 1), cx = Math.max(1, (target.width - PROXY_CROP) >> 1);
  const y0 = Math.max(cy, 1 - dy), y1 = Math.min(cy + PROXY_CROP, target.height - 1, input.height - 1 - dy);
  const x0 = Math.max(cx, 1 - dx), x1 = Math.min(cx + PROXY_CROP, target.width - 1, input.width - 1 - dx);
  if ((y1 - y0) * (x1 - x0) < 64) return null;
  let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, n = 0;
  for (let y = y0; y < y1; y++) {
    const ro = y * target.width, ri = (y + dy) * input.width + dx;
    for (let x = x0; x < x1; x++) {
      const a = ht[ro + x], b = hx[ri + x];
      sa += a; sb += b; saa += a * a; sbb += b * b; sab += a * b; n++;
    }
  }
  const va = saa - (sa * sa) / n, vb = sbb - (sb * sb) / n;
  return va > 0 && vb > 0 ? (sab - (sa * sb) / n) / Math.sqrt(va * vb) : 0;
}

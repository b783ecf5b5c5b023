/**
 * Sufficient statistics for fitting a linear kernel by least squares: the hot loop of the exact
 * solver. One pass over the data gives X^T X, X^T y, y^T y and the count; every candidate kernel
 * (and its training or validation loss) then follows from these small matrices alone.
 *
 * Rows of X are the output pixels of the VALID region of each pair: pixels whose whole kh x kw
 * window lies inside the image, so no border guess leaks into the fitted kernel. Features are the
 * window taps in weight order (ci, ky, kx), then a constant 1 when a bias is fitted. Targets are
 * the target image's pixels at the window's anchor (ky >> 1, kx >> 1): OpenCV's anchor, the
 * centre for odd sizes. Everything is summed in float64.
 *
 * `gramStats` (fast) and `gramStatsReference` (one outer product per pixel) have one signature;
 * test/train.test.ts holds them equal.
 */

import { KernelLearnError } from '../errors.js';
import type { Image, Pixels } from '../image.js';

export interface GramPair {
  input: Image;
  target: Image;
}

export interface GramStats {
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  bias: boolean;
  /** Number of features: cin*kh*kw, plus 1 with a bias (the last feature). */
  p: number;
  /** X^T X, p x p, row-major (symmetric). */
  xtx: Float64Array;
  /** X^T y per output channel: xty[o*p + f]. */
  xty: Float64Array;
  /** y^T y per output channel. */
  yty: Float64Array;
  /** Number of rows of X (valid output pixels over all pairs). */
  n: number;
}

function emptyStats(cin: number, cout: number, kh: number, kw: number, bias: boolean): GramStats {
  const p = cin * kh * kw + (bias ? 1 : 0);
  return { cin, cout, kh, kw, bias, p, xtx: new Float64Array(p * p), xty: new Float64Array(cout * p), yty: new Float64Array(cout), n: 0 };
}

/** Channel counts shared by all pairs; input and target sizes must agree (callers check with stems). */
function shapeOf(pairs: GramPair[]): { cin: number; cout: number } {
  if (pairs.length === 0) throw new KernelLearnError('gram: no pairs');
  const cin = pairs[0].input.channels;
  const cout = pairs[0].target.channels;
  for (const { input, target } of pairs) {
    if (input.channels !== cin || target.channels !== cout) throw new KernelLearnError('gram: pairs differ in channel count');
    if (input.width !== target.width || input.height !== target.height) throw new KernelLearnError('gram: input and target sizes differ');
  }
  return { cin, cout };
}

/** The planes of an image as float64 (so the hot loops see one array type, and f32 products are exact). */
function planes64(image: Image): Float64Array[] {
  const plane = image.width * image.height;
  const out: Float64Array[] = [];
  for (let c = 0; c < image.channels; c++) {
    const a = new Float64Array(plane);
    a.set(image.data.subarray(c * plane, (c + 1) * plane)); // set(), not from(): a native copy
    out.push(a);
  }
  return out;
}

/**
 * Sums of a product image over a family of shifted rectangles, the core of the fast Gram:
 *   out[(i - i0) * nj + (j - j0)] += sum over u in [i, i + hv), v in [j, j + wv) of
 *                                    a[u*W + v] * b[(u + di)*W + v + dj]          (b = null: a alone)
 * for i in [i0, i1), j in [j0, j1), nj = j1 - j0. The caller keeps every index inside the image.
 *
 * Every entry of X^T X for taps t1 = (i, j) and t2 = (i + di, j + dj) is such a sum (substitute
 * u = y + i, v = x + j), so one lag (di, dj) fills all tap pairs with that offset at once: the
 * products are formed once per pixel and per lag, and windows slide along rows, then along
 * columns. Cost per lag ~ one pass over the image, instead of one pass per tap pair.
 */
function lagWindowSums(
  a: Float64Array, b: Float64Array | null, W: number, di: number, dj: number,
  i0: number, i1: number, j0: number, j1: number, hv: number, wv: number, out: Float64Array,
): void {
  const ni = i1 - i0;
  const nj = j1 - j0;
  const uEnd = i1 - 1 + hv; // rows u in [i0, uEnd)
  const rows = uEnd - i0;
  // rowWin[(u - i0) * nj + jj]: the sum along row u over columns [j0 + jj, j0 + jj + wv).
  const rowWin = new Float64Array(rows * nj);
  for (let u = i0; u < uEnd; u++) {
    const ra = u * W;
    const o = (u - i0) * nj;
    let s = 0;
    if (b === null) {
      for (let v = j0; v < j0 + wv; v++) s += a[ra + v];
      rowWin[o] = s;
      for (let jj = 1; jj < nj; jj++) {
        const v = j0 + jj;
        s += a[ra + v + wv - 1] - a[ra + v - 1];
        rowWin[o + jj] = s;
      }
    } else {
      const rb = (u + di) * W + dj;
      for (let v = j0; v < j0 + wv; v++) s += a[ra + v] * b[rb + v];
      rowWin[o] = s;
      for (let jj = 1; jj < nj; jj++) {
        const v = j0 + jj;
        s += a[ra + v + wv - 1] * b[rb + v + wv - 1] - a[ra + v - 1] * b[rb + v - 1];
        rowWin[o + jj] = s;
      }
    }
  }
  for (let jj = 0; jj < nj; jj++) {
    let s = 0;
    for (let r = 0; r < hv; r++) s += rowWin[r * nj + jj];
    out[jj] += s;
    for (let ii = 1; ii < ni; ii++) {
      s += rowWin[(ii + hv - 1) * nj + jj] - rowWin[(ii - 1) * nj + jj];
      out[ii * nj + jj] += s;
    }
  }
}

/**
 * Fast Gram statistics (see lagWindowSums). Pairs smaller than the kernel have no valid pixels
 * and add nothing.
 */
export function gramStats(pairs: GramPair[], kh: number, kw: number, bias: boolean): GramStats {
  const { cin, cout } = shapeOf(pairs);
  const st = emptyStats(cin, cout, kh, kw, bias);
  const { p, xtx, xty, yty } = st;
  const taps = kh * kw;
  const ay = kh >> 1;
  const ax = kw >> 1;
  const bi = p - 1; // bias feature index
  for (const pair of pairs) {
    const W = pair.input.width;
    const hv = pair.input.height - kh + 1;
    const wv = W - kw + 1;
    if (hv < 1 || wv < 1) continue;
    const xs = planes64(pair.input);
    const ys = planes64(pair.target);
    st.n += hv * wv;
    // X^T X: one lag at a time. For c1 == c2 the lags -d and d give the same entries transposed,
    // so only half of them are computed.
    for (let c1 = 0; c1 < cin; c1++) {
      for (let c2 = c1; c2 < cin; c2++) {
        for (let di = -(kh - 1); di <= kh - 1; di++) {
          for (let dj = -(kw - 1); dj <= kw - 1; dj++) {
            if (c1 === c2 && (di < 0 || (di === 0 && dj < 0))) continue;
            const i0 = Math.max(0, -di), i1 = Math.min(kh, kh - di);
            const j0 = Math.max(0, -dj), j1 = Math.min(kw, kw - dj);
            const nj = j1 - j0;
            const out = new Float64Array((i1 - i0) * nj);
            lagWindowSums(xs[c1], xs[c2], W, di, dj, i0, i1, j0, j1, hv, wv, out);
            for (let i = i0; i < i1; i++) {
              for (let j = j0; j < j1; j++) {
                const f1 = c1 * taps + i * kw + j;
                const f2 = c2 * taps + (i + di) * kw + (j + dj);
                const v = out[(i - i0) * nj + (j - j0)];
                xtx[f1 * p + f2] += v;
                if (f1 !== f2) xtx[f2 * p + f1] += v;
              }
            }
          }
        }
      }
      if (bias) {
        const out = new Float64Array(taps);
        lagWindowSums(xs[c1], null, W, 0, 0, 0, kh, 0, kw, hv, wv, out);
        for (let t = 0; t < taps; t++) {
          xtx[(c1 * taps + t) * p + bi] += out[t];
          xtx[bi * p + c1 * taps + t] += out[t];
        }
      }
    }
    if (bias) xtx[bi * p + bi] += hv * wv;
    // X^T y: tap (c, i, j) against the target at the anchor, a single window at lag (ay - i, ax - j).
    const one = new Float64Array(1);
    for (let o = 0; o < cout; o++) {
      for (let c = 0; c < cin; c++) {
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            one[0] = 0;
            lagWindowSums(xs[c], ys[o], W, ay - i, ax - j, i, i + 1, j, j + 1, hv, wv, one);
            xty[o * p + c * taps + i * kw + j] += one[0];
          }
        }
      }
      if (bias) {
        one[0] = 0;
        lagWindowSums(ys[o], null, W, 0, 0, ay, ay + 1, ax, ax + 1, hv, wv, one);
        xty[o * p + bi] += one[0];
      }
      one[0] = 0;
      lagWindowSums(ys[o], ys[o], W, 0, 0, ay, ay + 1, ax, ax + 1, hv, wv, one);
      yty[o] += one[0];
    }
  }
  return st;
}

/** Reference: the feature vector of every valid pixel, and its outer product, written out. */
export function gramStatsReference(pairs: GramPair[], kh: number, kw: number, bias: boolean): GramStats {
  const { cin, cout } = shapeOf(pairs);
  const st = emptyStats(cin, cout, kh, kw, bias);
  const { p, xtx, xty, yty } = st;
  const feat = new Float64Array(p);
  for (const { input, target } of pairs) {
    const { width: W, height: H } = input;
    const plane = W * H;
    const src: Pixels = input.data;
    for (let y = 0; y + kh <= H; y++) {
      for (let x = 0; x + kw <= W; x++) {
        let f = 0;
        for (let c = 0; c < cin; c++) {
          for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) feat[f++] = src[c * plane + (y + i) * W + x + j];
        }
        if (bias) feat[f] = 1;
        for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) xtx[a * p + b] += feat[a] * feat[b];
        for (let o = 0; o < cout; o++) {
          const t = target.data[o * plane + (y + (kh >> 1)) * W + x + (kw >> 1)];
          for (let a = 0; a < p; a++) xty[o * p + a] += feat[a] * t;
          yty[o] += t * t;
        }
        st.n++;
      }
    }
  }
  return st;
}

/**
 * The statistics of a smaller centred kernel (kh2 x kw2, same parity margins) from those of a big
 * one: its taps are a subset of the big window's taps, so its X^T X is a sub-block. The rows are
 * still the big kernel's valid region, so every size is compared on the same pixels.
 */
export function subGram(st: GramStats, kh2: number, kw2: number): GramStats {
  const oy = (st.kh >> 1) - (kh2 >> 1);
  const ox = (st.kw >> 1) - (kw2 >> 1);
  if (kh2 > st.kh || kw2 > st.kw || oy < 0 || ox < 0 || oy + kh2 > st.kh || ox + kw2 > st.kw) {
    throw new KernelLearnError(`gram: ${kh2}x${kw2} is not a centred sub-kernel of ${st.kh}x${st.kw}`);
  }
  const sub = emptyStats(st.cin, st.cout, kh2, kw2, st.bias);
  // Map each small feature to its big index.
  const map: number[] = [];
  for (let c = 0; c < st.cin; c++) {
    for (let i = 0; i < kh2; i++) for (let j = 0; j < kw2; j++) map.push(c * st.kh * st.kw + (i + oy) * st.kw + j + ox);
  }
  if (st.bias) map.push(st.p - 1);
  const q = sub.p;
  for (let a = 0; a < q; a++) for (let b = 0; b < q; b++) sub.xtx[a * q + b] = st.xtx[map[a] * st.p + map[b]];
  for (let o = 0; o < st.cout; o++) for (let a = 0; a < q; a++) sub.xty[o * q + a] = st.xty[o * st.p + map[a]];
  sub.yty.set(st.yty);
  sub.n = st.n;
  return sub;
}

/**
 * Gram statistics over a subset of the valid pixels: `masks[i]` (one byte per pixel of pair i,
 * indexed at the target pixel, i.e. the window's anchor) selects the rows of X. One outer
 * product per selected pixel (O(n p^2): meant for small kernels, e.g. the censored fit of
 * saturated targets, which re-selects pixels every iteration). One output channel's mask serves
 * every output channel.
 */
export function gramStatsMasked(pairs: GramPair[], kh: number, kw: number, bias: boolean, masks: Uint8Array[]): GramStats {
  const { cin, cout } = shapeOf(pairs);
  const st = emptyStats(cin, cout, kh, kw, bias);
  const { p, xtx, xty, yty } = st;
  const feat = new Float64Array(p);
  pairs.forEach(({ input, target }, pi) => {
    const { width: W, height: H } = input;
    const plane = W * H;
    const mask = masks[pi];
    const src = input.data;
    for (let y = 0; y + kh <= H; y++) {
      for (let x = 0; x + kw <= W; x++) {
        const at = (y + (kh >> 1)) * W + x + (kw >> 1);
        if (!mask[at]) continue;
        let f = 0;
        for (let c = 0; c < cin; c++) {
          for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) feat[f++] = src[c * plane + (y + i) * W + x + j];
        }
        if (bias) feat[f] = 1;
        for (let a = 0; a < p; a++) {
          const fa = feat[a];
          for (let b = a; b < p; b++) xtx[a * p + b] += fa * feat[b];
        }
        for (let o = 0; o < cout; o++) {
          const t = target.data[o * plane + at];
          for (let a = 0; a < p; a++) xty[o * p + a] += feat[a] * t;
          yty[o] += t * t;
        }
        st.n++;
      }
    }
  });
  for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) xtx[a * p + b] = xtx[b * p + a];
  return st;
}

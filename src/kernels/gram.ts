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
 * `gramStats` (fast: autocorrelation lags, see lagSegments) and `gramStatsReference` (one outer product
 * per pixel) have one signature; test/train.test.ts and test/gram.test.ts hold them equal.
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

/**
 * Sorted, distinct cut points of a family of windows [s, s + len), s in [lo, hi): every start and
 * every end. Consecutive cut points bound the segments each window is a union of (at most
 * 2 (hi - lo) - 1 of them; for len >= hi - lo: hi - lo - 1 single lines on each side of one long
 * middle segment shared by every window).
 */
function cutPoints(lo: number, hi: number, len: number): Int32Array {
  const pts = new Set<number>();
  for (let s = lo; s < hi; s++) {
    pts.add(s);
    pts.add(s + len);
  }
  return Int32Array.from([...pts].sort((a, b) => a - b));
}

/** Index of `x` in the sorted cut points (it is always one of them). */
function cutIndex(cuts: Int32Array, x: number): number {
  let i = 0;
  while (cuts[i] !== x) i++;
  return i;
}

/**
 * Adds sum over v in [v0, v1) of a[v] * b[v + d[k]] to seg[si + k * stride], for k < count (1..4):
 * up to four lags of one row in one sweep, so each a[v] is loaded once for all of them.
 */
function dots(a: Pixels, b: Pixels, v0: number, v1: number, d: Int32Array, g: number, count: number, seg: Float64Array, si: number, stride: number): void {
  const d0 = d[g];
  if (count === 1) {
    let s0 = 0;
    for (let v = v0; v < v1; v++) s0 += a[v] * b[v + d0];
    seg[si] += s0;
    return;
  }
  const d1 = d[g + 1];
  if (count === 2) {
    let s0 = 0, s1 = 0;
    for (let v = v0; v < v1; v++) {
      const av = a[v];
      s0 += av * b[v + d0];
      s1 += av * b[v + d1];
    }
    seg[si] += s0;
    seg[si + stride] += s1;
    return;
  }
  const d2 = d[g + 2];
  if (count === 3) {
    let s0 = 0, s1 = 0, s2 = 0;
    for (let v = v0; v < v1; v++) {
      const av = a[v];
      s0 += av * b[v + d0];
      s1 += av * b[v + d1];
      s2 += av * b[v + d2];
    }
    seg[si] += s0;
    seg[si + stride] += s1;
    seg[si + 2 * stride] += s2;
    return;
  }
  const d3 = d[g + 3];
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let v = v0; v < v1; v++) {
    const av = a[v];
    s0 += av * b[v + d0];
    s1 += av * b[v + d1];
    s2 += av * b[v + d2];
    s3 += av * b[v + d3];
  }
  seg[si] += s0;
  seg[si + stride] += s1;
  seg[si + 2 * stride] += s2;
  seg[si + 3 * stride] += s3;
}

/**
 * Segment sums of products of plane a with plane b shifted by (di, dj), for several column lags dj
 * at once (the core of the fast Gram):
 *   seg[(k * nr + t) * nc + c] += sum over rows u in row segment t, columns v in column segment c, of
 *                                 a[ao + u*W + v] * b[bo + (u + di)*W + v + djs[k]]
 * (b = null: a alone, one lag), nr / nc the numbers of segments between the cut points rc / cc.
 * Segments whose shifted columns leave the plane are skipped (no rectangle of that lag uses them);
 * the caller keeps the rows inside.
 *
 * Every entry of X^T X for taps t1 = (i, j) and t2 = (i + di, j + dj) is the sum of such products
 * over the rectangle u in [i, i + hv), v in [j, j + wv) (substitute u = y + i, v = x + j), so one
 * lag fills all tap pairs with that offset at once. The rectangles differ only by thin strips along
 * their edges: with cut points at every rectangle edge (cutPoints: single rows and columns near the
 * image edges, one big middle block), each product is formed once per lag, and each rectangle's
 * sum is put together from a few segment sums (rectSum): about one multiply-add per pixel and lag,
 * instead of one per pixel and tap pair.
 */
function lagSegments(
  a: Pixels, ao: number, b: Pixels | null, bo: number, W: number, di: number, djs: Int32Array,
  rc: Int32Array, cc: Int32Array, seg: Float64Array,
): void {
  const nr = rc.length - 1;
  const nc = cc.length - 1;
  const m = djs.length;
  const stride = nr * nc;
  const d = new Int32Array(m);
  for (let t = 0; t < nr; t++) {
    for (let u = rc[t]; u < rc[t + 1]; u++) {
      const ra = ao + u * W;
      if (b === null) {
        for (let c = 0; c < nc; c++) {
          let s = 0;
          const v1 = ra + cc[c + 1];
          for (let v = ra + cc[c]; v < v1; v++) s += a[v];
          seg[t * nc + c] += s;
        }
        continue;
      }
      const shift = bo + (u + di) * W - ra; // b index = a index + shift + dj
      for (let k = 0; k < m; k++) d[k] = shift + djs[k];
      for (let c = 0; c < nc; c++) {
        const c0 = cc[c], c1 = cc[c + 1];
        for (let g = 0; g < m; ) {
          // Up to four lags together, while their shifted segment stays inside the row.
          let count = 0;
          while (g + count < m && count < 4 && c0 + djs[g + count] >= 0 && c1 + djs[g + count] <= W) count++;
          if (count === 0) {
            g++; // this lag's segment leaves the plane: unused
            continue;
          }
          dots(a, b, ra + c0, ra + c1, d, g, count, seg, (g * nr + t) * nc + c, stride);
          g += count;
        }
      }
    }
  }
}

/** Sum of lag k's segment sums over row segments [r0, r1) and column segments [c0, c1). */
function rectSum(seg: Float64Array, k: number, nr: number, nc: number, r0: number, r1: number, c0: number, c1: number): number {
  let s = 0;
  for (let t = r0; t < r1; t++) {
    const o = (k * nr + t) * nc;
    for (let c = c0; c < c1; c++) s += seg[o + c];
  }
  return s;
}

/**
 * Fast Gram statistics (see lagSegments); equal to gramStatsReference up to float64 rounding
 * (sums in another order). Pairs smaller than the kernel have no valid pixels and add nothing.
 */
export function gramStats(pairs: GramPair[], kh: number, kw: number, bias: boolean, cache?: GramCache): GramStats {
  const { cin, cout } = shapeOf(pairs);
  const st = emptyStats(cin, cout, kh, kw, bias);
  for (const pair of pairs) {
    const ready = cache?.get(pair, kh, kw, bias);
    if (ready) addStats(st, ready);
    else addPair(st, pair);
  }
  return st;
}

/**
 * Adds one pair's statistics to `st`. Every entry gets exactly one addition per pair, so adding a
 * pair's own statistics (addStats, from a GramCache) gives the same bits as adding the pair here.
 */
function addPair(st: GramStats, pair: GramPair): void {
  const { p, xtx, xty, yty, kh, kw, bias, cin, cout } = st;
  const taps = kh * kw;
  const ay = kh >> 1;
  const ax = kw >> 1;
  const bi = p - 1; // bias feature index
  {
    const W = pair.input.width;
    const plane = W * pair.input.height;
    const hv = pair.input.height - kh + 1;
    const wv = W - kw + 1;
    if (hv < 1 || wv < 1) return;
    const x = pair.input.data;
    const y = pair.target.data;
    st.n += hv * wv;
    // Column cut points serve every lag: rectangles start in [0, kw) and end in [wv, wv + kw).
    const cc = cutPoints(0, kw, wv);
    const nc = cc.length - 1;
    const cut = (at: number): number => cutIndex(cc, at);
    // X^T X: for each row lag di, all column lags dj in one pass. For c1 == c2 the lags -d and d
    // give the same entries transposed, so only half of them are computed.
    for (let c1 = 0; c1 < cin; c1++) {
      for (let c2 = c1; c2 < cin; c2++) {
        for (let di = c1 === c2 ? 0 : -(kh - 1); di <= kh - 1; di++) {
          const djList: number[] = [];
          for (let dj = -(kw - 1); dj <= kw - 1; dj++) if (!(c1 === c2 && di === 0 && dj < 0)) djList.push(dj);
          const djs = Int32Array.from(djList);
          const i0 = Math.max(0, -di), i1 = Math.min(kh, kh - di);
          const rc = cutPoints(i0, i1, hv);
          const nr = rc.length - 1;
          const seg = new Float64Array(djs.length * nr * nc);
          lagSegments(x, c1 * plane, x, c2 * plane, W, di, djs, rc, cc, seg);
          for (let k = 0; k < djs.length; k++) {
            const dj = djs[k];
            const j0 = Math.max(0, -dj), j1 = Math.min(kw, kw - dj);
            for (let i = i0; i < i1; i++) {
              const r0 = cutIndex(rc, i), r1 = cutIndex(rc, i + hv);
              for (let j = j0; j < j1; j++) {
                const v = rectSum(seg, k, nr, nc, r0, r1, cut(j), cut(j + wv));
                const f1 = c1 * taps + i * kw + j;
                const f2 = c2 * taps + (i + di) * kw + (j + dj);
                xtx[f1 * p + f2] += v;
                if (f1 !== f2) xtx[f2 * p + f1] += v;
              }
            }
          }
        }
      }
      if (bias) {
        const rc = cutPoints(0, kh, hv);
        const nr = rc.length - 1;
        const seg = new Float64Array(nr * nc);
        lagSegments(x, c1 * plane, null, 0, W, 0, new Int32Array(1), rc, cc, seg);
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const v = rectSum(seg, 0, nr, nc, cutIndex(rc, i), cutIndex(rc, i + hv), cut(j), cut(j + wv));
            xtx[(c1 * taps + i * kw + j) * p + bi] += v;
            xtx[bi * p + c1 * taps + i * kw + j] += v;
          }
        }
      }
    }
    if (bias) xtx[bi * p + bi] += hv * wv;
    // X^T y: tap (c, i, j) against the target at the anchor, the rectangle [i, i + hv) x [j, j + wv)
    // at lag (ay - i, ax - j): one pass per tap row i for all j.
    const djs = Int32Array.from({ length: kw }, (_, j) => ax - j);
    for (let o = 0; o < cout; o++) {
      for (let c = 0; c < cin; c++) {
        for (let i = 0; i < kh; i++) {
          const rc = Int32Array.of(i, i + hv);
          const seg = new Float64Array(kw * nc);
          lagSegments(x, c * plane, y, o * plane, W, ay - i, djs, rc, cc, seg);
          for (let j = 0; j < kw; j++) xty[o * p + c * taps + i * kw + j] += rectSum(seg, j, 1, nc, 0, 1, cut(j), cut(j + wv));
        }
      }
      const rc = Int32Array.of(ay, ay + hv);
      const at0 = cut(ax), at1 = cut(ax + wv);
      if (bias) {
        const seg = new Float64Array(nc);
        lagSegments(y, o * plane, null, 0, W, 0, new Int32Array(1), rc, cc, seg);
        xty[o * p + bi] += rectSum(seg, 0, 1, nc, 0, 1, at0, at1);
      }
      const seg = new Float64Array(nc);
      lagSegments(y, o * plane, y, o * plane, W, 0, new Int32Array(1), rc, cc, seg);
      yty[o] += rectSum(seg, 0, 1, nc, 0, 1, at0, at1);
    }
  }
}

/** st += one pair's statistics (same shape). */
function addStats(st: GramStats, one: GramStats): void {
  if (one.n === 0) return;
  for (let i = 0; i < st.xtx.length; i++) st.xtx[i] += one.xtx[i];
  for (let i = 0; i < st.xty.length; i++) st.xty[i] += one.xty[i];
  for (let i = 0; i < st.yty.length; i++) st.yty[i] += one.yty[i];
  st.n += one.n;
}

/**
 * Statistics of single pairs computed ahead of time, e.g. while the next files are still being
 * decoded (src/cli/train-worker.ts), and used by gramStats when the same pair (the same input and
 * target objects) comes by with the same kernel size and bias. The result is the same bits as
 * without the cache (see addPair). Pixels must not change after `add`.
 */
export class GramCache {
  private readonly memo = new WeakMap<Image, { target: Image; key: string; st: GramStats }[]>();

  add(pair: GramPair, kh: number, kw: number, bias: boolean): void {
    if (this.get(pair, kh, kw, bias)) return;
    let list = this.memo.get(pair.input);
    if (!list) this.memo.set(pair.input, (list = []));
    list.push({ target: pair.target, key: `${kh}x${kw}/${bias}`, st: gramStats([pair], kh, kw, bias) });
  }

  get(pair: GramPair, kh: number, kw: number, bias: boolean): GramStats | undefined {
    const key = `${kh}x${kw}/${bias}`;
    return this.memo.get(pair.input)?.find((e) => e.target === pair.target && e.key === key)?.st;
  }
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

/**
 * Sufficient statistics for fitting a linear kernel by least squares: the hot loop of the exact
 * solver. One pass over the data gives X^T X, X^T y, y^T y and the count; every candidate kernel
 * (and its training or validation loss) then follows from these small matrices alone.
 *
 * Rows of X are the output pixels of the VALID region of each pair: pixels whose whole kh x kw
 * window lies inside the image, so no border guess leaks into the fitted kernel. Features are the
 * window taps in weight order (ci, ky, kx), then a constant 1 when a bias is fitted. Targets are
 * the target image's pixels at the window's anchor (ky >> 1, kx >> 1): OpenCV's anchor, the
 * centre for odd sizes. Any kh x kw (odd or even, square or not; 31x31 = 961 taps a channel is
 * the size --ksize auto goes to). Everything is summed in float64.
 *
 * `gramStats` (fast: one sweep per autocorrelation lag, in WebAssembly SIMD, assembly/gram.ts; see
 * addPair) and `gramStatsReference` (one outer product per pixel) have one signature;
 * test/gram.test.ts and test/train.test.ts hold them equal. At 31x31 on a 512x512 image the
 * reference forms 2 x 10^11 products, the lag sums 7 x 10^8 (X^T X and X^T y).
 */

import { KernelLearnError } from '../errors.js';
import type { Image, Pixels } from '../image.js';
import { gramWasm } from './gram-wasm.js';

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

/** Zero statistics of that shape. */
export function emptyStats(cin: number, cout: number, kh: number, kw: number, bias: boolean): GramStats {
  const p = cin * kh * kw + (bias ? 1 : 0);
  return { cin, cout, kh, kw, bias, p, xtx: new Float64Array(p * p), xty: new Float64Array(cout * p), yty: new Float64Array(cout), n: 0 };
}

/** Channel counts shared by all pairs; input and target sizes must agree (callers check with stems). */
export function shapeOf(pairs: GramPair[]): { cin: number; cout: number } {
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

/** Position -> index of that cut point (-1 where a position is not one), for positions 0..size. */
function cutLookup(cuts: Int32Array, size: number): Int32Array {
  const at = new Int32Array(size + 1).fill(-1);
  cuts.forEach((x, i) => (at[x] = i));
  return at;
}

/**
 * Memory the fast Gram uses in the WebAssembly module: `bandBytes` of rows of each plane at a time
 * (big images go in bands of rows), `accBytes` of lag accumulators at a time (more lags go in
 * further rounds over the bands). Results do not depend on them; tests shrink them to run every path.
 */
export const gramLimits = { bandBytes: 32 << 20, accBytes: 64 << 20 };

/** One plane of a pair: `data` from sample `offset`, W x H. */
interface Plane {
  data: Pixels;
  offset: number;
}

/**
 * One lag sweep: rows u in [rc[0], rc[nr]) of plane a against rows u + di of plane b, column
 * lags djLo .. djLo + m - 1, products summed per (row segment, column segment, lag); see
 * lagSums in assembly/gram.ts. `acc` is [nr][nc][m], valid in `done` only.
 */
interface LagJob {
  di: number;
  rc: Int32Array;
  djLo: number;
  m: number;
}

/**
 * Runs the lag sweeps of plane a against plane b (W x H, column cut points cc) in the module:
 * the planes go in as float64 bands of rows, the accumulators of as many jobs as gramLimits.accBytes holds
 * stay in the module while every band passes, then `done(job, acc)` reads each job's sums.
 */
function runLagJobs(a: Plane, b: Plane, W: number, H: number, cc: Int32Array, jobs: LagJob[], done: (job: LagJob, acc: Float64Array) => void): void {
  const nc = cc.length - 1;
  const accLen = (j: LagJob): number => (j.rc.length - 1) * nc * j.m;
  let diMin = 0, diMax = 0;
  for (const j of jobs) {
    diMin = Math.min(diMin, j.di);
    diMax = Math.max(diMax, j.di);
  }
  const span = diMax - diMin;
  const bandRows = Math.max(1, Math.min(H, Math.floor(gramLimits.bandBytes / (W * 8))));
  // A plane against itself (the diagonal blocks of X^T X) goes in once: a's band and b's rows.
  const samePlane = a.data === b.data && a.offset === b.offset;
  const aBytes = Math.min(H, bandRows + (samePlane ? span : 0)) * W * 8;
  const bBytes = samePlane ? 0 : Math.min(H, bandRows + span) * W * 8;
  const ccAt = aBytes + bBytes;
  const segAt = ccAt + (((nc + 1) * 4 + 7) & ~7);
  for (let first = 0; first < jobs.length; ) {
    // A round: the jobs whose accumulators fit (always at least one).
    let last = first + 1;
    let accTotal = accLen(jobs[first]);
    while (last < jobs.length && (accTotal + accLen(jobs[last])) * 8 <= gramLimits.accBytes) accTotal += accLen(jobs[last++]);
    const round = jobs.slice(first, last);
    let segInts = 0;
    for (const j of round) segInts += j.rc[j.rc.length - 1] - j.rc[0];
    const accAt = segAt + ((segInts * 4 + 7) & ~7);
    const w = gramWasm(accAt + accTotal * 8);
    const buf = w.memory.buffer;
    new Int32Array(buf, ccAt, nc + 1).set(cc);
    const segPtr: number[] = [];
    const accPtr: number[] = [];
    let s = segAt, q = accAt;
    for (const j of round) {
      const nr = j.rc.length - 1;
      const seg = new Int32Array(buf, s, j.rc[nr] - j.rc[0]);
      for (let t = 0; t < nr; t++) seg.fill(t, j.rc[t] - j.rc[0], j.rc[t + 1] - j.rc[0]);
      segPtr.push(s);
      accPtr.push(q);
      s += seg.length * 4;
      q += accLen(j) * 8;
    }
    new Float64Array(buf, accAt, accTotal).fill(0);
    // Rows of a the round reads, in bands; b's rows follow from the lags.
    let uLo = H, uHi = 0;
    for (const j of round) {
      uLo = Math.min(uLo, j.rc[0]);
      uHi = Math.max(uHi, j.rc[j.rc.length - 1]);
    }
    const f64 = new Float64Array(buf);
    for (let r0 = uLo; r0 < uHi; r0 += bandRows) {
      const r1 = Math.min(uHi, r0 + bandRows);
      const b0 = Math.max(0, r0 + diMin), b1 = Math.min(H, r1 + diMax);
      let aRow0 = r0, bPtr = aBytes, bRow0 = b0;
      if (samePlane) {
        aRow0 = bRow0 = Math.min(r0, b0);
        bPtr = 0;
        f64.set(a.data.subarray(a.offset + aRow0 * W, a.offset + Math.max(r1, b1) * W), 0);
      } else {
        f64.set(a.data.subarray(a.offset + r0 * W, a.offset + r1 * W), 0);
        f64.set(b.data.subarray(b.offset + b0 * W, b.offset + b1 * W), aBytes / 8);
      }
      round.forEach((j, k) => {
        const u0 = Math.max(r0, j.rc[0]), u1 = Math.min(r1, j.rc[j.rc.length - 1]);
        if (u0 >= u1) return;
        w.lagSums(0, aRow0, bPtr, bRow0, W, u0, u1, j.di, j.djLo, j.m, ccAt, nc, segPtr[k] + (u0 - j.rc[0]) * 4, accPtr[k]);
      });
    }
    round.forEach((j, k) => done(j, new Float64Array(buf, accPtr[k], accLen(j))));
    first = last;
  }
}

/** Sum of segment sums seg[t * nc + c] over row segments [r0, r1) and column segments [c0, c1), in that order. */
function rectSum(seg: Float64Array, nc: number, r0: number, r1: number, c0: number, c1: number): number {
  let s = 0;
  for (let t = r0; t < r1; t++) for (let c = c0; c < c1; c++) s += seg[t * nc + c];
  return s;
}

/** Scratch for the 2D prefix sums of one job (grown, never shrunk). */
let prefixScratch = new Float64Array(0);

/**
 * 2D prefix sums of a job's accumulators over (row segment, column segment), per lag:
 * P[((t * (nc + 1)) + c) * m + g] = sum of acc over row segments < t and column segments < c.
 */
function prefixSums(acc: Float64Array, nr: number, nc: number, m: number): Float64Array {
  const len = (nr + 1) * (nc + 1) * m;
  if (prefixScratch.length < len) prefixScratch = new Float64Array(len);
  const P = prefixScratch;
  P.fill(0, 0, (nc + 1) * m); // row 0
  const rowLen = (nc + 1) * m;
  for (let t = 0; t < nr; t++) {
    const up = t * rowLen, here = up + rowLen;
    P.fill(0, here, here + m); // column 0
    for (let c = 0; c < nc; c++) {
      const a = (t * nc + c) * m;
      const o = here + (c + 1) * m, left = here + c * m, above = up + (c + 1) * m, diag = up + c * m;
      for (let g = 0; g < m; g++) P[o + g] = acc[a + g] + P[left + g] + P[above + g] - P[diag + g];
    }
  }
  return P;
}

/**
 * Fast Gram statistics: products formed once per autocorrelation lag, in WebAssembly SIMD (see
 * addPair, runLagJobs). Any kh x kw, odd or even (anchor (kh >> 1, kw >> 1)). Pairs smaller than
 * the kernel have no valid pixels and add nothing.
 *
 * Accuracy: X^T y, y^T y and the bias sums are formed in the order of the JavaScript lag sums
 * this replaced (the same bits as before); X^T X's rectangles come from 2D prefix sums of the
 * lag sums, which is exact for integer-valued inputs whose sums stay below 2^53 (u8 images of up
 * to 10^11 pixels, u16 up to 2 x 10^6), so there too the same bits as before and as the
 * reference; for non-integer inputs the entries differ from the reference's by float64 rounding of
 * sums in another order (test/gram.test.ts: within 1e-12 of the sum of |products|).
 */
export function gramStats(pairs: GramPair[], kh: number, kw: number, bias: boolean, cache?: GramCache): GramStats {
  const { cin, cout } = shapeOf(pairs);
  const st = emptyStats(cin, cout, kh, kw, bias);
  for (const pair of pairs) {
    const ready = cache?.get(pair, kh, kw, bias);
    if (ready) addStats(st, ready);
    else if (cache?.keepsInputs && cin * kh * kw <= KEPT_INPUT_TAPS) {
      // The input's X^T X from the cache (or into it), then this target's sums.
      const auto = cache.inputStats(pair, kh, kw, bias);
      for (let i = 0; i < st.xtx.length; i++) st.xtx[i] += auto.xtx[i];
      st.n += auto.n;
      if (auto.n > 0) addCross(st, pair);
    } else addPair(st, pair);
  }
  return st;
}

/**
 * Adds one pair's statistics to `st`. Every entry gets exactly one addition per pair, so adding a
 * pair's own statistics (addStats, from a GramCache) gives the same bits as adding the pair here.
 *
 * X^T X: the entry for taps t1 = (i, j) of channel c1 and t2 = (i + di, j + dj) of channel c2 is
 * the sum of x[c1][u][v] * x[c2][u + di][v + dj] over the rectangle u in [i, i + hv),
 * v in [j, j + wv) (substitute u = y + i, v = x + j), so one lag (di, dj) serves every tap pair with
 * that offset. The rectangles of one lag differ only by thin strips along their edges: with cut
 * points at every rectangle edge (cutPoints: single rows and columns near the image edges, one big
 * middle block), each product is formed once per lag (about one multiply-add per pixel and lag
 * instead of one per pixel and tap pair), summed per segment, and each rectangle is four lookups
 * in the 2D prefix sums of the segment sums. For c1 == c2 the lags -d and d give the same entries
 * transposed, so only half of them are computed.
 *
 * X^T y: tap (c, i, j) against the target at the anchor is the rectangle [i, i + hv) x [j, j + wv)
 * at lag (ay - i, ax - j): one sweep per tap row i for all j.
 */
function addPair(st: GramStats, pair: GramPair): void {
  if (addAuto(st, pair)) addCross(st, pair);
}

/**
 * A pair's geometry for a kh x kw kernel: size, the valid region hv x wv, and the column cut
 * points, which serve every lag (rectangles start in [0, kw) and end in [wv, wv + kw)).
 */
function geometry(st: GramStats, pair: GramPair): { W: number; H: number; plane: number; hv: number; wv: number; cc: Int32Array; nc: number; colAt: Int32Array } {
  const W = pair.input.width, H = pair.input.height;
  const hv = H - st.kh + 1, wv = W - st.kw + 1;
  const cc = cutPoints(0, st.kw, Math.max(wv, 1));
  return { W, H, plane: W * H, hv, wv, cc, nc: cc.length - 1, colAt: cutLookup(cc, W) };
}

/** X^T X of one pair (and the count): the first half of addPair; false when the pair has no valid pixels. */
function addAuto(st: GramStats, pair: GramPair): boolean {
  const { p, xtx, kh, kw, bias, cin } = st;
  const taps = kh * kw;
  const bi = p - 1; // bias feature index
  const { W, H, plane, hv, wv, cc, nc, colAt } = geometry(st, pair);
  if (hv < 1 || wv < 1) return false;
  const x = pair.input.data;
  st.n += hv * wv;
  const rowAt = new Int32Array(H + 1);
  for (let c1 = 0; c1 < cin; c1++) {
    for (let c2 = c1; c2 < cin; c2++) {
      const jobs: LagJob[] = [];
      for (let di = c1 === c2 ? 0 : -(kh - 1); di <= kh - 1; di++) {
        const djLo = c1 === c2 && di === 0 ? 0 : -(kw - 1);
        jobs.push({ di, rc: cutPoints(Math.max(0, -di), Math.min(kh, kh - di), hv), djLo, m: kw - djLo });
      }
      runLagJobs({ data: x, offset: c1 * plane }, { data: x, offset: c2 * plane }, W, H, cc, jobs, ({ di, rc, djLo, m }, acc) => {
        const nr = rc.length - 1;
        const P = prefixSums(acc, nr, nc, m);
        rc.forEach((at, t) => (rowAt[at] = t));
        const i0 = Math.max(0, -di), i1 = Math.min(kh, kh - di);
        const rowLen = (nc + 1) * m;
        // Tap row i against tap row i + di: one kw x kw tile of X^T X (and its mirror), so the
        // writes stay in cache.
        for (let i = i0; i < i1; i++) {
          const top = rowAt[i] * rowLen, bottom = rowAt[i + hv] * rowLen;
          const f1Row = c1 * taps + i * kw;
          for (let g = 0; g < m; g++) {
            const dj = djLo + g;
            const j0 = Math.max(0, -dj), j1 = Math.min(kw, kw - dj);
            const f2Row = c2 * taps + (i + di) * kw + dj;
            for (let j = j0; j < j1; j++) {
              const left = colAt[j] * m + g, right = colAt[j + wv] * m + g;
              const v = P[bottom + right] - P[top + right] - P[bottom + left] + P[top + left];
              const f1 = f1Row + j;
              const f2 = f2Row + j;
              xtx[f1 * p + f2] += v;
              if (f1 !== f2) xtx[f2 * p + f1] += v;
            }
          }
        }
      });
    }
    if (bias) {
      // Sum of the channel over each tap's rectangle: segment sums, then their prefix sums.
      const rc = cutPoints(0, kh, hv);
      const nr = rc.length - 1;
      const seg = new Float64Array(nr * nc);
      const base = c1 * plane;
      for (let t = 0; t < nr; t++) {
        for (let u = rc[t]; u < rc[t + 1]; u++) {
          const row = base + u * W;
          for (let c = 0; c < nc; c++) {
            let s = 0;
            for (let v = row + cc[c], v1 = row + cc[c + 1]; v < v1; v++) s += x[v];
            seg[t * nc + c] += s;
          }
        }
      }
      rc.forEach((at, t) => (rowAt[at] = t));
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const v = rectSum(seg, nc, rowAt[i], rowAt[i + hv], colAt[j], colAt[j + wv]);
          const f = c1 * taps + i * kw + j;
          xtx[f * p + bi] += v;
          xtx[bi * p + f] += v;
        }
      }
    }
  }
  if (bias) xtx[bi * p + bi] += hv * wv;
  return true;
}

/** X^T y and y^T y of one pair with valid pixels: the second half of addPair. */
function addCross(st: GramStats, pair: GramPair): void {
  const { p, xty, yty, kh, kw, bias, cin, cout } = st;
  const taps = kh * kw;
  const ay = kh >> 1;
  const ax = kw >> 1;
  const bi = p - 1; // bias feature index
  const { W, H, plane, hv, wv, cc, nc, colAt } = geometry(st, pair);
  const x = pair.input.data;
  const y = pair.target.data;
  for (let o = 0; o < cout; o++) {
    for (let c = 0; c < cin; c++) {
      const jobs: LagJob[] = [];
      for (let i = 0; i < kh; i++) jobs.push({ di: ay - i, rc: Int32Array.of(i, i + hv), djLo: ax - (kw - 1), m: kw });
      runLagJobs({ data: x, offset: c * plane }, { data: y, offset: o * plane }, W, H, cc, jobs, ({ di }, acc) => {
        const i = ay - di;
        for (let j = 0; j < kw; j++) {
          const g = kw - 1 - j; // lag ax - j
          let s = 0;
          for (let c0 = colAt[j], c1 = colAt[j + wv]; c0 < c1; c0++) s += acc[c0 * kw + g];
          xty[o * p + c * taps + i * kw + j] += s;
        }
      });
    }
    // The target over the anchor's rectangle: its sum (the bias feature's X^T y) and y^T y, per
    // row and column segment first (the order of the sums before the WebAssembly version).
    const sumY = new Float64Array(nc), sumYY = new Float64Array(nc);
    for (let u = ay; u < ay + hv; u++) {
      const row = o * plane + u * W;
      for (let c = 0; c < nc; c++) {
        let r = 0, rr = 0;
        for (let v = row + cc[c], v1 = row + cc[c + 1]; v < v1; v++) {
          const t = y[v];
          r += t;
          rr += t * t;
        }
        sumY[c] += r;
        sumYY[c] += rr;
      }
    }
    const sy = rectSum(sumY, nc, 0, 1, colAt[ax], colAt[ax + wv]);
    const syy = rectSum(sumYY, nc, 0, 1, colAt[ax], colAt[ax + wv]);
    if (bias) xty[o * p + bi] += sy;
    yty[o] += syy;
  }
}

/** st += another's statistics (same shape): a pair's own (GramCache), or signed rows (gram-masked.ts). */
export function addStats(st: GramStats, one: GramStats): void {
  for (let i = 0; i < st.xtx.length; i++) st.xtx[i] += one.xtx[i];
  for (let i = 0; i < st.xty.length; i++) st.xty[i] += one.xty[i];
  for (let i = 0; i < st.yty.length; i++) st.yty[i] += one.yty[i];
  st.n += one.n;
}

/**
 * The statistics of the same inputs with other targets: X^T X (and the count) taken from `like`
 * (computed on these pairs' inputs, the same kernel size and bias), X^T y and y^T y computed anew:
 * the cost of a new target is one sweep per tap row, not a Gram (the curve stages refit a kernel
 * to transformed targets many times over).
 */
export function crossStats(pairs: GramPair[], like: GramStats): GramStats {
  const { cin, cout } = shapeOf(pairs);
  if (cin !== like.cin) throw new KernelLearnError('gram: crossStats needs the inputs of its template');
  const st = emptyStats(cin, cout, like.kh, like.kw, like.bias);
  st.xtx.set(like.xtx);
  st.n = like.n;
  for (const pair of pairs) if (pair.input.height >= like.kh && pair.input.width >= like.kw) addCross(st, pair);
  return st;
}

/**
 * Statistics of single pairs computed ahead of time, e.g. while the next files are still being
 * decoded (src/cli/train-worker.ts), and used by gramStats when the same pair (the same input and
 * target objects) comes by with the same kernel size and bias; and the inputs' X^T X alone, for
 * the same input with another target. The result is the same bits as without the cache (see
 * addPair: each entry gets one addition per pair). Pixels must not change after `add`.
 */
/** Taps up to which a GramCache that keeps inputs keeps them: 11x11 grey, 15 000 numbers an input. */
const KEPT_INPUT_TAPS = 121;

export class GramCache {
  private readonly memo = new WeakMap<Image, { target: Image; key: string; st: GramStats }[]>();
  /** X^T X and the count of inputs alone, for the same input with other targets (a curve after the kernel: the targets through g^-1). */
  private readonly inputs = new WeakMap<Image, { key: string; st: GramStats }[]>();

  /** `keepsInputs`: gramStats keeps each input's X^T X here, for kernels of up to KEPT_INPUT_TAPS taps (p^2 numbers an input and size). */
  constructor(readonly keepsInputs = false) {}

  /** The X^T X (and count) of pair's input, computed on first use; its other sums are 0. */
  inputStats(pair: GramPair, kh: number, kw: number, bias: boolean): GramStats {
    const key = `${kh}x${kw}/${bias}`;
    let list = this.inputs.get(pair.input);
    if (!list) this.inputs.set(pair.input, (list = []));
    let hit = list.find((e) => e.key === key)?.st;
    if (!hit) {
      hit = emptyStats(pair.input.channels, pair.target.channels, kh, kw, bias);
      addAuto(hit, pair);
      list.push({ key, st: hit });
    }
    return hit;
  }

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
 * Where a smaller kernel's window sits in a bigger one's: the offset (rows or columns) of the small
 * window's first tap in the big window, k >> 1 - k2 >> 1, so that both anchors (OpenCV's, at
 * k >> 1) fall on the same tap, i.e. both kernels predict the same target pixel from the same
 * image. For odd sizes of the same parity this is the centred block ((k - k2) / 2); an even size
 * inside an odd one, or the reverse, sits half a tap off centre: a 4-tap window inside 31 taps
 * covers taps 13..16 (anchor 2 of 4 on tap 15), 3 inside 4 covers 1..3 (anchor 1 on tap 2), 2
 * inside 3 covers 0..1 (anchor 1 on tap 1). Every k2 <= k fits (k2 - k2 >> 1 <= k - k >> 1).
 */
export function subKernelOffset(k: number, k2: number): number {
  return (k >> 1) - (k2 >> 1);
}

/**
 * The statistics of a smaller kernel (kh2 x kw2, any sizes up to the big one's, odd or even) from
 * those of a big one (kh x kw): its window is the block of the big window at
 * (subKernelOffset(kh, kh2), subKernelOffset(kw, kw2)), anchors aligned, so its X^T X is a
 * sub-block and its X^T y a sub-vector. The rows are still the big kernel's valid region (the same
 * target pixels), so every size is compared on the same pixels; equal to the statistics of the
 * small kernel on the pair cropped to rows [oy, oy + hv + kh2 - 1) and columns
 * [ox, ox + wv + kw2 - 1) (hv x wv the big kernel's valid region; test/gram.test.ts).
 * A fitted small kernel's coefficients go back into the big frame at the same offsets.
 */
export function subGram(st: GramStats, kh2: number, kw2: number): GramStats {
  const oy = subKernelOffset(st.kh, kh2);
  const ox = subKernelOffset(st.kw, kw2);
  if (!(kh2 >= 1 && kw2 >= 1 && kh2 <= st.kh && kw2 <= st.kw) || oy + kh2 > st.kh || ox + kw2 > st.kw) {
    throw new KernelLearnError(`gram: ${kh2}x${kw2} is not a sub-kernel of ${st.kh}x${st.kw}`);
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
 * Gram statistics of `classes` groups of the valid pixels in one pass: `labels[i]` (one byte per
 * pixel of pair i, at the window's anchor, as gram-masked.ts's masks) puts the pixel in group
 * label - 1, or nowhere when 0 (compression.ts: 128 groups of a 5x5 probe). Each group gathers
 * CLASS_BLOCK of its pixels' rows (features, then targets) in the WebAssembly module's memory and
 * adds their outer products with rowGram (assembly/gram.ts, as gram-masked.ts does for one group):
 * each entry summed pixel after pixel, a multiply then an add, so the statistics are the same
 * bits as gramStatsMaskedReference's for each group (test/compression.test.ts), at a fifth of the
 * time of the JavaScript outer product per pixel.
 */
export function gramStatsByClass(pairs: GramPair[], kh: number, kw: number, bias: boolean, labels: Uint8Array[], classes: number): GramStats[] {
  const { cin, cout } = shapeOf(pairs);
  const all = Array.from({ length: classes }, () => emptyStats(cin, cout, kh, kw, bias));
  const p = all[0].p, P = (p + cout + 1) & ~1, B = CLASS_BLOCK;
  // The module's memory: each group's sums (P x P), then each group's block of rows.
  const blocks = classes * P * P;
  const wasm = gramWasm(8 * (blocks + classes * B * P));
  const mem = new Float64Array(wasm.memory.buffer, 0, blocks + classes * B * P);
  mem.fill(0);
  const pending = new Int32Array(classes);
  const flush = (g: number): void => {
    wasm.rowGram(8 * (blocks + g * B * P), 8 * (blocks + g * B * P), pending[g], P, 8 * g * P * P);
    all[g].n += pending[g];
    pending[g] = 0;
  };
  pairs.forEach(({ input, target }, pi) => {
    const { width: W, height: H } = input;
    const plane = W * H;
    const label = labels[pi];
    const src = input.data;
    for (let y = 0; y + kh <= H; y++) {
      for (let x = 0; x + kw <= W; x++) {
        const at = (y + (kh >> 1)) * W + x + (kw >> 1);
        const g = label[at] - 1;
        if (g < 0) continue;
        let f = blocks + (g * B + pending[g]) * P;
        for (let c = 0; c < cin; c++) {
          for (let r = 0; r < kh; r++) for (let j = 0; j < kw; j++) mem[f++] = src[c * plane + (y + r) * W + x + j];
        }
        if (bias) mem[f++] = 1;
        for (let o = 0; o < cout; o++) mem[f++] = target.data[o * plane + at];
        if (++pending[g] === B) flush(g);
      }
    }
  });
  all.forEach((st, g) => {
    if (pending[g] > 0) flush(g);
    const o = g * P * P, { xtx, xty, yty } = st;
    for (let a = 0; a < p; a++) {
      for (let b = a; b < p; b++) xtx[a * p + b] = xtx[b * p + a] = mem[o + a * P + b];
      for (let t = 0; t < cout; t++) xty[t * p + a] = mem[o + a * P + p + t];
    }
    for (let t = 0; t < cout; t++) yty[t] = mem[o + (p + t) * P + p + t];
  });
  return all;
}

/** Pixels a group of gramStatsByClass gathers before adding them (rows of P doubles: 128 groups of 32 rows of 28, under 1 MB). */
const CLASS_BLOCK = 32;

/**
 * Gram statistics over selected pixels, for the fits that choose their pixels round by round (the
 * censored fit of saturated targets, the sign rounds of |k * x|, the magnitude's saturated pixels):
 * `masks[i]` holds one weight per pixel of pair i, indexed at the window's anchor (the target
 * pixel), and the statistics are those of gram.ts over the valid pixels, each row counted `weight`
 * times: 1 selects it, 0 leaves it out, -1 (an Int8Array) subtracts it, so that the statistics of
 * one selection follow from another's by the rows that change (updateMasked).
 *
 * `gramStatsMasked` (fast) and `gramStatsMaskedReference` (one outer product per pixel, written
 * out) have one signature; test/gram.test.ts holds them equal. The fast one gathers the selected
 * windows, with the bias feature and the targets as further columns, in blocks of rows and sums
 * their outer products in WebAssembly SIMD (rowGram in assembly/gram.ts: one pass gives X^T X,
 * X^T y and y^T y); when most valid pixels are selected it subtracts the others from the lag-sum
 * statistics of all of them (gram.ts gramStats). Integer-valued data (u8 images) give the same
 * bits as the reference; other data differ by float64 rounding of sums in another order.
 */

import { addStats, emptyStats, gramStats, shapeOf, type GramPair, type GramStats } from './gram.js';
import { gramWasm } from './gram-wasm.js';
import { bandRows, forEachAnchorRow, forEachBand } from './windows.js';

/** Per-pixel row weights: 0 or 1 (a selection), or -1, 0, 1 (rows to subtract and add). */
export type RowWeights = Uint8Array | Int8Array;

/** Rows gathered per call into the module. */
const BLOCK = 256;
/**
 * Above this share of the valid pixels selected (weights 0/1), the selection's statistics are all
 * pixels' (lag sums, about one multiply-add per pixel and lag) minus the unselected rows.
 */
const COMPLEMENT_SHARE = 0.6;

/** Fast masked Gram statistics (see the header). */
export function gramStatsMasked(pairs: GramPair[], kh: number, kw: number, bias: boolean, masks: RowWeights[]): GramStats {
  const { cin, cout } = shapeOf(pairs);
  let valid = 0, selected = 0;
  const plain = masks.every((m) => m instanceof Uint8Array);
  if (plain) {
    forEachAnchorRow(pairs, kh, kw, (pi, at0, count) => {
      valid += count;
      const m = masks[pi];
      for (let at = at0; at < at0 + count; at++) selected += m[at];
    });
  }
  if (plain && selected > COMPLEMENT_SHARE * valid) {
    const st = gramStats(pairs, kh, kw, bias);
    addStats(st, weightedRows(pairs, emptyStats(cin, cout, kh, kw, bias), masks, -1));
    return st;
  }
  return weightedRows(pairs, emptyStats(cin, cout, kh, kw, bias), masks);
}

/**
 * st += the weighted rows, band by band in the module (forEachBand): each band's input rows, the
 * weights and the targets at its anchors copied in, then maskedRows (assembly/gram.ts) gathers the
 * selected windows, a 1 for the bias and the targets into blocks of BLOCK rows and sums their outer
 * products. `shift` -1 takes the weights 0/1 as -1/0: minus the rows a selection leaves out.
 */
function weightedRows(pairs: GramPair[], st: GramStats, masks: RowWeights[], shift = 0): GramStats {
  const { p, cin, cout, kh, kw, bias } = st;
  const Pp = (p + cout + 1) & ~1;
  // Doubles: the sums, the block, the weighted block, the block's weights and their sum, then the
  // bands (bandLayout), then the weights at a band's anchors (bytes).
  const xAt = Pp * Pp, wxAt = xAt + Pp * BLOCK, wtsAt = wxAt + Pp * BLOCK, countAt = wtsAt + BLOCK;
  const band = bandLayout(pairs, kh, countAt + 2);
  const weightsAt = band.end * 8;
  const w = gramWasm(weightsAt + band.R * band.W);
  const mem = new Float64Array(w.memory.buffer);
  const bytes = new Int8Array(w.memory.buffer);
  mem.fill(0, 0, band.targetsAt);
  let r = 0;
  forEachTargetBand(pairs, kh, kw, mem, band, (pi, top, hv, plane) => {
    const m = masks[pi], Wp = pairs[pi].input.width, wv = Wp - kw + 1;
    for (let y = 0; y < hv; y++) {
      const at = (top + y + (kh >> 1)) * Wp + (kw >> 1);
      bytes.set(m.subarray(at, at + wv), weightsAt + y * wv);
    }
    r = w.maskedRows(band.inputAt * 8, Wp, plane, cin, kh, kw, hv, wv, weightsAt, shift, band.targetsAt * 8, cout, bias ? 1 : 0, xAt * 8, wxAt * 8, wtsAt * 8, countAt * 8, BLOCK, Pp, r, 0);
  });
  if (r > 0) w.flushRows(xAt * 8, wxAt * 8, wtsAt * 8, r, Pp, 0);
  addUpper(st, mem.subarray(0, Pp * Pp), Pp);
  st.n += mem[countAt];
  return st;
}

/** Where the bands go in the module (doubles from `at`): the targets at a band's anchors (cout planes), then its input rows. */
interface BandLayout {
  R: number;
  W: number;
  targetsAt: number;
  inputAt: number;
  end: number;
}

function bandLayout(pairs: GramPair[], kh: number, at: number): BandLayout {
  const R = Math.max(...pairs.map((pr) => bandRows(pr, kh)));
  const W = Math.max(...pairs.map((pr) => pr.input.width));
  const { channels: cin } = pairs[0].input, { channels: cout } = pairs[0].target;
  const targetsAt = at + (at & 1), inputAt = targetsAt + cout * R * W; // 16-byte aligned
  return { R, W, targetsAt, inputAt, end: inputAt + cin * (R + kh - 1) * W };
}

/**
 * forEachBand over the pairs, with each band's targets at its anchors copied to layout.targetsAt
 * (cout planes of hv x wv doubles) beside its input rows: fn(pair index, top, hv, plane).
 */
function forEachTargetBand(
  pairs: GramPair[], kh: number, kw: number, mem: Float64Array, layout: BandLayout, fn: (pi: number, top: number, hv: number, plane: number) => void,
): void {
  pairs.forEach((pair, pi) => {
    const { width: W, height: H } = pair.input;
    const t = pair.target.data, wv = W - kw + 1, cout = pair.target.channels;
    forEachBand(pair, kh, kw, mem, layout.inputAt, (top, hv, plane) => {
      for (let y = 0; y < hv; y++) {
        const at = (top + y + (kh >> 1)) * W + (kw >> 1);
        for (let o = 0; o < cout; o++) mem.set(t.subarray(o * W * H + at, o * W * H + at + wv), layout.targetsAt + (o * hv + y) * wv);
      }
      fn(pi, top, hv, plane);
    });
  });
}

/** st += the upper triangle of the row Gram `out` (Pp x Pp: the features, then the targets), mirrored. */
function addUpper(st: GramStats, out: Float64Array, Pp: number): void {
  const { p, cout } = st;
  for (let a = 0; a < p; a++) {
    for (let b = a; b < p; b++) st.xtx[a * p + b] += out[a * Pp + b];
    for (let o = 0; o < cout; o++) st.xty[o * p + a] += out[a * Pp + p + o];
  }
  for (let a = 0; a < p; a++) for (let b = 0; b < a; b++) st.xtx[a * p + b] = st.xtx[b * p + a];
  for (let o = 0; o < cout; o++) st.yty[o] += out[(p + o) * Pp + p + o];
}

/**
 * Reference: the feature vector of every valid pixel with a weight, and its outer product times
 * the weight, written out (as gramStatsReference in gram.ts).
 */
export function gramStatsMaskedReference(pairs: GramPair[], kh: number, kw: number, bias: boolean, masks: RowWeights[]): GramStats {
  const { cin, cout } = shapeOf(pairs);
  const st = emptyStats(cin, cout, kh, kw, bias);
  const { p, xtx, xty, yty } = st;
  const feat = new Float64Array(p);
  pairs.forEach(({ input, target }, pi) => {
    const { width: W, height: H } = input;
    const plane = W * H;
    for (let y = 0; y + kh <= H; y++) {
      for (let x = 0; x + kw <= W; x++) {
        const at = (y + (kh >> 1)) * W + x + (kw >> 1);
        const w = masks[pi][at];
        if (w === 0) continue;
        let f = 0;
        for (let c = 0; c < cin; c++) {
          for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) feat[f++] = input.data[c * plane + (y + i) * W + x + j];
        }
        if (bias) feat[f] = 1;
        for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) xtx[a * p + b] += w * feat[a] * feat[b];
        for (let o = 0; o < cout; o++) {
          const t = target.data[o * plane + at];
          for (let a = 0; a < p; a++) xty[o * p + a] += w * feat[a] * t;
          yty[o] += w * t * t;
        }
        st.n += w;
      }
    }
  });
  return st;
}

/** Rows selected by `masks` (0/1) over the pairs, whose targets are `pairs`' own. */
export interface Selection {
  pairs: GramPair[];
  masks: Uint8Array[];
}

/**
 * The statistics of `next` from `st`, those of `prev` (same inputs; the targets may differ): the
 * rows that leave or change target subtracted and those that enter added, as signed rows, when
 * they are fewer than half of next's rows; otherwise computed afresh.
 */
export function updateMasked(st: GramStats, prev: Selection, next: Selection): GramStats {
  const { kh, kw, bias } = st;
  const leave = prev.masks.map((m) => new Int8Array(m.length));
  const enter = next.masks.map((m) => new Int8Array(m.length));
  let changed = 0, rows = 0;
  forEachAnchorRow(next.pairs, kh, kw, (pi, at0, count) => {
    const m0 = prev.masks[pi], m1 = next.masks[pi];
    const t0 = prev.pairs[pi].target.data, t1 = next.pairs[pi].target.data;
    for (let at = at0; at < at0 + count; at++) {
      rows += m1[at];
      const moved = t0 !== t1 && t0[at] !== t1[at];
      if (m0[at] && (!m1[at] || moved)) { leave[pi][at] = -1; changed++; }
      if (m1[at] && (!m0[at] || moved)) { enter[pi][at] = 1; changed++; }
    }
  });
  if (changed === 0) return st;
  if (2 * changed > rows) return gramStatsMasked(next.pairs, kh, kw, bias, next.masks);
  const out = weightedRows(prev.pairs, { ...st, xtx: st.xtx.slice(), xty: st.xty.slice(), yty: st.yty.slice() }, leave);
  return weightedRows(next.pairs, out, enter);
}

/**
 * The sum over rows of row * row' (P x P, symmetric) for rows a caller writes: fill(X, stride)
 * writes up to BLOCK rows (row r at X[r * stride ..], stride >= P; the rest of the row stays 0) and
 * returns how many (0 when there are no more); rowGram sums their outer products in the module, in
 * row order (as a plain loop over the rows: the same bits). The lifted least
 * squares of the abs and magnitude stages forms its Gram so (stages/lifted.ts). `fill` must not
 * use the module itself.
 */
export function rowProducts(P: number, fill: (X: Float64Array, B: number) => number): Float64Array {
  const Pp = (P + 1) & ~1;
  const xAt = Pp * Pp;
  const w = gramWasm((xAt + Pp * BLOCK) * 8);
  const mem = new Float64Array(w.memory.buffer);
  mem.fill(0, 0, xAt + Pp * BLOCK);
  const X = mem.subarray(xAt, xAt + Pp * BLOCK);
  for (let r = fill(X, Pp); r > 0; r = fill(X, Pp)) w.rowGram(xAt * 8, xAt * 8, r, Pp, 0);
  const out = new Float64Array(P * P);
  for (let a = 0; a < P; a++) for (let b = a; b < P; b++) out[a * P + b] = out[b * P + a] = mem[a * Pp + b];
  return out;
}

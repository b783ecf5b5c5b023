/**
 * The valid-window loop, for the fits that are not one Gram matrix (the clamp, abs and magnitude
 * output stages): every anchor whose whole kh x kw window lies inside the image, rows then
 * columns, pair by pair. The anchor is OpenCV's, (kh >> 1, kw >> 1) from the window's top-left
 * corner, as in gram.ts.
 *
 * The linear response k.x + b at an anchor is summed in float64 in one order everywhere: the bias
 * first, then the taps in weight order (channel, row, column). Every stage's loss, active set and
 * sign decision sees the same bits for the same kernel, whichever helper computed it.
 */

import type { Image } from '../image.js';
import { gramLimits, type GramPair } from './gram.js';
import { gramWasm } from './gram-wasm.js';

/**
 * Calls fn(pairIndex, anchor, window) for every valid anchor: `anchor` is the anchor's index in the
 * pair's plane (y * W + x), `window` the window's taps in weight order (reused between calls).
 */
export function forEachValidWindow(pairs: GramPair[], kh: number, kw: number, fn: (pi: number, anchor: number, win: Float64Array) => void): void {
  const win = new Float64Array(pairs[0].input.channels * kh * kw);
  forEachAnchorRow(pairs, kh, kw, (pi, at0, count) => {
    for (let at = at0; at < at0 + count; at++) {
      windowAt(pairs[pi].input, kh, kw, at, win);
      fn(pi, at, win);
    }
  });
}

/** Calls fn(pairIndex, first, count) for each row of valid anchors: anchors first .. first + count - 1 of the pair's plane. */
export function forEachAnchorRow(pairs: GramPair[], kh: number, kw: number, fn: (pi: number, first: number, count: number) => void): void {
  pairs.forEach(({ input: { width: W, height: H } }, pi) => {
    if (W < kw) return;
    for (let y = kh >> 1; y + kh - (kh >> 1) <= H; y++) fn(pi, y * W + (kw >> 1), W - kw + 1);
  });
}

/** The taps of the window whose anchor is at `anchor` (y * W + x), in weight order, into `win`. */
export function windowAt(input: Image, kh: number, kw: number, anchor: number, win: Float64Array): void {
  const { width: W, height: H, channels: cin, data } = input;
  const corner = anchor - (kh >> 1) * W - (kw >> 1);
  let f = 0;
  for (let c = 0; c < cin; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) win[f++] = data[c * W * H + corner + i * W + j];
}

/**
 * Anchor rows per band of the fast window loops (responsesAtAnchors, gram-masked.ts): the input
 * rows a band reads, as float64 over all channels, fit in gramLimits.bandBytes.
 */
export function bandRows(pair: GramPair, kh: number): number {
  const { width: W, channels } = pair.input;
  return Math.max(1, Math.floor(gramLimits.bandBytes / (channels * Math.max(W, 1) * 8)) - kh + 1); // (an empty image: one row)
}

/**
 * The valid anchors of a pair in bands of window tops [top, top + hv) (hv <= bandRows): each band's
 * input rows top .. top + hv + kh - 2 copied into `mem` from double `at`, channel c at
 * at + c * plane (plane = (hv + kh - 1) * W doubles), then fn(top, hv, plane).
 */
export function forEachBand(pair: GramPair, kh: number, kw: number, mem: Float64Array, at: number, fn: (top: number, hv: number, plane: number) => void): void {
  const { width: W, height: H, channels: cin, data } = pair.input;
  const tops = H - kh + 1;
  if (tops < 1 || W < kw) return;
  const R = bandRows(pair, kh);
  for (let top = 0; top < tops; top += R) {
    const hv = Math.min(R, tops - top);
    const plane = (hv + kh - 1) * W;
    for (let c = 0; c < cin; c++) mem.set(data.subarray(c * W * H + top * W, c * W * H + top * W + plane), at + c * plane);
    fn(top, hv, plane);
  }
}

/**
 * The linear responses k.x + b of one kernel (taps, then the bias) at the valid anchors of a pair,
 * in its plane; NaN elsewhere. Fast: the input in bands in the WebAssembly module (assembly/gram.ts
 * responses), each response summed in the order of the header, so the same bits as
 * responsesAtAnchorsReference (test/gram.test.ts).
 */
export function responsesAtAnchors(pair: GramPair, coef: ArrayLike<number>, kh: number, kw: number, bias: boolean): Float64Array {
  const { width: W, height: H, channels: cin } = pair.input;
  const out = new Float64Array(W * H).fill(NaN);
  const wv = W - kw + 1;
  if (H < kh || wv < 1) return out;
  const nt = cin * kh * kw;
  const R = bandRows(pair, kh);
  const bandAt = nt + (nt & 1); // doubles: the taps, then the band (16-byte aligned), then the responses
  const outAt = bandAt + cin * (R + kh - 1) * W;
  const w = gramWasm((outAt + R * wv) * 8);
  const mem = new Float64Array(w.memory.buffer);
  for (let t = 0; t < nt; t++) mem[t] = coef[t];
  const s0 = bias ? coef[nt] : 0;
  const ay = kh >> 1, ax = kw >> 1;
  forEachBand(pair, kh, kw, mem, bandAt, (top, hv, plane) => {
    w.responses(bandAt * 8, W, plane, cin, kh, kw, 0, s0, hv, wv, outAt * 8);
    for (let y = 0; y < hv; y++) out.set(mem.subarray(outAt + y * wv, outAt + (y + 1) * wv), (top + y + ay) * W + ax);
  });
  return out;
}

/** Reference: responsesAtAnchors as a plain loop over the anchors and taps. */
export function responsesAtAnchorsReference(pair: GramPair, coef: ArrayLike<number>, kh: number, kw: number, bias: boolean): Float64Array {
  const { input } = pair;
  const { width: W, height: H, channels: cin } = input;
  const plane = W * H;
  const out = new Float64Array(plane).fill(NaN);
  const per = kh * kw;
  const ay = kh >> 1, ax = kw >> 1;
  for (let y = 0; y + kh <= H; y++) {
    for (let x = 0; x + kw <= W; x++) {
      let s = bias ? coef[cin * per] : 0;
      for (let c = 0; c < cin; c++) {
        for (let i = 0; i < kh; i++) {
          const row = c * plane + (y + i) * W + x;
          const w = (c * kh + i) * kw;
          for (let j = 0; j < kw; j++) s += coef[w + j] * input.data[row + j];
        }
      }
      out[(y + ay) * W + x + ax] = s;
    }
  }
  return out;
}

/**
 * The mean of loss(responses, target) over the valid anchors of every pair (target channel 0), in
 * anchor order: `responses` holds the response of each kernel in `coefs` at the anchor.
 */
export function meanOverAnchors(
  pairs: GramPair[], coefs: ArrayLike<number>[], kh: number, kw: number, bias: boolean, loss: (responses: Float64Array, target: number) => number,
): number {
  const r = new Float64Array(coefs.length);
  let s = 0, n = 0;
  for (const pair of pairs) {
    const planes = coefs.map((c) => responsesAtAnchors(pair, c, kh, kw, bias));
    const t = pair.target.data;
    for (let i = 0; i < planes[0].length; i++) {
      if (Number.isNaN(planes[0][i])) continue;
      for (let j = 0; j < planes.length; j++) r[j] = planes[j][i];
      s += loss(r, t[i]);
      n++;
    }
  }
  return n > 0 ? s / n : 0;
}

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

import type { GramPair } from './gram.js';

/**
 * Calls fn(pairIndex, anchor, window) for every valid anchor: `anchor` is the anchor's index in the
 * pair's plane (y * W + x), `window` the window's taps in weight order (reused between calls).
 */
export function forEachValidWindow(pairs: GramPair[], kh: number, kw: number, fn: (pi: number, anchor: number, win: Float64Array) => void): void {
  const cin = pairs[0].input.channels;
  const win = new Float64Array(cin * kh * kw);
  pairs.forEach(({ input }, pi) => {
    const { width: W, height: H } = input;
    const plane = W * H;
    for (let y = 0; y + kh <= H; y++) {
      for (let x = 0; x + kw <= W; x++) {
        let f = 0;
        for (let c = 0; c < cin; c++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) win[f++] = input.data[c * plane + (y + i) * W + x + j];
        fn(pi, (y + (kh >> 1)) * W + x + (kw >> 1), win);
      }
    }
  });
}

/** The linear responses k.x + b of one kernel (taps, then the bias) at the valid anchors of a pair, in its plane; NaN elsewhere. */
export function responsesAtAnchors(pair: GramPair, coef: ArrayLike<number>, kh: number, kw: number, bias: boolean): Float64Array {
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

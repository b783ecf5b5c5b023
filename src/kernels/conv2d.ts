/**
 * 2-D convolution (really correlation, as in torch conv2d and cv2.filter2D): the hot loops of
 * training and inference. Each fast version sits beside a plain per-pixel reference version with
 * the same signature, and test/nn.test.ts holds them equal.
 *
 * Layout: NCHW float32 batches; weights [cout][cin][kh][kw]; bias [cout].
 * Anchor: (kh >> 1, kw >> 1), OpenCV's default anchor, which is the centre for odd kernels.
 *
 * Precision: every output sample is summed in float64 (bias first, then taps in the order
 * ci, ky, kx) and rounded to float32 once. The fast forward and input-gradient loops keep exactly
 * that order, so today they are bit-identical to their references; the weight gradient sums in a
 * different order (row by row) and agrees to float64 rounding before the final float32 store.
 *
 * Speed: the fast loops work a row at a time. The inner loop runs over x with the kernel taps
 * hoisted into locals, accumulating into a float64 row that stays in L1 cache; there are no
 * per-pixel function calls or border branches. 3x3 kernels (Sobel, Scharr) take all nine taps
 * in one pass over the row; kernel rows 3 or 5 wide one pass per row; other widths one per tap.
 * Border modes pad each input row once (only its border columns go through an index table) into
 * a small ring of kh padded rows per channel, and pick rows through a row index table, so no
 * padded copy of the image is made.
 */

import { KernelLearnError } from '../errors.js';
import { type BorderMode, borderIndexTable, borderInterpolate } from '../filters/border.js';

/** NCHW float32 batch: sample (i, ch, y, x) is at ((i*c + ch)*h + y)*w + x. */
export interface Tensor {
  n: number;
  c: number;
  h: number;
  w: number;
  data: Float32Array;
}

/** A tensor of the given shape, zero-filled unless `data` (of exactly n*c*h*w values) is given. */
export function tensor(n: number, c: number, h: number, w: number, data?: Float32Array): Tensor {
  const size = n * c * h * w;
  if (data && data.length !== size) {
    throw new KernelLearnError(`tensor: data has ${data.length} values, shape ${n}x${c}x${h}x${w} needs ${size}`);
  }
  return { n, c, h, w, data: data ?? new Float32Array(size) };
}

/** Padding: 'valid' (no padding, output shrinks by k-1) or a border mode (output keeps h x w). */
export type Padding = BorderMode | 'valid';

/** The extent of a kernel of size k with taps `dilation` apart: dilation * (k - 1) + 1. */
export const extent = (k: number, dilation: number): number => dilation * (k - 1) + 1;

function checkForward(x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding, dilation = 1): { oh: number; ow: number } {
  if (!(kh >= 1 && kw >= 1 && cout >= 1)) throw new KernelLearnError(`conv2d: bad kernel ${cout}x${kh}x${kw}`);
  if (!(Number.isInteger(dilation) && dilation >= 1)) throw new KernelLearnError(`conv2d: dilation must be a positive integer, got ${dilation}`);
  if (weights.length !== cout * x.c * kh * kw) {
    throw new KernelLearnError(`conv2d: weights have ${weights.length} values, expected ${cout}x${x.c}x${kh}x${kw}`);
  }
  if (bias && bias.length !== cout) throw new KernelLearnError(`conv2d: bias has ${bias.length} values, expected ${cout}`);
  if (padding !== 'valid') return { oh: x.h, ow: x.w };
  const oh = x.h - extent(kh, dilation) + 1;
  const ow = x.w - extent(kw, dilation) + 1;
  if (oh < 1 || ow < 1) throw new KernelLearnError(`conv2d: ${kh}x${kw} kernel${dilation > 1 ? ` (dilation ${dilation})` : ''} is larger than the ${x.h}x${x.w} input with 'valid' padding`);
  return { oh, ow };
}

/**
 * Correlation of `x` with `weights` plus `bias`.
 * padding 'valid': output (h-kh+1) x (w-kw+1). A BorderMode: output h x w, the input extended
 * by OpenCV's borderInterpolate in rows and columns (works for 1x1 images and kernels larger
 * than the image).
 */
export function conv2dForward(x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding): Tensor {
  return forwardAllRows(conv2dForwardRows, x, weights, bias, cout, kh, kw, padding);
}

/** A function that writes output rows [y0, y1) of a conv into `out` (conv2dForwardRows, its SIMD twin). */
export type ConvRows = (
  x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding, out: Tensor, y0: number, y1: number,
) => void;

/** A fresh output tensor with every row written by `rows`. */
export function forwardAllRows(rows: ConvRows, x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding): Tensor {
  const { oh, ow } = checkForward(x, weights, bias, cout, kh, kw, padding);
  const out = tensor(x.n, cout, oh, ow);
  rows(x, weights, bias, cout, kh, kw, padding, out, 0, oh);
  return out;
}

/** The output shape of conv2dForward (and the argument checks it makes); `dilation`: taps that many samples apart. */
export function conv2dOutputShape(x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding, dilation = 1): { oh: number; ow: number } {
  return checkForward(x, weights, bias, cout, kh, kw, padding, dilation);
}

/**
 * Output rows [y0, y1) of conv2dForward, for every sample and output channel, written into `out`
 * (of conv2dForward's output shape; other rows are left alone). The values are bit-identical to
 * conv2dForward's: each row is computed the same way whichever band it falls in. This is what
 * the worker threads of threads.ts run, one band of rows each.
 */
export function conv2dForwardRows(
  x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding,
  out: Tensor, y0: number, y1: number,
): void {
  const { oh, ow } = checkForward(x, weights, bias, cout, kh, kw, padding);
  if (out.n !== x.n || out.c !== cout || out.h !== oh || out.w !== ow) throw new KernelLearnError(`conv2d: output tensor has the wrong shape`);
  const { c: cin, h, w } = x;
  const acc = new Float64Array(ow);
  // For output row y, input row ky of channel ci is rowBuf[ci*kh+ky] starting at rowOff[ci*kh+ky],
  // and is (ow + kw - 1) samples long.
  const rowBuf: Float32Array[] = new Array(cin * kh);
  const rowOff = new Int32Array(cin * kh);

  // Border padding: a ring of kh padded rows per channel; padded row i lives in slot i % kh.
  const padded = padding !== 'valid';
  const pw = w + kw - 1;
  const ax = kw >> 1;
  const ay = kh >> 1;
  const rowTable = padded ? borderIndexTable(h, ay, kh - 1 - ay, padding) : null;
  const colTable = padded ? borderIndexTable(w, ax, kw - 1 - ax, padding) : null;
  const ring = padded ? Array.from({ length: cin * kh }, () => new Float32Array(pw)) : [];
  // Copies padded row i of plane `src` (offset `base`) into `dst`: the interior with one set(),
  // the few border columns through the column table.
  const padRow = (dst: Float32Array, src: Float32Array, base: number, i: number): void => {
    const r = rowTable![i];
    if (r < 0) { dst.fill(0); return; }
    const rowStart = base + r * w;
    for (let j = 0; j < ax; j++) { const c = colTable![j]; dst[j] = c < 0 ? 0 : src[rowStart + c]; }
    dst.set(src.subarray(rowStart, rowStart + w), ax);
    for (let j = ax + w; j < pw; j++) { const c = colTable![j]; dst[j] = c < 0 ? 0 : src[rowStart + c]; }
  };

  for (let n = 0; n < x.n; n++) {
    const inBase = n * cin * h * w;
    for (let y = y0; y < y1; y++) {
      for (let ci = 0; ci < cin; ci++) {
        const plane = inBase + ci * h * w;
        for (let ky = 0; ky < kh; ky++) {
          const k = ci * kh + ky;
          if (padded) {
            const slot = ci * kh + ((y + ky) % kh);
            // Rows y..y+kh-1 are needed; all are new at the band's first row, afterwards only row y+kh-1.
            if (y === y0 || ky === kh - 1) padRow(ring[slot], x.data, plane, y + ky);
            rowBuf[k] = ring[slot];
            rowOff[k] = 0;
          } else {
            rowBuf[k] = x.data;
            rowOff[k] = plane + (y + ky) * w;
          }
        }
      }
      for (let co = 0; co < cout; co++) {
        if (cin === 1 && kh === 3 && kw === 3) {
          // One input channel, 3x3 (Sobel, Scharr, most learned filters): straight into the output row.
          direct3x3(out.data, ((n * cout + co) * oh + y) * ow, rowBuf[0], rowOff[0], rowBuf[1], rowOff[1], rowBuf[2], rowOff[2], weights, co * 9, bias ? bias[co] : 0, ow);
          continue;
        }
        acc.fill(bias ? bias[co] : 0);
        for (let ci = 0; ci < cin; ci++) {
          const k = ci * kh;
          if (kh === 3 && kw === 3) {
            // The common case (Sobel, Scharr): all nine taps in one pass over acc.
            accumulate3x3(acc, rowBuf[k], rowOff[k], rowBuf[k + 1], rowOff[k + 1], rowBuf[k + 2], rowOff[k + 2], weights, (co * cin + ci) * 9, ow);
            continue;
          }
          for (let ky = 0; ky < kh; ky++) {
            accumulateRow(acc, rowBuf[k + ky], rowOff[k + ky], weights, ((co * cin + ci) * kh + ky) * kw, kw, ow);
          }
        }
        out.data.set(acc, ((n * cout + co) * oh + y) * ow); // rounds each float64 sum to float32 once
      }
    }
  }
}

/**
 * dst[od+x] = the float32 rounding of b0 + the 3x3 window at x of rows a, b, c, taps added in
 * (ky, kx) order in float64: the same sum, in the same order, as acc.fill(b0) + accumulate3x3 +
 * out.set(acc), without the float64 row. The window slides: each step loads only its new
 * column (a2, b2, c2) and shifts the other six along in locals.
 */
function direct3x3(
  dst: Float32Array, od: number, a: Float32Array, oa: number, b: Float32Array, ob: number, c: Float32Array, oc: number,
  weights: Float32Array, wb: number, b0: number, ow: number,
): void {
  const w0 = weights[wb], w1 = weights[wb + 1], w2 = weights[wb + 2];
  const w3 = weights[wb + 3], w4 = weights[wb + 4], w5 = weights[wb + 5];
  const w6 = weights[wb + 6], w7 = weights[wb + 7], w8 = weights[wb + 8];
  let a0 = a[oa], a1 = a[oa + 1], bb0 = b[ob], bb1 = b[ob + 1], c0 = c[oc], c1 = c[oc + 1];
  for (let x = 0; x < ow; x++) {
    const a2 = a[oa + x + 2], bb2 = b[ob + x + 2], c2 = c[oc + x + 2];
    dst[od + x] = b0 + w0 * a0 + w1 * a1 + w2 * a2 + w3 * bb0 + w4 * bb1 + w5 * bb2 + w6 * c0 + w7 * c1 + w8 * c2;
    a0 = a1; a1 = a2; bb0 = bb1; bb1 = bb2; c0 = c1; c1 = c2;
  }
}

/** acc[x] += the 3x3 window at x of rows a, b, c, adding taps in (ky, kx) order like accumulateRow. */
function accumulate3x3(
  acc: Float64Array, a: Float32Array, oa: number, b: Float32Array, ob: number, c: Float32Array, oc: number,
  weights: Float32Array, wb: number, ow: number,
): void {
  const w0 = weights[wb], w1 = weights[wb + 1], w2 = weights[wb + 2];
  const w3 = weights[wb + 3], w4 = weights[wb + 4], w5 = weights[wb + 5];
  const w6 = weights[wb + 6], w7 = weights[wb + 7], w8 = weights[wb + 8];
  for (let x = 0; x < ow; x++) {
    const i = oa + x, j = ob + x, k = oc + x;
    acc[x] = acc[x] + w0 * a[i] + w1 * a[i + 1] + w2 * a[i + 2]
      + w3 * b[j] + w4 * b[j + 1] + w5 * b[j + 2]
      + w6 * c[k] + w7 * c[k + 1] + w8 * c[k + 2];
  }
}

/**
 * acc[x] += sum over kx of weights[wb+kx] * src[o+x+kx], adding taps in kx order (so the result
 * matches a per-pixel loop bit for bit). kw 3 and 5 are unrolled: one pass over acc instead of kw.
 */
function accumulateRow(acc: Float64Array, src: Float32Array, o: number, weights: Float32Array, wb: number, kw: number, ow: number): void {
  if (kw === 3) {
    const w0 = weights[wb], w1 = weights[wb + 1], w2 = weights[wb + 2];
    for (let x = 0; x < ow; x++) {
      const i = o + x;
      acc[x] = acc[x] + w0 * src[i] + w1 * src[i + 1] + w2 * src[i + 2];
    }
  } else if (kw === 5) {
    const w0 = weights[wb], w1 = weights[wb + 1], w2 = weights[wb + 2], w3 = weights[wb + 3], w4 = weights[wb + 4];
    for (let x = 0; x < ow; x++) {
      const i = o + x;
      acc[x] = acc[x] + w0 * src[i] + w1 * src[i + 1] + w2 * src[i + 2] + w3 * src[i + 3] + w4 * src[i + 4];
    }
  } else {
    for (let kx = 0; kx < kw; kx++) {
      const wv = weights[wb + kx];
      const ok = o + kx;
      for (let x = 0; x < ow; x++) acc[x] += wv * src[ok + x];
    }
  }
}

/**
 * Reference for conv2dForward: one output sample at a time, borders through borderInterpolate,
 * bias first, then taps in (ci, ky, kx) order. `sums` 'f64' (conv2dForward's) adds in float64;
 * 'f32' rounds every product and every sum to float32 (the WebAssembly kernel's, simd.ts).
 * `dilation` d: tap (ky, kx) reads the input d*ky rows and d*kx columns on, and the anchor is tap
 * (kh >> 1, kw >> 1), as in torch's conv2d with dilation and padding d*(k-1)/2.
 */
export function conv2dForwardReference(
  x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding,
  sums: 'f64' | 'f32' = 'f64', dilation = 1,
): Tensor {
  const { oh, ow } = checkForward(x, weights, bias, cout, kh, kw, padding, dilation);
  const { c: cin, h, w } = x;
  const out = tensor(x.n, cout, oh, ow);
  const f32 = sums === 'f32';
  const d = dilation;
  // 'valid' output (y, x) reads input (y+d*ky, x+d*kx); padded output reads (y+d*ky-ay, x+d*kx-ax).
  const ay = padding === 'valid' ? 0 : d * (kh >> 1);
  const ax = padding === 'valid' ? 0 : d * (kw >> 1);
  for (let n = 0; n < x.n; n++) {
    for (let co = 0; co < cout; co++) {
      for (let y = 0; y < oh; y++) {
        for (let xx = 0; xx < ow; xx++) {
          let s = bias ? bias[co] : 0; // a float32 already
          for (let ci = 0; ci < cin; ci++) {
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                let iy = y + d * ky - ay;
                let ix = xx + d * kx - ax;
                if (padding !== 'valid') {
                  iy = borderInterpolate(iy, h, padding);
                  ix = borderInterpolate(ix, w, padding);
                }
                const v = iy < 0 || ix < 0 ? 0 : x.data[((n * cin + ci) * h + iy) * w + ix];
                const p = weights[((co * cin + ci) * kh + ky) * kw + kx] * v;
                s = f32 ? Math.fround(s + Math.fround(p)) : s + p;
              }
            }
          }
          out.data[((n * cout + co) * oh + y) * ow + xx] = s;
        }
      }
    }
  }
  return out;
}

/** The sizes of a weight-gradient computation, checked: input channels and size, gradient (output) size. */
export function backwardShape(x: Tensor, gradOut: Tensor, cout: number, kh: number, kw: number, dilation = 1): { cin: number; h: number; w: number; oh: number; ow: number } {
  if (gradOut.n !== x.n || gradOut.c !== cout || gradOut.h !== x.h - extent(kh, dilation) + 1 || gradOut.w !== x.w - extent(kw, dilation) + 1) {
    throw new KernelLearnError(
      `conv2d backward: gradient ${gradOut.n}x${gradOut.c}x${gradOut.h}x${gradOut.w} does not match a 'valid' ${cout}x${kh}x${kw}${dilation > 1 ? ` (dilation ${dilation})` : ''} conv of ${x.n}x${x.c}x${x.h}x${x.w}`,
    );
  }
  return { cin: x.c, h: x.h, w: x.w, oh: gradOut.h, ow: gradOut.w };
}

/**
 * Gradients of a 'valid' conv with respect to its weights and bias:
 *   dW[co][ci][ky][kx] = sum over n, y, x of gradOut[n,co,y,x] * x[n,ci,y+ky,x+kx]
 *   dB[co]             = sum over n, y, x of gradOut[n,co,y,x]
 * summed in float64, stored as float32.
 */
export function conv2dBackwardWeights(x: Tensor, gradOut: Tensor, cout: number, kh: number, kw: number): { dWeights: Float32Array; dBias: Float32Array } {
  const { cin, h, w, oh, ow } = backwardShape(x, gradOut, cout, kh, kw);
  const dW = new Float64Array(cout * cin * kh * kw);
  const dB = new Float64Array(cout);
  const g = gradOut.data;
  const xd = x.data;
  // Row by row: one gradient row against kh*kw shifted input rows, all of them in cache.
  for (let n = 0; n < x.n; n++) {
    for (let co = 0; co < cout; co++) {
      for (let y = 0; y < oh; y++) {
        const gr = ((n * cout + co) * oh + y) * ow;
        let sb = 0;
        for (let xx = 0; xx < ow; xx++) sb += g[gr + xx];
        dB[co] += sb;
        for (let ci = 0; ci < cin; ci++) {
          for (let ky = 0; ky < kh; ky++) {
            const xr = ((n * cin + ci) * h + y + ky) * w;
            const wb = ((co * cin + ci) * kh + ky) * kw;
            if (kw === 3) {
              let s0 = 0, s1 = 0, s2 = 0;
              for (let xx = 0; xx < ow; xx++) {
                const gv = g[gr + xx];
                const i = xr + xx;
                s0 += gv * xd[i];
                s1 += gv * xd[i + 1];
                s2 += gv * xd[i + 2];
              }
              dW[wb] += s0; dW[wb + 1] += s1; dW[wb + 2] += s2;
            } else {
              for (let kx = 0; kx < kw; kx++) {
                let s = 0;
                const xk = xr + kx;
                for (let xx = 0; xx < ow; xx++) s += g[gr + xx] * xd[xk + xx];
                dW[wb + kx] += s;
              }
            }
          }
        }
      }
    }
  }
  return { dWeights: Float32Array.from(dW), dBias: Float32Array.from(dB) };
}

/** Reference for conv2dBackwardWeights: each weight's sum written out directly (taps `dilation` apart). */
export function conv2dBackwardWeightsReference(x: Tensor, gradOut: Tensor, cout: number, kh: number, kw: number, dilation = 1): { dWeights: Float32Array; dBias: Float32Array } {
  const { cin, h, w, oh, ow } = backwardShape(x, gradOut, cout, kh, kw, dilation);
  const d = dilation;
  const dWeights = new Float32Array(cout * cin * kh * kw);
  const dBias = new Float32Array(cout);
  for (let co = 0; co < cout; co++) {
    let sb = 0;
    for (let n = 0; n < x.n; n++) {
      for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) sb += gradOut.data[((n * cout + co) * oh + y) * ow + xx];
    }
    dBias[co] = sb;
    for (let ci = 0; ci < cin; ci++) {
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          let s = 0;
          for (let n = 0; n < x.n; n++) {
            for (let y = 0; y < oh; y++) {
              for (let xx = 0; xx < ow; xx++) {
                s += gradOut.data[((n * cout + co) * oh + y) * ow + xx] * x.data[((n * cin + ci) * h + y + d * ky) * w + xx + d * kx];
              }
            }
          }
          dWeights[((co * cin + ci) * kh + ky) * kw + kx] = s;
        }
      }
    }
  }
  return { dWeights, dBias };
}

/** The sizes of an input-gradient computation, checked, and the zeroed gradient tensor (x's shape) to fill. */
export function backwardInputShape(gradOut: Tensor, weights: Float32Array, cin: number, kh: number, kw: number, dilation = 1): { nb: number; cout: number; oh: number; ow: number; h: number; w: number; dx: Tensor } {
  if (weights.length !== gradOut.c * cin * kh * kw) {
    throw new KernelLearnError(`conv2d backward: weights have ${weights.length} values, expected ${gradOut.c}x${cin}x${kh}x${kw}`);
  }
  const { n: nb, c: cout, h: oh, w: ow } = gradOut;
  const h = oh + extent(kh, dilation) - 1;
  const w = ow + extent(kw, dilation) - 1;
  return { nb, cout, oh, ow, h, w, dx: tensor(nb, cin, h, w) };
}

/**
 * Gradient of a 'valid' conv with respect to its input: the full correlation of gradOut with
 * the flipped kernel, dx[n,ci,iy,ix] = sum over co, ky, kx of gradOut[n,co,iy-ky,ix-kx] * W[co,ci,ky,kx]
 * (terms outside gradOut dropped). Output has x's shape: (h+kh-1) x (w+kw-1) of gradOut's.
 */
export function conv2dBackwardInput(gradOut: Tensor, weights: Float32Array, cin: number, kh: number, kw: number): Tensor {
  const { nb, cout, oh, ow, h, w, dx } = backwardInputShape(gradOut, weights, cin, kh, kw);
  const g = gradOut.data;
  const acc = new Float64Array(w);
  // One dx row at a time, gathering the gradient rows iy-ky that touch it; within a row the
  // taps scatter (acc[x+kx] += ...), which adds terms in the same (co, ky, kx) order as the reference.
  for (let n = 0; n < nb; n++) {
    for (let ci = 0; ci < cin; ci++) {
      for (let iy = 0; iy < h; iy++) {
        acc.fill(0);
        for (let co = 0; co < cout; co++) {
          for (let ky = 0; ky < kh; ky++) {
            const y = iy - ky;
            if (y < 0 || y >= oh) continue;
            const gr = ((n * cout + co) * oh + y) * ow;
            const wb = ((co * cin + ci) * kh + ky) * kw;
            if (kw === 3) {
              backwardRow3(acc, g, gr, weights[wb], weights[wb + 1], weights[wb + 2], ow);
              continue;
            }
            for (let kx = 0; kx < kw; kx++) {
              const wv = weights[wb + kx];
              for (let xx = 0; xx < ow; xx++) acc[xx + kx] += wv * g[gr + xx];
            }
          }
        }
        const dr = ((n * cin + ci) * h + iy) * w;
        for (let ix = 0; ix < w; ix++) dx.data[dr + ix] = acc[ix];
      }
    }
  }
  return dx;
}

/**
 * acc[ix] += w0*g[ix] + w1*g[ix-1] + w2*g[ix-2] over the ow+2 samples of a dx row, terms outside
 * g's row dropped: one pass over acc instead of three, adding in kx order like the reference.
 */
function backwardRow3(acc: Float64Array, g: Float32Array, gr: number, w0: number, w1: number, w2: number, ow: number): void {
  const w = ow + 2;
  for (let ix = 2; ix < ow; ix++) {
    const i = gr + ix;
    acc[ix] = acc[ix] + w0 * g[i] + w1 * g[i - 1] + w2 * g[i - 2];
  }
  // The two samples at each end (fewer when ow < 2), where some taps fall outside g's row.
  for (let ix = 0; ix < w; ix = ix === 1 ? Math.max(2, ow) : ix + 1) {
    if (ix - 2 >= 0 && ix < ow) continue; // interior, done above
    let s = acc[ix];
    if (ix < ow) s += w0 * g[gr + ix];
    if (ix - 1 >= 0 && ix - 1 < ow) s += w1 * g[gr + ix - 1];
    if (ix - 2 >= 0 && ix - 2 < ow) s += w2 * g[gr + ix - 2];
    acc[ix] = s;
  }
}

/** Reference for conv2dBackwardInput: each input sample's gradient gathered directly (taps `dilation` apart). */
export function conv2dBackwardInputReference(gradOut: Tensor, weights: Float32Array, cin: number, kh: number, kw: number, dilation = 1): Tensor {
  const { nb, cout, oh, ow, h, w, dx } = backwardInputShape(gradOut, weights, cin, kh, kw, dilation);
  const d = dilation;
  for (let n = 0; n < nb; n++) {
    for (let ci = 0; ci < cin; ci++) {
      for (let iy = 0; iy < h; iy++) {
        for (let ix = 0; ix < w; ix++) {
          let s = 0;
          for (let co = 0; co < cout; co++) {
            for (let ky = 0; ky < kh; ky++) {
              for (let kx = 0; kx < kw; kx++) {
                const y = iy - d * ky;
                const xx = ix - d * kx;
                if (y < 0 || y >= oh || xx < 0 || xx >= ow) continue;
                s += gradOut.data[((n * cout + co) * oh + y) * ow + xx] * weights[((co * cin + ci) * kh + ky) * kw + kx];
              }
            }
          }
          dx.data[((n * cin + ci) * h + iy) * w + ix] = s;
        }
      }
    }
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------
// Separable (rank-1) fast path

/**
 * If the kh x kw kernel is (to float32 resolution) an outer product col * row, returns the two
 * factors in float64; otherwise null. Sobel, Scharr, box and Gaussian kernels are rank 1.
 * The test is relative: every tap must match col[i]*row[j] within 2^-22 of the largest |tap|,
 * which is the rounding of float32 weights made as products (a Gaussian's taps, say) plus a
 * little; so the separable result differs from the direct one by a few float32 roundings at most
 * (test/perf-kernels.test.ts bounds it by 2^-20 of sum |w| * |x|).
 */
export function separableFactors(weights: Float32Array, wb: number, kh: number, kw: number): { col: Float64Array; row: Float64Array } | null {
  let p = 0, q = 0, big = 0;
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
    const a = Math.abs(weights[wb + i * kw + j]);
    if (a > big) { big = a; p = i; q = j; }
  }
  if (big === 0 || !Number.isFinite(big)) return null;
  const row = new Float64Array(kw);
  const col = new Float64Array(kh);
  for (let j = 0; j < kw; j++) row[j] = weights[wb + p * kw + j];
  for (let i = 0; i < kh; i++) col[i] = weights[wb + i * kw + q] / weights[wb + p * kw + q];
  const tol = big * 2 ** -22;
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
    if (Math.abs(col[i] * row[j] - weights[wb + i * kw + j]) > tol) return null;
  }
  return { col, row };
}

/**
 * conv2dForward for a 1-channel input and output whose kernel is rank 1 (separableFactors): a
 * vertical pass (kh taps) into a float64 row, then a horizontal pass (kw taps): kh + kw
 * multiply-adds per pixel instead of kh * kw. Sums in float64 like conv2dForward, but in another
 * order, and the kernel may be rank 1 only to float32 rounding, so results agree with
 * conv2dForwardReference to within 2^-20 of sum |w| * max |x| (not bit for bit);
 * test/perf-kernels.test.ts holds them within that. Used only where chosen (conv2dForwardAuto,
 * or `separable` in threads.ts); applyModel keeps the bit-exact path. Returns null when the kernel is not rank 1
 * or the shapes are not 1 -> 1 channel.
 */
export function conv2dForwardSeparable(
  x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, padding: Padding,
  out?: Tensor, y0 = 0, y1?: number,
): Tensor | null {
  const { oh, ow } = checkForward(x, weights, bias, cout, kh, kw, padding);
  if (x.c !== 1 || cout !== 1) return null;
  const f = separableFactors(weights, 0, kh, kw);
  if (!f) return null;
  const o = out ?? tensor(x.n, 1, oh, ow);
  const end = y1 ?? oh;
  const { h, w } = x;
  const padded = padding !== 'valid';
  const ax = padded ? kw >> 1 : 0;
  const ay = padded ? kh >> 1 : 0;
  const pw = ow + kw - 1;
  const rowTable = padded ? borderIndexTable(h, ay, kh - 1 - ay, padding) : null;
  const colTable = padded ? borderIndexTable(w, ax, kw - 1 - ax, padding) : null;
  const col = f.col, row = f.row;
  const b0 = bias ? bias[0] : 0;
  const v = new Float64Array(pw); // vertical pass over the padded width
  const acc = new Float64Array(ow);
  const src = x.data;
  for (let n = 0; n < x.n; n++) {
    const base = n * h * w;
    for (let y = y0; y < end; y++) {
      // Vertical pass over the interior columns, straight from the image rows.
      v.fill(0);
      for (let ky = 0; ky < kh; ky++) {
        const r = padded ? rowTable![y + ky] : y + ky;
        if (r < 0) continue;
        const c = col[ky];
        const rs = base + r * w;
        for (let xx = 0; xx < w; xx++) v[ax + xx] += c * src[rs + xx];
      }
      // Border columns read through the column table (a copy of an interior column, or 0).
      if (padded) {
        for (let j = 0; j < pw; j++) {
          if (j >= ax && j < ax + w) continue;
          const cIdx = colTable![j];
          if (cIdx < 0) { v[j] = 0; continue; }
          v[j] = v[ax + cIdx];
        }
      }
      // Horizontal pass.
      acc.fill(b0);
      if (kw === 3) {
        const r0 = row[0], r1 = row[1], r2 = row[2];
        for (let xx = 0; xx < ow; xx++) acc[xx] += r0 * v[xx] + r1 * v[xx + 1] + r2 * v[xx + 2];
      } else {
        for (let kx = 0; kx < kw; kx++) {
          const r = row[kx];
          for (let xx = 0; xx < ow; xx++) acc[xx] += r * v[xx + kx];
        }
      }
      o.data.set(acc, (n * oh + y) * ow);
    }
  }
  return o;
}

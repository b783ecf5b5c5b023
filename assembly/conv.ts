// AssemblyScript source of the WebAssembly SIMD convolution (src/kernels/simd.ts loads it).
// `npm run build:wasm` compiles it into src/kernels/conv-wasm.generated.ts; test/simd.test.ts
// rebuilds it and checks that the committed bytes are what this source compiles to.
//
// One entry point: a band of output rows from a band of input rows of one plane. The input rows
// may lie anywhere: rowPtrs holds the byte offset of each (rows + kh - 1 of them), pointing at
// the sample output column 0 reads first, so they can be the image's own rows (the caller handles
// the columns near the left and right border, where taps fall outside the row, separately) or
// padded copies. Output row r starts at out + r * outStride samples.
//
//   out[r*outStride + x] = init + sum over ky, kx of w[ky*kw + kx] * row[r + d*ky][x + d*kx]
//   for r < rows, x < ow, where init = bias (accumulate == 0) or the output's value (accumulate != 0)
//   and d is the dilation (1 for an ordinary kernel; rowPtrs then holds rows + d*(kh-1) rows)
//
// Every output sample is summed in float32 in one fixed order, init first, then taps in (ky, kx)
// order, each product rounded to float32 and then added (WebAssembly has no fused multiply-add
// in its baseline SIMD, so the SIMD lanes and the scalar tail round identically). A JavaScript
// loop with Math.fround after every multiply and add reproduces it bit for bit
// (conv2dForwardF32Reference in src/kernels/simd.ts).
//
// All pointers are byte offsets into this module's memory; the caller lays out the buffers.

/**
 * The 3x3 case (Sobel, Scharr, most learned filters): nine taps in registers, two output rows a
 * pass, so each input vector loaded serves both rows (loads, not arithmetic, bound this loop).
 */
function conv3x3(rowPtrs: usize, out: usize, outStride: i32, ow: i32, rows: i32, w: usize, bias: f32, accumulate: i32): void {
  const w0 = f32x4.splat(load<f32>(w, 0)), w1 = f32x4.splat(load<f32>(w, 4)), w2 = f32x4.splat(load<f32>(w, 8));
  const w3 = f32x4.splat(load<f32>(w, 12)), w4 = f32x4.splat(load<f32>(w, 16)), w5 = f32x4.splat(load<f32>(w, 20));
  const w6 = f32x4.splat(load<f32>(w, 24)), w7 = f32x4.splat(load<f32>(w, 28)), w8 = f32x4.splat(load<f32>(w, 32));
  const vb = f32x4.splat(bias);
  const outRowBytes = <usize>outStride << 2;
  let r = 0;
  for (; r + 2 <= rows; r += 2) {
    const a = rowPtr(rowPtrs, r);
    const b = rowPtr(rowPtrs, r + 1);
    const c = rowPtr(rowPtrs, r + 2);
    const d = rowPtr(rowPtrs, r + 3);
    const o = out + <usize>r * outRowBytes;
    const o2 = o + outRowBytes;
    let x = 0;
    for (; x + 4 <= ow; x += 4) {
      const p = <usize>x << 2;
      let s0 = accumulate ? v128.load(o + p) : vb;
      let s1 = accumulate ? v128.load(o2 + p) : vb;
      const b0 = v128.load(b + p), b1 = v128.load(b + p, 4), b2 = v128.load(b + p, 8);
      const c0 = v128.load(c + p), c1 = v128.load(c + p, 4), c2 = v128.load(c + p, 8);
      s0 = f32x4.add(s0, f32x4.mul(w0, v128.load(a + p)));
      s0 = f32x4.add(s0, f32x4.mul(w1, v128.load(a + p, 4)));
      s0 = f32x4.add(s0, f32x4.mul(w2, v128.load(a + p, 8)));
      s1 = f32x4.add(s1, f32x4.mul(w0, b0));
      s1 = f32x4.add(s1, f32x4.mul(w1, b1));
      s1 = f32x4.add(s1, f32x4.mul(w2, b2));
      s0 = f32x4.add(s0, f32x4.mul(w3, b0));
      s0 = f32x4.add(s0, f32x4.mul(w4, b1));
      s0 = f32x4.add(s0, f32x4.mul(w5, b2));
      s1 = f32x4.add(s1, f32x4.mul(w3, c0));
      s1 = f32x4.add(s1, f32x4.mul(w4, c1));
      s1 = f32x4.add(s1, f32x4.mul(w5, c2));
      s0 = f32x4.add(s0, f32x4.mul(w6, c0));
      s0 = f32x4.add(s0, f32x4.mul(w7, c1));
      s0 = f32x4.add(s0, f32x4.mul(w8, c2));
      s1 = f32x4.add(s1, f32x4.mul(w6, v128.load(d + p)));
      s1 = f32x4.add(s1, f32x4.mul(w7, v128.load(d + p, 4)));
      s1 = f32x4.add(s1, f32x4.mul(w8, v128.load(d + p, 8)));
      v128.store(o + p, s0);
      v128.store(o2 + p, s1);
    }
    if (x < ow) {
      scalarTail(rowPtrs, r, o, ow, x, w, 3, 3, bias, accumulate, 1);
      scalarTail(rowPtrs, r + 1, o2, ow, x, w, 3, 3, bias, accumulate, 1);
    }
  }
  if (r < rows) {
    const a = rowPtr(rowPtrs, r);
    const b = rowPtr(rowPtrs, r + 1);
    const c = rowPtr(rowPtrs, r + 2);
    const o = out + <usize>r * outRowBytes;
    let x = 0;
    for (; x + 4 <= ow; x += 4) {
      const p = <usize>x << 2;
      let s0 = accumulate ? v128.load(o + p) : vb;
      s0 = f32x4.add(s0, f32x4.mul(w0, v128.load(a + p)));
      s0 = f32x4.add(s0, f32x4.mul(w1, v128.load(a + p, 4)));
      s0 = f32x4.add(s0, f32x4.mul(w2, v128.load(a + p, 8)));
      s0 = f32x4.add(s0, f32x4.mul(w3, v128.load(b + p)));
      s0 = f32x4.add(s0, f32x4.mul(w4, v128.load(b + p, 4)));
      s0 = f32x4.add(s0, f32x4.mul(w5, v128.load(b + p, 8)));
      s0 = f32x4.add(s0, f32x4.mul(w6, v128.load(c + p)));
      s0 = f32x4.add(s0, f32x4.mul(w7, v128.load(c + p, 4)));
      s0 = f32x4.add(s0, f32x4.mul(w8, v128.load(c + p, 8)));
      v128.store(o + p, s0);
    }
    if (x < ow) scalarTail(rowPtrs, r, o, ow, x, w, 3, 3, bias, accumulate, 1);
  }
}

/** Byte offset of padded input row i. */
// @ts-ignore: decorator
@inline function rowPtr(rowPtrs: usize, i: i32): usize {
  return <usize>load<u32>(rowPtrs + (<usize>i << 2));
}

/** Any kh x kw, taps d apart: four output vectors (16 samples) a step, taps streamed from memory. */
function convGeneral(rowPtrs: usize, out: usize, outStride: i32, ow: i32, rows: i32, w: usize, kh: i32, kw: i32, bias: f32, accumulate: i32, d: i32): void {
  const vb = f32x4.splat(bias);
  const tapStep = <usize>d << 2;
  for (let r = 0; r < rows; r++) {
    const o = out + (<usize>r * <usize>outStride << 2);
    let x = 0;
    for (; x + 16 <= ow; x += 16) {
      const p = <usize>x << 2;
      let s0 = accumulate ? v128.load(o + p) : vb;
      let s1 = accumulate ? v128.load(o + p, 16) : vb;
      let s2 = accumulate ? v128.load(o + p, 32) : vb;
      let s3 = accumulate ? v128.load(o + p, 48) : vb;
      for (let ky = 0; ky < kh; ky++) {
        const src = rowPtr(rowPtrs, r + d * ky) + p;
        const wr = w + (<usize>(ky * kw) << 2);
        for (let kx = 0; kx < kw; kx++) {
          const wv = f32x4.splat(load<f32>(wr + (<usize>kx << 2)));
          const q = src + <usize>kx * tapStep;
          s0 = f32x4.add(s0, f32x4.mul(wv, v128.load(q)));
          s1 = f32x4.add(s1, f32x4.mul(wv, v128.load(q, 16)));
          s2 = f32x4.add(s2, f32x4.mul(wv, v128.load(q, 32)));
          s3 = f32x4.add(s3, f32x4.mul(wv, v128.load(q, 48)));
        }
      }
      v128.store(o + p, s0);
      v128.store(o + p, s1, 16);
      v128.store(o + p, s2, 32);
      v128.store(o + p, s3, 48);
    }
    for (; x + 4 <= ow; x += 4) {
      const p = <usize>x << 2;
      let s0 = accumulate ? v128.load(o + p) : vb;
      for (let ky = 0; ky < kh; ky++) {
        const src = rowPtr(rowPtrs, r + d * ky) + p;
        const wr = w + (<usize>(ky * kw) << 2);
        for (let kx = 0; kx < kw; kx++) {
          s0 = f32x4.add(s0, f32x4.mul(f32x4.splat(load<f32>(wr + (<usize>kx << 2))), v128.load(src + <usize>kx * tapStep)));
        }
      }
      v128.store(o + p, s0);
    }
    if (x < ow) scalarTail(rowPtrs, r, o, ow, x, w, kh, kw, bias, accumulate, d);
  }
}

/** Samples x0..ow-1 of one output row, one at a time, in the same order as the SIMD lanes (taps d apart). */
function scalarTail(rowPtrs: usize, r: i32, o: usize, ow: i32, x0: i32, w: usize, kh: i32, kw: i32, bias: f32, accumulate: i32, d: i32): void {
  for (let x = x0; x < ow; x++) {
    const p = <usize>x << 2;
    let s: f32 = accumulate ? load<f32>(o + p) : bias;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        s += load<f32>(w + (<usize>(ky * kw + kx) << 2)) * load<f32>(rowPtr(rowPtrs, r + d * ky) + p + (<usize>(d * kx) << 2));
      }
    }
    store<f32>(o + p, s);
  }
}

export function convRows(rowPtrs: usize, out: usize, outStride: i32, ow: i32, rows: i32, w: usize, kh: i32, kw: i32, bias: f32, accumulate: i32, dil: i32): void {
  if (kh == 3 && kw == 3 && dil == 1) conv3x3(rowPtrs, out, outStride, ow, rows, w, bias, accumulate);
  else convGeneral(rowPtrs, out, outStride, ow, rows, w, kh, kw, bias, accumulate, dil);
}

// ---------------------------------------------------------------------------------------------
// Per-pixel layers (src/nn/pointwise.ts): a block of n pixels, channel-major, `stride` samples
// from one channel to the next. Same arithmetic as that file's JavaScript reference, so the same
// bits: each output starts at its float32 bias (0 without one), then the input channels are added
// in order, each product and each sum rounded to float32.

/** out[o][p] = bias[o] + sum over i in order of w[o*cin + i] * a[i][p], for p < n. */
export function pointwiseConv(a: usize, out: usize, w: usize, bias: usize, hasBias: i32, cin: i32, cout: i32, stride: i32, n: i32): void {
  const chan = <usize>stride << 2;
  for (let o = 0; o < cout; o++) {
    const ob = out + <usize>o * chan;
    const wo = w + (<usize>(o * cin) << 2);
    const b: f32 = hasBias ? load<f32>(bias + (<usize>o << 2)) : 0;
    const vb = f32x4.splat(b);
    let p = 0;
    for (; p + 16 <= n; p += 16) {
      const q = <usize>p << 2;
      let s0 = vb, s1 = vb, s2 = vb, s3 = vb;
      for (let i = 0; i < cin; i++) {
        const wv = f32x4.splat(load<f32>(wo + (<usize>i << 2)));
        const src = a + <usize>i * chan + q;
        s0 = f32x4.add(s0, f32x4.mul(wv, v128.load(src)));
        s1 = f32x4.add(s1, f32x4.mul(wv, v128.load(src, 16)));
        s2 = f32x4.add(s2, f32x4.mul(wv, v128.load(src, 32)));
        s3 = f32x4.add(s3, f32x4.mul(wv, v128.load(src, 48)));
      }
      v128.store(ob + q, s0);
      v128.store(ob + q, s1, 16);
      v128.store(ob + q, s2, 32);
      v128.store(ob + q, s3, 48);
    }
    for (; p < n; p++) {
      const q = <usize>p << 2;
      let s = b;
      for (let i = 0; i < cin; i++) s += load<f32>(wo + (<usize>i << 2)) * load<f32>(a + <usize>i * chan + q);
      store<f32>(ob + q, s);
    }
  }
}

/**
 * The elementwise layers on the first n values at a, in place: kind 0 relu (x > 0 ? x : 0, so
 * -0 and NaN give +0: pmax(0, x) is exactly that), 1 abs, 2 clamp (x < lo ? lo : x > hi ? hi : x,
 * by comparisons, so -0 and NaN pass through as in the reference).
 */
export function pointwiseElementwise(a: usize, n: i32, kind: i32, lo: f32, hi: f32): void {
  const zero = f32x4.splat(0), vlo = f32x4.splat(lo), vhi = f32x4.splat(hi);
  let p = 0;
  for (; p + 4 <= n; p += 4) {
    const q = a + (<usize>p << 2);
    const x = v128.load(q);
    let y = x;
    if (kind == 0) y = f32x4.pmax(zero, x);
    else if (kind == 1) y = f32x4.abs(x);
    else y = v128.bitselect(vlo, v128.bitselect(vhi, x, f32x4.gt(x, vhi)), f32x4.lt(x, vlo));
    v128.store(q, y);
  }
  for (; p < n; p++) {
    const q = a + (<usize>p << 2);
    const x = load<f32>(q);
    store<f32>(q, kind == 0 ? (x > 0 ? x : 0) : kind == 1 ? abs<f32>(x) : x < lo ? lo : x > hi ? hi : x);
  }
}

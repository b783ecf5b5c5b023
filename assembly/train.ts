// AssemblyScript source of the WebAssembly SIMD training convolutions (src/kernels/train-wasm.ts
// loads it). `npm run build:wasm` compiles it into src/kernels/train-wasm.generated.ts;
// test/train-kernels.test.ts rebuilds it and checks that the committed bytes are what this
// source compiles to.
//
// Two entry points, each for ONE sample of a 'valid' (unpadded) correlation with dilation d:
//
//   forward:          out[co][y][x] = b[co] + sum over ci, ky, kx of w[co][ci][ky][kx] * in[ci][y + d ky][x + d kx]
//   backwardWeights:  dW[co][ci][ky][kx] += sum over y, x of g[co][y][x] * in[ci][y + d ky][x + d kx]
//                     dB[co]             += sum over y, x of g[co][y][x]
//
// (The input gradient is `forward` on the zero-padded gradient with the flipped, transposed
// kernel: the caller lays that out.) Planes are float32; dW and dB are float64.
//
// Two kinds of sums, chosen per call (`wide`):
// - wide = 1 (float64): each product w * x formed in float64 (exact: two float32 factors) and
//   added in float64. forward adds bias first, then taps in (ci, ky, kx) order, and rounds to
//   float32 once: the same sum, in the same order, as conv2dForward in src/kernels/conv2d.ts, so
//   the two are bit for bit equal. Two samples per f64x2 instruction. For one-conv training,
//   whose stopping rule compares against the exact optimum.
// - wide = 0 (float32): forward as conv2dForwardReference(..., 'f32'): every product and sum
//   rounded to float32, bias first, taps in (ci, ky, kx) order (no fused multiply-add in baseline
//   SIMD, so lanes and scalar tail round the same way): bit for bit equal to it. Four samples per
//   f32x4 instruction. For the deep arch's hidden layers.
// backwardWeights sums each (row, tap) dot product in lanes along the row (f64x2 with exact
// products when wide, f32x4 otherwise), adds the lanes and the tail into float64 at the row's end,
// rows in float64. Its rounding differs from the plain reference only in the order of the sums
// (wide) or in float32 sums along one row (not wide); test/train-kernels.test.ts bounds both.
//
// All pointers are byte offsets into the module's (private, per thread) memory; the weights are
// float64 when wide, float32 otherwise; the caller lays out the buffers.

// @ts-ignore: decorator
@inline function plane(base: usize, c: i32, h: i32, w: i32): usize {
  return base + ((<usize>c * <usize>h * <usize>w) << 2);
}

/**
 * s + the 3x3 taps of one input channel at q (rows r apart, columns t apart), four samples, taps in
 * (ky, kx) order: the same sums in the same order as the general loop, without its loop control.
 */
// @ts-ignore: decorator
@inline function taps3x3(s: v128, wp: usize, q: usize, r: usize, t: usize, o: usize): v128 {
  s = f32x4.add(s, f32x4.mul(v128.load32_splat(wp), v128.load(q + o)));
  s = f32x4.add(s, f32x4.mul(v128.load32_splat(wp, 4), v128.load(q + t + o)));
  s = f32x4.add(s, f32x4.mul(v128.load32_splat(wp, 8), v128.load(q + 2 * t + o)));
  s = f32x4.add(s, f32x4.mul(v128.load32_splat(wp, 12), v128.load(q + r + o)));
  s = f32x4.add(s, f32x4.mul(v128.load32_splat(wp, 16), v128.load(q + r + t + o)));
  s = f32x4.add(s, f32x4.mul(v128.load32_splat(wp, 20), v128.load(q + r + 2 * t + o)));
  s = f32x4.add(s, f32x4.mul(v128.load32_splat(wp, 24), v128.load(q + 2 * r + o)));
  s = f32x4.add(s, f32x4.mul(v128.load32_splat(wp, 28), v128.load(q + 2 * r + t + o)));
  s = f32x4.add(s, f32x4.mul(v128.load32_splat(wp, 32), v128.load(q + 2 * r + 2 * t + o)));
  return s;
}

/** One output row of one channel, float32 sums, a 3x3 kernel: 8 samples a step with the taps unrolled, then the general loop's tail. */
function forwardRow32k3(row0: usize, cin: i32, hw: usize, w: i32, wts: usize, b: f32, dil: i32, out: usize, ow: i32): void {
  const vb = f32x4.splat(b);
  const r = <usize>(dil * w) << 2, t = <usize>dil << 2;
  let x = 0;
  for (; x + 8 <= ow; x += 8) {
    let s0 = vb, s1 = vb;
    for (let ci = 0; ci < cin; ci++) {
      const q = row0 + (<usize>ci * hw << 2) + (<usize>x << 2);
      const wp = wts + (<usize>(ci * 9) << 2);
      s0 = taps3x3(s0, wp, q, r, t, 0);
      s1 = taps3x3(s1, wp, q, r, t, 16);
    }
    const o = out + (<usize>x << 2);
    v128.store(o, s0);
    v128.store(o, s1, 16);
  }
  if (x < ow) forwardRow<f32>(row0 + (<usize>x << 2), cin, hw, w, wts, b, 3, 3, dil, out + (<usize>x << 2), ow - x);
}

/** Two float32 samples at p as float64 lanes. */
// @ts-ignore: decorator
@inline function two(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** Four float64 lanes (two vectors) rounded to float32 and stored as four samples at p. */
// @ts-ignore: decorator
@inline function storeFour(p: usize, a: v128, b: v128): void {
  v128.store(p, v128.shuffle<i32>(f32x4.demote_f64x2_zero(a), f32x4.demote_f64x2_zero(b), 0, 1, 4, 5));
}

/**
 * Four vectors of output samples at o (16 float32 or 8 float64 samples, T's lanes) from the input
 * at src0: bias b, then the taps in (ci, ky, kx) order; float32 sums round each product and sum,
 * float64 sums form each product exactly.
 */
// @ts-ignore: decorator
@inline function block<T>(src0: usize, cin: i32, hw: usize, rowStep: usize, tapStep: usize, wts: usize, b: v128, kh: i32, kw: i32, o: usize): void {
  let s0 = b, s1 = b, s2 = b, s3 = b;
  let wp = wts;
  for (let ci = 0; ci < cin; ci++) {
    let src = src0 + (<usize>ci * hw << 2);
    for (let ky = 0; ky < kh; ky++) {
      let q = src;
      for (let kx = 0; kx < kw; kx++) {
        if (sizeof<T>() == 4) {
          const wv = v128.load32_splat(wp);
          s0 = f32x4.add(s0, f32x4.mul(wv, v128.load(q)));
          s1 = f32x4.add(s1, f32x4.mul(wv, v128.load(q, 16)));
          s2 = f32x4.add(s2, f32x4.mul(wv, v128.load(q, 32)));
          s3 = f32x4.add(s3, f32x4.mul(wv, v128.load(q, 48)));
        } else {
          const wv = v128.load64_splat(wp);
          s0 = f64x2.add(s0, f64x2.mul(wv, two(q)));
          s1 = f64x2.add(s1, f64x2.mul(wv, two(q + 8)));
          s2 = f64x2.add(s2, f64x2.mul(wv, two(q + 16)));
          s3 = f64x2.add(s3, f64x2.mul(wv, two(q + 24)));
        }
        wp += sizeof<T>();
        q += tapStep;
      }
      src += rowStep;
    }
  }
  if (sizeof<T>() == 4) {
    v128.store(o, s0);
    v128.store(o, s1, 16);
    v128.store(o, s2, 32);
    v128.store(o, s3, 48);
  } else {
    storeFour(o, s0, s1);
    storeFour(o + 16, s2, s3);
  }
}

/** One output sample at o, summed as block sums it (in T): tap i is (ci, ky, kx) = (i / (kh kw), i / kw % kh, i % kw). */
// @ts-ignore: decorator
@inline function sample<T>(src0: usize, cin: i32, hw: usize, rowStep: usize, tapStep: usize, wts: usize, b: T, kh: i32, kw: i32, o: usize): void {
  let s: T = b;
  const taps = kh * kw;
  for (let i = 0; i < cin * taps; i++) {
    const k = i % taps;
    const q = src0 + (<usize>(i / taps) * hw << 2) + <usize>(k / kw) * rowStep + <usize>(k % kw) * tapStep;
    const wp = wts + <usize>i * sizeof<T>();
    if (sizeof<T>() == 4) s += <T>(load<f32>(wp) * load<f32>(q));
    else s += <T>(load<f64>(wp) * <f64>load<f32>(q));
  }
  store<f32>(o, <f32>s);
}

/** One output row of one channel, summed in T (f32 or f64): blocks of 16 (f32) or 8 (f64) samples, then one at a time. */
function forwardRow<T>(row0: usize, cin: i32, hw: usize, w: i32, wts: usize, b: T, kh: i32, kw: i32, dil: i32, out: usize, ow: i32): void {
  const vb = sizeof<T>() == 4 ? f32x4.splat(<f32>b) : f64x2.splat(<f64>b);
  const rowStep = <usize>(dil * w) << 2;
  const tapStep = <usize>dil << 2;
  const step = sizeof<T>() == 4 ? 16 : 8;
  let x = 0;
  for (; x + step <= ow; x += step) block<T>(row0 + (<usize>x << 2), cin, hw, rowStep, tapStep, wts, vb, kh, kw, out + (<usize>x << 2));
  for (; x < ow; x++) sample<T>(row0 + (<usize>x << 2), cin, hw, rowStep, tapStep, wts, b, kh, kw, out + (<usize>x << 2));
}

export function forward(inp: usize, cin: i32, h: i32, w: i32, wts: usize, bias: usize, cout: i32, kh: i32, kw: i32, dil: i32, out: usize, wide: i32): void {
  const oh = h - dil * (kh - 1), ow = w - dil * (kw - 1);
  const hw = <usize>h * <usize>w;
  const taps = cin * kh * kw;
  for (let co = 0; co < cout; co++) {
    for (let y = 0; y < oh; y++) {
      const row0 = inp + (<usize>y * <usize>w << 2);
      const o = plane(out, co, oh, ow) + (<usize>y * <usize>ow << 2);
      const b32: f32 = bias && !wide ? load<f32>(bias + (<usize>co << 2)) : 0;
      if (wide) forwardRow<f64>(row0, cin, hw, w, wts + (<usize>(co * taps) << 3), bias ? load<f64>(bias + (<usize>co << 3)) : 0, kh, kw, dil, o, ow);
      else if (kh == 3 && kw == 3) forwardRow32k3(row0, cin, hw, w, wts + (<usize>(co * taps) << 2), b32, dil, o, ow);
      else forwardRow<f32>(row0, cin, hw, w, wts + (<usize>(co * taps) << 2), b32, kh, kw, dil, o, ow);
    }
  }
}

/** sum over x < n of g[x] * a[x]: float32 products and lanes along the row, lanes and tail added in float64. */
function dot32(g: usize, a: usize, n: i32): f64 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let x = 0;
  for (; x + 8 <= n; x += 8) {
    const p = <usize>x << 2;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(g + p), v128.load(a + p)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(g + p, 16), v128.load(a + p, 16)));
  }
  for (; x + 4 <= n; x += 4) {
    const p = <usize>x << 2;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(g + p), v128.load(a + p)));
  }
  let s: f64 = <f64>f32x4.extract_lane(s0, 0) + <f64>f32x4.extract_lane(s0, 1) + <f64>f32x4.extract_lane(s0, 2) + <f64>f32x4.extract_lane(s0, 3);
  s += <f64>f32x4.extract_lane(s1, 0) + <f64>f32x4.extract_lane(s1, 1) + <f64>f32x4.extract_lane(s1, 2) + <f64>f32x4.extract_lane(s1, 3);
  for (; x < n; x++) s += <f64>(load<f32>(g + (<usize>x << 2)) * load<f32>(a + (<usize>x << 2)));
  return s;
}

/** sum over x < n of g[x] * a[x]: exact float64 products, float64 lanes along the row. */
function dot64(g: usize, a: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let x = 0;
  for (; x + 4 <= n; x += 4) {
    const p = <usize>x << 2;
    s0 = f64x2.add(s0, f64x2.mul(two(g + p), two(a + p)));
    s1 = f64x2.add(s1, f64x2.mul(two(g + p + 8), two(a + p + 8)));
  }
  s0 = f64x2.add(s0, s1);
  let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1);
  for (; x < n; x++) s += <f64>load<f32>(g + (<usize>x << 2)) * <f64>load<f32>(a + (<usize>x << 2));
  return s;
}

/** The four float32 lanes of v added in float64 (lane order). */
// @ts-ignore: decorator
@inline function lanes(v: v128): f64 {
  return <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) + <f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3);
}

/** dst[k] += v (float64 at dst + 8k). */
// @ts-ignore: decorator
@inline function addTo(dst: usize, k: i32, v: f64): void {
  store<f64>(dst + (<usize>k << 3), load<f64>(dst + (<usize>k << 3)) + v);
}

/** Rows of the gradient whose float32 lane sums are added into float64 together (the bound the tests hold). */
const DW_ROWS = 4;

/**
 * The nine taps of a 3x3 kernel (taps dil apart) for one (out, in) channel pair, float32: each
 * gradient vector loaded once serves all nine taps (nine lane sums in registers), and the lanes
 * go into float64 every DW_ROWS rows; samples past the last whole vector of a row are added in
 * float64 one at a time.
 */
function dw3x3(xp: usize, w: i32, gp: usize, oh: i32, ow: i32, dil: i32, tp: usize): void {
  const r = <usize>(dil * w) << 2, t = <usize>dil << 2;
  const tail = ow & ~3;
  for (let y0 = 0; y0 < oh; y0 += DW_ROWS) {
    const zero = f32x4.splat(0);
    let a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero, a8 = zero;
    const y1 = min(oh, y0 + DW_ROWS);
    for (let y = y0; y < y1; y++) {
      const gr = gp + (<usize>(y * ow) << 2), xr = xp + (<usize>(y * w) << 2);
      for (let x = 0; x < tail; x += 4) {
        const p = <usize>x << 2;
        const g = v128.load(gr + p), q = xr + p;
        a0 = f32x4.add(a0, f32x4.mul(g, v128.load(q)));
        a1 = f32x4.add(a1, f32x4.mul(g, v128.load(q + t)));
        a2 = f32x4.add(a2, f32x4.mul(g, v128.load(q + 2 * t)));
        a3 = f32x4.add(a3, f32x4.mul(g, v128.load(q + r)));
        a4 = f32x4.add(a4, f32x4.mul(g, v128.load(q + r + t)));
        a5 = f32x4.add(a5, f32x4.mul(g, v128.load(q + r + 2 * t)));
        a6 = f32x4.add(a6, f32x4.mul(g, v128.load(q + 2 * r)));
        a7 = f32x4.add(a7, f32x4.mul(g, v128.load(q + 2 * r + t)));
        a8 = f32x4.add(a8, f32x4.mul(g, v128.load(q + 2 * r + 2 * t)));
      }
      for (let x = tail; x < ow; x++) {
        const gs = load<f32>(gr + (<usize>x << 2)), q = xr + (<usize>x << 2);
        for (let k = 0; k < 9; k++) addTo(tp, k, <f64>(gs * load<f32>(q + <usize>(k / 3) * r + <usize>(k % 3) * t)));
      }
    }
    addTo(tp, 0, lanes(a0)); addTo(tp, 1, lanes(a1)); addTo(tp, 2, lanes(a2));
    addTo(tp, 3, lanes(a3)); addTo(tp, 4, lanes(a4)); addTo(tp, 5, lanes(a5));
    addTo(tp, 6, lanes(a6)); addTo(tp, 7, lanes(a7)); addTo(tp, 8, lanes(a8));
  }
}

export function backwardWeights(inp: usize, cin: i32, h: i32, w: i32, g: usize, cout: i32, kh: i32, kw: i32, dil: i32, dW: usize, dB: usize, wide: i32): void {
  const oh = h - dil * (kh - 1), ow = w - dil * (kw - 1);
  if (!wide && kh == 3 && kw == 3) {
    for (let co = 0; co < cout; co++) {
      const gp = plane(g, co, oh, ow);
      let sb: f64 = 0;
      for (let i = 0; i < oh * ow; i++) sb += <f64>load<f32>(gp + (<usize>i << 2));
      addTo(dB, co, sb);
      for (let ci = 0; ci < cin; ci++) dw3x3(plane(inp, ci, h, w), w, gp, oh, ow, dil, dW + (<usize>((co * cin + ci) * 9) << 3));
    }
    return;
  }
  for (let co = 0; co < cout; co++) {
    for (let y = 0; y < oh; y++) {
      const gr = plane(g, co, oh, ow) + (<usize>y * <usize>ow << 2);
      let sb: f64 = 0;
      for (let x = 0; x < ow; x++) sb += <f64>load<f32>(gr + (<usize>x << 2));
      const bp = dB + (<usize>co << 3);
      store<f64>(bp, load<f64>(bp) + sb);
      for (let ci = 0; ci < cin; ci++) {
        for (let ky = 0; ky < kh; ky++) {
          const xr = plane(inp, ci, h, w) + (<usize>(y + dil * ky) * <usize>w << 2);
          const tp = dW + (<usize>(((co * cin + ci) * kh + ky) * kw) << 3);
          for (let kx = 0; kx < kw; kx++) {
            const a = xr + (<usize>(dil * kx) << 2);
            const d = wide ? dot64(gr, a, ow) : dot32(gr, a, ow);
            const p = tp + (<usize>kx << 3);
            store<f64>(p, load<f64>(p) + d);
          }
        }
      }
    }
  }
}

/**
 * One conv's squared error and weight gradient on one sample, in one call (the one-conv trainer's
 * whole step for a crop): `forward` into out, then out becomes the MSE's gradient in place,
 * g = float32(scale * (out - t)) with the squared error summed in float64 in sample order, then
 * `backwardWeights` on g. Each part is the same code and the same arithmetic as the three calls it
 * replaces (the middle one as train/parallel.ts's residual: float64 differences, one float32
 * rounding of each gradient), so the results are bit for bit theirs; what it saves is the copies
 * of the sample and its output in and out of this memory between them. Returns the squared error.
 */
export function lossGrad(inp: usize, cin: i32, h: i32, w: i32, tgt: usize, wts: usize, bias: usize, cout: i32, kh: i32, kw: i32, dil: i32, out: usize, scale: f64, dW: usize, dB: usize, wide: i32): f64 {
  forward(inp, cin, h, w, wts, bias, cout, kh, kw, dil, out, wide);
  const n = cout * (h - dil * (kh - 1)) * (w - dil * (kw - 1));
  let s: f64 = 0;
  for (let i = 0; i < n; i++) {
    const p = out + (<usize>i << 2);
    const d = <f64>load<f32>(p) - <f64>load<f32>(tgt + (<usize>i << 2));
    s += d * d;
    store<f32>(p, <f32>(scale * d));
  }
  backwardWeights(inp, cin, h, w, out, cout, kh, kw, dil, dW, dB, wide);
  return s;
}

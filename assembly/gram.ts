// AssemblyScript source of the WebAssembly SIMD lag sums behind the fast Gram statistics
// (src/kernels/gram.ts loads it). `node tools/build_gram_wasm.mjs` compiles it into
// src/kernels/gram-wasm.generated.ts; test/gram.test.ts rebuilds it and checks that the committed
// bytes are what this source compiles to.
//
// One entry point, lagSums: for rows u in [u0, u1) of plane a, the rows u + di of plane b, every
// column lag dj in [djLo, djLo + m) and every column segment c (columns cc[c] .. cc[c + 1] - 1)
// whose shifted columns stay inside the row (cc[c] + dj >= 0 and cc[c + 1] + dj <= W):
//
//   acc[(seg[u - u0] * nc + c) * m + (dj - djLo)] += sum over v in segment c of a[u][v] * b[u + di][v + dj]
//
// Row u of a is at aPtr + (u - aRow0) * W doubles, row r of b at bPtr + (r - bRow0) * W, so the
// planes may be bands of rows. Everything is float64, and each sum is formed in one fixed order:
// per row, segment and lag, s = 0, then s += a[u][v] * b[u + di][v + dj] for v from left to right
// (a multiply, then an add: WebAssembly has no fused multiply-add in its baseline SIMD), then
// acc += s, rows in increasing order. That is the order of the plain JavaScript lag sums this
// replaced, so the statistics are the same bits as before; integer-valued data whose sums stay
// below 2^53 (u8 images) are exact in any order.
//
// The SIMD lanes run over lags, not columns: b's row is contiguous in dj as in v, so one splat of
// a[u][v] times two adjacent lags of b is one instruction, and eight lags (four registers) sweep
// the segment together, each lane summing its own lag from left to right.
//
// All pointers are byte offsets into the module's memory; the caller lays out the buffers.

@inline function ld(p: usize): f64 {
  return load<f64>(p);
}

export function lagSums(
  aPtr: usize, aRow0: i32, bPtr: usize, bRow0: i32, W: i32, u0: i32, u1: i32, di: i32,
  djLo: i32, m: i32, cc: usize, nc: i32, seg: usize, acc: usize,
): void {
  const rowBytes = <usize>W << 3;
  const segBytes = <usize>(nc * m) << 3; // one row segment's accumulators
  for (let u = u0; u < u1; u += 4) {
    // Four rows at a time where the lags are few (the 2-lag and 1-lag sweeps have four
    // independent sums then); each row's sums still go into acc in row order.
    const rows = min(4, u1 - u);
    const sp = seg + (<usize>(u - u0) << 2);
    const acc0 = acc + <usize>load<i32>(sp) * segBytes;
    const acc1 = acc + <usize>load<i32>(sp + (rows > 1 ? 4 : 0)) * segBytes;
    const acc2 = acc + <usize>load<i32>(sp + (rows > 2 ? 8 : 0)) * segBytes;
    const acc3 = acc + <usize>load<i32>(sp + (rows > 3 ? 12 : 0)) * segBytes;
    const ra = aPtr + <usize>(u - aRow0) * rowBytes;
    // b at column v + djLo + g of row u + di: rb + (v + g) * 8
    const rb = bPtr + <usize>(u + di - bRow0) * rowBytes + (<usize>djLo << 3);
    for (let c = 0; c < nc; c++) {
      const c0 = load<i32>(cc + (<usize>c << 2));
      const c1 = load<i32>(cc + (<usize>(c + 1) << 2));
      // The lags whose shifted segment stays inside the row.
      const g0 = max(0, -c0 - djLo);
      const g1 = min(m, W - c1 - djLo + 1);
      const cOff = <usize>(c * m) << 3;
      const len = <usize>(c1 - c0) << 3;
      let g = g0;
      for (; g + 8 <= g1; g += 8) {
        for (let r = 0; r < rows; r++) {
          const a0 = ra + <usize>r * rowBytes + (<usize>c0 << 3);
          const a1 = a0 + len;
          let bp = rb + <usize>r * rowBytes + (<usize>(c0 + g) << 3);
          let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
          for (let ap = a0; ap < a1; ap += 8, bp += 8) {
            const av = v128.load64_splat(ap);
            s0 = f64x2.add(s0, f64x2.mul(av, v128.load(bp)));
            s1 = f64x2.add(s1, f64x2.mul(av, v128.load(bp, 16)));
            s2 = f64x2.add(s2, f64x2.mul(av, v128.load(bp, 32)));
            s3 = f64x2.add(s3, f64x2.mul(av, v128.load(bp, 48)));
          }
          const o = (r == 0 ? acc0 : r == 1 ? acc1 : r == 2 ? acc2 : acc3) + cOff + (<usize>g << 3);
          v128.store(o, f64x2.add(v128.load(o), s0));
          v128.store(o, f64x2.add(v128.load(o, 16), s1), 16);
          v128.store(o, f64x2.add(v128.load(o, 32), s2), 32);
          v128.store(o, f64x2.add(v128.load(o, 48), s3), 48);
        }
      }
      if (rows == 4) {
        const a0 = ra + (<usize>c0 << 3);
        const a1 = a0 + len;
        for (; g + 2 <= g1; g += 2) {
          let bp = rb + (<usize>(c0 + g) << 3);
          let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
          for (let ap = a0; ap < a1; ap += 8, bp += 8) {
            s0 = f64x2.add(s0, f64x2.mul(v128.load64_splat(ap), v128.load(bp)));
            s1 = f64x2.add(s1, f64x2.mul(v128.load64_splat(ap + rowBytes), v128.load(bp + rowBytes)));
            s2 = f64x2.add(s2, f64x2.mul(v128.load64_splat(ap + 2 * rowBytes), v128.load(bp + 2 * rowBytes)));
            s3 = f64x2.add(s3, f64x2.mul(v128.load64_splat(ap + 3 * rowBytes), v128.load(bp + 3 * rowBytes)));
          }
          const go = cOff + (<usize>g << 3);
          v128.store(acc0 + go, f64x2.add(v128.load(acc0 + go), s0));
          v128.store(acc1 + go, f64x2.add(v128.load(acc1 + go), s1));
          v128.store(acc2 + go, f64x2.add(v128.load(acc2 + go), s2));
          v128.store(acc3 + go, f64x2.add(v128.load(acc3 + go), s3));
        }
        if (g < g1) {
          let bp = rb + (<usize>(c0 + g) << 3);
          let s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
          for (let ap = a0; ap < a1; ap += 8, bp += 8) {
            s0 += ld(ap) * ld(bp);
            s1 += ld(ap + rowBytes) * ld(bp + rowBytes);
            s2 += ld(ap + 2 * rowBytes) * ld(bp + 2 * rowBytes);
            s3 += ld(ap + 3 * rowBytes) * ld(bp + 3 * rowBytes);
          }
          const go = cOff + (<usize>g << 3);
          store<f64>(acc0 + go, ld(acc0 + go) + s0);
          store<f64>(acc1 + go, ld(acc1 + go) + s1);
          store<f64>(acc2 + go, ld(acc2 + go) + s2);
          store<f64>(acc3 + go, ld(acc3 + go) + s3);
        }
        continue;
      }
      for (let r = 0; r < rows; r++) {
        const a0 = ra + <usize>r * rowBytes + (<usize>c0 << 3);
        const a1 = a0 + len;
        const ar = r == 0 ? acc0 : r == 1 ? acc1 : r == 2 ? acc2 : acc3;
        let h = g;
        for (; h + 2 <= g1; h += 2) {
          let bp = rb + <usize>r * rowBytes + (<usize>(c0 + h) << 3);
          let s0 = f64x2.splat(0);
          for (let ap = a0; ap < a1; ap += 8, bp += 8) s0 = f64x2.add(s0, f64x2.mul(v128.load64_splat(ap), v128.load(bp)));
          const o = ar + cOff + (<usize>h << 3);
          v128.store(o, f64x2.add(v128.load(o), s0));
        }
        if (h < g1) {
          let bp = rb + <usize>r * rowBytes + (<usize>(c0 + h) << 3);
          let s = 0.0;
          for (let ap = a0; ap < a1; ap += 8, bp += 8) s += ld(ap) * ld(bp);
          const o = ar + cOff + (<usize>h << 3);
          store<f64>(o, ld(o) + s);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dense SPD algebra for the exact solver at large kernels (src/linalg-fast.ts): row-major p x p
// matrices, every inner product a dot of two contiguous rows with four SIMD partial sums.

/** sum over k < n of x[k] * y[k]: lanes (k even, k odd) in two registers, then combined. */
@inline function dotRows(x: usize, y: usize, n: i32): f64 {
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  const end = x + (<usize>n << 3);
  let xp = x, yp = y;
  for (; xp + 32 <= end; xp += 32, yp += 32) {
    s0 = f64x2.add(s0, f64x2.mul(v128.load(xp), v128.load(yp)));
    s1 = f64x2.add(s1, f64x2.mul(v128.load(xp, 16), v128.load(yp, 16)));
  }
  if (xp + 16 <= end) {
    s0 = f64x2.add(s0, f64x2.mul(v128.load(xp), v128.load(yp)));
    xp += 16;
    yp += 16;
  }
  const s = f64x2.add(s0, s1);
  let t = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  if (xp < end) t += ld(xp) * ld(yp);
  return t;
}

/**
 * Cholesky factor L (lower, row-major, zeros above the diagonal) of the SPD matrix at a into l;
 * 1, or 0 when a pivot is not positive.
 */
export function cholesky(a: usize, l: usize, p: i32): i32 {
  const rowBytes = <usize>p << 3;
  memory.fill(l, 0, <usize>p * rowBytes);
  for (let i = 0; i < p; i++) {
    const ri = l + <usize>i * rowBytes;
    const ai = a + <usize>i * rowBytes;
    for (let j = 0; j < i; j++) {
      const rj = l + <usize>j * rowBytes;
      store<f64>(ri + (<usize>j << 3), (ld(ai + (<usize>j << 3)) - dotRows(ri, rj, j)) / ld(rj + (<usize>j << 3)));
    }
    const d = ld(ai + (<usize>i << 3)) - dotRows(ri, ri, i);
    if (!(d > 0)) return 0;
    store<f64>(ri + (<usize>i << 3), Math.sqrt(d));
  }
  return 1;
}

/** x <- (L L^T)^-1 x in place, with lt = L^T (row-major): both substitutions read rows. */
export function solveFactor(l: usize, lt: usize, p: i32, x: usize): void {
  const rowBytes = <usize>p << 3;
  for (let i = 0; i < p; i++) {
    const ri = l + <usize>i * rowBytes;
    const xi = x + (<usize>i << 3);
    store<f64>(xi, (ld(xi) - dotRows(ri, x, i)) / ld(ri + (<usize>i << 3)));
  }
  for (let i = p - 1; i >= 0; i--) {
    const ri = lt + <usize>i * rowBytes + (<usize>i << 3);
    const xi = x + (<usize>i << 3);
    store<f64>(xi, (ld(xi) - dotRows(ri + 8, xi + 8, p - 1 - i)) / ld(ri));
  }
}

/** out[f] = |L^-1 e_f|^2, the diagonal of (L L^T)^-1; z: p doubles of scratch. */
export function inverseDiagonal(l: usize, p: i32, out: usize, z: usize): void {
  const rowBytes = <usize>p << 3;
  for (let f = 0; f < p; f++) {
    const zf = z + (<usize>f << 3);
    const v = 1 / ld(l + <usize>f * rowBytes + (<usize>f << 3));
    store<f64>(zf, v);
    let s = v * v;
    for (let i = f + 1; i < p; i++) {
      const ri = l + <usize>i * rowBytes;
      const zi = -dotRows(ri + (<usize>f << 3), zf, i - f) / ld(ri + (<usize>i << 3));
      store<f64>(z + (<usize>i << 3), zi);
      s += zi * zi;
    }
    store<f64>(out + (<usize>f << 3), s);
  }
}

/** out = a v for a p x p row-major a. */
export function matVec(a: usize, p: i32, v: usize, out: usize): void {
  const rowBytes = <usize>p << 3;
  for (let i = 0; i < p; i++) store<f64>(out + (<usize>i << 3), dotRows(a + <usize>i * rowBytes, v, p));
}

// ---------------------------------------------------------------------------------------------
// The masked Gram statistics (src/kernels/gram-masked.ts): outer products of feature rows the
// caller gathered, for fits that select their pixels (the censored, abs and magnitude stages).

/**
 * out[a * P + b] += wx[r * P + a] * x[r * P + b] for the rows r = 0 .. n - 1 in that order, for
 * every a and b >= a (and b = a - 1 for odd a: below the diagonal, unused): rows of P doubles (P
 * even), wx the rows times their weights (x itself when every weight is 1). Each entry is summed
 * row after row, a multiply then an add, as the plain loop over rows does, so the sums are the
 * same bits as src/kernels/gram-masked.ts gramStatsMaskedReference's. The lanes run over b (two
 * entries); two rows a, a + 1 by eight entries at a time: eight independent sums in registers,
 * six loads for sixteen products.
 */
export function rowGram(x: usize, wx: usize, n: i32, P: i32, out: usize): void {
  const rowBytes = <usize>P << 3;
  const end = <usize>n * rowBytes;
  for (let a = 0; a < P; a += 2) {
    const oa = out + <usize>a * rowBytes;
    const wa = wx + (<usize>a << 3);
    let b = a;
    for (; b + 8 <= P; b += 8) {
      const o = oa + (<usize>b << 3), p = o + rowBytes;
      const xb = x + (<usize>b << 3);
      let s0 = v128.load(o), s1 = v128.load(o, 16), s2 = v128.load(o, 32), s3 = v128.load(o, 48);
      let t0 = v128.load(p), t1 = v128.load(p, 16), t2 = v128.load(p, 32), t3 = v128.load(p, 48);
      for (let r: usize = 0; r < end; r += rowBytes) {
        const u = v128.load64_splat(wa + r), v = v128.load64_splat(wa + r + 8);
        const q = xb + r;
        const x0 = v128.load(q), x1 = v128.load(q, 16), x2 = v128.load(q, 32), x3 = v128.load(q, 48);
        s0 = f64x2.add(s0, f64x2.mul(u, x0));
        s1 = f64x2.add(s1, f64x2.mul(u, x1));
        s2 = f64x2.add(s2, f64x2.mul(u, x2));
        s3 = f64x2.add(s3, f64x2.mul(u, x3));
        t0 = f64x2.add(t0, f64x2.mul(v, x0));
        t1 = f64x2.add(t1, f64x2.mul(v, x1));
        t2 = f64x2.add(t2, f64x2.mul(v, x2));
        t3 = f64x2.add(t3, f64x2.mul(v, x3));
      }
      v128.store(o, s0);
      v128.store(o, s1, 16);
      v128.store(o, s2, 32);
      v128.store(o, s3, 48);
      v128.store(p, t0);
      v128.store(p, t1, 16);
      v128.store(p, t2, 32);
      v128.store(p, t3, 48);
    }
    for (; b < P; b += 2) {
      const o = oa + (<usize>b << 3), p = o + rowBytes;
      const xb = x + (<usize>b << 3);
      let s = v128.load(o), t = v128.load(p);
      for (let r: usize = 0; r < end; r += rowBytes) {
        const q = v128.load(xb + r);
        s = f64x2.add(s, f64x2.mul(v128.load64_splat(wa + r), q));
        t = f64x2.add(t, f64x2.mul(v128.load64_splat(wa + r + 8), q));
      }
      v128.store(o, s);
      v128.store(p, t);
    }
  }
}

/**
 * The rows of one band that have a weight, gathered into the block X (row r at X + r * P doubles:
 * the taps in weight order (channel, row, column), a 1 for the bias, the targets; P with the zero
 * padding), B rows at a time summed into out by rowGram (flushRows). The band: cin planes of input
 * rows (W doubles a row, `plane` doubles apart), an i8 weight per anchor (hv x wv, plus `shift`:
 * -1 turns a 0/1 selection into minus the rows it leaves out) and the targets at the anchors (cout
 * planes of hv x wv doubles). The block holds r rows on entry (a block spans bands); returns the
 * rows it holds on exit. Row r's weight goes to wts[r], and to the sum at count.
 */
export function maskedRows(
  src: usize, W: i32, plane: i32, cin: i32, kh: i32, kw: i32, hv: i32, wv: i32, weights: usize, shift: i32,
  targets: usize, cout: i32, bias: i32, X: usize, WX: usize, wts: usize, count: usize, B: i32, P: i32, r: i32, out: usize,
): i32 {
  const anchors = <usize>(hv * wv);
  for (let y = 0; y < hv; y++) {
    for (let x = 0; x < wv; x++) {
      const at = <usize>(y * wv + x);
      const w = <i32>load<i8>(weights + at) + shift;
      if (w == 0) continue;
      let d = X + <usize>(r * P) * 8;
      const s = src + (<usize>(y * W + x) << 3);
      for (let c = 0; c < cin; c++) {
        for (let i = 0; i < kh; i++) {
          const row = s + (<usize>(c * plane + i * W) << 3);
          for (let j = 0; j < kw; j++, d += 8) store<f64>(d, ld(row + (<usize>j << 3)));
        }
      }
      if (bias) {
        store<f64>(d, 1.0);
        d += 8;
      }
      for (let o = 0; o < cout; o++, d += 8) store<f64>(d, ld(targets + ((<usize>o * anchors + at) << 3)));
      store<f64>(wts + (<usize>r << 3), <f64>w);
      store<f64>(count, ld(count) + <f64>w);
      if (++r == B) r = flushRows(X, WX, wts, B, P, out);
    }
  }
  return r;
}

/**
 * Sums the first r rows of the block X (weights wts) into out with rowGram, through WX (X times
 * the weights) when a weight is not 1. Returns 0 (the block is empty).
 */
export function flushRows(X: usize, WX: usize, wts: usize, r: i32, P: i32, out: usize): i32 {
  let unit = true;
  for (let q = 0; q < r; q++) if (ld(wts + (<usize>q << 3)) != 1.0) unit = false;
  if (!unit) {
    for (let q = 0; q < r; q++) {
      const w = ld(wts + (<usize>q << 3));
      const xr = X + <usize>(q * P) * 8, wr = WX + <usize>(q * P) * 8;
      for (let f = 0; f < P; f++) store<f64>(wr + (<usize>f << 3), w * ld(xr + (<usize>f << 3)));
    }
  }
  rowGram(X, unit ? X : WX, r, P, out);
  return 0;
}

/**
 * The linear responses at the valid anchors of a band: out[y * wv + x] = s0 + the sum over taps
 * (c, i, j) in weight order of coef[(c * kh + i) * kw + j] * src[c][y + i][x + j], for y < hv and
 * x < wv (rows W doubles apart, channels `plane` apart). Each response is summed in exactly that
 * order, a multiply then an add per tap, as src/kernels/windows.ts responsesAtAnchorsReference:
 * the same bits. The lanes run over x, eight responses at a time.
 */
export function responses(src: usize, W: i32, plane: i32, cin: i32, kh: i32, kw: i32, coef: usize, s0: f64, hv: i32, wv: i32, out: usize): void {
  const rowBytes = <usize>W << 3;
  for (let y = 0; y < hv; y++) {
    const o = out + (<usize>(y * wv) << 3);
    const base = src + <usize>y * rowBytes;
    let x = 0;
    for (; x + 8 <= wv; x += 8) {
      let a0 = f64x2.splat(s0), a1 = a0, a2 = a0, a3 = a0;
      let t = coef;
      for (let c = 0; c < cin; c++) {
        for (let i = 0; i < kh; i++) {
          let p = base + (<usize>(c * plane + i * W + x) << 3);
          for (let j = 0; j < kw; j++, p += 8, t += 8) {
            const k = v128.load64_splat(t);
            a0 = f64x2.add(a0, f64x2.mul(k, v128.load(p)));
            a1 = f64x2.add(a1, f64x2.mul(k, v128.load(p, 16)));
            a2 = f64x2.add(a2, f64x2.mul(k, v128.load(p, 32)));
            a3 = f64x2.add(a3, f64x2.mul(k, v128.load(p, 48)));
          }
        }
      }
      const q = o + (<usize>x << 3);
      v128.store(q, a0);
      v128.store(q, a1, 16);
      v128.store(q, a2, 32);
      v128.store(q, a3, 48);
    }
    for (; x < wv; x++) {
      let s = s0;
      let t = coef;
      for (let c = 0; c < cin; c++) {
        for (let i = 0; i < kh; i++) {
          let p = base + (<usize>(c * plane + i * W + x) << 3);
          for (let j = 0; j < kw; j++, p += 8, t += 8) s += ld(t) * ld(p);
        }
      }
      store<f64>(o + (<usize>x << 3), s);
    }
  }
}

/**
 * The weighted normal equations of the curve stages' rounds (src/kernels/linalg.ts
 * addWeightedRows): rows of P doubles at x (P even: the taps, a 1 for the bias, the target, zero
 * padding) and the same rows times their weights at wx, n rows (n even), taken in pairs (r, r + 1):
 *
 *   out[a * P + b] += wx[r][a] * x[r][b] + wx[r + 1][a] * x[r + 1][b]
 *
 * for every a and b >= a (and b = a - 1 for odd a: below the diagonal, unused), pair after pair in
 * order, the pair's two products added first and then to the sum: the order of linalg.ts's
 * JavaScript loop (addWeightedRowsReference), so the same bits. The lanes run over b; eight
 * entries (four registers) of one row a a step, summed over all the pairs.
 */
export function weightedRowPairs(x: usize, wx: usize, n: i32, P: i32, out: usize): void {
  const rowBytes = <usize>P << 3;
  const pairBytes = rowBytes << 1;
  const end = <usize>n * rowBytes;
  for (let a = 0; a < P; a++) {
    const oa = out + <usize>a * rowBytes;
    const wa = wx + (<usize>a << 3);
    let b = a & ~1;
    for (; b + 8 <= P; b += 8) {
      const o = oa + (<usize>b << 3);
      const xb = x + (<usize>b << 3);
      let s0 = v128.load(o), s1 = v128.load(o, 16), s2 = v128.load(o, 32), s3 = v128.load(o, 48);
      for (let r: usize = 0; r < end; r += pairBytes) {
        const u = v128.load64_splat(wa + r), v = v128.load64_splat(wa + r + rowBytes);
        const p = xb + r, q = p + rowBytes;
        s0 = f64x2.add(s0, f64x2.add(f64x2.mul(u, v128.load(p)), f64x2.mul(v, v128.load(q))));
        s1 = f64x2.add(s1, f64x2.add(f64x2.mul(u, v128.load(p, 16)), f64x2.mul(v, v128.load(q, 16))));
        s2 = f64x2.add(s2, f64x2.add(f64x2.mul(u, v128.load(p, 32)), f64x2.mul(v, v128.load(q, 32))));
        s3 = f64x2.add(s3, f64x2.add(f64x2.mul(u, v128.load(p, 48)), f64x2.mul(v, v128.load(q, 48))));
      }
      v128.store(o, s0);
      v128.store(o, s1, 16);
      v128.store(o, s2, 32);
      v128.store(o, s3, 48);
    }
    for (; b < P; b += 2) {
      const o = oa + (<usize>b << 3);
      const xb = x + (<usize>b << 3);
      let s = v128.load(o);
      for (let r: usize = 0; r < end; r += pairBytes) {
        const p = xb + r;
        s = f64x2.add(s, f64x2.add(f64x2.mul(v128.load64_splat(wa + r), v128.load(p)), f64x2.mul(v128.load64_splat(wa + r + rowBytes), v128.load(p + rowBytes))));
      }
      v128.store(o, s);
    }
  }
}

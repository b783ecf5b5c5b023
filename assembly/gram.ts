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

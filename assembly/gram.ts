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
// planes may be bands of rows. Everything is float64; products and sums in a fixed order (two
// SIMD lanes over even and odd columns, then the odd column left over), so a call gives the same
// bits every time. Integer-valued data whose sums stay below 2^53 (u8 images) are summed exactly.
//
// Long segments (the middle of a row) keep four lags in registers and sweep the columns; short
// ones (the single columns near the edges, see gram.ts cutPoints) sweep the lags instead, two per
// instruction, since b's row is contiguous in dj as well.
//
// All pointers are byte offsets into the module's memory; the caller lays out the buffers.

@inline function ld(p: usize): f64 {
  return load<f64>(p);
}

@inline function hsum(s: v128): f64 {
  return f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
}

/** Segments shorter than this sweep the lags (column mode); longer ones sweep the columns. */
const SHORT: i32 = 8;

export function lagSums(
  aPtr: usize, aRow0: i32, bPtr: usize, bRow0: i32, W: i32, u0: i32, u1: i32, di: i32,
  djLo: i32, m: i32, cc: usize, nc: i32, seg: usize, acc: usize,
): void {
  const rowBytes = <usize>W << 3;
  for (let u = u0; u < u1; u++) {
    const t = load<i32>(seg + (<usize>(u - u0) << 2));
    const ra = aPtr + <usize>(u - aRow0) * rowBytes;
    // b at column v + djLo + g: rb + (v + g) * 8
    const rb = bPtr + <usize>(u + di - bRow0) * rowBytes + (<usize>djLo << 3);
    const accRow = acc + (<usize>(t * nc * m) << 3);
    for (let c = 0; c < nc; c++) {
      const c0 = load<i32>(cc + (<usize>c << 2));
      const c1 = load<i32>(cc + (<usize>(c + 1) << 2));
      const g0 = max(0, -c0 - djLo);
      const g1 = min(m, W - c1 - djLo + 1);
      if (g0 >= g1) continue;
      const ac = accRow + (<usize>(c * m) << 3);
      if (c1 - c0 < SHORT) {
        for (let v = c0; v < c1; v++) {
          const s = ld(ra + (<usize>v << 3));
          const av = f64x2.splat(s);
          const bp = rb + (<usize>v << 3);
          let g = g0;
          for (; g + 2 <= g1; g += 2) {
            const o = <usize>g << 3;
            v128.store(ac + o, f64x2.add(v128.load(ac + o), f64x2.mul(av, v128.load(bp + o))));
          }
          if (g < g1) {
            const o = <usize>g << 3;
            store<f64>(ac + o, ld(ac + o) + s * ld(bp + o));
          }
        }
        continue;
      }
      const odd = ((c1 - c0) & 1) != 0;
      const vEnd = odd ? c1 - 1 : c1; // the paired columns; the odd one last
      const vo = <usize>vEnd << 3;
      const xt = odd ? ld(ra + vo) : 0.0;
      let g = g0;
      for (; g + 4 <= g1; g += 4) {
        let s0 = f64x2.splat(0), s1 = f64x2.splat(0), s2 = f64x2.splat(0), s3 = f64x2.splat(0);
        const b0 = rb + (<usize>g << 3);
        for (let v = c0; v < vEnd; v += 2) {
          const o = <usize>v << 3;
          const av = v128.load(ra + o);
          const bo = b0 + o;
          s0 = f64x2.add(s0, f64x2.mul(av, v128.load(bo)));
          s1 = f64x2.add(s1, f64x2.mul(av, v128.load(bo, 8)));
          s2 = f64x2.add(s2, f64x2.mul(av, v128.load(bo, 16)));
          s3 = f64x2.add(s3, f64x2.mul(av, v128.load(bo, 24)));
        }
        let t0 = hsum(s0), t1 = hsum(s1), t2 = hsum(s2), t3 = hsum(s3);
        if (odd) {
          const bt = b0 + vo;
          t0 += xt * ld(bt);
          t1 += xt * ld(bt + 8);
          t2 += xt * ld(bt + 16);
          t3 += xt * ld(bt + 24);
        }
        const go = ac + (<usize>g << 3);
        store<f64>(go, ld(go) + t0);
        store<f64>(go + 8, ld(go + 8) + t1);
        store<f64>(go + 16, ld(go + 16) + t2);
        store<f64>(go + 24, ld(go + 24) + t3);
      }
      for (; g < g1; g++) {
        let s0 = f64x2.splat(0);
        const b0 = rb + (<usize>g << 3);
        for (let v = c0; v < vEnd; v += 2) {
          const o = <usize>v << 3;
          s0 = f64x2.add(s0, f64x2.mul(v128.load(ra + o), v128.load(b0 + o)));
        }
        let t0 = hsum(s0);
        if (odd) t0 += xt * ld(b0 + vo);
        const go = ac + (<usize>g << 3);
        store<f64>(go, ld(go) + t0);
      }
    }
  }
}

/**
 * NumPy's and C's arithmetic, reproduced to the bit, for the library filters beside this file
 * (Debian numpy 1.24.2, scipy 1.10.1 and scikit-image 0.19.3 on x86-64; measured by
 * tools/make_scipy_skimage_golden.py).
 *
 *  - cCast: how scipy.ndimage stores a double into an integer array: a C cast, i.e. truncation
 *    toward zero and then wrap-around (modulo 2^bits), not saturation. numpy's astype does the same.
 *  - svmlExp: numpy's float64 exp. On CPUs with AVX512_SKX numpy >= 1.22 calls Intel's SVML
 *    __svml_exp8 (the "la" variant vendored as numpy/SVML), which is not correctly rounded: it
 *    differs from glibc's exp in the last bit for ~24% of Gaussian-kernel arguments, and those
 *    bits decide integer outputs that land near a whole number (truncation).
 *  - pairwiseSum: numpy's add.reduce order (8 accumulators, blocks of 128, halving above).
 */
import { type Depth } from '../../image.js';
import { castTo } from '../depth.js';
import { fusedMultiplyAdd } from '../kernels.js';

/** numpy's names for our depths. */
export const NUMPY_DTYPE: Readonly<Record<Depth, string>> = { u8: 'uint8', s16: 'int16', u16: 'uint16', f32: 'float32', f64: 'float64' };

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;
const WRAP: Readonly<Record<'u8' | 's16' | 'u16', (v: number) => number>> = {
  u8: (v) => v & 0xff,
  u16: (v) => v & 0xffff,
  s16: (v) => (v << 16) >> 16,
};

/**
 * `(T)v` for a double v as GCC compiles it on x86-64 (cvttsd2si into 32 bits, then the low bits):
 *   integers: truncate toward zero; a result outside int32 (and NaN, +-Infinity) is INT_MIN, whose
 *   low 8/16 bits are 0; then keep the low bits: 300.9 -> 44 (u8), -3.7 -> 253 (u8), 40000 -> -25536 (s16).
 *   f32: round to nearest float32;  f64: unchanged.
 * scipy's CASE_FILTER_OUT_SAFE (-(T)(-v) for v <= -1) gives the same bits for every value.
 */
export function cCast(v: number, depth: Depth): number {
  return castTo(v, depth, (x, d) => {
    const t = Math.trunc(x);
    return WRAP[d](t >= INT_MIN && t <= INT_MAX ? t : INT_MIN); // NaN fails both tests
  });
}

/** `a + b` of two arrays of dtype `depth` (numpy's `+=`): integers wrap, float32 rounds. */
export function numpyAdd(a: number, b: number, depth: Depth): number {
  return cCast(a + b, depth);
}

/**
 * numpy's pairwise summation (loops_utils.h.src, @TYPE@_pairwise_sum) of values[start, start+n):
 * fewer than 8 values are summed left to right from 0; up to 128 go into 8 interleaved partial
 * sums combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then the leftovers; more are split in two
 * (at a multiple of 8) and summed recursively. np.sum of a 1-D float64 array is 0 + this.
 */
export function pairwiseSum(values: ArrayLike<number>, start = 0, n = values.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += values[start + i];
    return res;
  }
  if (n <= 128) {
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = values[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    let res = (r[0] + r[1] + (r[2] + r[3])) + (r[4] + r[5] + (r[6] + r[7])); // ((r0+r1)+(r2+r3)) + ((r4+r5)+(r6+r7))
    for (; i < n; i++) res += values[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(values, start, n2) + pairwiseSum(values, start + n2, n - n2);
}

// ---------------------------------------------------------------------------------------------
// numpy's float64 exp (SVML __svml_exp8, numpy/SVML linux/avx512/svml_z0_exp_d_la.s)

function fromBits(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt('0x' + hex));
  return view.getFloat64(0);
}

/** 2^(j/16), j = 0..15: __svml_dexp_data_internal_avx512 bytes 0..127. */
const EXP2_J16 = [
  '3ff0000000000000', '3ff0b5586cf9890f', '3ff172b83c7d517b', '3ff2387a6e756238',
  '3ff306fe0a31b715', '3ff3dea64c123422', '3ff4bfdad5362a27', '3ff5ab07dd485429',
  '3ff6a09e667f3bcd', '3ff7a11473eb0187', '3ff8ace5422aa0db', '3ff9c49182a3f090',
  '3ffae89f995ad3ad', '3ffc199bdd85529c', '3ffd5818dcfba487', '3ffea4afa2a490da',
].map(fromBits);
const LOG2E = fromBits('3ff71547652b82fe');
const LN2_HI = fromBits('3fe62e42fefa39ef');
const LN2_LO = fromBits('3c7abc9e3b39803f');
const C6 = fromBits('3f572eb5ef0d213d');
const C5 = fromBits('3f81106603d97c00');
const C4 = fromBits('3fa555564bb4f5f0');
const C3 = fromBits('3fc5555554b508a2');
const C2 = fromBits('3fe0000000002622');
/** |x| at or above this takes SVML's scalar "rare" path (overflow/underflow handling). */
const SVML_EXP_RARE = fromBits('40861da04cbafe44'); // 707.703...

/**
 * floor(16 * x * log2(e)) with the product exact: SVML adds x*log2(e) to a shifter
 * 1.5*2^48 (+1023) in one FMA rounded toward zero, which keeps 4 fraction bits (the 1/16 grid).
 * The rounded product p is the double nearest the exact one, so no grid point lies strictly
 * between them; only when p sits on the grid and the exact product is below it does the floor drop.
 */
function floorSixteenths(x: number): number {
  const p = x * LOG2E;
  const k = Math.floor(16 * p);
  if (16 * p === k && fusedMultiplyAdd(x, LOG2E, -p) < 0) return k - 1;
  return k;
}

/**
 * numpy's np.exp for float64 on AVX512_SKX machines, step for step as __svml_exp8 computes it:
 * N = x*log2(e) floored to 1/16, j = its 4 fraction bits, r = x - N*ln2 in two FMAs, a degree-6
 * polynomial for exp(r)-1 in FMAs, Th = 2^(j/16) from the table, 2^floor(N) * (Th*p + Th).
 * Bit-identical to np.exp on 145k sampled arguments in [-700, 700] (make_scipy_skimage_golden.py
 * stores a sample). Arguments with |x| >= 707.7 go through SVML's scalar rare path, which we do not
 * port: Math.exp stands in (those results are below 1e-307 or overflow, and vanish in a kernel).
 * kernels.ts's fusedMultiplyAdd is exact here: its BigInt sum overflows only when the operands'
 * exponents are ~970 apart, and |r| >= ~2^-60 for every double x (the reduction's worst case).
 */
export function svmlExp(x: number): number {
  if (!(Math.abs(x) < SVML_EXP_RARE)) return Math.exp(x);
  const k = floorSixteenths(x);
  const n = k / 16;
  const th = EXP2_J16[((k % 16) + 16) % 16];
  let r = fusedMultiplyAdd(-n, LN2_HI, x);
  r = fusedMultiplyAdd(-LN2_LO, n, r);
  const r2 = r * r;
  const p56 = fusedMultiplyAdd(C6, r, C5);
  const p34 = fusedMultiplyAdd(C4, r, C3);
  const r3 = r2 * r;
  const p12 = fusedMultiplyAdd(r2, C2, r);
  const p36 = fusedMultiplyAdd(r2, p56, p34);
  const p16 = fusedMultiplyAdd(r3, p36, p12);
  const res = fusedMultiplyAdd(th, p16, th);
  // vscalefpd: res * 2^floor(N), one rounding; floor(N) >= -1021 here, so 2^m is a normal double.
  return res * 2 ** Math.floor(n);
}

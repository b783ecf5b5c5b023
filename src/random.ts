/**
 * A small seeded PRNG, so that the same `--seed` gives byte-identical models on every platform
 * (Math.random cannot be seeded). mulberry32: 32-bit state, passes the usual statistical tests
 * well enough for weight init and shuffling, and is a few lines of integer arithmetic.
 */

/** Uniform numbers in [0, 1) with 2^-32 resolution, fully determined by `seed` (any integer). */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box-Muller; one of the pair is discarded to keep the state simple). */
export function normal(rng: () => number): number {
  const u1 = 1 - rng(); // in (0, 1]: log(0) would be -Infinity
  const u2 = rng();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** A uniform sample in [lo, hi). */
export function uniform(rng: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/**
 * Deterministic synthetic training images from which a kernel is identifiable.
 *
 * A kernel is only recoverable when the inputs excite every spatial frequency and orientation it
 * responds to: a flat image, or one with only vertical edges, leaves some taps undetermined (the
 * Gram matrix of the windows is singular). So each image layers several kinds of content:
 *   - a 1/f ("pink") background, the spectrum of natural photographs, built from octaves of
 *     smoothly interpolated value noise with amplitude proportional to scale;
 *   - shapes with hard edges at every orientation (discs, rotated rectangles, half-planes);
 *   - oriented sinusoidal gratings (textures at several frequencies);
 *   - a smooth linear ramp (low-frequency content);
 *   - a little white noise (the highest frequencies, so even the finest taps are identified).
 * The result is quantised to u8, like the photographs users bring.
 */
import { createImage, type Image } from '../image.js';
import { createRng, normal, uniform } from '../random.js';

export interface SyntheticOptions {
  width?: number;
  height?: number;
  /** 1 (grey, default) or 3 (colour: each channel gets its own content, partly shared). */
  channels?: number;
  seed?: number;
}

/** `count` images, image i seeded from (seed, i): the same arguments always give the same pixels. */
export function syntheticImages(count: number, options: SyntheticOptions = {}): Image[] {
  const images: Image[] = [];
  for (let i = 0; i < count; i++) images.push(syntheticImage({ ...options, seed: imageSeed(options.seed ?? 0, i) }));
  return images;
}

export function syntheticImage(options: SyntheticOptions = {}): Image {
  const { width = 256, height = 256, channels = 1, seed = 0 } = options;
  const rng = createRng(seed);
  const image = createImage(width, height, channels, 'u8');
  const shared = composeLayers(width, height, rng);
  const plane = width * height;
  for (let c = 0; c < channels; c++) {
    // Colour channels share structure (as real photos do) but are not identical, so that
    // cross-channel kernels stay identifiable.
    const own = channels === 1 ? null : composeLayers(width, height, rng);
    for (let i = 0; i < plane; i++) {
      const v = own ? 0.6 * shared[i] + 0.4 * own[i] : shared[i];
      image.data[c * plane + i] = Math.min(255, Math.max(0, Math.round(v)));
    }
  }
  return image;
}

/** One grey layer composite in roughly 0..255, in float64. */
function composeLayers(width: number, height: number, rng: () => number): Float64Array {
  const out = new Float64Array(width * height);
  addPinkNoise(out, width, height, rng, 60);
  addRamp(out, width, height, rng, 60);
  const shapes = 6 + Math.floor(rng() * 6);
  for (let s = 0; s < shapes; s++) addShape(out, width, height, rng);
  const gratings = 1 + Math.floor(rng() * 2);
  for (let g = 0; g < gratings; g++) addGrating(out, width, height, rng);
  for (let i = 0; i < out.length; i++) out[i] += 128 + 6 * normal(rng);
  return out;
}

/** Octaves of bicubic-smoothed value noise; amplitude proportional to the cell size gives ~1/f. */
function addPinkNoise(out: Float64Array, width: number, height: number, rng: () => number, amplitude: number): void {
  const largest = Math.max(width, height);
  for (let cell = Math.max(2, largest / 2); cell >= 2; cell /= 2) {
    const gw = Math.ceil(width / cell) + 2;
    const gh = Math.ceil(height / cell) + 2;
    const grid = new Float64Array(gw * gh);
    for (let i = 0; i < grid.length; i++) grid[i] = rng() * 2 - 1;
    const a = (amplitude * cell) / largest;
    for (let y = 0; y < height; y++) {
      const gy = y / cell;
      const y0 = Math.floor(gy);
      const ty = smoothstep(gy - y0);
      for (let x = 0; x < width; x++) {
        const gx = x / cell;
        const x0 = Math.floor(gx);
        const tx = smoothstep(gx - x0);
        const top = grid[y0 * gw + x0] * (1 - tx) + grid[y0 * gw + x0 + 1] * tx;
        const bottom = grid[(y0 + 1) * gw + x0] * (1 - tx) + grid[(y0 + 1) * gw + x0 + 1] * tx;
        out[y * width + x] += a * (top * (1 - ty) + bottom * ty);
      }
    }
  }
}

function smoothstep(t: number): number {
  return t * t * (3 - 2 * t);
}

function addRamp(out: Float64Array, width: number, height: number, rng: () => number, amplitude: number): void {
  const angle = rng() * 2 * Math.PI;
  const cx = Math.cos(angle) / Math.max(width, height);
  const cy = Math.sin(angle) / Math.max(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out[y * width + x] += amplitude * ((x - width / 2) * cx + (y - height / 2) * cy);
  }
}

/** A shape with a hard edge and a random contrast: disc, rotated rectangle or half-plane. */
function addShape(out: Float64Array, width: number, height: number, rng: () => number): void {
  const kind = Math.floor(rng() * 3);
  const contrast = uniform(rng, -90, 90);
  const cx = rng() * width;
  const cy = rng() * height;
  const size = uniform(rng, 0.05, 0.35) * Math.max(width, height);
  const angle = rng() * Math.PI;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const aspect = uniform(rng, 0.3, 1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const u = dx * cos + dy * sin;
      const v = -dx * sin + dy * cos;
      let inside: boolean;
      if (kind === 0) inside = dx * dx + dy * dy < size * size;
      else if (kind === 1) inside = Math.abs(u) < size && Math.abs(v) < size * aspect;
      else inside = u > 0 && Math.abs(v) < 2 * size;
      if (inside) out[y * width + x] += contrast;
    }
  }
}

function addGrating(out: Float64Array, width: number, height: number, rng: () => number): void {
  const angle = rng() * Math.PI;
  const period = uniform(rng, 3, 24);
  const phase = rng() * 2 * Math.PI;
  const amplitude = uniform(rng, 8, 30);
  const kx = (Math.cos(angle) * 2 * Math.PI) / period;
  const ky = (Math.sin(angle) * 2 * Math.PI) / period;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out[y * width + x] += amplitude * Math.sin(kx * x + ky * y + phase);
  }
}

/** The seed of image `index` of a set: decorrelated, so image i of seed s differs from image i+1 of seed s-1. */
export function imageSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

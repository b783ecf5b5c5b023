/**
 * The geometry of a model aligned to targets of another size or place (model.alignment, see
 * train/align.ts): what to grow the input by and which window of the output to keep, so that
 * apply (apply.ts), the streaming apply and the ONNX export all cut the same pixels.
 */

import type { Rect } from '../image.js';
import type { ModelAlignment } from './model.js';
import { convExtent, type Network } from './network.js';

/** Pixels to add on each side of an image. */
export interface Margins {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/**
 * Whatever the input's size: how much the input must grow before the run (null when the aligned
 * output lies inside the same-size one: a crop), and the kept window of the run's output as its
 * first row and column (`start`) and as offsets from its end (`end`, <= 0). Grown by the margins
 * and the network's halo, so the network's own border handling only touches pixels cut away.
 */
export function alignedCrop(model: Network & { alignment?: ModelAlignment }): { grow: Margins | null; start: [number, number]; end: [number, number] } {
  const a = model.alignment;
  if (!a || a.mode === 'same') return { grow: null, start: [0, 0], end: [0, 0] };
  const top = Math.max(0, -a.dy), bottom = Math.max(0, a.dy + a.dh), left = Math.max(0, -a.dx), right = Math.max(0, a.dx + a.dw);
  if (top + bottom + left + right === 0) return { grow: null, start: [a.dy, a.dx], end: [a.dy + a.dh, a.dx + a.dw] };
  const halo = networkHalo(model);
  const grow = { top: top + halo, bottom: bottom + halo, left: left + halo, right: right + halo };
  return { grow, start: [a.dy + grow.top, a.dx + grow.left], end: [a.dy + a.dh - grow.bottom, a.dx + a.dw - grow.right] };
}

/** alignedCrop for an H x W input: the growth, and the kept rows and columns of the run's output. */
export function alignedWindow(model: Network & { alignment?: ModelAlignment }, H: number, W: number): { grow: Margins | null; keep: Rect } {
  const { grow, start, end } = alignedCrop(model);
  const h = H + (grow ? grow.top + grow.bottom : 0), w = W + (grow ? grow.left + grow.right : 0);
  return { grow, keep: { y0: start[0], y1: h + end[0], x0: start[1], x1: w + end[1] } };
}

/** The ring of output pixels whose window leaves the image, on each side (the network's receptive field). */
export function edgeRing(model: Network): Margins {
  const ring = { top: 0, bottom: 0, left: 0, right: 0 };
  for (const l of model.layers) {
    if (l.type !== 'conv2d') continue;
    const [kh, kw] = convExtent(l);
    ring.top += kh >> 1;
    ring.bottom += kh - 1 - (kh >> 1);
    ring.left += kw >> 1;
    ring.right += kw - 1 - (kw >> 1);
  }
  return ring;
}

/** Pixels on each side that an output pixel of the network depends on (the largest over rows and columns). */
export function networkHalo(model: Network): number {
  let r = 0;
  for (const l of model.layers) {
    if (l.type !== 'conv2d') continue;
    const [kh, kw] = convExtent(l);
    r += Math.max(kh >> 1, kh - 1 - (kh >> 1), kw >> 1, kw - 1 - (kw >> 1));
  }
  return r;
}


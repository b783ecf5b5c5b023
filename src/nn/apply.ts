/**
 * Runs a model on one image of any size (1x1 upwards): every conv pads with the model's border
 * mode, so the output has the input's height and width, exactly as cv2.filter2D does for a
 * single-conv model. The network computes in float32, sums included (WebAssembly SIMD, kernels/simd.ts),
 * as cv2.filter2D and ONNX Runtime do; training sums in float64 (kernels/conv2d.ts).
 */

import { KernelLearnError } from '../errors.js';
import { createImage, cropImage, type Image, type Rect } from '../image.js';
import { borderIndexTable, type BorderMode } from '../filters/border.js';
import { tensor, type Tensor } from '../kernels/conv2d.js';
import { conv2dForwardF32 } from '../kernels/simd.js';
import { Abs, Clamp, Magnitude, Relu, type Layer } from './layers.js';
import { alignedWindow, edgeRing } from './alignment.js';
import { pointwiseForward, pointwiseRunEnd } from './pointwise.js';
import type { ModelAlignment } from './model.js';
import { dilationOf, type Conv2dSpec, type Network } from './network.js';

/** A conv layer's weights as the flat float32 arrays conv2d takes. */
export function convArrays(l: Conv2dSpec): { weights: Float32Array; bias: Float32Array | null } {
  const [kh, kw] = l.kernelSize;
  const weights = new Float32Array(l.outChannels * l.inChannels * kh * kw);
  let k = 0;
  for (const o of l.weights) for (const i of o) for (const row of i) for (const v of row) weights[k++] = v;
  return { weights, bias: l.bias ? Float32Array.from(l.bias) : null };
}

/**
 * A 1-channel model applied to a colour image runs on each channel separately, as OpenCV filters
 * colour images (the channels become the batch); output channel c*outputChannels + o is output o
 * of input channel c. Other channel mismatches are errors.
 */
export function applyModel(model: Network, image: Image, file = 'the image'): Image {
  return applyNetwork(model, image, file, true);
}

/** Reference: applyModel with every layer run over whole planes, one after another (no pointwise runs). */
export function applyModelLayered(model: Network, image: Image, file = 'the image'): Image {
  return applyNetwork(model, image, file, false);
}

/**
 * applyModel; `fused`: runs of per-pixel layers (a curve's 1x1 conv, relu, 1x1 conv) a block of
 * pixels at a time (pointwise.ts: the same bits, without the hidden units' whole planes).
 */
function applyNetwork(model: Network, image: Image, file: string, fused: boolean): Image {
  const perChannel = model.inputChannels === 1 && image.channels > 1;
  if (image.channels !== model.inputChannels && !perChannel) {
    throw new KernelLearnError(
      `${file}: has ${image.channels} channel${image.channels === 1 ? '' : 's'} but the model takes ${model.inputChannels}; ` +
        'use images like the ones it was trained on',
    );
  }
  let data: Float32Array;
  if (image.data instanceof Float32Array) {
    data = image.data; // read only: no copy
  } else {
    data = new Float32Array(image.data.length);
    data.set(image.data); // f64 -> f32
  }
  let x: Tensor = perChannel
    ? tensor(image.channels, 1, image.height, image.width, data)
    : tensor(1, image.channels, image.height, image.width, data);
  const layers = model.layers;
  for (let at = 0; at < layers.length; at++) {
    const end = fused ? pointwiseRunEnd(layers, at) : at;
    if (end > at) {
      x = pointwiseForward(x, layers.slice(at, end));
      at = end - 1;
      continue;
    }
    const l = layers[at];
    if (l.type === 'conv2d') {
      const { weights, bias } = convArrays(l);
      x = conv2dForwardF32(x, weights, bias, l.outChannels, l.kernelSize[0], l.kernelSize[1], model.border, dilationOf(l));
    } else {
      const layer: Layer =
        l.type === 'relu' ? new Relu() : l.type === 'abs' ? new Abs() : l.type === 'magnitude' ? new Magnitude(l.groupSize) : new Clamp(l.min, l.max);
      x = layer.forward(x);
    }
  }
  // Planar n-major order is already the output's channel order (c * outputChannels + o): the last
  // layer's array becomes the image, no copy (one only when no layer made a new array).
  return keepEdge(model, image, { width: image.width, height: image.height, channels: x.n * x.c, depth: 'f32', data: x.data === data ? x.data.slice() : x.data });
}

/** With edge 'kept' (see Network), the output's outer ring (edgeRing) set to the input's pixels, in place; `out` returned. */
export function keepEdge(model: Network, input: Image, out: Image): Image {
  if (model.edge !== 'kept') return out;
  const { top, bottom, left, right } = edgeRing(model);
  const W = out.width, H = out.height;
  for (let c = 0; c < Math.min(out.channels, input.channels); c++) {
    for (let y = 0; y < H; y++) {
      const o = (c * H + y) * W;
      if (y < top || y >= H - bottom) {
        for (let x = 0; x < W; x++) out.data[o + x] = input.data[o + x];
        continue;
      }
      for (let x = 0; x < Math.min(left, W); x++) out.data[o + x] = input.data[o + x];
      for (let x = Math.max(W - right, 0); x < W; x++) out.data[o + x] = input.data[o + x];
    }
  }
  return out;
}

/**
 * A model's output at the size and place its targets had (model.alignment, see train/align.ts):
 * the same-size output cropped, or grown where the targets reached past the input (a 'full'
 * convolution), those pixels computed as if the input went on with the model's border mode. What
 * `run` returns for `input` (the image, or the image grown by the margins plus the network's halo
 * with the border mode) is then cut to `keep`. Without an alignment: the image and its whole output.
 */
export function alignedRun(model: Network & { alignment?: ModelAlignment }, image: Image): { input: Image; keep: Rect } {
  const { grow, keep } = alignedWindow(model, image.height, image.width);
  if (!grow) return { input: image, keep };
  return { input: padImage(image, grow.top, grow.bottom, grow.left, grow.right, model.border), keep };
}

/** applyModel at the size and place the model's targets had (see alignedRun). */
export function applyAligned(model: Network & { alignment?: ModelAlignment }, image: Image, file = 'the image'): Image {
  const { input, keep } = alignedRun(model, image);
  const out = applyModel(model, input, file);
  return cropImage(out, keep.x0, keep.y0, keep.x1 - keep.x0, keep.y1 - keep.y0);
}

/** The image grown by t, b, l, r pixels with a border mode (cv::copyMakeBorder; constant is 0). */
export function padImage(image: Image, t: number, b: number, l: number, r: number, border: BorderMode): Image {
  const { width: W, height: H, channels } = image;
  const rows = borderIndexTable(H, t, b, border), cols = borderIndexTable(W, l, r, border);
  const out = createImage(W + l + r, H + t + b, channels, image.depth);
  const ow = out.width;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < out.height; y++) {
      const sy = rows[y];
      if (sy < 0) continue;
      const src = (c * H + sy) * W, dst = (c * out.height + y) * ow;
      for (let x = 0; x < ow; x++) {
        const sx = cols[x];
        if (sx >= 0) out.data[dst + x] = image.data[src + sx];
      }
    }
  }
  return out;
}

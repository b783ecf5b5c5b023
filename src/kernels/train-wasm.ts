/**
 * The training convolutions in WebAssembly SIMD (assembly/train.ts, compiled by `npm run
 * build:wasm` into train-wasm.generated.ts): the forward, weight-gradient and input-gradient
 * passes of a 'valid' conv with any dilation, which is all gradient descent runs. Each sits beside
 * its plain reference in conv2d.ts (conv2dForwardReference, conv2dBackwardWeightsReference,
 * conv2dBackwardInputReference, all taking the dilation), and test/train-kernels.test.ts holds
 * them equal: the forward bit for bit, the gradients within a bound set by their float sums.
 *
 * Two kinds of sums (`Sums`), the layer's choice:
 * - 'f64': products formed exactly in float64 and added in float64, the forward in conv2dForward's
 *   order (bias, then taps in (ci, ky, kx) order), so it equals conv2dForward bit for bit. One-conv
 *   training uses it: its stopping rule compares the weights against the exact least-squares optimum
 *   at 1e-12 of the target variance, and float64 sums keep the forward's own rounding (one float32
 *   rounding of each output) the only noise Adam sees near that optimum.
 * - 'f32': float32 products and sums, four samples an instruction (twice the f64 lanes): the deep
 *   arch's hidden layers, which have no exact optimum to reach, and whose cost is the channels
 *   squared. The weight gradient still adds each row's lanes into float64, so its error stays at
 *   float32 rounding of one row's sum, not of a whole batch's.
 *
 * One instance per thread over a private memory (so worker threads each have their own), compiled
 * on first use (a few KB), grown on demand; a call lays its buffers out from byte 64 for one sample
 * at a time and copies the sample in and its result out, so the caller's arrays can live anywhere.
 */
import { backwardInputShape, backwardShape, conv2dOutputShape, tensor, type Tensor } from './conv2d.js';
import { TRAIN_WASM_BASE64 } from './train-wasm.generated.js';
import { KernelLearnError } from '../errors.js';

export type Sums = 'f64' | 'f32';

interface TrainWasm {
  memory: WebAssembly.Memory;
  forward(inp: number, cin: number, h: number, w: number, wts: number, bias: number, cout: number, kh: number, kw: number, dil: number, out: number, wide: number): void;
  backwardWeights(inp: number, cin: number, h: number, w: number, g: number, cout: number, kh: number, kw: number, dil: number, dW: number, dB: number, wide: number): void;
  lossGrad(inp: number, cin: number, h: number, w: number, tgt: number, wts: number, bias: number, cout: number, kh: number, kw: number, dil: number, out: number, scale: number, dW: number, dB: number, wide: number): number;
}

const PAGE = 65536;
const MAX_PAGES = 65536;
let instance: TrainWasm | null = null;

/** This thread's module, its memory grown to at least `bytes`. */
function trainWasm(bytes: number): TrainWasm {
  if (!instance) {
    const code = Uint8Array.from(atob(TRAIN_WASM_BASE64), (ch) => ch.charCodeAt(0));
    const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES });
    const e = new WebAssembly.Instance(new WebAssembly.Module(code), { env: { memory } }).exports as unknown as Omit<TrainWasm, 'memory'>;
    instance = { memory, forward: e.forward, backwardWeights: e.backwardWeights, lossGrad: e.lossGrad };
  }
  const need = Math.ceil(bytes / PAGE) - instance.memory.buffer.byteLength / PAGE;
  if (need > 0) {
    if (instance.memory.buffer.byteLength / PAGE + need > MAX_PAGES) throw new KernelLearnError(`out of WebAssembly memory (${bytes} bytes needed by a training convolution)`);
    instance.memory.grow(need);
  }
  return instance;
}

/** Byte offsets of consecutive blocks (each 16-byte aligned) from byte 64, and the total. */
function layout(sizes: number[]): { at: number[]; end: number } {
  const at: number[] = [];
  let p = 64;
  for (const s of sizes) {
    at.push(p);
    p += (s + 15) & ~15;
  }
  return { at, end: p };
}

/** Writes weights (and bias) as the kernel reads them: float64 for 'f64' sums, float32 for 'f32'. */
function putWeights(buf: ArrayBuffer, at: number, values: ArrayLike<number>, sums: Sums): void {
  if (sums === 'f64') new Float64Array(buf, at, values.length).set(values);
  else new Float32Array(buf, at, values.length).set(values);
}

/**
 * 'valid' correlation of `x` with `weights` plus `bias`, taps `dilation` apart: output
 * (h - d(kh-1)) x (w - d(kw-1)). 'f64' sums equal conv2dForward bit for bit (dilation 1);
 * 'f32' sums equal conv2dForwardReference(..., 'f32', dilation) bit for bit.
 */
export function convForward(x: Tensor, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, dilation: number, sums: Sums): Tensor {
  const { oh, ow } = conv2dOutputShape(x, weights, bias, cout, kh, kw, 'valid', dilation);
  const { c: cin, h, w } = x;
  const wb = sums === 'f64' ? 8 : 4;
  const inSize = cin * h * w, outSize = cout * oh * ow;
  const { at: [wAt, bAt, inAt, outAt], end } = layout([weights.length * wb, cout * wb, inSize * 4, outSize * 4]);
  const m = trainWasm(end);
  const buf = m.memory.buffer;
  putWeights(buf, wAt, weights, sums);
  if (bias) putWeights(buf, bAt, bias, sums);
  const inView = new Float32Array(buf, inAt, inSize), outView = new Float32Array(buf, outAt, outSize);
  const out = tensor(x.n, cout, oh, ow);
  for (let n = 0; n < x.n; n++) {
    inView.set(x.data.subarray(n * inSize, (n + 1) * inSize));
    m.forward(inAt, cin, h, w, wAt, bias ? bAt : 0, cout, kh, kw, dilation, outAt, sums === 'f64' ? 1 : 0);
    out.data.set(outView, n * outSize);
  }
  return out;
}

/**
 * Gradients of a 'valid' conv (taps `dilation` apart) with respect to its weights and bias, in
 * float64: dW[co][ci][ky][kx] = sum over n, y, x of gradOut[n,co,y,x] * x[n,ci,y+d*ky,x+d*kx],
 * dB[co] = sum of gradOut[n,co]. Sums as the module comment says.
 */
export function convBackwardWeights(x: Tensor, gradOut: Tensor, cout: number, kh: number, kw: number, dilation: number, sums: Sums): { dWeights: Float64Array; dBias: Float64Array } {
  const { cin, h, w, oh, ow } = backwardShape(x, gradOut, cout, kh, kw, dilation);
  const taps = cout * cin * kh * kw;
  const inSize = cin * h * w, gSize = cout * oh * ow;
  const { at: [wAt, bAt, inAt, gAt], end } = layout([taps * 8, cout * 8, inSize * 4, gSize * 4]);
  const m = trainWasm(end);
  const buf = m.memory.buffer;
  const dW = new Float64Array(buf, wAt, taps), dB = new Float64Array(buf, bAt, cout);
  dW.fill(0);
  dB.fill(0);
  const inView = new Float32Array(buf, inAt, inSize), gView = new Float32Array(buf, gAt, gSize);
  for (let n = 0; n < x.n; n++) {
    inView.set(x.data.subarray(n * inSize, (n + 1) * inSize));
    gView.set(gradOut.data.subarray(n * gSize, (n + 1) * gSize));
    m.backwardWeights(inAt, cin, h, w, gAt, cout, kh, kw, dilation, wAt, bAt, sums === 'f64' ? 1 : 0);
  }
  return { dWeights: Float64Array.from(dW), dBias: Float64Array.from(dB) };
}

/**
 * Gradient of a 'valid' conv (taps `dilation` apart) with respect to its input, x's shape: the
 * forward pass over gradOut padded with d(k-1) zeros on every side, with the kernel flipped and its
 * in and out channels swapped (dx[ci][iy][ix] = sum over co, ky, kx of
 * gradOut[co][iy - d*ky][ix - d*kx] * W[co][ci][ky][kx], terms outside gradOut dropped).
 */
export function convBackwardInput(gradOut: Tensor, weights: Float32Array, cin: number, kh: number, kw: number, dilation: number, sums: Sums): Tensor {
  const { nb, cout, oh, ow, h, w, dx } = backwardInputShape(gradOut, weights, cin, kh, kw, dilation);
  const ph = dilation * (kh - 1), pw = dilation * (kw - 1);
  const gh = oh + 2 * ph, gw = ow + 2 * pw;
  const flipped = new Float32Array(weights.length);
  for (let co = 0; co < cout; co++) for (let ci = 0; ci < cin; ci++) for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
    flipped[((ci * cout + co) * kh + kh - 1 - ky) * kw + kw - 1 - kx] = weights[((co * cin + ci) * kh + ky) * kw + kx];
  }
  const wb = sums === 'f64' ? 8 : 4;
  const gSize = cout * gh * gw, outSize = cin * h * w;
  const { at: [wAt, gAt, outAt], end } = layout([weights.length * wb, gSize * 4, outSize * 4]);
  const m = trainWasm(end);
  const buf = m.memory.buffer;
  putWeights(buf, wAt, flipped, sums);
  const gView = new Float32Array(buf, gAt, gSize), outView = new Float32Array(buf, outAt, outSize);
  gView.fill(0); // the zero border; the interior is overwritten sample by sample
  for (let n = 0; n < nb; n++) {
    for (let co = 0; co < cout; co++) {
      for (let y = 0; y < oh; y++) {
        const src = ((n * cout + co) * oh + y) * ow;
        gView.set(gradOut.data.subarray(src, src + ow), (co * gh + ph + y) * gw + pw);
      }
    }
    m.forward(gAt, cout, gh, gw, wAt, 0, cin, kh, kw, dilation, outAt, sums === 'f64' ? 1 : 0);
    dx.data.set(outView, n * outSize);
  }
  return dx;
}

/**
 * One sample's squared error sum((out - t)^2) (float64) and the weight and bias gradients of the
 * MSE term scale * sum((out - t)^2) / 2, i.e. backwardWeights of g = float32(scale * (out - t)), for
 * a 'valid' conv: the same numbers as convForward, the residual of train/parallel.ts and
 * convBackwardWeights called in turn (test/train-kernels.test.ts holds them bit for bit equal), in
 * one call that copies the sample and its target in once. `x` is one sample (n = 1).
 */
export function convLossGrad(x: Tensor, t: Float32Array, weights: Float32Array, bias: Float32Array | null, cout: number, kh: number, kw: number, dilation: number, scale: number, sums: Sums): { loss: number; dWeights: Float64Array; dBias: Float64Array } {
  const { oh, ow } = conv2dOutputShape(x, weights, bias, cout, kh, kw, 'valid', dilation);
  if (x.n !== 1) throw new KernelLearnError('convLossGrad takes one sample');
  const { c: cin, h, w } = x;
  const wb = sums === 'f64' ? 8 : 4;
  const inSize = cin * h * w, outSize = cout * oh * ow, taps = weights.length;
  if (t.length !== outSize) throw new KernelLearnError(`convLossGrad: target has ${t.length} values, the output ${outSize}`);
  const { at: [wAt, bAt, dwAt, dbAt, inAt, tAt, outAt], end } = layout([taps * wb, cout * wb, taps * 8, cout * 8, inSize * 4, outSize * 4, outSize * 4]);
  const m = trainWasm(end);
  const buf = m.memory.buffer;
  putWeights(buf, wAt, weights, sums);
  if (bias) putWeights(buf, bAt, bias, sums);
  const dW = new Float64Array(buf, dwAt, taps), dB = new Float64Array(buf, dbAt, cout);
  dW.fill(0);
  dB.fill(0);
  new Float32Array(buf, inAt, inSize).set(x.data.subarray(0, inSize));
  new Float32Array(buf, tAt, outSize).set(t.subarray(0, outSize));
  const loss = m.lossGrad(inAt, cin, h, w, tAt, wAt, bias ? bAt : 0, cout, kh, kw, dilation, outAt, scale, dwAt, dbAt, sums === 'f64' ? 1 : 0);
  return { loss, dWeights: Float64Array.from(dW), dBias: Float64Array.from(dB) };
}

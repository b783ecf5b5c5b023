/**
 * --arch deep's network (src/train/deep.ts): CAN's identity initialisation makes the untrained net
 * the identity map in the data's own units, through the relus and the dilations; the shape
 * helpers (dilations, receptive field, parameter count) say what the layers are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor } from '../src/kernels/conv2d.js';
import { Conv2d, receptiveField } from '../src/nn/layers.js';
import { createRng } from '../src/random.js';
import { canDilations, deepNet, deepParams, identityInit, receptiveSide } from '../src/train/deep.js';

test('canDilations: 1, 2, 4, ... doubling, the last layer 1', () => {
  assert.deepEqual(canDilations(1), [1]);
  assert.deepEqual(canDilations(2), [1, 1]);
  assert.deepEqual(canDilations(4), [1, 2, 4, 1]);
  assert.deepEqual(canDilations(6), [1, 2, 4, 8, 16, 1]);
});

test("identityInit: the untrained net maps each input channel to the output in the data's units, exactly up to float32 rounding", () => {
  for (const [cin, cout] of [[1, 1], [3, 3], [2, 1]]) {
    const shape = { depth: 4, width: 2 * cin + 3, dilations: [1, 2, 3, 1] };
    const net = deepNet({ cin, cout, k: 5, shape, bias: true });
    const sc = { mean: Float64Array.from({ length: cin }, (_, c) => 90 + 10 * c), std: Float64Array.from({ length: cin }, (_, c) => 30 + 5 * c), targetRms: 117 };
    identityInit(net, createRng(3), sc);
    const rf = receptiveSide(5, shape);
    assert.deepEqual(receptiveField(net), { kh: rf, kw: rf });
    assert.equal(rf, 5 + 2 * (2 + 3 + 1));
    const h = rf + 6, w = rf + 9, r = createRng(4);
    const raw = Float32Array.from({ length: cin * h * w }, () => Math.round(r() * 255));
    const scaled = tensor(1, cin, h, w, Float32Array.from(raw, (v, i) => (v - sc.mean[Math.floor(i / (h * w))]) / sc.std[Math.floor(i / (h * w))]));
    const out = net.forward(scaled);
    const a = rf >> 1;
    for (let o = 0; o < cout; o++) {
      for (let y = 0; y < out.h; y++) {
        for (let x = 0; x < out.w; x++) {
          const want = raw[((o % cin) * h + y + a) * w + x + a];
          const got = out.data[(o * out.h + y) * out.w + x] * sc.targetRms;
          assert.ok(Math.abs(got - want) < 1e-3, `cin ${cin} cout ${cout}: (${y}, ${x}) ${got} vs ${want}`);
        }
      }
    }
    // The channels beyond the carriers start random (so they learn), read by nothing yet.
    const hidden = net.layers.filter((l): l is Conv2d => l instanceof Conv2d);
    assert.ok(hidden[1].weight.value.some((v, i) => Math.floor(i / (hidden[1].inChannels * 9)) >= 2 * cin && v !== 0));
  }
});

test("deepParams counts the layers' weights and biases", () => {
  const shape = { depth: 3, width: 8, dilations: [1, 2, 1] };
  const net = deepNet({ cin: 1, cout: 1, k: 3, shape, bias: true });
  const counted = net.params().reduce((s, p) => s + p.value.length, 0);
  assert.equal(deepParams(1, 1, 3, shape, true), counted);
  assert.equal(counted, 8 * 10 + 2 * 8 * 73 + 9);
});

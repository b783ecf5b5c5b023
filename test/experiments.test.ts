/**
 * The experiments behind docs/answers.md (issue 8), each run with --quick in-process, asserting the
 * claims the doc makes so that the doc cannot claim what the code no longer shows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPERIMENTS, findExperiment, markdownTable } from '../src/experiments/index.js';

async function claims(name: string): Promise<Record<string, number | boolean | string>> {
  const exp = findExperiment(name);
  assert.ok(exp, `experiment ${name} is registered`);
  const r = await exp.run({ quick: true });
  assert.ok(r.table.length > 0);
  const md = markdownTable(r.table);
  assert.match(md, /^\| .* \|\n\| --- /);
  return r.claims;
}

test('every experiment has a name, a question and a unique name', () => {
  const names = EXPERIMENTS.map((e) => e.name);
  assert.equal(new Set(names).size, names.length);
  for (const e of EXPERIMENTS) assert.ok(e.question.length > 10, e.name);
});

test('fully-convolutional: trained on 64x64, exact (<= 1e-6 of the peak) on 1x1, 7x13, 211x173 and larger; shifts commute; dense needs 16.8M', async () => {
  const c = await claims('fully-convolutional');
  assert.equal(c.sizes, 4);
  assert.ok((c.worstRelativeError as number) <= 1e-6, `worst relative error ${c.worstRelativeError}`);
  assert.ok((c.worstShiftError as number) <= 1e-4, `shift error ${c.worstShiftError}`);
  assert.equal(c.convParams, 10);
  assert.equal(c.denseParams, 64 ** 4 + 64 ** 2);
});

test('model-size: 10 params full, 7 separable, snapped exact; a 1x1 kernel cannot represent Sobel', async () => {
  const c = await claims('model-size');
  assert.equal(c.fullParams, 10);
  assert.equal(c.separableParams, 7);
  assert.ok((c.separableMaxError as number) < 1e-4);
  assert.equal(c.snappedPresent, true);
  assert.equal(c.snappedMaxError, 0);
  assert.ok((c.k1RelativeError as number) > 0.3, `1x1 error ${c.k1RelativeError}`);
});

test('edges: the matching border mode is exact, a wrong one is off by >= 30% at the border; auto always picks an equivalent mode', async () => {
  const c = await claims('edges');
  assert.ok((c.matchedMaxError as number) < 1e-6);
  assert.ok((c.smallestMismatchError as number) >= 0.3);
  assert.equal(c.autoEquivalent, c.autoTotal);
  assert.ok((c.autoExact as number) >= 0.75 * (c.autoTotal as number));
});

test('training-complete: the exact-gap criterion fires before the validation plateau, which leaves a near-exact kernel', async () => {
  const c = await claims('training-complete');
  assert.ok((c.gap6Step as number) > 0);
  assert.ok((c.plateauStep as number) > (c.gap6Step as number));
  assert.ok((c.gap6KernelError as number) < 0.05);
  assert.ok((c.plateauKernelError as number) < 1e-4);
});

test('random-kernels: random 3..7 kernels recovered to 1e-5 with the right support; the limits warn', async () => {
  const c = await claims('random-kernels');
  assert.equal(c.supportRight, c.total);
  assert.ok((c.worstRecovered as number) < 1e-5);
  assert.ok((c.tooSmallRel as number) > 0.05);
  assert.equal(c.tooSmallWarned, true);
  assert.ok((c.noise10 as number) > (c.noise1 as number));
  assert.ok((c.noise1 as number) < 0.01);
  assert.equal(c.medianWarned, true);
});

test('deeper: on Sobel one conv is exact and beats conv-relu-conv; on a rectified Sobel depth wins by > 10 dB', async () => {
  const c = await claims('deeper');
  assert.ok((c.SobelLinearPsnr as number) > 150, `linear Sobel PSNR ${c.SobelLinearPsnr}`);
  assert.ok((c.SobelDeepPsnr as number) < (c.SobelLinearPsnr as number) - 50);
  assert.ok((c.rectifiedDeepPsnr as number) > (c.rectifiedLinearPsnr as number) + 10, `${c.rectifiedDeepPsnr} vs ${c.rectifiedLinearPsnr}`);
});

test('large-images: the streamed apply equals the whole-image apply bit for bit and cv2.Sobel to 1e-6, from 1x1 to prime sizes', async () => {
  const c = await claims('large-images');
  assert.equal(c.worstStreamVsWhole, 0);
  assert.ok((c.worstVsReference as number) < 1e-6);
});

test('optimisations: the fast and threaded loops equal the reference bit for bit; the exact solve beats Adam and SGD to 1e-3', async () => {
  const c = await claims('optimisations');
  assert.equal(c.fastDiff, 0);
  assert.equal(c.threadsDiff, 0);
  assert.ok((c.exactKernelError as number) < 1e-6);
  assert.ok((c.exactMs as number) < (c.adamMs as number), `exact ${c.exactMs} ms vs adam ${c.adamMs} ms`);
  assert.ok((c.exactMs as number) < (c.sgdMs as number), `exact ${c.exactMs} ms vs sgd ${c.sgdMs} ms`);
});

import path from 'node:path';
import type { Command } from 'commander';
import { loadPairs, writePair } from '../data/dataset.js';
import { imageSeed, syntheticImage } from '../data/synthetic.js';
import { filterKernel } from '../filters/kernels.js';
import { applyFilter, describeFilter } from '../filters/ops.js';
import type { FilterSpec } from '../filters/spec.js';
import { createImage, type Image } from '../image.js';
import { makeFolder, writeFileAtomic, writeFolderAtomic } from '../io/atomic.js';
import { writeImage } from '../io/index.js';
import { applyModel } from '../nn/apply.js';
import { serializeModel, type Model } from '../nn/model.js';
import type { TrainResult } from '../train/index.js';
import { trainInterruptibly } from './train-worker.js';
import { bold, createProgress, formatGrid, formatPsnr, handleInterrupts, notice, parseInteger, parsePositiveInteger } from './shared.js';

interface DemoFlags {
  out: string;
  seed: number;
  images: number;
}

const SOBEL_DX: FilterSpec = { op: 'sobel', dx: 1, dy: 0, ksize: 3, border: 'reflect101', depth: 'f32' };

export function register(program: Command): void {
  program
    .command('demo')
    .summary('the whole job on built-in data: make a Sobel dataset, learn it two ways, show the result')
    .description(
      'Make a synthetic Sobel dx dataset, learn it with the exact solver and with Adam, print the learned ' +
        'kernels beside the true one with their errors and times, and write the dataset, both models, a ' +
        'held-out image of another size (input, target, prediction, error) and the loss curve into --out.',
    )
    .option('--out <dir>', 'output folder', 'demo-out')
    .option('--images <n>', 'training images (256x256 each)', parsePositiveInteger, 8)
    .option('--seed <n>', 'seed for images, crops and initialisation', parseInteger, 0)
    .addHelpText('after', '\nExamples:\n  $ kernel-learn demo\n  $ kernel-learn demo --out /tmp/demo --seed 3')
    .action(async (flags: DemoFlags) => {
      // Everything is made in a temporary sibling folder that becomes --out at the end: a failure
      // or Ctrl-C leaves nothing half-made behind.
      handleInterrupts(() => `the demo did not finish; nothing was written to ${flags.out}`);
      await writeFolderAtomic(flags.out, (root) => runDemo(flags, root));
      notice(`demo finished in ${flags.out}`);
    });
}

/** The demo, writing into `root` (a temporary folder) and naming the files as they will be in --out. */
async function runDemo(flags: DemoFlags, root: string): Promise<void> {
    const out = process.stdout;
    const dataDir = path.join(flags.out, 'data');
    out.write(`${bold('1. dataset')}: ${flags.images} synthetic 256x256 images, targets = cv2.Sobel semantics: ${describeFilter(SOBEL_DX)}, float32\n`);
    for (let i = 0; i < flags.images; i++) {
      const input = syntheticImage({ width: 256, height: 256, seed: imageSeed(flags.seed, i) });
      await writePair(path.join(root, 'data'), `train-${i}`, input, applyFilter(input, SOBEL_DX));
    }
    out.write(`   written to ${dataDir}/input and ${dataDir}/target\n`);
    const pairs = await loadPairs(path.join(root, 'data', 'input'), path.join(root, 'data', 'target'));

    const truth = filterKernel(SOBEL_DX);
    const trueRows = kernelRows(truth.data, truth.kh, truth.kw);
    const runs: Array<{ name: string; result: TrainResult }> = [];
    for (const solver of ['exact', 'adam'] as const) {
      const progress = createProgress(`   ${solver}`);
      // In a worker thread, so Ctrl-C stops the demo at once (see train-worker.ts).
      const result = await trainInterruptibly(
        pairs,
        {
          arch: 'linear',
          ksize: 3,
          solver,
          border: 'auto',
          seed: flags.seed,
          onProgress: (e) => progress.update(e.step / e.maxSteps, `step ${e.step}`),
        },
        `the demo did not finish; nothing was written to ${flags.out}`,
      );
      progress.done();
      runs.push({ name: solver, result });
      await writeFileAtomic(path.join(root, `sobel-${solver}.json`), serializeModel(result.model));
    }

    out.write(`${bold('2. learned kernels')} (true kernel first):\n`);
    out.write(`   true Sobel dx:\n${formatGrid(trueRows, '     ')}\n`);
    for (const { name, result } of runs) {
      const rows = firstKernel(result.model);
      const err = maxAbsDiff(rows, trueRows);
      const v = result.model.metrics.validation;
      out.write(
        `   ${name}: ${result.trainMs.toFixed(0)} ms, ${result.steps} steps (${result.stopReason}); ` +
          `max abs error ${err.toExponential(2)}; border ${result.model.border}; held-out PSNR ${formatPsnr(v.psnr)}\n`,
      );
      out.write(formatGrid(rows, '     ') + '\n');
    }

    // A held-out image of another size than the training images: the learned filter runs on any size.
    const heldOut = syntheticImage({ width: 331, height: 217, seed: imageSeed(flags.seed + 1, 9999) });
    const target = applyFilter(heldOut, SOBEL_DX);
    const exact = runs[0].result.model;
    const prediction = applyModel(exact, heldOut);
    const error = createImage(target.width, target.height, 1, 'f32');
    for (let i = 0; i < error.data.length; i++) error.data[i] = prediction.data[i] - target.data[i];
    const views = path.join(flags.out, 'held-out');
    const viewsAt = path.join(root, 'held-out');
    await makeFolder(viewsAt);
    await writeImage(path.join(viewsAt, 'input.png'), heldOut);
    await writeImage(path.join(viewsAt, 'target.npy'), target);
    await writeImage(path.join(viewsAt, 'prediction.npy'), prediction);
    await writeImage(path.join(viewsAt, 'error.npy'), error);
    const scale = maxAbs(target.data);
    await writeImage(path.join(viewsAt, 'target.png'), signedView(target, scale));
    await writeImage(path.join(viewsAt, 'prediction.png'), signedView(prediction, scale));
    const errScale = Math.max(maxAbs(error.data), 1e-30);
    await writeImage(path.join(viewsAt, 'error.png'), signedView(error, errScale));
    out.write(
      `${bold('3. held-out 331x217 image')} (trained on 256x256): max abs error of the exact model ${maxAbs(error.data).toExponential(2)} ` +
        `(targets span +-${scale.toFixed(0)})\n   ${views}/{input,target,prediction,error}.png (grey 128 = 0; error.png stretched to its own max) and .npy\n`,
    );

    const adam = runs[1].result;
    const csv = ['step,train_loss,validation_loss', ...adam.history.map((h) => `${h.step},${h.trainLoss},${h.valLoss ?? ''}`)].join('\n') + '\n';
    await writeFileAtomic(path.join(root, 'loss-adam.csv'), csv);
    out.write(
      `${bold('4. loss curve')} of Adam: ${path.join(flags.out, 'loss-adam.csv')} (${adam.history.length} points; the exact optimum's loss is ${adam.exactLoss?.toExponential(3) ?? 'n/a'})\n`,
    );
    const { reportSamples, writeReport } = await import('../report/html.js'); // vega: loaded only here
    const { samples, note } = reportSamples(pairs, runs[0].result, 2);
    await writeReport(path.join(root, 'report.html'), runs[0].result, {
      title: 'kernel-learn demo: learning the Sobel dx filter from image pairs',
      subtitle:
        `${flags.images} synthetic 256x256 images filtered with ${describeFilter(SOBEL_DX)}; learned by the exact least-squares solver ` +
        `and by Adam (seed ${flags.seed}). The first sample is a held-out 331x217 image (the model was trained on 256x256).`,
      trueKernel: { name: 'Sobel dx (cv2.Sobel dx=1 dy=0 ksize=3)', kernel: truth },
      samples: [{ name: 'held-out image 331x217 (another size than the training images)', input: heldOut, target }, ...samples],
      samplesNote: `a held-out image of another size, then ${note}`,
      extraRuns: [{ name: 'adam', result: runs[1].result }],
    });
    out.write(`${bold('5. report')}: ${path.join(flags.out, 'report.html')} (open it in a browser; plots as SVG in ${path.join(flags.out, 'report')}/)\n`);
    out.write(`models: ${path.join(flags.out, 'sobel-exact.json')}, ${path.join(flags.out, 'sobel-adam.json')}  (try: kernel-learn inspect ${path.join(flags.out, 'sobel-exact.json')})\n`);
}

function kernelRows(data: ArrayLike<number>, kh: number, kw: number): number[][] {
  return Array.from({ length: kh }, (_, y) => Array.from({ length: kw }, (_, x) => data[y * kw + x]));
}

/** The first conv layer's kernel for output 0, input 0: the whole filter of a grey linear model. */
function firstKernel(model: Model): number[][] {
  const conv = model.layers.find((l) => l.type === 'conv2d');
  if (!conv || conv.type !== 'conv2d') throw new Error('model has no convolution');
  return conv.weights[0][0];
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0;
  for (let y = 0; y < a.length; y++) for (let x = 0; x < a[y].length; x++) m = Math.max(m, Math.abs(a[y][x] - b[y][x]));
  return m;
}

function maxAbs(data: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(data[i]));
  return m;
}

/** Signed values to a viewable u8 image: 0 -> 128, +-scale -> 255/1. */
function signedView(image: Image, scale: number): Image {
  const view = createImage(image.width, image.height, image.channels, 'u8');
  for (let i = 0; i < view.data.length; i++) view.data[i] = Math.max(0, Math.min(255, Math.round(128 + (127 * image.data[i]) / scale)));
  return view;
}

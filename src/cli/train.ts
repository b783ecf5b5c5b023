import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadPairs } from '../data/dataset.js';
import { BORDER_MODES, isBorderMode, type BorderMode } from '../filters/border.js';
import { writeFileAtomic } from '../io/atomic.js';
import { serializeModel } from '../nn/model.js';
import { trainFilter, type TrainOptions } from '../train/index.js';
import { matchKnownFilters } from '../train/match.js';
import { parseInteger } from './options.js';
import { createProgress, describeMatches, formatKernels, notice } from './print.js';

interface TrainFlags {
  input: string;
  target: string;
  out: string;
  arch: 'auto' | 'linear';
  ksize: number | 'auto';
  solver: TrainOptions['solver'];
  border: BorderMode | 'auto';
  seed: number;
  maxSteps?: number;
  patience?: number;
  maxPixels?: number;
  json?: boolean;
}

function parseKsize(value: string): number | 'auto' {
  if (value === 'auto') return 'auto';
  const n = parseInteger(value);
  if (n < 1 || n > 15 || n % 2 === 0) throw new InvalidArgumentError(`--ksize ${value}: use an odd size from 1 to 15, or auto.`);
  return n;
}

function parseBorderOrAuto(value: string): BorderMode | 'auto' {
  if (value === 'auto' || isBorderMode(value)) return value;
  throw new InvalidArgumentError(`unknown border "${value}"; use auto or one of ${BORDER_MODES.join(', ')}.`);
}

export function register(program: Command): void {
  program
    .command('train')
    .summary('learn a filter from input/target image pairs')
    .description(
      'Learn the filter that maps each input image to its target (paired by file stem, any formats and sizes,\n' +
        'grey or colour) as a tiny fully-convolutional network, and write it as a model JSON file.\n' +
        'The exact solver finds the least-squares optimum in one pass over the data; adam and sgd train by\n' +
        'gradient descent on random crops and stop when the validation loss plateaus or the gap to the\n' +
        'exact optimum is below tolerance. Loss is computed on the valid region only, so no border guess\n' +
        'leaks into the kernel; --border auto then picks the border mode that best explains the targets.',
    )
    .requiredOption('--input <dir>', 'folder of input images')
    .requiredOption('--target <dir>', 'folder of target images (same stems as the inputs)')
    .requiredOption('--out <model.json>', 'where to write the model')
    .addOption(new Option('--arch <arch>', 'network: linear = one convolution').choices(['auto', 'linear']).default('auto'))
    .option('--ksize <n|auto>', 'kernel size (odd, 1..15) or auto to find the support', parseKsize, 3)
    .addOption(new Option('--solver <s>', 'exact least squares, or gradient descent').choices(['auto', 'exact', 'adam', 'sgd']).default('auto'))
    .option('--border <mode|auto>', 'border mode of the model, or auto to detect it from the targets', parseBorderOrAuto, 'auto')
    .option('--seed <n>', 'random seed (crops, init, splits): same seed, same model bytes', parseInteger, 0)
    .option('--max-steps <n>', 'cap on gradient steps (adam, sgd)', parseInteger)
    .option('--patience <n>', 'validation evaluations without improvement before stopping (adam, sgd)', parseInteger)
    .option('--max-pixels <n>', 'refuse larger images (guards against decompression bombs)', parseInteger)
    .option('--json', 'print one JSON object with the results on stdout')
    .addHelpText(
      'after',
      `
Examples:
  $ kernel-learn dataset --synthetic 8 --out data/sobel --op sobel --dx 1 --dy 0
  $ kernel-learn train --input data/sobel/input --target data/sobel/target --out sobel.json
  $ kernel-learn train --input data/sobel/input --target data/sobel/target --out sobel-adam.json --solver adam --seed 1
  $ kernel-learn train --input in/ --target out/ --out model.json --ksize auto --json`,
    )
    .action(async (flags: TrainFlags) => {
      const pairs = await loadPairs(flags.input, flags.target, { maxPixels: flags.maxPixels, onNotice: notice });
      const progress = createProgress('train');
      const result = trainFilter(pairs, {
        arch: 'linear',
        ksize: flags.ksize,
        solver: flags.solver,
        border: flags.border,
        seed: flags.seed,
        maxSteps: flags.maxSteps,
        patience: flags.patience,
        onProgress: (e) => progress.update(e.step / e.maxSteps, `${e.solver} step ${e.step}  loss ${e.trainLoss.toExponential(3)}`),
      });
      progress.done();
      await writeFileAtomic(flags.out, serializeModel(result.model));
      const model = result.model;
      const conv = model.layers.find((l) => l.type === 'conv2d');
      const matches = matchKnownFilters(model);
      const summary = {
        model: flags.out,
        arch: model.arch,
        kernelSize: conv && conv.type === 'conv2d' ? conv.kernelSize : null,
        solver: model.training.solver,
        steps: result.steps,
        trainMs: Math.round(result.trainMs * 10) / 10,
        stopReason: result.stopReason,
        border: model.border,
        validation: model.metrics.validation,
        matches: matches.slice(0, 3),
        warnings: result.warnings,
      };
      if (flags.json) {
        process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        return;
      }
      const out = process.stdout;
      out.write(`learned ${summary.kernelSize?.join('x')} ${model.arch} filter from ${pairs.length} pairs in ${summary.trainMs} ms (${summary.solver}, ${summary.steps} steps: ${summary.stopReason})\n`);
      out.write(formatKernels(model) + '\n');
      out.write(describeMatches(model, matches) + '\n');
      const v = model.metrics.validation;
      out.write(`border: ${model.border}   validation: PSNR ${formatPsnr(v.psnr)}  MSE ${v.mse.toExponential(2)}  R2 ${v.r2.toFixed(9)}\n`);
      for (const w of result.warnings) notice(`warning: ${w}`);
      out.write(`model written to ${path.resolve(flags.out)}\n`);
    });
}

export function formatPsnr(psnr: number | null): string {
  return psnr === null || !Number.isFinite(psnr) ? 'inf dB' : `${psnr.toFixed(1)} dB`;
}

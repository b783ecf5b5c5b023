import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadPairs } from '../data/dataset.js';
import { BORDER_MODES, isBorderMode, type BorderMode } from '../filters/border.js';
import { writeFileAtomic } from '../io/atomic.js';
import { serializeModel } from '../nn/model.js';
import { TRAIN_ARCHS, type TrainArch, type TrainOptions } from '../train/index.js';
import { KSIZE_MAX } from '../train/limits.js';
import { knownFilters, matchKnownFilters } from '../train/match.js';
import { trainFromStats } from '../train/stats.js';
import { assertSameProblem, mergeStats } from '../train/stats-file.js';
import { UsageError } from '../errors.js';
import { startTrainWorker } from './train-worker.js';
import { createProgress, describeMatches, formatKernels, formatPsnr, formatStdErrors, loadStatsFiles, maxPixelsOption, notice, parseInteger, parseKsize, parsePositiveInteger } from './shared.js';

interface TrainFlags {
  input?: string;
  target?: string;
  stats?: string[];
  valStats?: string[];
  out: string;
  arch: TrainArch;
  ksize: number | [number, number] | 'auto';
  solver: TrainOptions['solver'];
  border: BorderMode | 'auto';
  seed: number;
  maxSteps?: number;
  patience?: number;
  maxPixels?: number;
  json?: boolean;
  snap?: boolean;
  channels: 'full' | 'shared' | 'auto';
  clamp: 'auto' | 'off';
  align: 'auto' | 'off';
  abs?: boolean;
  magnitude?: boolean;
  /** A folder for the run report; false with --no-report; undefined: beside the model. */
  report?: string | false;
  depth?: number;
  width?: number;
  dilations?: number[];
}

/** --dilations: one positive integer per relu layer, comma-separated (e.g. 1,2,4,1). */
function parseDilations(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) throw new InvalidArgumentError(`--dilations ${value}: give one whole number >= 1 per layer, comma-separated, like 1,2,4,1.`);
  return parts.map(Number);
}

/** TrainOptions.deep from --depth, --width and --dilations (only --arch deep takes them). */
function deepFlags(flags: TrainFlags): TrainOptions['deep'] {
  const given = flags.depth !== undefined || flags.width !== undefined || flags.dilations !== undefined;
  if (given && flags.arch !== 'deep') throw new UsageError('--depth, --width and --dilations shape --arch deep; add --arch deep or leave them out');
  return given ? { depth: flags.depth, width: flags.width, dilations: flags.dilations } : undefined;
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
      'Learn the filter that maps each input image to its target (paired by file stem, any formats and sizes, ' +
        'grey or colour) as a tiny fully-convolutional network, and write it as a model JSON file. ' +
        'The exact solver finds the least-squares optimum in one pass over the data; adam and sgd train by ' +
        'gradient descent on random crops and stop when the validation loss plateaus or the gap to the ' +
        'exact optimum is below tolerance. Loss is computed on the valid region only, so no border guess ' +
        'leaks into the kernel; --border auto then picks the border mode that best explains the targets.',
    )
    .option('--input <dir>', 'folder of input images')
    .option('--target <dir>', 'folder of target images (same stems as the inputs)')
    .option('--stats <files...>', 'learn from statistics files (kernel-learn stats) instead of images: merged, then one exact solve (a linear model; the border is reflect101 unless --border names one); see docs/scale.md')
    .option('--val-stats <files...>', 'with --stats: held-out statistics files, for the validation metrics (files marked stats --validation count as held out too)')
    .requiredOption('--out <model.json>', 'where to write the model')
    .addOption(
      new Option(
        '--arch <arch>',
        'network: linear = one convolution; separable = the same fit as rank-r (kh x 1 then 1 x kw) convolutions; ' +
          'curve-after / curve-before / curves = the kernel with a pointwise curve after it (gamma, sigmoid), before it (sRGB decode), or both; ' +
          'auto = linear, or linear with the output stage (clamp, abs, magnitude, curves) the data needs; ' +
          'deep = a small CNN of dilated convolutions (Adam, identity start) for nonlinear filters, the exact linear fit reported beside it',
      )
        .choices([...TRAIN_ARCHS])
        .default('auto'),
    )
    .option(
      '--ksize <n|HxW|auto>',
      `kernel size: n (n x n) or HxW, odd or even, up to ${KSIZE_MAX}; auto finds the support: the smallest size whose held-out fit is the best one's within noise (a 7x7 blur gets 7x7, not a 3x3 approximation; on six 512x512 photographs it costs about what a 3x3 fit does)`,
      parseKsize,
      'auto',
    )
    .addOption(new Option('--solver <s>', 'exact least squares, or gradient descent').choices(['auto', 'exact', 'adam', 'sgd']).default('auto'))
    .option('--border <mode|auto>', 'border mode of the model, or auto to detect it from the targets', parseBorderOrAuto, 'auto')
    .option('--seed <n>', 'random seed (crops, init, splits): same seed, same model bytes', parseInteger, 0)
    .option('--max-steps <n>', 'cap on gradient steps (adam, sgd)', parseInteger)
    .option('--patience <n>', 'validation evaluations without improvement before stopping (adam, sgd)', parseInteger)
    .addOption(maxPixelsOption())
    .option('--json', 'print one JSON object with the results on stdout')
    .addOption(
      new Option('--channels <mode>', 'colour: full = a kernel per (out, in) channel pair; shared = one kernel for each channel alone (as OpenCV); auto = shared when it fits as well')
        .choices(['full', 'shared', 'auto'])
        .default('full'),
    )
    .addOption(
      new Option('--clamp <mode>', 'saturated integer targets (e.g. cv2.Sobel to CV_8U): auto = detect them and fit conv + clamp with a censored loss')
        .choices(['auto', 'off'])
        .default('off'),
    )
    .option('--abs', 'fit |conv| (then clamped for integer targets): targets of cv2.convertScaleAbs; the kernel is found up to its sign')
    .option('--magnitude', 'fit sqrt(conv_a^2 + conv_b^2) (then clamped for integer targets): gradient-magnitude targets; the pair is found up to a rotation, reported canonically')
    .option('--report <dir>', 'write the run report (HTML page with plots, kernels, samples; SVG plots) into this folder instead of beside the model')
    .option('--no-report', 'do not write the run report')
    .addOption(
      new Option('--align <mode>', "targets of another size or place than their inputs ('valid' or 'full' convolutions, crops, shifts up to 16 px): auto = align them and keep the alignment in the model; off = targets must have their inputs' size")
        .choices(['auto', 'off'])
        .default('auto'),
    )
    .option('--snap', 'store the kernel as scale x small integers when that is exact within noise (e.g. Sobel as [-1 0 1; -2 0 2; -1 0 1])')
    .option('--depth <n>', '--arch deep: relu layers (conv --ksize first, then dilated 3x3 convs; a 1x1 conv last); default 4', parsePositiveInteger)
    .option('--width <n>', '--arch deep: channels of each relu layer (at least twice the input channels); default 16', parsePositiveInteger)
    .option('--dilations <list>', '--arch deep: dilation of each relu layer, e.g. 1,2,4,1 (default: 1, 2, 4, ... doubling, the last 1, as in CAN)', parseDilations)
    .addHelpText(
      'after',
      `
Examples:
  $ kernel-learn dataset --synthetic 8 --out data/sobel --op sobel --dx 1 --dy 0
  $ kernel-learn train --input data/sobel/input --target data/sobel/target --out sobel.json
  $ kernel-learn train --input data/sobel/input --target data/sobel/target --out sobel-adam.json --solver adam --seed 1
  $ kernel-learn train --input in/ --target out/ --out model.json --ksize auto --json
  $ kernel-learn train --stats shard-*.stats --out model.json`,
    )
    .action(async (flags: TrainFlags, cmd: Command) => {
      if (flags.stats) return trainFromStatsFiles(flags, cmd.getOptionValueSource('ksize') !== 'default');
      if (flags.valStats) throw new UsageError('--val-stats goes with --stats (held-out statistics for a model from statistics)');
      const { input, target } = flags;
      if (!input || !target) throw new UsageError(`required option '${!input ? '--input <dir>' : '--target <dir>'}' not specified (train learns from --input and --target, or from --stats FILES...)`);
      // In a worker thread, so Ctrl-C stops training at once (see train-worker.ts); started first,
      // so that it boots and loads the trainer while the images are decoded here, and given each
      // pair as soon as it is read: it computes the pair's Gram statistics while the next decode.
      const deep = deepFlags(flags);
      const fixed = flags.ksize === 'auto' ? null : typeof flags.ksize === 'number' ? [flags.ksize, flags.ksize] : flags.ksize;
      const worker = startTrainWorker(fixed ? { kh: fixed[0], kw: fixed[1], bias: true } : undefined);
      let pairs;
      try {
        pairs = await loadPairs(input, target, { maxPixels: flags.maxPixels, onNotice: notice, onPair: (pair) => worker.send(pair), sizes: 'any' });
      } catch (err) {
        worker.stop();
        throw err;
      }
      const progress = createProgress('train');
      const training = worker.train(pairs, {
        arch: flags.arch,
        snap: flags.snap,
        channels: flags.channels,
        clamp: flags.clamp,
        align: flags.align,
        abs: flags.abs,
        magnitude: flags.magnitude,
        ksize: flags.ksize,
        solver: flags.solver,
        border: flags.border,
        seed: flags.seed,
        maxSteps: flags.maxSteps,
        patience: flags.patience,
        ...(deep ? { deep } : {}),
        onProgress: (e) => progress.update(e.step / e.maxSteps, `${e.solver} step ${e.step}  loss ${e.trainLoss.toExponential(3)}`),
      });
      // The report's modules (vega: ~0.25 s of start-up) load, and its first plot and PNG are drawn, while the worker trains.
      const reportModule = flags.report === false ? null : import('../report/html.js');
      const warm = reportModule?.then((m) => m.warmUp()).catch(() => undefined); // a failure shows when the report is written
      knownFilters(); // builds the table matchKnownFilters needs below while this thread waits
      const result = await training;
      progress.done();
      await writeFileAtomic(flags.out, serializeModel(result.model));
      let reportPath: string | null = null;
      if (reportModule) {
        const { reportPathFor, reportSamples, writeReport } = await reportModule;
        await warm;
        reportPath = reportPathFor(flags.out, flags.report || undefined);
        const { samples, note } = reportSamples(pairs, result);
        await writeReport(reportPath, result, {
          title: `kernel-learn: ${path.basename(flags.out)}`,
          subtitle: `train --input ${input} --target ${target} (${pairs.length} pairs)`,
          samples,
          samplesNote: note,
        });
      }
      const model = result.model;
      const conv = model.layers.find((l) => l.type === 'conv2d');
      const matches = matchKnownFilters(model);
      const summary = {
        model: flags.out,
        arch: model.arch,
        kernelSize: conv && conv.type === 'conv2d' ? result.kernelSize : null,
        solver: model.training.solver,
        steps: result.steps,
        trainMs: Math.round(result.trainMs * 10) / 10,
        stopReason: result.stopReason,
        border: model.border,
        validation: model.metrics.validation,
        matches: matches.slice(0, 3),
        warnings: result.warnings,
        conditionNumber: model.training.conditionNumber ?? null,
        stdErrors: model.training.stdErrors ?? null,
        alignment: result.alignment,
        identifiable: result.identifiable,
        kernelSizeChoice: model.training.kernelSizeChoice ?? null,
        zeroTaps: { count: result.zeroTaps.count, of: result.zeroTaps.of, taps: result.zeroTaps.taps },
        support: result.support,
        diagnostics: result.diagnostics,
        forms: result.forms,
        channelChoice: result.channelChoice ?? null,
        archChoice: result.archChoice ?? null,
        report: reportPath,
      };
      if (flags.json) {
        process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        return;
      }
      const out = process.stdout;
      out.write(`learned ${summary.kernelSize?.join('x')} ${model.arch} filter from ${pairs.length} pairs in ${summary.trainMs} ms (${summary.solver}, ${summary.steps} steps: ${summary.stopReason})\n`);
      out.write(formatKernels(model) + '\n');
      if (model.training.stdErrors) out.write(formatStdErrors(model.training.stdErrors) + '\n');
      out.write(describeMatches(model, matches) + '\n');
      const v = model.metrics.validation;
      out.write(`border: ${model.border}   validation: PSNR ${formatPsnr(v.psnr)}  MSE ${v.mse.toExponential(2)}  R2 ${v.r2.toFixed(9)}\n`);
      const cond = model.training.conditionNumber;
      if (cond !== undefined) out.write(`condition number: ${Number.isFinite(cond) ? cond.toPrecision(3) : 'infinite'}   zero taps: ${result.zeroTaps.count} of ${result.zeroTaps.of}\n`);
      const { box, offset, kernel } = result.support;
      if (box.height < kernel[0] || box.width < kernel[1]) out.write(`support: the non-zero taps fill a ${box.height}x${box.width} box of the ${kernel.join('x')} kernel, rows ${box.top}..${box.top + box.height - 1}, columns ${box.left}..${box.left + box.width - 1} (its anchor ${offset[0] === 0 && offset[1] === 0 ? 'at the kernel\'s' : `offset by dy=${offset[0]}, dx=${offset[1]} from the kernel's`})\n`);
      if (result.archChoice) out.write(`arch auto: ${result.archChoice.chosen} (${result.archChoice.reason})\n`);
      out.write(
        'model forms: ' +
          result.forms
            .map((f) => `${f.form}${f.ranks ? ` (rank ${f.ranks.join(',')})` : ''}${f.scales ? ` (x ${f.scales.join(',')})` : ''} ${f.params} params ${f.bytes} B, max err ${f.maxAbsError.toExponential(1)}`)
            .join('; ') +
          '\n',
      );
      for (const w of result.warnings) notice(`warning: ${w}`);
      out.write(`model written to ${path.resolve(flags.out)}\n`);
      if (reportPath) out.write(`report written to ${path.resolve(reportPath)}\n`);
    });
}

/** What needs the pixels, so train --stats cannot do it: the flag, when it is set. */
function pixelOnlyFlag(flags: TrainFlags): string | null {
  if (flags.input || flags.target) return '--input/--target (give images or statistics, not both)';
  if (flags.arch !== 'auto' && flags.arch !== 'linear') return `--arch ${flags.arch} (statistics fit the linear kernel)`;
  if (flags.solver === 'adam' || flags.solver === 'sgd') return `--solver ${flags.solver} (statistics are solved exactly)`;
  if (flags.channels !== 'full') return `--channels ${flags.channels}`;
  if (flags.clamp !== 'off') return '--clamp auto';
  if (flags.abs) return '--abs';
  if (flags.magnitude) return '--magnitude';
  if (flags.snap) return '--snap';
  if (flags.depth !== undefined || flags.width !== undefined || flags.dilations !== undefined) return '--depth/--width/--dilations (they shape --arch deep)';
  return null;
}

/**
 * train --stats: merge the training files and the held-out ones (each group in shard order, so a
 * split's shards add in the order one run does, whatever order they are named in) and solve once.
 */
async function trainFromStatsFiles(flags: TrainFlags, ksizeGiven: boolean): Promise<void> {
  const refused = pixelOnlyFlag(flags);
  if (refused) throw new UsageError(`train --stats: ${refused} needs the images; compute the model from them with train --input --target`);
  const given = await loadStatsFiles(flags.stats!);
  const heldOut = [...given.filter((f) => f.file.header.role === 'validation'), ...(await loadStatsFiles(flags.valStats ?? []))];
  const training = given.filter((f) => f.file.header.role === 'train');
  if (training.length === 0) throw new UsageError(`train --stats: every file given is held-out (stats --validation); give the training statistics too`);
  assertSameProblem([...training, ...heldOut], ['role', 'shard count', 'ksize mode']);
  const byShard = (files: typeof given): typeof given => [...files].sort((a, b) => Math.min(...a.file.header.shards.indices) - Math.min(...b.file.header.shards.indices));
  const train = mergeStats(byShard(training));
  const asHeldOut = heldOut.map(({ name, file }) => ({ name, file: { ...file, header: { ...file.header, role: 'validation' as const } } }));
  const val = asHeldOut.length > 0 ? mergeStats(byShard(asHeldOut)) : null;
  const h = train.header;
  const ksize = ksizeGiven ? flags.ksize : h.ksize === 'auto-max' ? 'auto' : [h.kh, h.kw];
  const result = trainFromStats(train, val, {
    ksize: ksize === 'auto' ? 'auto' : typeof ksize === 'number' ? { kh: ksize, kw: ksize } : { kh: ksize[0], kw: ksize[1] },
    border: flags.border === 'auto' ? 'reflect101' : flags.border,
    seed: flags.seed,
  });
  await writeFileAtomic(flags.out, serializeModel(result.model));
  const { model } = result;
  const v = model.metrics.validation;
  if (flags.json) {
    const summary = {
      model: flags.out, arch: model.arch, kernelSize: result.kernelSize, solver: 'exact', files: given.length + (flags.valStats?.length ?? 0), pairs: h.pairs,
      heldOutPairs: val?.header.pairs ?? 0, border: model.border, validation: v, warnings: result.warnings, conditionNumber: model.training.conditionNumber ?? null,
      stdErrors: model.training.stdErrors ?? null, kernelSizeChoice: model.training.kernelSizeChoice ?? null,
      zeroTaps: { count: result.zeroTaps.count, of: result.zeroTaps.of, taps: result.zeroTaps.taps }, support: result.support, matches: matchKnownFilters(model).slice(0, 3),
    };
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  const out = process.stdout;
  out.write(`learned ${result.kernelSize.join('x')} linear filter from the statistics of ${h.pairs} pairs (${training.length} file${training.length === 1 ? '' : 's'}${val ? `; ${val.header.pairs} held-out pairs` : ''}): one exact solve\n`);
  out.write(formatKernels(model) + '\n');
  if (model.training.stdErrors) out.write(formatStdErrors(model.training.stdErrors) + '\n');
  out.write(describeMatches(model, matchKnownFilters(model)) + '\n');
  out.write(`border: ${model.border}   ${val ? 'validation' : 'training'} (valid pixels): PSNR ${formatPsnr(v.psnr)}  MSE ${v.mse.toExponential(2)}  R2 ${v.r2.toFixed(9)}\n`);
  for (const w of result.warnings) notice(`warning: ${w}`);
  out.write(`model written to ${path.resolve(flags.out)}\n`);
}

import { statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { convertDepth } from '../filters/depth.js';
import { coverageWarnings, curveCoverage } from '../nn/curve-coverage.js';
import { cropImage, type Depth } from '../image.js';
import { temporaryOf } from '../io/atomic.js';
import { assertFinite, readImage, writeImage } from '../io/index.js';
import path from 'node:path';
import { alignedRun } from '../nn/apply.js';
import { alignedWindow } from '../nn/alignment.js';
import type { Model } from '../nn/model.js';
import { createProgress, expandInputs, loadModelFile, makeOutputFolders, maxPixelsOption, notice, parseDepth, parseExt, parsePositiveInteger } from './shared.js';

interface ApplyFlags {
  model: string;
  depth: Depth;
  maxPixels?: number;
  bandRows?: number;
  ext: string;
  json?: boolean;
  outputSize: 'same' | 'as-trained';
}

export function register(program: Command): void {
  program
    .command('apply')
    .summary('run a learned filter on an image of any size')
    .description(
      'Run a learned model on one image of any size (1x1 up); the output has the ' +
        "same height and width, the border handled with the model's border mode. The output format follows " +
        'the extension of <out>; --depth converts with OpenCV saturate_cast rounding (u8 saturates negatives to 0).\n\n' +
        'Images larger than memory: a .npy or 8/16-bit PNG written to .npy streams in bands of rows (from 16 Mpx, or with --band-rows), with the same result as reading the whole image.',
    )
    .requiredOption('--model <model.json>', 'a model written by kernel-learn train')
    .argument('<in>', 'input image, or a folder (searched recursively) or a quoted glob pattern')
    .argument('<out>', 'output image (the format follows the extension); a folder when <in> is a folder or pattern')
    .option('--ext <ext>', 'with a folder or pattern as <in>: the extension (format) of each output', parseExt, '.npy')
    .option('--json', 'print one JSON object on stdout')
    .option('--depth <d>', 'output depth: u8|s16|u16|f32|f64', parseDepth, 'f32')
    .addOption(
      new Option('--output-size <size>', "as-trained: the size and place the model's targets had (a 'valid' or 'full' convolution, a crop: see the model's alignment); same: the input's size")
        .choices(['as-trained', 'same'])
        .default('as-trained'),
    )
    .addOption(maxPixelsOption())
    .option(
      '--band-rows <n>',
      'stream in bands of n rows with bounded memory (a .npy or 8/16-bit PNG into a .npy); by default images of 16 Mpx and more stream',
      parsePositiveInteger,
    )
    .addHelpText(
      'after',
      `
Examples:
  $ kernel-learn apply --model sobel.json photo.png edges.npy
  $ kernel-learn apply --model sobel.json scan.tiff edges.png --depth u8
  $ kernel-learn apply --model sobel.json scan-16384.png edges.npy --band-rows 256
  $ kernel-learn apply --model sobel.json photos/ edges/                # every image under photos/ -> edges/<stem>.npy
  $ kernel-learn apply --model sobel.json 'shots/**/*.png' edges/ --ext .png --depth u8
  $ kernel-learn apply --model sobel.json photo.png edges.npy --json`,
    )
    .action(async (input: string, output: string, flags: ApplyFlags) => {
      const model = await loadModelFile(flags.model);
      const pairs = await expandInputs(input, output, flags.ext);
      if (pairs === null) {
        const r = await applyOne(model, input, output, flags);
        if (flags.json) process.stdout.write(JSON.stringify({ output: r.output, model: flags.model, width: r.width, height: r.height, channels: r.channels, depth: r.depth, streamed: r.streamed }) + '\n');
        return;
      }
      await makeOutputFolders(pairs);
      const files = [];
      for (const p of pairs) files.push(await applyOne(model, p.input, p.output, flags));
      if (flags.json) process.stdout.write(JSON.stringify({ output, model: flags.model, files }) + '\n');
      else notice(`${output}: ${files.length} image${files.length === 1 ? '' : 's'} filtered with ${flags.model}`);
    });
}

interface Applied {
  input: string;
  output: string;
  width: number;
  height: number;
  channels: number;
  depth: Depth;
  streamed: boolean;
}

async function applyOne(model: Model, input: string, output: string, flags: ApplyFlags): Promise<Applied> {
  // Loaded here, not at start-up: the threaded and streaming apply (worker pool, WebAssembly) are
  // only this command's.
  const { applyModelThreaded, applyModelToFile, STREAM_MIN_PIXELS } = await import('../nn/apply-stream.js');
  const { canReadInBands, bandImageSize } = await import('../io/bands.js');
  const say = (m: string) => {
    if (!flags.json) notice(m);
  };
  const net = flags.outputSize === 'same' ? { ...model, alignment: undefined } : model;
  if (path.extname(output).toLowerCase() === '.npy' && (await canReadInBands(input))) {
    const size = await bandImageSize(input);
    const { grow, keep } = alignedWindow(net, size.height, size.width);
    const grows = grow !== null || model.edge === 'kept';
    if (grows && flags.bandRows !== undefined) notice(`--band-rows ignored: the model grows the image (alignment ${model.alignment?.mode ?? 'same'}) or keeps its outer ring (edge ${model.edge ?? 'filtered'}), which streaming does not do; reading the whole image`);
    if (!grows && (flags.bandRows !== undefined || size.width * size.height >= STREAM_MIN_PIXELS)) {
      const perChannel = net.inputChannels === 1 && size.channels > 1 ? size.channels : 1; // a grey model on each channel
      const follow = followStream(output, (keep.x1 - keep.x0) * (keep.y1 - keep.y0) * net.outputChannels * perChannel * DEPTH_BYTES[flags.depth]);
      let r;
      try {
        r = await applyModelToFile(net, input, output, { depth: flags.depth, maxPixels: flags.maxPixels, bandRows: flags.bandRows, onNotice: notice });
        follow.stop(true);
      } finally {
        follow.stop(false);
      }
      say(`${output}: ${r.width}x${r.height}x${r.channels} ${r.depth} (streamed in bands)`);
      return { input, output, width: r.width, height: r.height, channels: r.channels, depth: r.depth, streamed: true };
    }
  } else if (flags.bandRows !== undefined) {
    notice('--band-rows ignored: streaming reads .npy or 8/16-bit PNG (not palette or interlaced) and writes .npy; reading the whole image');
  }
  const image = await readImage(input, { maxPixels: flags.maxPixels, onNotice: notice });
  assertFinite(image, input);
  for (const w of coverageWarnings(input, curveCoverage(model, image))) notice(`warning: ${w}`);
  const { input: grown, keep } = alignedRun(net, image);
  const out = await applyModelThreaded(net, grown, input);
  const result = convertDepth(cropImage(out, keep.x0, keep.y0, keep.x1 - keep.x0, keep.y1 - keep.y0), flags.depth);
  await writeImage(output, result);
  say(`${output}: ${result.width}x${result.height}x${result.channels} ${result.depth}`);
  return { input, output, width: result.width, height: result.height, channels: result.channels, depth: result.depth, streamed: false };
}

const DEPTH_BYTES: Record<Depth, number> = { u8: 1, s16: 2, u16: 2, f32: 4, f64: 8 };

/**
 * The progress bar of a streamed apply, on a terminal only (as train's): the output .npy grows band
 * by band under its temporary name, so its size against the size of its data says how far the run
 * is. Polled ten times a second, because the streaming apply has no progress callback (and a stat
 * is nothing beside the convolutions). `stop(true)` draws the finished bar, then clears it.
 */
function followStream(output: string, dataBytes: number): { stop(finished: boolean): void } {
  const progress = createProgress('apply');
  if (!progress.shown) return { stop() {} };
  const amount = (b: number): string => (b < 1e6 ? `${Math.round(b / 1e3)} kB` : `${(b / 1e6).toFixed(b < 1e7 ? 1 : 0)} MB`);
  // The header's few bytes count as data: a bar, not an audit.
  const show = (bytes: number): void => {
    const done = Math.min(bytes, dataBytes);
    progress.update(done / dataBytes, `${Math.floor((100 * done) / dataBytes)}%  ${amount(done)} of ${amount(dataBytes)}`);
  };
  const timer = setInterval(() => {
    const tmp = temporaryOf(output);
    try {
      if (tmp) show(statSync(tmp).size);
    } catch {
      // renamed or removed between the two calls: the next poll (or stop) says where it is
    }
  }, 100);
  let stopped = false;
  return {
    stop(finished) {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      if (finished) show(dataBytes);
      progress.done();
    },
  };
}

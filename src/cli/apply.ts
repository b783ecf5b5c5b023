import { promises as fs } from 'node:fs';
import type { Command } from 'commander';
import { KernelLearnError } from '../errors.js';
import { convertDepth } from '../filters/depth.js';
import type { Depth } from '../image.js';
import { readImage, writeImage } from '../io/index.js';
import { applyModel } from '../nn/apply.js';
import { parseModel, type Model } from '../nn/model.js';
import { parseDepth, parseInteger } from './options.js';
import { notice } from './print.js';

interface ApplyFlags {
  model: string;
  depth: Depth;
  maxPixels?: number;
}

export async function loadModelFile(file: string): Promise<Model> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new KernelLearnError(`${file}: cannot read the model file; check the path (models are written by kernel-learn train)`);
  }
  return parseModel(text, file);
}

export function register(program: Command): void {
  program
    .command('apply')
    .summary('run a learned filter on an image of any size')
    .description(
      'Run a learned model on one image of any size (1x1 up to whatever fits in memory); the output has the\n' +
        "same height and width, the border handled with the model's border mode. The output format follows\n" +
        'the extension of <out>; --depth converts with OpenCV saturate_cast rounding (u8 saturates negatives to 0).',
    )
    .requiredOption('--model <model.json>', 'a model written by kernel-learn train')
    .argument('<in>', 'input image')
    .argument('<out>', 'output image; the format follows the extension')
    .option('--depth <d>', 'output depth: u8|s16|u16|f32|f64', parseDepth, 'f32')
    .option('--max-pixels <n>', 'refuse larger images (guards against decompression bombs)', parseInteger)
    .addHelpText(
      'after',
      `
Examples:
  $ kernel-learn apply --model sobel.json photo.png edges.npy
  $ kernel-learn apply --model sobel.json scan.tiff edges.png --depth u8`,
    )
    .action(async (input: string, output: string, flags: ApplyFlags) => {
      const model = await loadModelFile(flags.model);
      const image = await readImage(input, { maxPixels: flags.maxPixels, onNotice: notice });
      const result = convertDepth(applyModel(model, image, input), flags.depth);
      await writeImage(output, result);
      notice(`${output}: ${result.width}x${result.height}x${result.channels} ${result.depth}`);
    });
}

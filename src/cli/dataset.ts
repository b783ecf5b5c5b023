import path from 'node:path';
import type { Command } from 'commander';
import { listImageFiles, stemOf, toGrey, writePair } from '../data/dataset.js';
import { imageSeed, syntheticImage } from '../data/synthetic.js';
import { KernelLearnError, UsageError } from '../errors.js';
import { applyFilter, describeFilter } from '../filters/ops.js';
import { resolveFilterSpec } from '../filters/spec.js';
import type { Image } from '../image.js';
import { writeFolderAtomic } from '../io/atomic.js';
import { assertFinite, readImage } from '../io/index.js';
import { addFilterOptions, createProgress, type FilterFlags, filterSpecFromFlags, handleInterrupts, maxPixelsOption, notice, parseInteger, parseSize } from './shared.js';

interface DatasetFlags extends FilterFlags {
  images?: string;
  synthetic?: number;
  size: { width: number; height: number };
  seed: number;
  channels: number;
  grey?: boolean;
  out: string;
  json?: boolean;
  maxPixels?: number;
}

export function register(program: Command): void {
  const cmd = program
    .command('dataset')
    .summary('make input/target pairs from your images or synthetic ones')
    .description(
      'Make a training set: DIR/input/<stem>.png and DIR/target/<stem>.npy (.png when --depth is u8/u16), ' +
        'the targets made by a reference filter. --images takes a folder of photos (any depth of subfolders, ' +
        'any sizes and formats); --synthetic makes N deterministic images rich enough to identify any kernel.',
    )
    .option('--images <dir>', 'folder of input images (searched recursively)')
    .option('--synthetic <n>', 'make N synthetic images instead', parseInteger)
    .option('--size <WxH>', 'size of synthetic images', parseSize, { width: 256, height: 256 })
    .option('--channels <n>', 'channels of synthetic images: 1 or 3', parseInteger, 1)
    .option('--seed <n>', 'seed of synthetic images', parseInteger, 0)
    .option('--grey', 'convert colour inputs to grey first (OpenCV RGB2GRAY weights)')
    .requiredOption('--out <dir>', 'output folder (input/ and target/ are made inside)')
    .option('--json', 'print a JSON summary on stdout');
  addFilterOptions(cmd.addOption(maxPixelsOption()))
    .addHelpText(
      'after',
      `
Examples:
  $ kernel-learn dataset --synthetic 8 --size 256x256 --out data/sobel-dx --op sobel --dx 1 --dy 0
  $ kernel-learn dataset --images ~/coco/val2017 --grey --out data/coco-gy --op sobel --dx 0 --dy 1
  $ kernel-learn dataset --synthetic 4 --out data/rand5 --op kernel --kernel kernel5x5.json`,
    )
    .action(async (flags: DatasetFlags) => {
      if ((flags.images === undefined) === (flags.synthetic === undefined)) throw new UsageError('give exactly one of --images DIR or --synthetic N');
      if (flags.synthetic !== undefined && flags.synthetic < 1) throw new UsageError('--synthetic needs at least 1 image');
      if (flags.channels !== 1 && flags.channels !== 3) throw new UsageError('--channels must be 1 or 3');
      const spec = filterSpecFromFlags(flags);
      resolveFilterSpec(spec); // refuse a bad filter before reading or writing anything
      const sources: Array<{ stem: string; load: () => Promise<Image> }> = [];
      if (flags.images !== undefined) {
        const root = flags.images;
        const files = await listImageFiles(root);
        if (files.length === 0) throw new KernelLearnError(`${root}: no image files found (looked for .png .jpg .jpeg .webp .tif .tiff .npy); check the path or add images`);
        for (const file of files) {
          sources.push({
            stem: stemOf(file, root),
            load: async () => {
              const image = await readImage(file, { maxPixels: flags.maxPixels, onNotice: notice });
              assertFinite(image, file);
              return image;
            },
          });
        }
      } else {
        const digits = String(flags.synthetic! - 1).length;
        for (let i = 0; i < flags.synthetic!; i++) {
          sources.push({
            stem: `synthetic-${String(i).padStart(digits, '0')}`,
            load: async () => syntheticImage({ ...flags.size, channels: flags.channels, seed: imageSeed(flags.seed, i) }),
          });
        }
      }
      const progress = createProgress('dataset');
      let pixels = 0;
      const written: Array<{ stem: string; input: string; target: string; size: [number, number, number] }> = [];
      // The pairs are made in a temporary sibling folder that becomes --out at the end (or is
      // merged into an existing --out file by file): a failure or Ctrl-C leaves nothing behind.
      handleInterrupts(() => `made ${written.length} of ${sources.length} pairs; nothing was written to ${flags.out}`);
      await writeFolderAtomic(flags.out, async (tmp) => {
        for (const [i, source] of sources.entries()) {
          let input = await source.load();
          if (flags.grey) input = toGrey(input);
          const target = applyFilter(input, spec);
          const files = await writePair(tmp, source.stem, input, target);
          const final = (f: string): string => path.join(flags.out, path.relative(tmp, f));
          written.push({ stem: source.stem, input: final(files.inputFile), target: final(files.targetFile), size: [input.height, input.width, input.channels] });
          pixels += input.width * input.height;
          progress.update((i + 1) / sources.length, `${i + 1}/${sources.length} ${source.stem}`);
        }
      });
      progress.done();
      const summary = { out: flags.out, filter: describeFilter(spec), pairs: written.length, pixels, files: written };
      if (flags.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      else {
        process.stdout.write(`made ${written.length} pairs (${(pixels / 1e6).toFixed(2)} Mpx) in ${flags.out}: targets = ${describeFilter(spec)}\n`);
        process.stdout.write(`  inputs:  ${flags.out}/input/   e.g. ${written[0].input}\n`);
        process.stdout.write(`  targets: ${flags.out}/target/  e.g. ${written[0].target}\n`);
      }
    });
}

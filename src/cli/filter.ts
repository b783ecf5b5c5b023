import type { Command } from 'commander';
import { applyFilter, describeFilter } from '../filters/ops.js';
import { readImage, writeImage } from '../io/index.js';
import { addFilterOptions, expandInputs, type FilterFlags, filterSpecFromFlags, makeOutputFolders, maxPixelsOption, notice, parseExt } from './shared.js';

export function register(program: Command): void {
  const cmd = program
    .command('filter')
    .summary('apply a reference filter (OpenCV semantics) to one image')
    .description(
      'Apply a reference filter to one image, exactly as OpenCV would (cv2.Sobel, cv2.Scharr, cv2.Laplacian, ' +
        'cv2.GaussianBlur, cv2.blur, cv2.filter2D). Colour images are filtered per channel. The output ' +
        'format follows the extension of <out> (.npy holds every depth; .png u8/u16; .tiff u8/u16/f32).',
    )
    .argument('<in>', 'input image (.png .jpg .webp .tif .npy), or a folder (searched recursively) or a quoted glob pattern')
    .argument('<out>', 'output image (the format follows the extension); a folder when <in> is a folder or pattern')
    .option('--ext <ext>', 'with a folder or pattern as <in>: the extension (format) of each output', parseExt, '.npy')
    .option('--json', 'print one JSON object on stdout');
  addFilterOptions(cmd.addOption(maxPixelsOption()))
    .addHelpText(
      'after',
      `
Examples:
  $ kernel-learn filter photo.png gx.npy --op sobel --dx 1 --dy 0
  $ kernel-learn filter photo.png gy.png --op sobel --dx 0 --dy 1 --depth u8      # saturates like cv2.CV_8U
  $ kernel-learn filter photo.png lap.npy --op laplacian --ksize 3 --border replicate
  $ kernel-learn filter photo.png blur.tiff --op gaussian --ksize 5 --sigma 1.2
  $ kernel-learn filter photo.png sharp.npy --op kernel --kernel '[[0,-1,0],[-1,5,-1],[0,-1,0]]'
  $ kernel-learn filter photos/ edges/ --op sobel --dx 1 --dy 0             # every image under photos/ -> edges/<stem>.npy
  $ kernel-learn filter 'shots/*.png' blurred/ --op gaussian --ksize 5 --depth u8 --ext .png
  $ kernel-learn filter photo.png gx.npy --op sobel --dx 1 --dy 0 --json`,
    )
    .action(async (input: string, output: string, flags: FilterFlags & { maxPixels?: number; ext: string; json?: boolean }) => {
      const spec = filterSpecFromFlags(flags);
      const filterOne = async (from: string, to: string) => {
        const image = await readImage(from, { maxPixels: flags.maxPixels, onNotice: notice });
        const result = applyFilter(image, spec);
        await writeImage(to, result);
        if (!flags.json) notice(`${to}: ${describeFilter(spec)}, ${result.width}x${result.height}x${result.channels} ${result.depth}`);
        return { input: from, output: to, width: result.width, height: result.height, channels: result.channels, depth: result.depth };
      };
      const pairs = await expandInputs(input, output, flags.ext);
      if (pairs === null) {
        const r = await filterOne(input, output);
        if (flags.json) process.stdout.write(JSON.stringify({ ...r, filter: describeFilter(spec) }) + '\n');
        return;
      }
      await makeOutputFolders(pairs);
      const files = [];
      for (const p of pairs) files.push(await filterOne(p.input, p.output));
      if (flags.json) process.stdout.write(JSON.stringify({ output, filter: describeFilter(spec), files }) + '\n');
      else notice(`${output}: ${files.length} image${files.length === 1 ? '' : 's'} filtered`);
    });
}

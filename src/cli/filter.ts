import type { Command } from 'commander';
import { applyFilter, describeFilter } from '../filters/ops.js';
import { readImage, writeImage } from '../io/index.js';
import { addFilterOptions, addMaxPixelsOption, filterSpecFromFlags, type FilterFlags } from './options.js';
import { notice } from './print.js';

export function register(program: Command): void {
  const cmd = program
    .command('filter')
    .summary('apply a reference filter (OpenCV semantics) to one image')
    .description(
      'Apply a reference filter to one image, exactly as OpenCV would (cv2.Sobel, cv2.Scharr, cv2.Laplacian, ' +
        'cv2.GaussianBlur, cv2.blur, cv2.filter2D). Colour images are filtered per channel. The output ' +
        'format follows the extension of <out> (.npy holds every depth; .png u8/u16; .tiff u8/u16/f32).',
    )
    .argument('<in>', 'input image (.png .jpg .webp .tif .npy)')
    .argument('<out>', 'output image; the format follows the extension');
  addMaxPixelsOption(addFilterOptions(cmd))
    .addHelpText(
      'after',
      `
Examples:
  $ kernel-learn filter photo.png gx.npy --op sobel --dx 1 --dy 0
  $ kernel-learn filter photo.png gy.png --op sobel --dx 0 --dy 1 --depth u8      # saturates like cv2.CV_8U
  $ kernel-learn filter photo.png lap.npy --op laplacian --ksize 3 --border replicate
  $ kernel-learn filter photo.png blur.tiff --op gaussian --ksize 5 --sigma 1.2
  $ kernel-learn filter photo.png sharp.npy --op kernel --kernel '[[0,-1,0],[-1,5,-1],[0,-1,0]]'`,
    )
    .action(async (input: string, output: string, flags: FilterFlags & { maxPixels?: number }) => {
      const spec = filterSpecFromFlags(flags);
      const image = await readImage(input, { maxPixels: flags.maxPixels, onNotice: notice });
      const result = applyFilter(image, spec);
      await writeImage(output, result);
      notice(`${output}: ${describeFilter(spec)}, ${result.width}x${result.height}x${result.channels} ${result.depth}`);
    });
}

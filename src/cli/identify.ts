import type { Command } from 'commander';
import { loadPairs } from '../data/dataset.js';
import { UsageError } from '../errors.js';
import { identifyKernel, identifyPairs, type IdentifiedCall, type KernelIdentifyResult, type IdentifyResult } from '../identify/index.js';
import { formatGrid, loadModelFile, maxPixelsOption, notice } from './shared.js';

interface IdentifyFlags {
  input?: string;
  target?: string;
  json?: boolean;
  maxPixels?: number;
}

const NO_IMAGES = 'no images to re-filter: the calls are compared by kernel (largest tap difference), not proven';

export function register(program: Command): void {
  program
    .command('identify')
    .summary('name the library call that made a set of targets, proven by re-filtering')
    .description(
      'Name the call that made the targets from the inputs, in the syntax of the library it matches (OpenCV, ' +
        'scipy.ndimage, skimage.filters, Pillow, ImageMagick), and prove it: every input is filtered again with that ' +
        'call exactly (its dtype, rounding and border) and compared with its target. Parameters are searched: ' +
        'discrete ones enumerated, continuous ones (sigma, radius, scale, delta) fitted. A call is named when it ' +
        're-makes at least 99.9% of the target samples; otherwise the closest calls and the learned kernel are shown.\n\n' +
        'With a model file instead of folders, its kernel is compared with each call\'s kernel (there are no images to re-filter).',
    )
    .argument('[model.json]', 'a model written by kernel-learn train (instead of --input/--target)')
    .option('--input <dir>', 'folder of input images')
    .option('--target <dir>', 'folder of target images, paired with the inputs by file name')
    .option('--json', 'print one JSON object on stdout')
    .addOption(maxPixelsOption())
    .addHelpText(
      'after',
      `
Examples:
  $ kernel-learn identify --input photos/ --target edges/
  $ kernel-learn identify --input photos/ --target blurred/ --json | jq .best.call
  $ kernel-learn identify sobel.json`,
    )
    .action(async (model: string | undefined, flags: IdentifyFlags) => {
      if (model !== undefined && (flags.input !== undefined || flags.target !== undefined)) {
        throw new UsageError('identify takes either a model file or --input and --target, not both');
      }
      if (model !== undefined) return identifyModel(model, flags);
      if (flags.input === undefined || flags.target === undefined) {
        throw new UsageError(`identify needs --input DIR and --target DIR (or a model file); ${flags.input === undefined ? '--input' : '--target'} is missing`);
      }
      const pairs = await loadPairs(flags.input, flags.target, { maxPixels: flags.maxPixels, onNotice: notice });
      const result = identifyPairs(pairs);
      process.stdout.write(flags.json ? JSON.stringify(result) + '\n' : describePairsResult(result, pairs.length));
    });
}

async function identifyModel(file: string, flags: IdentifyFlags): Promise<void> {
  const model = await loadModelFile(file);
  // Read defensively: only the dtypes are needed, and the record's other fields may change.
  const training = (model as { training?: { inputDepth?: string; targetDepth?: string } }).training;
  const result = identifyKernel(model, { input: training?.inputDepth, target: training?.targetDepth });
  process.stdout.write(flags.json ? JSON.stringify({ ...result, note: NO_IMAGES }) + '\n' : describeKernelResult(result, file));
}

/** A share as a percentage that never rounds up to 100%. */
function percent(fraction: number): string {
  if (fraction >= 1) return '100%';
  const p = Math.floor(fraction * 10000) / 100;
  return `${p}%`;
}

function error(v: number): string {
  return String(Number(v.toPrecision(2)));
}

function callLine(c: IdentifiedCall): string {
  return `${c.call}  matches ${percent(c.fraction)} of pixels (max error ${error(c.maxAbsError)})`;
}

function describePairsResult(r: IdentifyResult, pairs: number): string {
  const lines: string[] = [];
  if (r.best) {
    const exact = r.candidates.filter((c) => c.fraction >= r.best!.fraction && c.maxAbsError <= r.best!.maxAbsError);
    lines.push(...r.candidates.slice(0, Math.max(5, exact.length)).map(callLine));
    if (exact.length > 1) lines.push(`(${exact.length} calls re-make the targets equally well: the ${pairs} pairs cannot tell them apart)`);
  } else {
    lines.push(`no known call: none re-makes 99.9% of the target pixels of the ${pairs} pairs; the closest:`);
    lines.push(...r.candidates.slice(0, 3).map((c) => '  ' + callLine(c)));
    if (r.learned) {
      lines.push(`the learned kernel (exact least squares), bias ${error(r.learned.bias)}:`);
      lines.push(formatGrid(r.learned.kernel));
      const f = r.learned.filter2D;
      if (f) lines.push(`cv2.filter2D with this kernel (a free kernel, not a named call) re-makes ${percent(f.fraction)} of pixels (max error ${error(f.maxAbsError)})`);
    }
  }
  return lines.join('\n') + '\n';
}

function describeKernelResult(r: KernelIdentifyResult, file: string): string {
  const lines = [`${file}: ${NO_IMAGES}`];
  if (!r.best) lines.push('no known call has this kernel (no tap within 1% of the largest); the closest:');
  for (const m of r.candidates.slice(0, 5)) lines.push(`${r.best ? '' : '  '}${m.call}  largest tap difference ${error(m.maxTapError)} (bias difference ${error(m.biasError)})`);
  if (!r.best) {
    lines.push(`the model's kernel, bias ${error(r.bias)}:`);
    lines.push(formatGrid(r.kernel));
  }
  return lines.join('\n') + '\n';
}

import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadPairs } from '../data/dataset.js';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { computeStats, shardOf } from '../train/stats.js';
import { encodeStats, mergeStats, type StatsFile } from '../train/stats-file.js';
import { loadStatsFiles, maxPixelsOption, notice, parseKsize, parsePositiveInteger } from './shared.js';

interface StatsFlags {
  input?: string;
  target?: string;
  out: string;
  ksize?: number | [number, number] | 'auto';
  autoMax?: number;
  shard?: { index: number; count: number };
  validation?: boolean;
  merge?: string[];
  align: 'auto' | 'off';
  maxPixels?: number;
  json?: boolean;
}

/** "i/n", 0 <= i < n: shard i of n (0-based, as a Kubernetes Indexed Job's JOB_COMPLETION_INDEX). */
function parseShard(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = Number(m?.[1]), count = Number(m?.[2]);
  if (!m || !(count >= 1 && index < count)) throw new InvalidArgumentError(`--shard ${value}: give i/n with 0 <= i < n (shard 0/4 is the first of four).`);
  return { index, count };
}

/** An odd size >= 1 for --auto-max (the sizes --ksize auto tries are odd). */
function parseAutoMax(value: string): number {
  const n = parsePositiveInteger(value);
  if (n % 2 === 0) throw new InvalidArgumentError(`--auto-max ${value}: --ksize auto tries odd sizes; give an odd one (e.g. ${n + 1}).`);
  return parseKsize(value) as number; // the same upper limit as --ksize
}

export function register(program: Command): void {
  program
    .command('stats')
    .summary('compute (or merge) the statistics of image pairs, to train past one machine')
    .description(
      'Compute the sufficient statistics of the exact fit (X^T X, X^T y, y^T y of the valid-region windows) of input/target pairs, ' +
        'or of one shard of them, into a versioned statistics file (safetensors, float64): statistics add up, so shards computed ' +
        'anywhere merge exactly (stats --merge, or train --stats) and one solve learns from all of them. See docs/scale.md.',
    )
    .option('--input <dir>', 'folder of input images')
    .option('--target <dir>', 'folder of target images (same stems as the inputs)')
    .requiredOption('--out <file.stats>', 'where to write the statistics')
    .option('--ksize <n|HxW>', 'the kernel size the statistics are for (train --stats fits it, or any smaller size)', parseKsize)
    .option('--auto-max <n>', 'statistics for train --ksize auto, up to an n x n kernel (odd; default 9, the first size train --ksize auto grows to)', parseAutoMax)
    .option('--shard <i/n>', 'only shard i of n (0-based): a stable split of the stems, in the order train reads them (input files sorted by path), into n contiguous blocks', parseShard)
    .option('--validation', 'mark the statistics as held-out: train --stats reports its validation metrics on them')
    .option('--merge <files...>', 'add statistics files instead (same kernel size, channels, convention, alignment, role), e.g. for a tree of reductions')
    .addOption(maxPixelsOption())
    .addOption(new Option('--align <mode>', 'auto: align targets of another size or place (as train does); off: targets must have their inputs\' size').choices(['auto', 'off']).default('auto'))
    .option('--json', 'print one JSON object describing the file on stdout')
    .addHelpText(
      'after',
      `
Examples:
  $ kernel-learn stats --input in/ --target out/ --out all.stats --ksize 3
  $ seq 0 7 | xargs -P 4 -I{} kernel-learn stats --input in/ --target out/ --shard {}/8 --auto-max 9 --out shard-{}.stats
  $ kernel-learn stats --merge shard-0.stats shard-1.stats --out part-01.stats
  $ kernel-learn train --stats shard-*.stats --out model.json`,
    )
    .action(async (flags: StatsFlags) => {
      const file = flags.merge ? await merged(flags) : await computed(flags);
      const bytes = encodeStats(file);
      await writeFileAtomic(flags.out, bytes);
      const h = file.header;
      if (flags.json) {
        process.stdout.write(JSON.stringify({ out: flags.out, bytes: bytes.length, ...h }, null, 2) + '\n');
        return;
      }
      const shards = h.shards.count > 1 ? ` (shard${h.shards.indices.length > 1 ? 's' : ''} ${h.shards.indices.join(',')} of ${h.shards.count})` : '';
      process.stdout.write(
        `${h.role === 'validation' ? 'held-out ' : ''}statistics of ${h.pairs} pairs${shards} for a ${h.kh}x${h.kw} kernel${h.ksize === 'auto-max' ? ' (--ksize auto up to it)' : ''}: ` +
          `${h.rows} valid pixels, ${h.cin} -> ${h.cout} channels, ${bytes.length} bytes written to ${path.resolve(flags.out)}\n`,
      );
    });
}

/** The statistics of the pairs (or of one shard of them). */
async function computed(flags: StatsFlags): Promise<StatsFile> {
  if (!flags.input || !flags.target) throw new UsageError('stats needs --input and --target (or --merge FILES...)');
  if (flags.ksize !== undefined && flags.autoMax !== undefined) throw new UsageError('give --ksize or --auto-max, not both');
  if (flags.ksize === 'auto') throw new UsageError('--ksize auto: use --auto-max N, the largest size train --ksize auto will try');
  const [kh, kw] = flags.ksize === undefined ? [flags.autoMax ?? 9, flags.autoMax ?? 9] : typeof flags.ksize === 'number' ? [flags.ksize, flags.ksize] : flags.ksize;
  const shard = flags.shard ?? { index: 0, count: 1 };
  const pairs = await loadPairs(flags.input, flags.target, { maxPixels: flags.maxPixels, onNotice: notice, sizes: 'any', pick: (stems) => shardOf(stems, shard.index, shard.count) });
  return computeStats(pairs, { kh, kw, ksize: flags.ksize === undefined ? 'auto-max' : 'fixed', role: flags.validation ? 'validation' : 'train', shard, align: flags.align });
}

/** The sum of statistics files, in the order given. */
async function merged(flags: StatsFlags): Promise<StatsFile> {
  const conflicting = (['input', 'target', 'ksize', 'autoMax', 'shard', 'validation'] as const).filter((k) => flags[k] !== undefined);
  if (conflicting.length > 0) throw new UsageError(`--merge adds statistics files as they are; leave out --${conflicting[0].replace('autoMax', 'auto-max')}`);
  return mergeStats(await loadStatsFiles(flags.merge!));
}

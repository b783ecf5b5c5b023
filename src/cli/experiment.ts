/**
 * `kernel-learn experiment <name>`: run one of the experiments behind docs/answers.md and print its
 * table (markdown) or, with --json, the table and the claims the doc states.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';

type Experiments = typeof import('../experiments/index.js');
let loaded: Experiments | undefined;

/**
 * Loads the experiments (they pull in the trainer and every benchmark) only when the command line
 * names this command, so that other commands and `--help` start without them. main() awaits this
 * before registering the commands.
 */
export async function prepare(argv: string[]): Promise<void> {
  if (argv.includes('experiment')) loaded = await import('../experiments/index.js');
}

export function register(program: Command): void {
  const names = loaded ? loaded.EXPERIMENTS.map((e) => e.name) : ['(run "kernel-learn experiment list")'];
  program
    .command('experiment')
    .summary('rerun an experiment behind docs/answers.md and print its table')
    .description(`Run one of the experiments that answer the brief's questions (docs/answers.md) and print the\nmeasured table as markdown. Experiments: ${names.join(', ')}.`)
    .argument('<name>', `one of: ${names.join(', ')} (or "list")`)
    .option('--quick', 'smaller sizes and fewer seeds (a few seconds each; what the tests run)')
    .option('--json', 'print one JSON object on stdout: name, question, table, claims')
    .option('--record <file.json>', 'also write a run record (the result, machine, versions, load, date): what docs/answers.md is generated from')
    .addHelpText('after', '\nExamples:\n  $ kernel-learn experiment list\n  $ kernel-learn experiment fully-convolutional\n  $ kernel-learn experiment edges --quick --json')
    .action(async (name: string, flags: { quick?: boolean; json?: boolean; record?: string }) => {
      const { EXPERIMENTS, findExperiment, markdownTable, recordRun } = loaded ?? (await import('../experiments/index.js'));
      if (name === 'list') {
        for (const e of EXPERIMENTS) process.stdout.write(`${e.name}: ${e.question}\n`);
        return;
      }
      const exp = findExperiment(name);
      if (!exp) throw new UsageError(`unknown experiment "${name}"; choose one of: ${EXPERIMENTS.map((e) => e.name).join(', ')}`);
      const record = await recordRun(exp, flags.quick === true, process.cwd());
      const { seconds, table, claims, notes } = record;
      const result = { table, claims, notes };
      if (flags.record) await writeFileAtomic(flags.record, JSON.stringify(record, null, 2) + '\n');
      if (flags.json) {
        process.stdout.write(JSON.stringify({ name: exp.name, question: exp.question, quick: flags.quick === true, seconds, ...result }, null, 2) + '\n');
        return;
      }
      const out = process.stdout;
      out.write(`## ${exp.name}${flags.quick ? ' (--quick)' : ''}\n\n${exp.question}\n\n`);
      out.write(markdownTable(result.table));
      for (const n of result.notes ?? []) out.write(`\n${n}\n`);
      out.write(`\n(${seconds.toFixed(1)} s)\n`);
    });
}

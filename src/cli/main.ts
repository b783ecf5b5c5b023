#!/usr/bin/env node
/**
 * The kernel-learn command line: a thin shell over the library. Each command lives in its own
 * file under src/cli/ and exports `register(program)`; this file only wires them up and turns
 * errors into one line and an exit code.
 */
import { Command, CommanderError } from 'commander';
import { KernelLearnError } from '../errors.js';
import { KERNEL_LEARN_VERSION } from '../nn/model.js';
import { commandsFor } from './commands.js';
import { prepare as prepareExperiments } from './experiment.js';

export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const program = new Command('kernel-learn')
    .description('Learn image filters (Sobel, any kernel) from example image pairs.')
    .option('--debug', 'show stack traces on errors')
    // "kernel-learn 0.1.0", as the model files' createdBy and `rg --version`, `uv --version` say it.
    .version(`kernel-learn ${KERNEL_LEARN_VERSION}`, '-V, --version', 'print the version and exit')
    .exitOverride();
  // Usage errors in the same one-line form as every other error: `kernel-learn: error: ...`.
  program.configureOutput({
    outputError: (str, write) => write(`kernel-learn: ${str.trimEnd().replace(/\n+/g, ' ')} (run with --help for usage)\n`),
  });
  await prepareExperiments(argv);
  const modules = await Promise.all(commandsFor(argv).map((c) => c.load()));
  for (const m of modules) m.register(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    return reportError(err, debug);
  }
}

function reportError(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (help, version or a usage error).
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return 0;
    return 2;
  }
  if (err instanceof KernelLearnError) {
    // One line, always: a message may quote a file's contents or a library's multi-line text.
    process.stderr.write(`kernel-learn: error: ${err.message.replace(/\s*[\r\n]+\s*/g, ' ').trim()}\n`);
    if (debug && err.stack) process.stderr.write(err.stack + '\n');
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`kernel-learn: error: ${message.split('\n')[0]}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  else process.stderr.write('kernel-learn: (run with --debug for the stack trace; this looks like a bug, please report it)\n');
  return 1;
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${(await import('node:fs')).realpathSync(process.argv[1])}`).href;
if (invokedDirectly) {
  // A reader that stops early (`kernel-learn inspect m.json | head`) closes the pipe: that is the
  // reader's choice, not an error, so end quietly as other command-line tools do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

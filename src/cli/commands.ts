/**
 * Every CLI command, in the order `--help` lists them. To add one, write src/cli/<name>.ts that
 * exports `register(program: Command)` and list it here with its command name. Command modules
 * are imported on demand: a run that names one command loads only that one (see main.ts), so
 * `train` does not pay for the modules of `apply`, `demo` or `export`.
 */
import type { Command } from 'commander';

export interface CommandEntry {
  /** The name the module registers (`program.command(name)`). */
  name: string;
  load: () => Promise<{ register(program: Command): void }>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'demo', load: () => import('./demo.js') },
  { name: 'dataset', load: () => import('./dataset.js') },
  { name: 'filter', load: () => import('./filter.js') },
  { name: 'train', load: () => import('./train.js') },
  { name: 'stats', load: () => import('./stats.js') },
  { name: 'apply', load: () => import('./apply.js') },
  { name: 'inspect', load: () => import('./inspect.js') },
  { name: 'identify', load: () => import('./identify.js') },
  { name: 'export', load: () => import('./export.js') },
  { name: 'experiment', load: () => import('./experiment.js') },
];

/**
 * The commands to register for `argv`: just the named one when the first word that is not an
 * option names a command (the global options, --debug and --version, take no value); none for
 * `--version` alone (it prints before any command runs, so loading them would only delay it);
 * otherwise (help, no command, a mistyped one, so that commander can suggest) all of them.
 */
export function commandsFor(argv: string[]): CommandEntry[] {
  const word = argv.find((a) => !a.startsWith('-'));
  if (word === undefined && argv.some((a) => a === '--version' || a === '-V') && !argv.some((a) => a === '--help' || a === '-h')) return [];
  const named = COMMANDS.filter((c) => c.name === word);
  return named.length > 0 ? named : COMMANDS;
}

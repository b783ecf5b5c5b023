/**
 * Every CLI command, in the order `--help` lists them. To add one, write src/cli/<name>.ts that
 * exports `register(program: Command)` and list it here.
 */
import type { Command } from 'commander';
import { register as apply } from './apply.js';
import { register as dataset } from './dataset.js';
import { register as demo } from './demo.js';
import { register as filter } from './filter.js';
import { register as experiment } from './experiment.js';
import { register as exportModel } from './export.js';
import { register as inspect } from './inspect.js';
import { register as train } from './train.js';

export const COMMANDS: Array<(program: Command) => void> = [demo, dataset, filter, train, apply, inspect, exportModel, experiment];

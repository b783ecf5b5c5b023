/**
 * Everything the CLI prints besides results goes through here: notices to stderr (so stdout stays
 * clean for --json), and a progress bar only when stderr is a terminal.
 */
import type { Model } from '../nn/model.js';
import type { FilterMatch } from '../train/match.js';

export function notice(message: string): void {
  process.stderr.write(`kernel-learn: ${message}\n`);
}

const useColour = process.stderr.isTTY && !process.env.NO_COLOR;

export function bold(s: string): string {
  return useColour ? `\x1b[1m${s}\x1b[22m` : s;
}

/** A one-line progress bar redrawn in place on a terminal; silent otherwise (logs stay clean). */
export function createProgress(label: string): { update(fraction: number, detail: string): void; done(): void } {
  if (!process.stderr.isTTY) return { update() {}, done() {} };
  let last = 0;
  return {
    update(fraction, detail) {
      const now = Date.now();
      if (now - last < 80 && fraction < 1) return; // redraw at most ~12 times a second
      last = now;
      const width = 24;
      const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${detail}\x1b[K`);
    },
    done() {
      process.stderr.write('\r\x1b[K');
    },
  };
}

/** A kernel as an aligned grid of numbers, one row a line. */
export function formatGrid(rows: number[][], indent = '  '): string {
  const cells = rows.map((r) => r.map((v) => formatTap(v)));
  const width = Math.max(...cells.flat().map((c) => c.length));
  return cells.map((r) => indent + r.map((c) => c.padStart(width)).join(' ')).join('\n');
}

/** Fixed six decimals, so columns line up and a learned 0.9999998 is not dressed up as 1. */
export function formatTap(v: number): string {
  const s = v.toFixed(6);
  return s === '-0.000000' ? '0.000000' : s;
}

/** Every kernel of every convolution in a model, labelled "out <- in" when there are several. */
export function formatKernels(model: Model): string {
  const parts: string[] = [];
  for (const [i, layer] of model.layers.entries()) {
    if (layer.type !== 'conv2d') {
      parts.push(`layer ${i}: ${layer.type}`);
      continue;
    }
    const many = layer.inChannels * layer.outChannels > 1;
    parts.push(`layer ${i}: conv2d ${layer.kernelSize.join('x')}, ${layer.inChannels} -> ${layer.outChannels} channels`);
    for (let o = 0; o < layer.outChannels; o++) {
      for (let c = 0; c < layer.inChannels; c++) {
        if (many) parts.push(`  out ${o} <- in ${c}:`);
        parts.push(formatGrid(layer.weights[o][c], many ? '    ' : '  '));
      }
      if (layer.bias) parts.push(`  bias${many ? ` ${o}` : ''}: ${layer.bias[o].toExponential(2)}`);
    }
  }
  return parts.join('\n');
}

/**
 * The known filters a model matches, for people: a match counts when its worst tap is within 1%
 * of the kernel's largest tap; otherwise only the closest candidate is named, as not a match.
 */
export function describeMatches(model: Model, matches: FilterMatch[]): string {
  let largest = 0;
  for (const layer of model.layers) if (layer.type === 'conv2d') for (const v of layer.weights.flat(3)) largest = Math.max(largest, Math.abs(v));
  const close = matches.filter((m) => m.maxAbsError <= 0.01 * largest);
  if (close.length > 0) return close.slice(0, 3).map((m) => `matches: ${m.name}, max abs error ${m.maxAbsError.toExponential(1)}`).join('\n');
  if (matches.length === 0) return 'matches: no known filter has this shape';
  return `matches: none of the known filters (closest: ${matches[0].name}, max abs error ${matches[0].maxAbsError.toExponential(1)})`;
}

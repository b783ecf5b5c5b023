/**
 * Everything the CLI prints besides results goes through here: notices to stderr (so stdout stays
 * clean for --json), and a progress bar only when stderr is a terminal.
 */
import type { Model } from '../nn/model.js';

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

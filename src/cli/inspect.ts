import type { Command } from 'commander';
import { matchKnownFilters } from '../train/match.js';
import { describeMatches, formatKernels, formatPsnr, formatStdErrors, loadModelFile } from './shared.js';

export function register(program: Command): void {
  program
    .command('inspect')
    .summary('show the kernels of a model and the known filters they match')
    .description('Print the kernels of a learned model as grids, its border and metrics, and the known filters\n(Sobel, Scharr, Laplacian, Gaussian, box) it matches, with the largest tap error of each.')
    .argument('<model.json>', 'a model written by kernel-learn train')
    .option('--json', 'print one JSON object on stdout')
    .addHelpText('after', '\nExamples:\n  $ kernel-learn inspect sobel.json\n  $ kernel-learn inspect sobel.json --json | jq .matches')
    .action(async (file: string, flags: { json?: boolean }) => {
      const model = await loadModelFile(file);
      const matches = matchKnownFilters(model);
      if (flags.json) {
        const layers = model.layers.map((l) =>
          l.type === 'conv2d'
            ? { type: l.type, inChannels: l.inChannels, outChannels: l.outChannels, kernelSize: l.kernelSize, weights: l.weights, bias: l.bias }
            : l,
        );
        process.stdout.write(JSON.stringify({ layers, border: model.border, curves: model.training.curves ?? null, stdErrors: model.training.stdErrors ?? null, metrics: model.metrics, matches }, null, 2) + '\n');
        return;
      }
      const out = process.stdout;
      out.write(`${file}: ${model.arch} model, ${model.inputChannels} -> ${model.outputChannels} channels, border ${model.border}\n`);
      out.write(formatKernels(model) + '\n');
      if (model.training.stdErrors) out.write(formatStdErrors(model.training.stdErrors) + '\n');
      out.write(describeMatches(model, matches) + '\n');
      const v = model.metrics.validation;
      out.write(`validation: PSNR ${formatPsnr(v.psnr)}  MSE ${v.mse.toExponential(2)}  R2 ${v.r2.toFixed(9)}\n`);
    });
}

import path from 'node:path';
import { Option, type Command } from 'commander';
import { KernelLearnError, UsageError } from '../errors.js';
import { exportOnnx, onnxMinimumSize, ONNX_OPSET } from '../export/onnx.js';
import { exportSafetensors } from '../export/safetensors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { loadModelFile, notice } from './shared.js';

type Format = 'onnx' | 'safetensors';
const FORMATS: Format[] = ['onnx', 'safetensors'];

interface ExportFlags {
  format?: Format;
  out?: string;
  json?: boolean;
}

/** --format, else the extension of --out; --out, else the model's name with the format's extension. */
function resolveTarget(model: string, flags: ExportFlags): { format: Format; out: string } {
  const ext = flags.out ? path.extname(flags.out).slice(1).toLowerCase() : '';
  const format = flags.format ?? (FORMATS as string[]).find((f) => f === ext) as Format | undefined;
  if (!format) {
    throw new UsageError(`cannot tell the format from ${flags.out ? `"${flags.out}"` : 'the arguments'}; give --format onnx or --format safetensors`);
  }
  const out = flags.out ?? path.join(path.dirname(model), `${path.basename(model, path.extname(model))}.${format}`);
  return { format, out };
}

export function register(program: Command): void {
  program
    .command('export')
    .summary('export a learned model to ONNX or safetensors (PyTorch)')
    .description(
      'Export a model for other runtimes (docs/export.md). ' +
        'onnx: a graph from "input" float32 [N, C, H, W] (any N, H, W) to "output" ' +
        `[N, Cout, H, W], the model's border as padding before each Conv (opset ${ONNX_OPSET}). ` +
        'safetensors: the conv weights, "weight" [out, in, kh, kw] and "bias" for a ' +
        'one-conv model, as torch.nn.Conv2d loads them; the border is in the metadata.',
    )
    .argument('<model>', 'a model written by kernel-learn train')
    .addOption(new Option('--format <format>', 'the file format (default: from the extension of --out)').choices(FORMATS))
    .option('--out <path>', "output file (default: the model's name with .onnx or .safetensors)")
    .option('--json', 'print one JSON object on stdout')
    .addHelpText(
      'after',
      `
Examples:
  $ kernel-learn export sobel.json --format onnx --out sobel.onnx
  $ kernel-learn export sobel.json --out sobel.safetensors
  $ kernel-learn export sobel.json --format onnx          # writes sobel.onnx beside sobel.json
  $ kernel-learn export sobel.json --out sobel.onnx --json`,
    )
    .action(async (modelFile: string, flags: ExportFlags) => {
      const { format, out } = resolveTarget(modelFile, flags);
      const model = await loadModelFile(modelFile);
      const bytes = format === 'onnx' ? exportOnnx(model) : exportSafetensors(model);
      try {
        await writeFileAtomic(out, bytes);
      } catch (e) {
        // writeFileAtomic already says which folder is missing (or what else) and what to do.
        if (e instanceof KernelLearnError) throw new KernelLearnError(`${out}: cannot write the ${format} file: ${e.message.replace(`cannot write ${out}: `, '')}`);
        throw new KernelLearnError(`${out}: cannot write the ${format} file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check that the folder exists and is writable`);
      }
      if (flags.json) {
        const minimumSize = format === 'onnx' ? onnxMinimumSize(model) : null;
        process.stdout.write(JSON.stringify({ output: out, format, bytes: bytes.length, border: model.border, minimumSize }) + '\n');
      } else if (format === 'onnx') {
        const min = onnxMinimumSize(model);
        const exactness = min.height > 1 || min.width > 1 ? `; exact for images of at least ${min.width}x${min.height} (width x height)` : '';
        notice(`${out}: ONNX opset ${ONNX_OPSET}, border ${model.border}${exactness}, ${bytes.length} bytes`);
      } else {
        notice(`${out}: safetensors, border ${model.border} in the metadata, ${bytes.length} bytes`);
      }
    });
}

/**
 * The CLI as a user runs it: the built binary on real files in a temporary folder, checking
 * outputs, exit codes and the one-line errors.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { applyFilter } from '../src/filters/ops.js';
import { readImage } from '../src/io/index.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');

function run(args: string[], cwd?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function tmp(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'kl-cli-'));
}

test('--help lists every command, and each command has examples', () => {
  const top = run(['--help']);
  assert.equal(top.code, 0);
  for (const cmd of ['demo', 'dataset', 'filter', 'train', 'apply', 'inspect']) {
    assert.match(top.stdout, new RegExp(`\\b${cmd}\\b`));
    const help = run([cmd, '--help']);
    assert.equal(help.code, 0, `${cmd} --help`);
    assert.match(help.stdout, /Examples:/, `${cmd} --help has examples`);
  }
});

test('--version and -V print "kernel-learn <version>": package.json\'s version, the one model files record', () => {
  const pkg = JSON.parse(readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = run([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `kernel-learn ${pkg.version}\n`);
    assert.equal(r.stderr, '');
  }
  assert.match(run(['--help']).stdout, /-V, --version/);
  const dir = tmp();
  const data = path.join(dir, 'data');
  assert.equal(run(['dataset', '--synthetic', '1', '--size', '32x32', '--out', data]).code, 0);
  const model = path.join(dir, 'm.json');
  assert.equal(run(['train', '--input', path.join(data, 'input'), '--target', path.join(data, 'target'), '--out', model, '--ksize', '3', '--no-report']).code, 0);
  assert.equal(JSON.parse(readFileSync(model, 'utf8')).createdBy, `kernel-learn ${pkg.version}`);
});

test('dataset -> train -> inspect -> apply recovers Sobel dx end to end', () => {
  const dir = tmp();
  const data = path.join(dir, 'data');
  const made = run(['dataset', '--synthetic', '3', '--size', '96x80', '--seed', '5', '--out', data, '--op', 'sobel', '--dx', '1', '--dy', '0', '--json']);
  assert.equal(made.code, 0, made.stderr);
  const summary = JSON.parse(made.stdout);
  assert.equal(summary.pairs, 3);
  assert.deepEqual(readdirSync(path.join(data, 'input')).sort(), ['synthetic-0.png', 'synthetic-1.png', 'synthetic-2.png']);
  assert.deepEqual(readdirSync(path.join(data, 'target')).sort(), ['synthetic-0.npy', 'synthetic-1.npy', 'synthetic-2.npy']);

  const model = path.join(dir, 'sobel.json');
  const trained = run(['train', '--input', path.join(data, 'input'), '--target', path.join(data, 'target'), '--out', model, '--json']);
  assert.equal(trained.code, 0, trained.stderr);
  const result = JSON.parse(trained.stdout);
  for (const key of ['model', 'arch', 'kernelSize', 'solver', 'steps', 'trainMs', 'border', 'validation', 'warnings']) assert.ok(key in result, key);
  assert.deepEqual(result.kernelSize, [3, 3]);
  assert.equal(result.solver, 'exact');
  assert.equal(result.border, 'reflect101');
  assert.ok(result.validation.psnr === null || result.validation.psnr >= 80, `psnr ${result.validation.psnr}`);

  const inspected = run(['inspect', model, '--json']);
  assert.equal(inspected.code, 0, inspected.stderr);
  const info = JSON.parse(inspected.stdout);
  assert.equal(info.border, 'reflect101');
  assert.equal(info.layers[0].type, 'conv2d');
  assert.equal(info.matches[0].name, 'sobel dx=1 dy=0 ksize=3');
  assert.ok(info.matches[0].maxAbsError <= 1e-4);
  const text = run(['inspect', model]);
  assert.match(text.stdout, /sobel dx=1 dy=0 ksize=3/);
});

test('apply runs a model on odd sizes and matches the reference filter', async () => {
  const dir = tmp();
  const data = path.join(dir, 'data');
  assert.equal(run(['dataset', '--synthetic', '2', '--size', '64x64', '--out', data, '--op', 'sobel', '--dx', '0', '--dy', '1']).code, 0);
  const model = path.join(dir, 'm.json');
  assert.equal(run(['train', '--input', path.join(data, 'input'), '--target', path.join(data, 'target'), '--out', model]).code, 0);
  for (const size of ['1x1', '1x9', '9x1', '37x23']) {
    const made = path.join(dir, `img-${size}`);
    assert.equal(run(['dataset', '--synthetic', '1', '--size', size, '--seed', '9', '--out', made, '--op', 'sobel']).code, 0);
    const input = path.join(made, 'input', 'synthetic-0.png');
    const outFile = path.join(dir, `out-${size}.npy`);
    const applied = run(['apply', '--model', model, input, outFile]);
    assert.equal(applied.code, 0, applied.stderr);
    const got = await readImage(outFile);
    const want = applyFilter(await readImage(input), { op: 'sobel', dx: 0, dy: 1, ksize: 3 });
    assert.equal(got.width, want.width);
    assert.equal(got.height, want.height);
    for (let i = 0; i < want.data.length; i++) assert.ok(Math.abs(got.data[i] - want.data[i]) <= 1e-3, `${size} pixel ${i}: ${got.data[i]} vs ${want.data[i]}`);
  }
});

test('filter writes the format of the output extension and refuses impossible ones', () => {
  const dir = tmp();
  const data = path.join(dir, 'd');
  assert.equal(run(['dataset', '--synthetic', '1', '--size', '20x10', '--out', data, '--op', 'box']).code, 0);
  const input = path.join(data, 'input', 'synthetic-0.png');
  assert.equal(run(['filter', input, path.join(dir, 'a.png'), '--op', 'sobel', '--depth', 'u8']).code, 0);
  assert.equal(run(['filter', input, path.join(dir, 'a.tiff'), '--op', 'gaussian', '--ksize', '5', '--sigma', '1.5']).code, 0);
  const bad = run(['filter', input, path.join(dir, 'b.png'), '--op', 'sobel', '--depth', 'f32']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^kernel-learn: error: .*b\.png.*\n$/);
  assert.ok(!existsSync(path.join(dir, 'b.png')));
});

test('filter and dataset take --border wrap (periodic: OpenCV after copyMakeBorder(BORDER_WRAP))', async () => {
  const dir = tmp();
  const data = path.join(dir, 'd');
  const made = run(['dataset', '--synthetic', '2', '--size', '24x16', '--out', data, '--op', 'gaussian', '--ksize', '5', '--sigma', '1.2', '--border', 'wrap', '--json']);
  assert.equal(made.code, 0, made.stderr);
  assert.match(JSON.parse(made.stdout).filter, /border=wrap/);
  const input = path.join(data, 'input', 'synthetic-0.png');
  const out = path.join(dir, 'gx.npy');
  const filtered = run(['filter', input, out, '--op', 'sobel', '--dx', '1', '--dy', '0', '--border', 'wrap']);
  assert.equal(filtered.code, 0, filtered.stderr);
  const image = await readImage(input);
  assert.deepEqual(Array.from((await readImage(out)).data), Array.from(applyFilter(image, { op: 'sobel', dx: 1, dy: 0, border: 'wrap' }).data));
  const target = await readImage(path.join(data, 'target', 'synthetic-0.npy'));
  assert.deepEqual(Array.from(target.data), Array.from(applyFilter(image, { op: 'gaussian', ksize: 5, sigma: 1.2, border: 'wrap' }).data));
});

test('apply streaming an image draws a progress bar on a terminal, and nothing into a log', { skip: existsSync('/usr/bin/script') ? false : 'needs script(1) (util-linux) for a pseudo-terminal' }, () => {
  const dir = tmp();
  const data = path.join(dir, 'd');
  assert.equal(run(['dataset', '--synthetic', '1', '--size', '64x48', '--out', data]).code, 0);
  const model = path.join(dir, 'm.json');
  assert.equal(run(['train', '--input', path.join(data, 'input'), '--target', path.join(data, 'target'), '--out', model, '--ksize', '3', '--no-report']).code, 0);
  const args = ['apply', '--model', model, path.join(data, 'input', 'synthetic-0.png'), path.join(dir, 'out.npy'), '--band-rows', '8'];
  const logged = run(args);
  assert.equal(logged.code, 0, logged.stderr);
  assert.equal(logged.stderr, `kernel-learn: ${path.join(dir, 'out.npy')}: 64x48x1 f32 (streamed in bands)\n`);
  // script(1) runs the command on a pseudo-terminal: stderr is a TTY there, as in a shell.
  const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const tty = spawnSync('/usr/bin/script', ['-qec', [process.execPath, BIN, ...args].map(quote).join(' '), '/dev/null'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(tty.status, 0, tty.stdout + tty.stderr);
  assert.match(tty.stdout, /\rapply \[#{24}\] 100% {2}12 kB of 12 kB/, JSON.stringify(tty.stdout));
  assert.match(tty.stdout, /\r\x1b\[K/, 'the bar is cleared at the end');
});

test('bad input: one line naming the file, exit 1; bad usage: exit 2; no stack trace', () => {
  const dir = tmp();
  const missing = run(['filter', path.join(dir, 'nope.png'), path.join(dir, 'out.npy'), '--op', 'sobel']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^kernel-learn: error: .*nope\.png/);
  assert.doesNotMatch(missing.stderr, /\n\s+at /);
  const fake = path.join(dir, 'fake.png');
  writeFileSync(fake, 'this is not a png');
  const notPng = run(['filter', fake, path.join(dir, 'out.npy')]);
  assert.equal(notPng.code, 1);
  assert.match(notPng.stderr, /fake\.png/);
  assert.equal(run(['filter', fake, path.join(dir, 'o.npy'), '--border', 'mirror']).code, 2);
  assert.equal(run(['filter', fake, path.join(dir, 'o.npy'), '--op', 'median']).code, 2);
  assert.equal(run(['train', '--input', dir]).code, 2);
  assert.equal(run(['bogus-command']).code, 2);
  const badModel = path.join(dir, 'model.json');
  writeFileSync(badModel, '{"format":"something-else"}');
  const r = run(['apply', '--model', badModel, fake, path.join(dir, 'o.npy')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /model\.json/);
  assert.equal(readFileSync(badModel, 'utf8'), '{"format":"something-else"}');
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
});

test('unpaired stems and size mismatches are refused with the file named', () => {
  const dir = tmp();
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  assert.equal(run(['dataset', '--synthetic', '2', '--size', '16x16', '--out', a, '--op', 'sobel']).code, 0);
  assert.equal(run(['dataset', '--synthetic', '1', '--size', '16x12', '--out', b, '--op', 'sobel']).code, 0);
  const unpaired = run(['train', '--input', path.join(a, 'input'), '--target', path.join(b, 'target'), '--out', path.join(dir, 'm.json')]);
  assert.equal(unpaired.code, 1);
  assert.match(unpaired.stderr, /synthetic-1/);
  const c = path.join(dir, 'c');
  assert.equal(run(['dataset', '--synthetic', '1', '--size', '16x16', '--out', c, '--op', 'sobel']).code, 0);
  const mismatch = run(['train', '--input', path.join(c, 'input'), '--target', path.join(b, 'target'), '--out', path.join(dir, 'm.json')]);
  assert.equal(mismatch.code, 1);
  assert.match(mismatch.stderr, /16x12/);
  assert.ok(!existsSync(path.join(dir, 'm.json')));
});

test('Sobel dx and dy learned from photographs (exact and Adam), through the CLI', () => {
  const photos = path.resolve(path.dirname(BIN), '../../../test/fixtures/photos');
  const dir = tmp();
  for (const [dx, dy] of [[1, 0], [0, 1]]) {
    const data = path.join(dir, `d${dx}${dy}`);
    const made = run(['dataset', '--images', photos, '--out', data, '--op', 'sobel', '--dx', String(dx), '--dy', String(dy)]);
    assert.equal(made.code, 0, made.stderr);
    for (const solver of ['exact', 'adam']) {
      const model = path.join(dir, `m-${dx}${dy}-${solver}.json`);
      const r = run(['train', '--input', path.join(data, 'input'), '--target', path.join(data, 'target'), '--out', model, '--solver', solver, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout);
      assert.equal(result.border, 'reflect101', `${solver} dx=${dx}`);
      assert.equal(result.matches[0].name, `sobel dx=${dx} dy=${dy} ksize=3`);
      assert.ok(result.matches[0].maxAbsError <= 1e-4, `${solver} dx=${dx}: ${result.matches[0].maxAbsError}`);
      assert.ok(result.validation.psnr === null || result.validation.psnr >= 80, `${solver} psnr ${result.validation.psnr}`);
      assert.deepEqual(result.warnings, []);
    }
  }
});

test('a grey model applied to a colour image filters each channel, as OpenCV does', async () => {
  const dir = tmp();
  const data = path.join(dir, 'grey');
  assert.equal(run(['dataset', '--synthetic', '2', '--size', '48x40', '--out', data, '--op', 'sobel', '--dx', '1', '--dy', '1', '--ksize', '5']).code, 0);
  const model = path.join(dir, 'm.json');
  assert.equal(run(['train', '--input', path.join(data, 'input'), '--target', path.join(data, 'target'), '--out', model, '--ksize', '5']).code, 0);
  const colour = path.join(dir, 'colour');
  assert.equal(run(['dataset', '--synthetic', '1', '--channels', '3', '--size', '21x17', '--out', colour, '--op', 'box']).code, 0);
  const input = path.join(colour, 'input', 'synthetic-0.png');
  const outFile = path.join(dir, 'out.npy');
  assert.equal(run(['apply', '--model', model, input, outFile]).code, 0);
  const got = await readImage(outFile);
  const want = applyFilter(await readImage(input), { op: 'sobel', dx: 1, dy: 1, ksize: 5 });
  assert.equal(got.channels, 3);
  for (let i = 0; i < want.data.length; i++) assert.ok(Math.abs(got.data[i] - want.data[i]) <= 1e-3 * (1 + Math.abs(want.data[i])), `pixel ${i}`);
});

test('--json on filter, apply and export; folders and quoted globs as inputs', async () => {
  const dir = tmp();
  const data = path.join(dir, 'data');
  assert.equal(run(['dataset', '--synthetic', '2', '--size', '24x18', '--out', data, '--op', 'sobel', '--dx', '1', '--dy', '0']).code, 0);
  const input = path.join(data, 'input');
  const model = path.join(dir, 'm.json');
  assert.equal(run(['train', '--input', input, '--target', path.join(data, 'target'), '--out', model]).code, 0);
  const one = path.join(input, 'synthetic-0.png');

  const filtered = run(['filter', one, path.join(dir, 'f.npy'), '--json']);
  assert.equal(filtered.code, 0, filtered.stderr);
  assert.deepEqual(JSON.parse(filtered.stdout), { input: one, output: path.join(dir, 'f.npy'), width: 24, height: 18, channels: 1, depth: 'f32', filter: 'sobel dx=1 dy=0 ksize=3' });
  const applied = run(['apply', '--model', model, one, path.join(dir, 'a.npy'), '--json']);
  assert.equal(applied.code, 0, applied.stderr);
  assert.deepEqual(JSON.parse(applied.stdout), { output: path.join(dir, 'a.npy'), model, width: 24, height: 18, channels: 1, depth: 'f32', streamed: false });
  const exported = run(['export', model, '--out', path.join(dir, 'm.onnx'), '--json']);
  assert.equal(exported.code, 0, exported.stderr);
  const e = JSON.parse(exported.stdout);
  assert.equal(e.output, path.join(dir, 'm.onnx'));
  assert.equal(e.format, 'onnx');
  assert.equal(e.bytes, readFileSync(path.join(dir, 'm.onnx')).length);
  assert.ok(e.minimumSize.width >= 1 && e.minimumSize.height >= 1);

  // A folder (recursive, stems and subfolders kept) and a quoted glob; outputs take --ext.
  writeFileSync(path.join(input, 'note.txt'), 'not an image');
  const sub = path.join(input, 'sub');
  assert.equal(run(['filter', one, path.join(dir, 'tmp.png'), '--depth', 'u8']).code, 0);
  mkdirSync(sub);
  copyFileSync(path.join(dir, 'tmp.png'), path.join(sub, 'x.png'));
  const outDir = path.join(dir, 'out', 'edges');
  const batch = run(['apply', '--model', model, input, outDir, '--json']);
  assert.equal(batch.code, 0, batch.stderr);
  const b = JSON.parse(batch.stdout);
  assert.equal(b.files.length, 3);
  for (const stem of ['synthetic-0', 'synthetic-1', path.join('sub', 'x')]) assert.ok(existsSync(path.join(outDir, `${stem}.npy`)), stem);
  const got = await readImage(path.join(outDir, 'synthetic-0.npy'));
  const want = await readImage(path.join(dir, 'a.npy'));
  assert.deepEqual(Array.from(got.data), Array.from(want.data));
  const globbed = run(['filter', path.join(input, '*.png'), path.join(dir, 'g'), '--ext', 'png', '--depth', 'u8']);
  assert.equal(globbed.code, 0, globbed.stderr);
  assert.deepEqual(readdirSync(path.join(dir, 'g')).sort(), ['synthetic-0.png', 'synthetic-1.png']);

  const none = run(['apply', '--model', model, path.join(dir, 'nope', '*.png'), path.join(dir, 'n')]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^kernel-learn: error: .*nope.*\*\.png: no images match; .*\n$/);
  assert.ok(!existsSync(path.join(dir, 'n')));
  const toFile = run(['filter', input, path.join(dir, 'f.npy')]);
  assert.equal(toFile.code, 1);
  assert.match(toFile.stderr, /^kernel-learn: error: .*f\.npy: is a file; .*give a folder.*\n$/);
  for (const cmd of ['filter', 'apply']) {
    const help = run([cmd, '--help']).stdout;
    assert.match(help, /--ext <ext>/);
    assert.match(help, /glob pattern/);
  }
});

test('a reader that closes the pipe early (| head) ends the command quietly, exit 0, no stack trace', async () => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [BIN, 'experiment', 'list'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before the first line
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|at /);
});

test('train --arch deep takes --depth, --width and --dilations; apply runs the dilated model; the flags without --arch deep are a usage error', () => {
  const dir = tmp();
  const data = path.join(dir, 'data');
  assert.equal(run(['dataset', '--synthetic', '3', '--size', '48x40', '--seed', '3', '--out', data, '--op', 'gaussian', '--ksize', '5']).code, 0);
  const model = path.join(dir, 'can.json');
  const args = ['train', '--input', path.join(data, 'input'), '--target', path.join(data, 'target'), '--out', model, '--no-report'];
  const trained = run([...args, '--arch', 'deep', '--depth', '3', '--width', '4', '--dilations', '1,3,1', '--max-steps', '10', '--json']);
  assert.equal(trained.code, 0, trained.stderr);
  const m = JSON.parse(readFileSync(model, 'utf8'));
  assert.equal(m.version, 3);
  assert.deepEqual(m.layers.filter((l: { type: string }) => l.type === 'conv2d').map((l: { dilation?: number }) => l.dilation ?? 1), [1, 3, 1, 1]);
  assert.deepEqual(JSON.parse(trained.stdout).kernelSize, [11, 11], 'receptive field 3 + 2 (3 + 1)');
  const applied = run(['apply', '--model', model, path.join(data, 'input', 'synthetic-0.png'), path.join(dir, 'out.npy')]);
  assert.equal(applied.code, 0, applied.stderr);
  const misuse = run([...args, '--depth', '3']);
  assert.equal(misuse.code, 2);
  assert.match(misuse.stderr, /^kernel-learn: error: --depth, --width and --dilations shape --arch deep/);
  assert.equal(run([...args, '--arch', 'deep', '--dilations', '1,x']).code, 2);
});

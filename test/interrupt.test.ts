/**
 * Faults during a run, and repeatability: Ctrl-C (SIGINT) while `train` or `dataset` works leaves
 * no partial output and says what was finished; outputs appear whole (dataset and demo folders are
 * filled under a temporary name and renamed); the same inputs and --seed give byte-identical
 * models, run after run (exact and Adam).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
const root = mkdtempSync(path.join(os.tmpdir(), 'kl-interrupt-'));
after(() => rmSync(root, { recursive: true, force: true }));

function run(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    out.push(path.relative(root, full));
    if (e.isDirectory()) out.push(...allFiles(full));
  }
  return out;
}

/**
 * Starts the CLI, waits until `ready()` (evidence that its SIGINT handler is installed) and then
 * `delayMs`, sends SIGINT, and collects the result.
 */
async function interrupt(args: string[], ready: () => boolean, delayMs: number): Promise<{ code: number | null; signal: string | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  const done = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const t0 = Date.now();
  while (!ready() && Date.now() - t0 < 30000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGINT');
  const r = await done;
  return { ...r, stderr, stdout };
}

/** The temporary sibling a dataset is built in exists: the command is making pairs, its handler installed. */
const buildingIn = (parent: string) => (): boolean => existsSync(parent) && readdirSync(parent).some((f) => f.includes('.tmp-'));

const linux = process.platform === 'linux';

describe('interrupted runs leave nothing half-made', { skip: !linux && 'needs /proc to see when the handler is installed' }, () => {
  it('dataset: SIGINT while making pairs removes the temporary folder and says how many were made', async () => {
    const dir = path.join(root, 'ds-int');
    mkdirSync(dir);
    const out = path.join(dir, 'data');
    const r = await interrupt(['dataset', '--synthetic', '400', '--size', '512x512', '--out', out], buildingIn(dir), 200);
    assert.equal(r.code, 130, `exit ${r.code} ${r.signal}\n${r.stderr}`);
    assert.match(r.stderr, /kernel-learn: interrupted \(SIGINT\): made \d+ of 400 pairs; nothing was written to .*data/);
    assert.ok(!/\n\s+at /.test(r.stderr));
    assert.deepEqual(allFiles(dir), [], 'no output folder, no temporary folder');
  });

  it('dataset into an existing folder: SIGINT leaves the folder as it was', async () => {
    const dir = path.join(root, 'ds-int-existing');
    const out = path.join(dir, 'data');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'notes.txt'), 'mine');
    const r = await interrupt(['dataset', '--synthetic', '400', '--size', '512x512', '--out', out], buildingIn(dir), 200);
    assert.equal(r.code, 130, r.stderr);
    assert.deepEqual(allFiles(dir), [path.join('ds-int-existing', 'data'), path.join('ds-int-existing', 'data', 'notes.txt')]);
  });

  it('demo: SIGINT removes the half-made demo folder', async () => {
    const dir = path.join(root, 'demo-int');
    mkdirSync(dir);
    const r = await interrupt(['demo', '--out', path.join(dir, 'demo')], buildingIn(dir), 1000);
    assert.equal(r.code, 130, `exit ${r.code} ${r.signal}\n${r.stderr}`);
    assert.match(r.stderr, /kernel-learn: interrupted \(SIGINT\): .*nothing was written to .*demo/);
    assert.deepEqual(allFiles(dir), []);
  });

  it('train: SIGINT stops training at once, writes no model and says where it stopped', async () => {
    const dir = path.join(root, 'train-int');
    mkdirSync(dir);
    const data = path.join(dir, 'data');
    assert.equal(run(['dataset', '--synthetic', '3', '--size', '192x192', '--out', data, '--op', 'gaussian', '--ksize', '5', '--depth', 'u8']).code, 0);
    const before = allFiles(dir);
    const t0 = Date.now();
    // Nothing on disk shows when training starts, so wait, and wait longer if SIGINT came before
    // the handler was installed (the process then dies of the signal, leaving nothing either).
    let r: Awaited<ReturnType<typeof interrupt>> | undefined;
    for (const delay of [1500, 4000, 10000]) {
      r = await interrupt(
        ['train', '--input', path.join(data, 'input'), '--target', path.join(data, 'target'), '--out', path.join(dir, 'm.json'), '--solver', 'adam', '--ksize', '9', '--max-steps', '1000000', '--patience', '1000000'],
        () => true,
        delay,
      );
      assert.deepEqual(allFiles(dir), before, 'no model, no temporary file');
      if (r.signal !== 'SIGINT') break;
    }
    r = r!;
    assert.equal(r.code, 130, `exit ${r.code} ${r.signal}\n${r.stderr}`);
    assert.match(r.stderr, /kernel-learn: interrupted \(SIGINT\): training (stopped at adam step \d+ of at most 1000000|had not finished); no model was written/);
    assert.ok(Date.now() - t0 < 90000, 'stopped promptly');
  });
});

describe('outputs appear whole', () => {
  it('dataset and demo build their folder under a temporary name: a failure half-way leaves nothing', () => {
    const dir = path.join(root, 'whole');
    mkdirSync(dir);
    const images = path.join(dir, 'images');
    mkdirSync(images);
    assert.equal(run(['dataset', '--synthetic', '2', '--size', '16x16', '--out', path.join(dir, 'src')]).code, 0);
    for (const f of readdirSync(path.join(dir, 'src', 'input'))) writeFileSync(path.join(images, f), readFileSync(path.join(dir, 'src', 'input', f)));
    writeFileSync(path.join(images, 'z-broken.png'), 'not a png');
    const r = run(['dataset', '--images', images, '--out', path.join(dir, 'out')]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(!existsSync(path.join(dir, 'out')));
    assert.deepEqual(readdirSync(dir).sort(), ['images', 'src']);
    const demo = run(['demo', '--out', path.join(dir, 'demo'), '--images', '2']);
    assert.equal(demo.code, 0, demo.stderr);
    assert.deepEqual(readdirSync(path.join(dir, 'demo')).sort(), ['data', 'held-out', 'loss-adam.csv', 'report', 'report.html', 'sobel-adam.json', 'sobel-exact.json']);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  });
});

describe('determinism: same inputs and --seed, same model bytes', () => {
  it('exact and adam: two CLI runs each write identical bytes', () => {
    const dir = path.join(root, 'determinism');
    mkdirSync(dir);
    const data = path.join(dir, 'data');
    assert.equal(run(['dataset', '--synthetic', '3', '--size', '48x40', '--seed', '7', '--out', data, '--op', 'sobel', '--dx', '0', '--dy', '1']).code, 0);
    const train = (name: string, extra: string[]): Buffer => {
      const out = path.join(dir, name);
      const r = run(['train', '--input', path.join(data, 'input'), '--target', path.join(data, 'target'), '--out', out, '--seed', '3', ...extra]);
      assert.equal(r.code, 0, r.stderr);
      return readFileSync(out);
    };
    for (const solver of ['exact', 'adam']) {
      const a = train(`${solver}-1.json`, ['--solver', solver]);
      const b = train(`${solver}-2.json`, ['--solver', solver]);
      assert.ok(a.equals(b), `${solver}: two runs wrote different bytes`);
    }
  });
});

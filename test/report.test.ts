/**
 * Run reports: the demo's report opens in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) with no console errors, shows the loss plot, the kernels as heat maps and
 * tables, and the sample images; a screenshot is saved (docs/report.png with UPDATE_SCREENSHOTS=1).
 * Two demo runs with the same seed give byte-identical reports. `train` writes its report beside
 * the model, under --report DIR, or not at all with --no-report. Vega loaded from its single file
 * (plots.ts, for start-up time) draws the same bytes as its ES modules.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { formatError } from '../src/format.js';
import { curvePlotSpec, kernelHeatmapSpec, loadVega, lossPlotSpec, renderWith } from '../src/report/plots.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.resolve(HERE, '../src/cli/main.js');
const REPO = path.resolve(HERE, '../..');
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const skipBrowser = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: the report's browser test needs Debian's chromium (apt-get install chromium)`;

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const work = mkdtempSync(path.join(tmpdir(), 'kernel-learn-report-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

let demoDir: string | undefined;
function demo(): string {
  if (demoDir) return demoDir;
  const dir = path.join(work, 'demo-a');
  const r = cli(['demo', '--out', dir, '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /report\.html/);
  demoDir = dir;
  return dir;
}

test('demo report: self-contained, with SVG plots beside it, and byte-identical for the same seed', { timeout: 60_000 }, () => {
  const a = demo();
  const html = readFileSync(path.join(a, 'report.html'), 'utf8');
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'no scripts and no network references');
  assert.match(html, /data:image\/png;base64,/);
  assert.ok(readdirSync(path.join(a, 'report')).includes('loss-adam.svg'));
  for (const f of readdirSync(path.join(a, 'report'))) assert.match(readFileSync(path.join(a, 'report', f), 'utf8'), /^<svg /, f);
  const b = path.join(work, 'demo-b');
  const r = cli(['demo', '--out', b, '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(readFileSync(path.join(b, 'report.html')).equals(readFileSync(path.join(a, 'report.html'))), 'same seed, same report bytes');
  for (const f of readdirSync(path.join(a, 'report'))) {
    assert.ok(readFileSync(path.join(b, 'report', f)).equals(readFileSync(path.join(a, 'report', f))), `same seed, same ${f}`);
  }
});

test('demo report opens in headless Chromium: no console errors; loss plot, kernel heat maps and tables, samples; screenshot', { skip: skipBrowser, timeout: 60_000 }, async (t) => {
  const dir = demo();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
    });
    page.on('requestfailed', (req) => problems.push(`request failed: ${req.url().slice(0, 80)}`));
    await page.goto(pathToFileURL(path.join(dir, 'report.html')).href);
    await page.waitForLoadState('load');
    assert.match((await page.title()) ?? '', /Sobel/);
    assert.ok((await page.locator('figure.loss svg').count()) >= 1, 'a loss plot');
    assert.ok((await page.locator('figure.loss svg path').count()) >= 2, 'the loss plot has curves');
    assert.equal(await page.locator('figure.kernel svg').count(), 5, 'heat maps: exact, its standard errors, adam, true, matched');
    const tables = page.locator('table.kernel');
    assert.equal(await tables.count(), 5);
    // The true Sobel dx kernel is shown with its numbers (fourth figure), and the exact solver's with its errors beside it.
    assert.deepEqual((await tables.nth(3).locator('td').allTextContents()).map(Number), [-1, 0, 1, -2, 0, 2, -1, 0, 1]);
    assert.equal(await page.locator('figure.kernel.errors').count(), 1);
    assert.ok((await tables.nth(1).locator('td').allTextContents()).map(Number).every((e) => e >= 0 && e < 1e-3), 'the exact fit of float Sobel targets: errors near 0');
    const learned = (await tables.nth(0).locator('td').allTextContents()).map(Number);
    learned.forEach((v, i) => assert.ok(Math.abs(v - [-1, 0, 1, -2, 0, 2, -1, 0, 1][i]) < 1e-3, `learned tap ${i}: ${v}`));
    const images = page.locator('.sample img');
    assert.equal(await images.count(), 12, '3 samples x input, target, prediction, error');
    const widths = await images.evaluateAll((els) => els.map((e) => (e as HTMLImageElement).naturalWidth));
    assert.ok(widths.every((w) => w > 0), `every image decodes: ${widths}`);
    assert.match((await page.locator('.summary').textContent()) ?? '', /sobel dx=1 dy=0 ksize=3/);
    assert.deepEqual(problems, []);
    const shot = process.env.UPDATE_SCREENSHOTS === '1' ? path.join(REPO, 'docs', 'report.png') : path.join(work, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(existsSync(shot));
    t.diagnostic(`screenshot: ${shot}; report.html ${readFileSync(path.join(dir, 'report.html')).length} bytes`);
  } finally {
    await browser.close();
  }
});

test('train writes its report beside the model, under --report DIR, or not with --no-report', { timeout: 60_000 }, () => {
  const data = path.join(work, 'data');
  assert.equal(cli(['dataset', '--synthetic', '3', '--size', '48x40', '--out', data, '--op', 'sobel', '--dx', '1', '--dy', '0']).code, 0);
  const io = ['--input', path.join(data, 'input'), '--target', path.join(data, 'target')];
  const m1 = path.join(work, 'm1.json');
  const r1 = cli(['train', ...io, '--out', m1, '--json']);
  assert.equal(r1.code, 0, r1.stderr);
  assert.equal(JSON.parse(r1.stdout).report, path.join(work, 'm1.report.html'));
  const html = readFileSync(path.join(work, 'm1.report.html'), 'utf8');
  assert.match(html, /table class="kernel"/);
  assert.match(html, /validation sample 1/);
  assert.ok(existsSync(path.join(work, 'm1.report', 'kernel-1.svg')));
  const r2 = cli(['train', ...io, '--out', path.join(work, 'm2.json'), '--report', path.join(work, 'reports'), '--solver', 'adam']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.ok(existsSync(path.join(work, 'reports', 'm2.report.html')));
  assert.ok(existsSync(path.join(work, 'reports', 'm2.report', 'loss.svg')));
  const r3 = cli(['train', ...io, '--out', path.join(work, 'm3.json'), '--no-report']);
  assert.equal(r3.code, 0, r3.stderr);
  assert.ok(!existsSync(path.join(work, 'm3.report.html')));
  assert.ok(!existsSync(path.join(work, 'm3.report')));
});

test("vega loaded from its single-file build draws the report's plots to the same bytes as its ES modules", async () => {
  const single = await loadVega();
  const esm = await import('vega');
  assert.notEqual(single.View, esm.View, 'the single file was loaded (not the ES-module fallback)');
  const history = Array.from({ length: 40 }, (_, i) => ({ step: 25 * (i + 1), trainLoss: 10 / (i + 1) ** 2, valLoss: i % 3 ? 12 / (i + 1) ** 2 : undefined }));
  const specs = [
    lossPlotSpec(history, 2e-3, 'loss: adam'),
    lossPlotSpec([], 0.5),
    kernelHeatmapSpec([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], 'learned kernel', 2),
    kernelHeatmapSpec([[0.004, -0.25, 1e-7, 3], [2.5, -1, 0, 0.125]], 'out 1 <- in 0'),
    kernelHeatmapSpec([[1.5e-4, 2e-5], [3e-6, 0]], 'standard errors', undefined, formatError),
    curvePlotSpec({ knots: [0, 0.25, 0.5, 1], values: [0, 0.5, 0.72, 1] }, 'curve after the kernel: gamma 0.5', { x: "kernel's response", y: 'output' }),
  ];
  for (const spec of specs) assert.equal(await renderWith(single, spec), await renderWith(esm, spec));
});

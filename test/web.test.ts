/**
 * End-to-end test of the browser app (web/) in headless Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core). It runs `npm run web` (type-check, Vite build, vite preview) on a
 * free port, trains Sobel dx with the defaults (the built-in photographs), Sobel magnitude and a
 * gamma curve after a blur (the curve drawn beside the kernel),
 * watches the kernel live in an Adam run and stops it, trains on an uploaded PNG + .npy pair whose
 * target is a 'valid' convolution (smaller: the app aligns it and says so), draws an exact fit's
 * zero error visibly, and takes screenshots at desktop and phone widths: into a temporary folder,
 * or into docs/ with UPDATE_SCREENSHOTS=1 (so a test run leaves the working tree as it was). Skips
 * when Chromium is not installed (.ci/run installs it).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { syntheticImage } from '../src/data/synthetic.js';
import { applyFilter } from '../src/filters/ops.js';
import { cropImage } from '../src/image.js';
import { writeImage } from '../src/io/index.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// dist/test/web.test.js -> repository root
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = process.env.UPDATE_SCREENSHOTS ? path.join(REPO, 'docs') : mkdtempSync(path.join(tmpdir(), 'kl-web-shots-'));

const SOBEL_DX = [-1, 0, 1, -2, 0, 2, -1, 0, 1];
const SOBEL_DY = [-1, -2, -1, 0, 0, 0, 1, 2, 1];

const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: the browser test needs Debian's chromium (apt-get install chromium; .ci/run installs it)`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `npm run web` with PORT=port; resolves with the URL it prints once the server is up. */
function startWeb(port: number): { child: ChildProcess; url: Promise<string> } {
  const child = spawn('npm', ['run', 'web'], {
    cwd: REPO,
    env: { ...process.env, PORT: String(port), NO_COLOR: '1', FORCE_COLOR: '0' },
    detached: true, // its own process group, so npm, sh and vite stop together
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (b: Buffer): void => {
      log += b.toString();
      // eslint-disable-next-line no-control-regex
      const m = log.replace(/\x1b\[[0-9;]*m/g, '').match(/http:\/\/127\.0\.0\.1:(\d+)\/?/);
      if (m) resolve(m[0]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm run web exited with ${code} before serving:\n${log}`)));
  });
  return { child, url };
}

function stopWeb(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

async function waitDone(page: Page, timeout = 30_000): Promise<string> {
  await page.waitForFunction(
    () => {
      const s = document.querySelector('[data-testid=status]')?.textContent ?? '';
      return s === 'converged' || s === 'error' || s.startsWith('stopped');
    },
    undefined,
    { timeout },
  );
  return (await page.locator('[data-testid=status]').textContent()) ?? '';
}

/** The learned kernel as shown: the numbers in [data-testid=kernel]'s cells. */
async function shownKernel(page: Page): Promise<number[]> {
  return (await page.locator('[data-testid=kernel] td').allTextContents()).map(Number);
}

/** The error view's pixels: how many are the flat grey of a zero error, how many other colours. */
async function errorView(page: Page): Promise<{ width: number; height: number; grey: number; other: number; caption: string }> {
  return page.evaluate(() => {
    const c = document.querySelector('#view-error') as HTMLCanvasElement;
    const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let grey = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i] === 0x8a && px[i + 1] === 0x90 && px[i + 2] === 0x99) grey++;
    return { width: c.width, height: c.height, grey, other: px.length / 4 - grey, caption: document.querySelector('#error-caption')?.textContent ?? '' };
  });
}

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  const worst = Math.max(...actual.map((v, i) => Math.abs(v - expected[i])));
  assert.ok(worst <= tol, `${what}: max |difference| ${worst} > ${tol}; got ${JSON.stringify(actual)}`);
}

test('browser app: learns Sobel dx from the built-in photographs and Sobel magnitude, shows the kernel live and stops a run, learns from uploaded files', { skip, timeout: 180_000 }, async (t) => {
  const begin = Date.now();
  const at = (): string => `[${((Date.now() - begin) / 1000).toFixed(1)} s]`;
  const port = await freePort();
  const web = startWeb(port);
  const work = mkdtempSync(path.join(tmpdir(), 'kernel-learn-web-'));
  let context: Awaited<ReturnType<typeof chromium.launchPersistentContext>> | undefined;
  try {
    const url = await web.url;
    t.diagnostic(`${at()} npm run web serves ${url}`);
    context = await chromium.launchPersistentContext(path.join(work, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 800 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
    });
    await page.goto(url);
    assert.equal(await page.locator('[data-testid=status]').textContent(), 'ready');

    // 1. The defaults: the six built-in photographs, Sobel dx, exact solver.
    assert.ok(await page.isChecked('[data-testid=source-photos]'), 'the photographs are the default images');
    await page.click('[data-testid=train]');
    const status = await waitDone(page);
    const detail = (await page.locator('[data-testid=detail]').textContent()) ?? '';
    assert.equal(status, 'converged', `status "${status}": ${detail}`);
    const elapsedMs = Number(await page.locator('[data-testid=status]').getAttribute('data-elapsed-ms'));
    t.diagnostic(`${at()} Sobel dx on the photographs converged in ${elapsedMs} ms in the browser (click to result): ${detail}`);
    // The result line names the layers, the kernel's support and the alignment of the targets.
    assert.match(detail, /conv 3x3 \(support 3x3\) · alignment same/);
    assert.match((await page.locator('#image-note').textContent()) ?? '', /baboon, 160x120, 1 of 6/);
    assertClose(await shownKernel(page), SOBEL_DX, 1e-2, 'learned kernel shown for Sobel dx');
    assertClose((await page.locator('[data-testid=true-kernel] td').allTextContents()).map(Number), SOBEL_DX, 0, 'true kernel shown');
    // Sobel on 8-bit images is an exact fit (the float32 weights are the integers): the error is 0
    // everywhere, drawn as a flat grey panel with a '0' on it (not a blank one).
    const zero = await errorView(page);
    assert.equal(zero.caption, 'error, max |e| = 0 (exact)');
    assert.ok(zero.grey > 0.8 * zero.width * zero.height && zero.other > 0, `the zero error panel: ${JSON.stringify(zero)}`);
    // The downloads: the model JSON holds the same kernel; the ONNX file is offered when the export builds.
    const model = JSON.parse(await page.evaluate(async () => (await fetch((document.querySelector('[data-testid=download-json]') as HTMLAnchorElement).href)).text())) as {
      layers: { weights: number[][][][] }[];
    };
    assertClose(model.layers[0].weights.flat(3), SOBEL_DX, 1e-2, 'kernel in the downloaded model JSON');
    const onnxBytes = await page.evaluate(async () => {
      const a = document.querySelector('[data-testid=download-onnx]') as HTMLAnchorElement;
      return a.href ? (await (await fetch(a.href)).arrayBuffer()).byteLength : 0;
    });
    t.diagnostic(`downloads: model JSON ok, ONNX ${onnxBytes} bytes`);
    assert.ok(onnxBytes > 0, 'an ONNX download is offered');
    await page.screenshot({ path: path.join(DOCS, 'web-desktop.png') });

    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the phone layout scrolls sideways by ${overflow} px`);
    await page.screenshot({ path: path.join(DOCS, 'web-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });

    // 2. Sobel magnitude: the architecture follows the filter (conv with two outputs + magnitude stage, exact
    // lifted solve); the trainer reports the pair in its canonical form, which for Sobel is (Sobel dx, Sobel dy).
    await page.selectOption('#filter', 'sobel-mag');
    assert.equal(await page.inputValue('#arch'), 'magnitude', 'Sobel magnitude selects the magnitude architecture');
    await page.click('[data-testid=train]');
    const statusMag = await waitDone(page);
    const detailMag = await page.locator('[data-testid=detail]').textContent();
    assert.equal(statusMag, 'converged', `Sobel magnitude: status "${statusMag}": ${detailMag}`);
    const magMs = Number(await page.locator('[data-testid=status]').getAttribute('data-elapsed-ms'));
    t.diagnostic(`${at()} Sobel magnitude converged in ${magMs} ms (click to result): ${detailMag}`);
    assertClose(await shownKernel(page), [...SOBEL_DX, ...SOBEL_DY], 1e-2, 'learned kernels (a, b) shown for Sobel magnitude');
    assertClose((await page.locator('[data-testid=true-kernel] td').allTextContents()).map(Number), [...SOBEL_DX, ...SOBEL_DY], 0, 'true kernels shown for Sobel magnitude');

    // 2b. A tone curve after a blur (gamma 1/2.2 after a 5x5 Gaussian): the architecture follows the
    // filter (a curve after the kernel), and the curve is drawn beside the kernel, named.
    await page.selectOption('#filter', 'gamma-blur');
    assert.equal(await page.inputValue('#arch'), 'curve-after', 'gamma after a blur selects the curve-after architecture');
    await page.selectOption('#fsize', '5');
    await page.click('[data-testid=train]');
    const statusCurve = await waitDone(page, 60_000);
    const detailCurve = (await page.locator('[data-testid=detail]').textContent()) ?? '';
    assert.equal(statusCurve, 'converged', `gamma after a blur: status "${statusCurve}": ${detailCurve}`);
    t.diagnostic(`${at()} gamma after a blur: ${detailCurve}`);
    assert.match(detailCurve, /conv 5x5 → conv 1x1 → relu → conv 1x1/);
    const psnrCurve = Number(/PSNR ([\d.]+) dB/.exec(detailCurve)?.[1]);
    assert.ok(psnrCurve >= 60, `gamma after a blur: validation PSNR ${psnrCurve} dB`);
    assert.ok(await page.isVisible('[data-testid=curves] canvas.curve'), 'the curve is drawn');
    assert.match((await page.locator('[data-testid=curves] figcaption').allTextContents()).join(' '), /curve after the kernel: gamma 0\.4[45]/);
    await page.locator('#kernel-card').screenshot({ path: path.join(DOCS, 'web-curve.png') });

    await page.selectOption('#filter', 'sobel-dx');
    await page.selectOption('#fsize', '3');
    assert.equal(await page.inputValue('#arch'), 'linear');

    // 3. Adam: the kernel is drawn live (numbers while the status still reads "training"), the page stays
    // responsive while the worker trains, and Stop stops it.
    await page.selectOption('#solver', 'adam');
    await page.click('[data-testid=train]');
    const live = (await (
      await page.waitForFunction(
        () => {
          const status = document.querySelector('[data-testid=status]')?.textContent;
          const cells = [...document.querySelectorAll('[data-testid=kernel] td')].map((td) => td.textContent ?? '');
          const detail = document.querySelector('[data-testid=detail]')?.textContent ?? '';
          return status === 'training' && cells.length === 9 && cells.every((c) => c !== '' && Number.isFinite(Number(c))) ? { cells, detail } : null;
        },
        undefined,
        { timeout: 20_000 },
      )
    ).jsonValue()) as { cells: string[]; detail: string };
    t.diagnostic(`${at()} live kernel while training (${live.detail}): ${live.cells.join(' ')}`);
    await page.waitForFunction(() => /step \d+/.test(document.querySelector('[data-testid=detail]')?.textContent ?? ''), undefined, { timeout: 20_000 });
    const t0 = Date.now();
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve(null))));
    const frameMs = Date.now() - t0;
    t.diagnostic(`${at()} a frame during Adam training took ${frameMs} ms to come`);
    assert.ok(frameMs < 500, `the page was blocked for ${frameMs} ms while training`);
    await page.click('[data-testid=stop]');
    assert.equal(await page.locator('[data-testid=status]').textContent(), 'stopped');
    assert.ok(await page.isEnabled('[data-testid=train]'), 'Train is enabled again after Stop');

    // 4. Upload an input PNG (written by sharp through src/io) and a float32 .npy target: Sobel dy,
    // as a 'valid' convolution (PyTorch's conv2d without padding): 2 rows and columns smaller.
    const input = syntheticImage({ width: 160, height: 120, seed: 7 });
    const target = cropImage(applyFilter(input, { op: 'sobel', dx: 0, dy: 1 }), 1, 1, 158, 118);
    const pngFile = path.join(work, 'scan.png');
    const npyFile = path.join(work, 'scan.npy');
    await writeImage(pngFile, input);
    await writeImage(npyFile, target);
    await page.selectOption('#solver', 'exact');
    await page.check('[data-testid=source-pairs]');
    await page.setInputFiles('[data-testid=inputs]', pngFile);
    await page.setInputFiles('[data-testid=targets]', npyFile);
    await page.click('[data-testid=train]');
    const status2 = await waitDone(page);
    const detail2 = await page.locator('[data-testid=detail]').textContent();
    assert.equal(status2, 'converged', `uploaded pair: status "${status2}": ${detail2}`);
    t.diagnostic(`${at()} uploaded pair: ${detail2}`);
    assert.match(detail2 ?? '', /alignment valid: targets -2x-2/);
    const err = await errorView(page);
    assert.deepEqual([err.width, err.height], [158, 118], 'the error is drawn in the target\'s frame');
    assertClose(await shownKernel(page), SOBEL_DY, 1e-2, 'learned kernel shown for the uploaded Sobel dy pair');
    // Exact decoding of both files gives an exact fit: the full-precision weights are far closer than the shown ones.
    const full = JSON.parse((await page.locator('[data-testid=kernel]').getAttribute('data-kernel')) ?? '[]') as number[];
    assertClose(full, SOBEL_DY, 1e-4, 'learned weights (full precision) for the uploaded pair');
    assert.match((await page.locator('[data-testid=true-kernel]').textContent()) ?? '', /unknown/);
    assert.ok(await page.isHidden('[data-testid=curves]'), 'a linear model shows no curves');

    assert.deepEqual(problems, [], 'no errors in the page');
  } finally {
    await context?.close();
    stopWeb(web.child);
    rmSync(work, { recursive: true, force: true });
  }
});

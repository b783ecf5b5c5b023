import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { listImageFiles, stemOf, toGrey } from '../src/data/dataset.js';
import { syntheticImage, syntheticImages } from '../src/data/synthetic.js';

test('synthetic images are deterministic, u8, and differ between seeds and indices', () => {
  const a = syntheticImages(3, { width: 40, height: 30, seed: 7 });
  const b = syntheticImages(3, { width: 40, height: 30, seed: 7 });
  for (let i = 0; i < 3; i++) assert.deepEqual(a[i].data, b[i].data);
  assert.notDeepEqual(a[0].data, a[1].data);
  assert.notDeepEqual(syntheticImage({ width: 40, height: 30, seed: 1 }).data, syntheticImage({ width: 40, height: 30, seed: 2 }).data);
  for (const v of a[0].data) assert.ok(Number.isInteger(v) && v >= 0 && v <= 255);
  assert.equal(a[0].depth, 'u8');
  const colour = syntheticImage({ width: 8, height: 8, channels: 3, seed: 1 });
  assert.equal(colour.channels, 3);
  assert.equal(colour.data.length, 8 * 8 * 3);
});

test('synthetic images use the whole range without saturating much', () => {
  const img = syntheticImage({ width: 256, height: 256, seed: 3 });
  let min = 255;
  let max = 0;
  let clipped = 0;
  for (const v of img.data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    if (v === 0 || v === 255) clipped++;
  }
  assert.ok(max - min > 150, `range ${min}..${max}`);
  assert.ok(clipped / img.data.length < 0.05, `clipped fraction ${clipped / img.data.length}`);
});

test('toGrey uses the BT.601 weights of cv2.COLOR_RGB2GRAY', () => {
  const rgb = { width: 1, height: 1, channels: 3, depth: 'u8' as const, data: new Float32Array([200, 100, 50]) };
  assert.equal(toGrey(rgb).data[0], Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 50));
});

test('listImageFiles walks folders, skips hidden files, and stems keep subfolders', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kl-data-'));
  mkdirSync(path.join(dir, 'sub', 'deeper'), { recursive: true });
  for (const f of ['b.png', 'a.npy', 'notes.txt', '.hidden.png', 'sub/c.jpg', 'sub/deeper/d.TIFF']) writeFileSync(path.join(dir, f), '');
  const files = await listImageFiles(dir);
  assert.deepEqual(files.map((f) => stemOf(f, dir)), ['a', 'b', 'sub/c', 'sub/deeper/d']);
});

/**
 * The reference bilateral filter (src/filters/bilateral.ts): OpenCV's semantics, checked against
 * cv2.bilateralFilter when /usr/bin/python3 has cv2 (skipped otherwise), and its limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { syntheticImage } from '../src/data/synthetic.js';
import { bilateralFilter, bilateralRadius } from '../src/filters/bilateral.js';
import { createImage } from '../src/image.js';

function hasCv2(): boolean {
  if (!existsSync('/usr/bin/python3')) return false;
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import cv2'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('radius as OpenCV: d/2, or round(1.5 sigmaSpace) when d <= 0, at least 1', () => {
  assert.equal(bilateralRadius({ d: 5, sigmaSpace: 10 }), 2);
  assert.equal(bilateralRadius({ d: 0, sigmaSpace: 2 }), 3);
  assert.equal(bilateralRadius({ d: -1, sigmaSpace: 0.2 }), 1);
});

test('a constant image is unchanged; a huge sigmaColor gives the spatial Gaussian over the disc', () => {
  const flat = createImage(9, 7, 1, 'f32');
  flat.data.fill(42);
  assert.ok(bilateralFilter(flat, { d: 5, sigmaColor: 10, sigmaSpace: 2 }).data.every((v) => Math.abs(v - 42) < 1e-4));
  const img = syntheticImage({ width: 20, height: 16, seed: 1 });
  const out = bilateralFilter(img, { d: 5, sigmaColor: 1e9, sigmaSpace: 1.5 });
  // Interior pixel (8, 10): disc of radius 2 with Gaussian weights.
  let s = 0, w = 0;
  for (let i = -2; i <= 2; i++) for (let j = -2; j <= 2; j++) {
    if (i * i + j * j > 4) continue;
    const wt = Math.exp(-(i * i + j * j) / (2 * 1.5 * 1.5));
    s += wt * img.data[(8 + i) * 20 + 10 + j];
    w += wt;
  }
  assert.ok(Math.abs(out.data[8 * 20 + 10] - s / w) < 1e-3);
});

test('equals cv2.bilateralFilter: u8 bit for bit, f32 within 2e-4 (skipped without python3 + cv2)', { skip: hasCv2() ? false : 'no /usr/bin/python3 with cv2' }, () => {
  const img = syntheticImage({ width: 61, height: 47, seed: 3 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kl-bilateral-'));
  try {
    const file = path.join(dir, 'in.json');
    writeFileSync(file, JSON.stringify(Array.from(img.data)));
    for (const [d, sc, ss] of [[5, 20, 1.5], [0, 30, 2], [7, 10, 3]] as const) {
      const py = `import cv2, numpy as np, json\na=np.array(json.load(open(${JSON.stringify(file)})),dtype=np.uint8).reshape(47,61)\nprint(json.dumps(cv2.bilateralFilter(a, ${d}, ${sc}, ${ss}).astype(float).ravel().tolist()))\nprint(json.dumps(cv2.bilateralFilter(a.astype(np.float32), ${d}, ${sc}, ${ss}).astype(float).ravel().tolist()))`;
      const [u8, f32] = execFileSync('/usr/bin/python3', ['-c', py], { maxBuffer: 1 << 24 }).toString().trim().split('\n').map((l) => JSON.parse(l) as number[]);
      const ours8 = bilateralFilter(img, { d, sigmaColor: sc, sigmaSpace: ss, depth: 'u8' });
      const ours32 = bilateralFilter(img, { d, sigmaColor: sc, sigmaSpace: ss });
      let m8 = 0, m32 = 0;
      for (let i = 0; i < ours8.data.length; i++) {
        m8 = Math.max(m8, Math.abs(ours8.data[i] - u8![i]!));
        m32 = Math.max(m32, Math.abs(ours32.data[i] - f32![i]!));
      }
      assert.equal(m8, 0, `u8, d ${d}`);
      assert.ok(m32 < 2e-4, `f32, d ${d}: ${m32}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

#!/usr/bin/env node
/**
 * The package.json that `npm pack` (and `npm publish`) ship: this one without its `prepare` script.
 *
 * In this checkout `prepare` builds dist/ when `npm install` runs. In the tarball there is nothing
 * to build (dist/src is in it, src/ is not), and npm 11 warns everyone who installs a package
 * that declares an install-time script, `prepare` included for tarballs and folders
 * (`npm warn install-scripts ... not yet covered by allowScripts`). So:
 *
 *   node tools/pack-manifest.mjs strip     (prepack)  keeps package.json as .package.json.pack-orig, removes `prepare`
 *   node tools/pack-manifest.mjs restore   (postpack) puts the original back
 *
 * The same trick as pinst (husky's docs) for postinstall. A pack that failed between the two
 * leaves the copy: `strip` and `restore` both start by putting it back.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const manifest = path.join(root, 'package.json');
const original = path.join(root, '.package.json.pack-orig');

function restore() {
  if (existsSync(original)) renameSync(original, manifest);
}

const command = process.argv[2];
if (command === 'strip') {
  restore();
  const text = readFileSync(manifest, 'utf8');
  const pkg = JSON.parse(text);
  writeFileSync(original, text);
  delete pkg.scripts.prepare;
  writeFileSync(manifest, JSON.stringify(pkg, null, 2) + '\n');
} else if (command === 'restore') {
  restore();
} else {
  console.error('usage: node tools/pack-manifest.mjs strip|restore');
  process.exit(2);
}

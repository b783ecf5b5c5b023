/**
 * The shape of the code, held by a test so it stays that way: no function in src/train longer than
 * a screen (80 lines), no command file in src/cli importing another command, and src/ modules
 * importing only down the data flow's layers (io -> filters -> data -> kernels/nn -> train -> model
 * users), never back up. Parsed with the TypeScript compiler API (a devDependency), not regexes.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = process.cwd();

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** Every function-like node with a body: [name, first line, line count]. */
function functionsOf(sf: ts.SourceFile): { name: string; line: number; lines: number }[] {
  const out: { name: string; line: number; lines: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const name = node.name && ts.isIdentifier(node.name) ? node.name.text : ts.isMethodDeclaration(node) ? node.name.getText(sf) : '<anonymous>';
      out.push({ name, line: start + 1, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function importsOf(sf: ts.SourceFile): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) out.push(node.moduleSpecifier.text);
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && ts.isStringLiteral(node.arguments[0])) out.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

test('code shape: no function in src/train is longer than 80 lines', () => {
  const long: string[] = [];
  for (const file of filesUnder(path.join(ROOT, 'src', 'train'))) {
    for (const f of functionsOf(parse(file))) if (f.lines > 80) long.push(`${path.relative(ROOT, file)}:${f.line} ${f.name} (${f.lines} lines)`);
  }
  assert.deepEqual(long, [], 'split these into named steps');
});

test('code shape: no CLI command imports another command (shared helpers live in src/cli/shared.ts)', () => {
  const cli = path.join(ROOT, 'src', 'cli');
  const commands = new Set(
    readFileSync(path.join(cli, 'commands.ts'), 'utf8')
      .match(/import\('\.\/([\w-]+)\.js'\)/g)!
      .map((m) => m.slice(10, -5)),
  );
  assert.ok(commands.has('train') && commands.has('apply'), 'commands.ts lists the commands');
  const crossings: string[] = [];
  for (const name of commands) {
    for (const spec of importsOf(parse(path.join(cli, `${name}.ts`)))) {
      const m = /^\.\/([\w-]+)\.js$/.exec(spec);
      if (m && commands.has(m[1])) crossings.push(`${name}.ts imports ${spec}`);
    }
  }
  assert.deepEqual(crossings, []);
});

test('code shape: src/ imports follow the data flow (no module imports a layer above its own)', () => {
  // Lower rank = earlier in the flow. A module may import its own layer and those below it.
  const RANK: Record<string, number> = {
    'errors.ts': 0, 'image.ts': 0, 'random.ts': 0, 'format.ts': 0, 'linalg.ts': 0,
    io: 1, filters: 2, data: 3, kernels: 4, nn: 5, export: 6, train: 6, report: 7, identify: 7, experiments: 8, cli: 9, 'index.ts': 10,
  };
  const layerOf = (file: string): string => path.relative(path.join(ROOT, 'src'), file).split(path.sep)[0];
  const up: string[] = [];
  for (const file of filesUnder(path.join(ROOT, 'src'))) {
    const from = layerOf(file);
    for (const spec of importsOf(parse(file))) {
      if (!spec.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
      const to = layerOf(target);
      if (RANK[to] > RANK[from]) up.push(`${path.relative(ROOT, file)} imports ${spec} (${to} is above ${from})`);
    }
  }
  assert.deepEqual(up, []);
});

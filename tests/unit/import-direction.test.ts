// Dependencies point one way (docs/contracts.md, "Layers"): every import in runner/ — static,
// `export … from`, dynamic `import()` and type-level `import('…')` — goes to the same layer or a
// lower one. Also: only runner/model and runner/train import TensorFlow.js, and runner modules are
// imported by literal paths the type checker follows (no `import(variable)`).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const RUNNER = join(ROOT, 'runner');

/** Lowest first. A module may import its own layer and the layers below it. */
const LAYERS: string[][] = [
  ['errors', 'files', 'random', 'lock-file', 'progress', 'version'],
  ['config'],
  ['sweep'],
  ['data'],
  ['model'],
  ['track'],
  ['plan-experiment'],
  ['report'],
  ['train'],
  ['launch'],
  ['commands', 'cli'],
];

/**
 * Upward imports that exist today, each with why it is still there. The test fails on any other,
 * and on an entry here that no longer happens (so the list only shrinks). "from -> to" are files.
 */
const KNOWN_UPWARD: Record<string, string> = {};

/** `import(expression)` that is not a runner module: optional packages and generated code. */
const KNOWN_NON_LITERAL: Record<string, string> = {
  'runner/model/backend/index.ts': 'optional native tfjs packages (tfjs-node, tfjs-node-gpu), absent on most machines',
  'runner/model/gradients.ts': 'a data: URL of generated code',
};

const TFJS_FOLDERS = new Set(['model', 'train']);

function layerOf(file: string): { name: string; index: number } {
  const rel = relative(RUNNER, file).split(sep);
  const name = rel.length > 1 ? rel[0] : rel[0].replace(/\.ts$/, '');
  const index = LAYERS.findIndex((l) => l.includes(name));
  return { name, index };
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

interface Found {
  spec?: string; // undefined: not a string literal
  line: number;
}

/** Every module a file imports, with its line. */
function importsOf(file: string, text = readFileSync(file, 'utf8')): Found[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: Found[] = [];
  const at = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart()).line + 1;
  const literal = (node: ts.Node | undefined) => (node && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined);
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      out.push({ spec: literal(node.moduleSpecifier), line: at(node) });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      out.push({ spec: literal(node.arguments[0]), line: at(node) });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      out.push({ spec: literal(node.argument.literal), line: at(node) });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      out.push({ spec: literal(node.moduleReference.expression), line: at(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

const rel = (p: string) => relative(ROOT, p).split(sep).join('/');

function scan() {
  const upward: string[] = [];
  const upwardPairs = new Set<string>();
  const unknownFolder: string[] = [];
  const nonLiteral: string[] = [];
  const nonLiteralFiles = new Set<string>();
  const tfjs: string[] = [];
  for (const file of tsFiles(RUNNER)) {
    const from = layerOf(file);
    if (from.index < 0) unknownFolder.push(`${rel(file)}: folder '${from.name}' is in no layer`);
    for (const { spec, line } of importsOf(file)) {
      if (spec === undefined) {
        nonLiteralFiles.add(rel(file));
        if (!KNOWN_NON_LITERAL[rel(file)]) nonLiteral.push(`${rel(file)}:${line}: import() of a computed path: the type checker cannot follow it`);
        continue;
      }
      if (spec.startsWith('@tensorflow/') && !TFJS_FOLDERS.has(from.name)) tfjs.push(`${rel(file)}:${line}: imports ${spec} (only runner/model and runner/train may)`);
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(RUNNER + sep)) continue;
      const to = layerOf(target);
      if (to.index < 0 || from.index < 0 || to.index <= from.index) continue;
      const pair = `${rel(file)} -> ${rel(target)}`;
      upwardPairs.add(pair);
      if (!KNOWN_UPWARD[pair]) upward.push(`${rel(file)}:${line}: ${from.name} imports ${spec} (${to.name} is above ${from.name})`);
    }
  }
  return { upward, upwardPairs, unknownFolder, nonLiteral, nonLiteralFiles, tfjs };
}

describe('import direction (runner/)', () => {
  const found = scan();

  it('every folder and top-level module of runner/ has a layer', () => {
    expect(found.unknownFolder).toEqual([]);
  });

  it('no module imports a higher layer (static, dynamic and type-level imports)', () => {
    expect(found.upward).toEqual([]);
  });

  it('the known upward imports still exist (fixed ones are removed from KNOWN_UPWARD)', () => {
    expect(Object.keys(KNOWN_UPWARD).filter((pair) => !found.upwardPairs.has(pair))).toEqual([]);
  });

  it('runner modules are imported by literal paths the type checker sees', () => {
    expect(found.nonLiteral).toEqual([]);
    expect(Object.keys(KNOWN_NON_LITERAL).filter((f) => !found.nonLiteralFiles.has(f))).toEqual([]);
  });

  it('only runner/model and runner/train import TensorFlow.js', () => {
    expect(found.tfjs).toEqual([]);
  });

  it('the scanner sees every kind of import (so the rules above can fail)', () => {
    const text = [
      "import a from './a.ts';",
      "import type { B } from '../b.ts';",
      "export { c } from './c.ts';",
      "const d = await import('./d.ts');",
      'const e = await import(path);',
      "let f: import('../f.ts').F;",
      "import './g.ts';",
    ].join('\n');
    expect(importsOf(join(RUNNER, 'x.ts'), text)).toEqual([
      { spec: './a.ts', line: 1 },
      { spec: '../b.ts', line: 2 },
      { spec: './c.ts', line: 3 },
      { spec: './d.ts', line: 4 },
      { spec: undefined, line: 5 },
      { spec: '../f.ts', line: 6 },
      { spec: './g.ts', line: 7 },
    ]);
    expect(layerOf(join(RUNNER, 'launch/slurm/sweep.ts'))).toEqual({ name: 'launch', index: LAYERS.findIndex((l) => l.includes('launch')) });
    expect(layerOf(join(RUNNER, 'lock-file.ts')).index).toBe(0);
  });
});

#!/usr/bin/env node
// `npm run build` (also run by `npm ci` through `prepare`): compiles runner/**/*.ts into dist/
// as plain JavaScript so commands start without compiling TypeScript (bin/mmrun.js uses dist/
// only while it matches the sources, see bin/entry.mjs).
//
// - dist/ sits at the same depth as runner/, so paths built from import.meta.url
//   (../../schemas, ../package.json, ../../bin/mmrun.js) resolve to the same files.
// - Files are transpiled one by one (TypeScript's transpileModule: no type check, the same
//   per-file semantics tsx gives), with `.ts` import specifiers rewritten to `.js`, including
//   the computed ones in dynamic imports.
// - Other files under runner/ (the native kernels' C sources) are copied.
// - The new tree is written next to dist/ and renamed into place: a command started during a
//   build sees the old tree or the new one, never half of one.
// The build is an optimisation: when it cannot run (no TypeScript, e.g. `npm ci --omit=dev`),
// it says so and exits 0; bin/mmrun.js then runs the sources through tsx.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP, listSources } from './entry.mjs';

export async function buildDist(root) {
  let ts;
  try {
    ts = (await import('typescript')).default;
  } catch {
    return { ok: false, reason: 'TypeScript is not installed (dev dependency): commands will run through tsx' };
  }
  const runner = path.join(root, 'runner');
  const dist = path.join(root, 'dist');
  const tmp = path.join(root, `.dist-${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  const sources = {};
  const problems = [];
  try {
    for (const rel of listSources(runner)) {
      const src = path.join(runner, rel);
      // The stamp records what was read: a file edited during the build makes dist stale.
      const { mtimeMs, size } = statSync(src);
      sources[rel] = [mtimeMs, size];
      if (rel.endsWith('.ts')) {
        const out = ts.transpileModule(readFileSync(src, 'utf8'), {
          fileName: src,
          reportDiagnostics: true,
          compilerOptions: {
            target: ts.ScriptTarget.ES2022,
            module: ts.ModuleKind.ESNext,
            rewriteRelativeImportExtensions: true,
            allowImportingTsExtensions: true,
            esModuleInterop: true,
            sourceMap: false,
          },
        });
        for (const d of out.diagnostics ?? []) problems.push(`${rel}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
        const dest = path.join(tmp, rel.replace(/\.ts$/, '.js'));
        mkdirSync(path.dirname(dest), { recursive: true });
        writeFileSync(dest, out.outputText);
      } else {
        const dest = path.join(tmp, rel);
        mkdirSync(path.dirname(dest), { recursive: true });
        copyFileSync(src, dest);
      }
    }
    if (problems.length) throw new Error(`syntax errors:\n  ${problems.join('\n  ')}`);
    writeFileSync(path.join(tmp, STAMP), JSON.stringify({ builtAt: new Date().toISOString(), sources }));
    const old = path.join(root, `.dist-old-${process.pid}.tmp`);
    if (existsSync(dist)) renameSync(dist, old);
    renameSync(tmp, dist);
    rmSync(old, { recursive: true, force: true });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  return { ok: true, files: Object.keys(sources).length, dist };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const t0 = performance.now();
  const r = await buildDist(root);
  if (r.ok) console.log(`mmrun: compiled ${r.files} files into ${path.relative(process.cwd(), r.dist) || r.dist} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  else console.warn(`mmrun: dist/ not built (${r.reason}); commands will run the TypeScript sources through tsx (slower start).`);
}

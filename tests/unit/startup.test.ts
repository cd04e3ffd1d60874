// bin/mmrun.js runs the compiled dist/ only while it was built from the current sources, else the
// TypeScript through tsx; the build (npm run build / prepare) keeps dynamic imports, the C
// sources and the paths built from import.meta.url working from dist/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript module without types
import { buildDist } from '../../bin/build-dist.mjs';
// @ts-expect-error plain JavaScript module without types
import { chooseEntry } from '../../bin/entry.mjs';
import { snapshotAsync } from '../../bench/startup.ts';
import { PRECOMPILED_CODE, PRECOMPILED_MANIFEST, loadStandaloneValidator } from '../../runner/config/schema.ts';
import { runCommand } from '../helpers/launch-sweep.ts';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function fakeRoot(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'mmrun-dist-'));
  made.push(root);
  mkdirSync(path.join(root, 'runner', 'native'), { recursive: true });
  writeFileSync(path.join(root, 'package.json'), '{"type":"module"}');
  writeFileSync(path.join(root, 'runner', 'b.ts'), 'export const y: number = 41;\n');
  // A computed specifier, as runner/model/runtime.ts and runner/train/worker.ts use.
  writeFileSync(
    path.join(root, 'runner', 'a.ts'),
    "import type { Stats } from 'node:fs';\nimport { y } from './b.ts';\nconst p = './b.ts';\nexport const sum = y + ((await import(p)) as { y: number }).y;\nexport type S = Stats;\n",
  );
  writeFileSync(path.join(root, 'runner', 'native', 'k.c'), 'int k(void) { return 1; }\n');
  return root;
}

describe('bin entry choice', () => {
  it('uses tsx until dist/ is built, then dist/, and tsx again once a source changes, is added or removed', async () => {
    const root = fakeRoot();
    expect(chooseEntry(root, {})).toMatchObject({ use: 'tsx', reason: expect.stringContaining('not built') });

    const built = await buildDist(root);
    expect(built).toMatchObject({ ok: true, files: 3 });
    expect(chooseEntry(root, {})).toEqual({ use: 'dist' });
    expect(chooseEntry(root, { MMRUN_NO_DIST: '1' })).toMatchObject({ use: 'tsx' });

    // The compiled code runs: .ts specifiers (static and computed) point at .js, C sources copied.
    const r = await runCommand(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(path.join(root, 'dist', 'a.js'))}); console.log(m.sum);`], { cwd: process.cwd(), env: process.env });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('82');
    expect(readFileSync(path.join(root, 'dist', 'native', 'k.c'), 'utf8')).toContain('int k');

    const b = path.join(root, 'runner', 'b.ts');
    const later = new Date(Date.now() + 5000);
    utimesSync(b, later, later);
    expect(chooseEntry(root, {})).toMatchObject({ use: 'tsx', reason: expect.stringContaining('b.ts changed') });

    await buildDist(root);
    expect(chooseEntry(root, {})).toEqual({ use: 'dist' });
    writeFileSync(path.join(root, 'runner', 'c.ts'), 'export {};\n');
    expect(chooseEntry(root, {})).toMatchObject({ use: 'tsx', reason: expect.stringContaining('stale') });

    await buildDist(root);
    rmSync(path.join(root, 'runner', 'c.ts'));
    expect(chooseEntry(root, {})).toMatchObject({ use: 'tsx', reason: expect.stringContaining('stale') });
  });

  it('refuses a source with a syntax error and leaves the previous dist/ in place', async () => {
    const root = fakeRoot();
    expect(await buildDist(root)).toMatchObject({ ok: true });
    const before = readFileSync(path.join(root, 'dist', '.build.json'), 'utf8');
    writeFileSync(path.join(root, 'runner', 'broken.ts'), 'export const = ;\n');
    const r = await buildDist(root);
    expect(r).toMatchObject({ ok: false, reason: expect.stringContaining('broken.ts') });
    expect(readFileSync(path.join(root, 'dist', '.build.json'), 'utf8')).toBe(before);
    expect(chooseEntry(root, {})).toMatchObject({ use: 'tsx' });
  });
});

describe('the real CLI from dist/', () => {
  it('runs --help and validate from the compiled code (schemas, package.json and commands resolve)', async () => {
    const snap = await snapshotAsync();
    made.push(snap);
    const env = { ...process.env, MMRUN_SHOW_ENTRY: '1' };
    const mmrun = (...args: string[]) => runCommand(process.execPath, [path.join(snap, 'bin', 'mmrun.js'), ...args], { cwd: process.cwd(), env });
    // The build ships the schema's standalone validator, and it passes the check that lets it run.
    const validatorFile = (name: string) => readFileSync(path.join(snap, 'dist', 'config', name));
    const shipped = loadStandaloneValidator(validatorFile(PRECOMPILED_CODE), JSON.parse(validatorFile(PRECOMPILED_MANIFEST).toString()));
    expect(shipped.ok).toBe(true);
    const help = await mmrun('--help');
    expect(help.stderr).toContain('running dist/');
    expect(help.status).toBe(0);
    for (const c of ['validate', 'run', 'worker', 'report', 'dataset show']) expect(help.stdout).toMatch(new RegExp(`mmrun ${c}\\b`));
    expect(help.stdout).not.toContain('unavailable');

    const file = path.join(snap, 'x.yaml');
    writeFileSync(file, 'name: startup-test\nseeds: 3\n');
    const ok = await mmrun('validate', file);
    expect(ok.stderr).toContain('running dist/');
    expect(ok.stdout).toContain('valid (3 runs)');
    expect(ok.status).toBe(0);

    writeFileSync(file, 'name: startup-test\nseeds: three\n');
    const bad = await mmrun('validate', file);
    expect(bad.status).toBe(1);
    expect(bad.stdout + bad.stderr).toMatch(/x\.yaml:2:\d+/);
  }, 240_000);
});

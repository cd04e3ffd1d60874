// Guards that cannot hang (issue 16, item 4): a huge sweep is refused by every command before it
// is expanded, numeric options are checked at the CLI boundary, an unusable artifacts_dir is an
// error at once. Assertions are on exit codes and messages, never on durations.
import { symlinkSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIntegerOptions } from '../../runner/cli.ts';
import type { Command } from '../../runner/commands/types.ts';
import { MmrunError } from '../../runner/errors.ts';
import { runSweep } from '../../runner/launch/index.ts';
import { tempFiles } from '../helpers/tmp.ts';
import { ROOT, runMmrun } from '../helpers/launch-sweep.ts';

const HUGE = `name: huge\nseeds: 1000\ngrid:\n  model.projection.dim: [${Array.from({ length: 1000 }, (_, i) => i + 1).join(', ')}]\n`;
const mmrun = (...args: string[]) => runMmrun(args, { cwd: ROOT, env: process.env });

describe('a 1,000,000-run sweep', () => {
  it.each(['validate', 'plan', 'status', 'cancel'])('%s refuses it, naming its size and the limit', async (cmd) => {
    const t = tempFiles({ 'huge.yaml': HUGE });
    const r = await mmrun(cmd, t.path('huge.yaml'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the sweep expands to 1,000,000 runs = 1000 (model.projection.dim) × 1 (baseline + ablations) × 1000 (seeds), above the maximum of 10,000');
    expect(r.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });
});

describe('numeric options are checked at the CLI boundary', () => {
  it.each([
    ['abc', 'abc'],
    ['0', '0'],
    ['1.5', '1.5'],
    ['-3', '-3'],
    ['', ''],
  ])('--max-runs %s is an error for every command that plans', async (value) => {
    for (const name of ['validate', 'plan', 'run', 'status', 'cancel']) {
      const { command } = (await import(`../../runner/commands/${name}.ts`)) as { command: Command };
      expect(() => parseIntegerOptions(command.options ?? {}, { 'max-runs': value }), name).toThrow(new MmrunError(`--max-runs expects a whole number ≥ 1, got '${value}'.`));
    }
  });

  it('a valid value arrives as a number; a port is bounded', async () => {
    const { command: plan } = (await import('../../runner/commands/plan.ts')) as { command: Command };
    expect(parseIntegerOptions(plan.options!, { 'max-runs': '20000', json: true })).toEqual({ 'max-runs': 20000, json: true });
    const { command: ui } = (await import('../../runner/commands/ui.ts')) as { command: Command };
    expect(() => parseIntegerOptions(ui.options!, { port: '70000' })).toThrow("--port expects a whole number from 1 to 65535, got '70000'.");
  });

  it('the CLI exits 1 with the message and the usage is not needed', async () => {
    const t = tempFiles({ 'e.yaml': 'name: x\n' });
    const r = await mmrun('validate', t.path('e.yaml'), '--max-runs', 'abc');
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe("mmrun validate: --max-runs expects a whole number ≥ 1, got 'abc'.");
  });
});

describe('an unusable artifacts_dir is an error at once', () => {
  const run = (artifacts: string) => {
    const t = tempFiles({ 'e.yaml': `name: x\nartifacts_dir: ${artifacts}\n`, 'afile': 'not a folder' });
    return runSweep({ file: t.path('e.yaml'), prepare: false, tty: false, write: () => {}, workerCommand: ['false'] }).then(
      () => 'launched',
      (err: Error) => err.message.replace(t.dir, '<tmp>'),
    );
  };
  it('under /proc', async () => {
    expect(await run('/proc/mmrun-artifacts')).toBe('artifacts_dir /proc/mmrun-artifacts: is under a kernel file system (/proc, /sys or /dev), not a place for files');
  });
  it('a symbolic link into /proc', async () => {
    const t = tempFiles();
    symlinkSync('/proc', t.path('kernel'));
    expect(await run(t.path('kernel/mmrun'))).toBe(`artifacts_dir ${t.path('kernel/mmrun')}: is under a kernel file system (/proc, /sys or /dev), not a place for files`);
  });
  it('a file', async () => {
    const t = tempFiles({ 'afile': 'x' });
    expect(await run(t.path('afile'))).toBe(`artifacts_dir ${t.path('afile')}: is a file, not a folder`);
  });
  it('a folder that cannot be created (a part of its path is a file)', async () => {
    const t = tempFiles({ 'afile': 'x' });
    expect(await run(t.path('afile/artifacts'))).toBe(`artifacts_dir ${t.path('afile/artifacts')}: cannot be written (a part of the path is a file, not a folder)`);
  });
  it('`mmrun dataset build` says so too, instead of spinning in a recursive mkdir under /proc', async () => {
    const t = tempFiles({ 'e.yaml': 'name: x\nartifacts_dir: /proc/mmrun-artifacts\n' });
    const r = await mmrun('dataset', 'build', t.path('e.yaml'));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('artifacts_dir /proc/mmrun-artifacts: is under a kernel file system');
  });
});

// Review of issue 16 (guards): folders are created one level at a time, so an artifacts folder
// under /proc fails at once instead of hanging in Node's recursive mkdir (report, workers).
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mkdirLevels } from '../../runner/files/mkdir.ts';
import { RunStore } from '../../runner/track/run-store.ts';
import { tempFiles } from '../helpers/tmp.ts';

describe('mkdirLevels', () => {
  it('creates missing levels, accepts an existing folder, and applies the mode', () => {
    const t = tempFiles();
    mkdirLevels(t.path('a/b/c'), 0o700);
    expect(statSync(t.path('a/b/c')).isDirectory()).toBe(true);
    expect(statSync(t.path('a/b')).mode & 0o777).toBe(0o700);
    expect(() => mkdirLevels(t.path('a/b/c'))).not.toThrow();
  });

  it('fails with the ordinary errno under /proc (recursive mkdir never returns there)', () => {
    expect(() => mkdirLevels('/proc/mmrun-review-test/runs/x')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(existsSync('/proc/mmrun-review-test')).toBe(false);
  });

  it('fails when a level is a file', () => {
    const t = tempFiles({ file: 'x' });
    expect(() => mkdirLevels(join(t.path('file'), 'sub'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    writeFileSync(t.path('f2'), 'x');
    expect(() => mkdirLevels(t.path('f2'))).toThrow(expect.objectContaining({ code: 'EEXIST' }));
  });

  it('a worker creating its run directory under /proc gets an error, not a hang', () => {
    const spec = { id: 'abc', name: 'n', coords: {}, ablation: 'baseline', seed: 0, config: {} } as never;
    expect(() => RunStore.create('/proc/mmrun-review-test/artifacts', spec, { sweepId: 's', experimentFile: 'e.yaml' })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});

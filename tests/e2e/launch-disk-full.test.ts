/**
 * Disk full while writing a run directory: that run fails with a clear message, the others go on.
 * The full disk is real: a 4 KiB tmpfs mounted on one run's directory and filled (needs root,
 * like the Slurm tests; scripts/setup-test-env.sh runs as root).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fixtureSweep } from '../helpers/launch-sweep.ts';

const isRoot = process.getuid?.() === 0;
const allowSkip = process.env.MMRUN_ALLOW_MISSING_SERVICES === '1';

describe.skipIf(!isRoot && allowSkip)('disk full', () => {
  it('the run whose directory cannot be written fails clearly; the others finish', { timeout: 300_000 }, async () => {
    if (!isRoot) throw new Error('this test mounts a tmpfs and needs root (run it as root, or set MMRUN_ALLOW_MISSING_SERVICES=1 to skip)');
    const s = await fixtureSweep('name: fx\nseeds: [0, 1, 2]\nlauncher: { jobs: 1 }\n');
    const full = s.runDir(s.runIds[1]);
    mkdirSync(full, { recursive: true });
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', full], { encoding: 'utf8' });
    if (mount.status !== 0) throw new Error(`mount tmpfs failed: ${mount.stderr}`);
    try {
      spawnSync('dd', ['if=/dev/zero', `of=${full}/filler`, 'bs=1k', 'count=64'], { encoding: 'utf8' });
      const r = await s.run(['run', 'sweep.yaml']);
      expect(r.status).toBe(1);
      expect(r.out).toMatch(new RegExp(`${s.runIds[1]} seed=1: FAILED before start: could not write the run directory .*the disk is full \\(ENOSPC\\)`));
      expect(r.out).toMatch(/2 finished, 1 failed/);
      expect(s.status(s.runIds[0])?.state).toBe('finished');
      expect(s.status(s.runIds[2])?.state).toBe('finished');
    } finally {
      spawnSync('umount', [full]);
    }
    // Space back: the same command finishes the sweep.
    const again = await s.run(['run', 'sweep.yaml']);
    expect(again.status).toBe(0);
    expect(s.finishes(s.runIds[1])).toHaveLength(1);
  });
});

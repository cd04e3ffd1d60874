/**
 * artifacts/ becoming unwritable in the middle of a sweep (a read-only remount, as when a disk
 * fails or a quota locks it): the launcher ends with a clear message naming the path and what the
 * errno means — exit 1, no "internal error", no stack trace. Needs root for the bind mount (like
 * the disk-full test; scripts/setup-test-env.sh runs as root).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureSweep, waitFor, writeFile } from '../helpers/launch-sweep.ts';

const isRoot = process.getuid?.() === 0;
const allowSkip = process.env.MMRUN_ALLOW_MISSING_SERVICES === '1';

describe.skipIf(!isRoot && allowSkip)('artifacts become read-only mid-sweep', () => {
  it('the launcher says which path could not be written and why, and exits 1', { timeout: 120_000 }, async () => {
    if (!isRoot) throw new Error('this test bind-mounts artifacts/ read-only and needs root (run it as root, or set MMRUN_ALLOW_MISSING_SERVICES=1 to skip)');
    const s = await fixtureSweep('name: fx\nseeds: [0, 1, 2]\nlauncher: { jobs: 1 }\n');
    const gate = join(s.dir, 'gate');
    const artifacts = join(s.dir, 'artifacts');
    const run = s.start(['run', 'sweep.yaml'], { FIXTURE_GATE: gate });
    let mounted = false;
    try {
      await waitFor('the first run to be running', () => s.status(s.runIds[0])?.state === 'running');
      const bind = spawnSync('mount', ['--bind', artifacts, artifacts], { encoding: 'utf8' });
      if (bind.status !== 0) throw new Error(`mount --bind failed: ${bind.stderr}`);
      mounted = true;
      const ro = spawnSync('mount', ['-o', 'remount,ro,bind', artifacts], { encoding: 'utf8' });
      if (ro.status !== 0) throw new Error(`remount read-only failed: ${ro.stderr}`);
      writeFile(gate, 'go');
      const code = await run.exited;
      const out = run.output();
      expect(out).not.toMatch(/internal error/i);
      expect(out).not.toMatch(/^\s+at .+\(.*:\d+:\d+\)$/m); // no stack trace
      const at = artifacts.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(out).toMatch(new RegExp(`could not write the run directory ${at}/runs/\\S+: the file system is read-only \\(EROFS\\)`));
      expect(out).toMatch(new RegExp(`could not record the end of \\S+ in ${at}/runs/\\S+: the file system is read-only \\(EROFS\\)`));
      expect(out).toMatch(new RegExp(`warning: could not release the sweep lock ${at}/sweeps/\\S+/lock: the file system is read-only \\(EROFS\\)`));
      expect(out).toMatch(/3 runs: 0 finished, 3 failed/);
      expect(code).toBe(1);
    } finally {
      run.child.kill('SIGKILL');
      if (mounted) spawnSync('umount', [artifacts]);
    }
  });
});

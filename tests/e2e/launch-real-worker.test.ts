/**
 * The launcher with the real worker (`mmrun worker`) on a shrunken quickstart: kill -9 of the
 * launcher at a random moment, then the same command again: the plan's runs, each finished exactly
 * once (its log says "run <id> finished" once), nothing left running.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runMmrun, sweepRuns, waitFor } from '../helpers/launch-sweep.ts';
import { writeShrunkQuickstart } from '../helpers/shrunk-quickstart.ts';
import { tempFiles } from '../helpers/tmp.ts';

describe('launcher + real worker', () => {
  it('kill -9 at a random moment, rerun: every run of the plan finished exactly once', { timeout: 900_000 }, async () => {
    const t = tempFiles();
    const file = writeShrunkQuickstart(t.dir, { name: 'launch-real', imageFraction: 0.01, maxTest: 100, retrievalPool: 50, embeddingsSample: 20, extra: 'seeds: 1\n' });
    const env = { ...process.env, MLFLOW_TRACKING_URI: '' };
    const cli = join(ROOT, 'bin/mmrun.js');
    const plan = JSON.parse((await runMmrun(['plan', file, '--json'], { cwd: t.dir, env })).stdout) as { runs: { id: string }[] };
    const ids = plan.runs.map((r) => r.id);
    const { state, expectEachFinishedOnce } = sweepRuns(t.dir);

    const first = spawn(process.execPath, [cli, 'run', file], { cwd: t.dir, env, stdio: 'ignore' });
    const exited = new Promise((r) => first.on('close', r));
    await waitFor('a run started', () => ids.some((id) => state(id) === 'running'), 300_000);
    // A random moment while runs are in flight (random on purpose: every moment must be safe).
    await new Promise((r) => setTimeout(r, 2_000 + Math.random() * 20_000));
    first.kill('SIGKILL');
    await exited;

    const rerun = await runMmrun(['run', file], { cwd: t.dir, env, timeoutMs: 800_000 });
    expect(rerun.stdout + rerun.stderr).not.toMatch(/internal error/);
    expect(rerun.status).toBe(0);
    expectEachFinishedOnce(ids);
    const again = await runMmrun(['run', file], { cwd: t.dir, env });
    expect(again.stdout).toMatch(new RegExp(`nothing to do: all ${ids.length} runs`));
  });
});

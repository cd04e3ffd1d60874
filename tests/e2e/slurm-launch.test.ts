/**
 * The Slurm launcher against a real single-node Slurm cluster started by the test
 * (tests/helpers/slurm-cluster.ts), with fixture workers as array tasks.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureSweep, ROOT, runMmrun, sweepRuns, waitFor } from '../helpers/launch-sweep.ts';
import { writeShrunkQuickstart } from '../helpers/shrunk-quickstart.ts';
import { tempFiles } from '../helpers/tmp.ts';
import { slurmMissing, startSlurmCluster, type SlurmCluster } from '../helpers/slurm-cluster.ts';

const missing = slurmMissing();
const allowSkip = process.env.MMRUN_ALLOW_MISSING_SERVICES === '1';
const yaml = (launcher: string, seeds = '[0, 1, 2, 3]') => `name: fx\nseeds: ${seeds}\nlauncher: ${launcher}\n`;

describe.skipIf(missing !== undefined && allowSkip)('slurm launcher (real single-node cluster)', () => {
  let cluster: SlurmCluster;
  const env = () => ({ ...cluster.env, MMRUN_SLURM_POLL_MS: '300' });

  beforeAll(async () => {
    if (missing) throw new Error(`Slurm is not available: ${missing}`);
    cluster = await startSlurmCluster();
  }, 300_000);
  afterAll(async () => {
    await cluster?.stop();
  }, 300_000);

  it('runs the sweep as one job array; OOM (137) and segfault (139) are recorded, the others finish; a rerun finishes the rest', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ type: slurm, jobs: 2 }'), { ...env(), FIXTURE_BEHAVIOURS: '{"1":"exit137","2":"exit139"}' });
    const r = await s.run(['run', 'sweep.yaml']);
    expect(r.out).toMatch(/submitted Slurm job array \d+ \(4 tasks, 2 at a time\)/);
    expect(r.status).toBe(1);
    const [ok0, oom, segv, ok3] = s.runIds;
    // Exit 137 that Slurm does not report as OUT_OF_MEMORY is a kill, not an out-of-memory (exit-cause.ts).
    expect(s.status(oom)).toMatchObject({ state: 'failed', error: { cause: 'killed', exitCode: 137 } });
    expect(s.status(segv)).toMatchObject({ state: 'failed', error: { cause: 'segfault', exitCode: 139 } });
    for (const id of [ok0, ok3]) expect(s.status(id)?.state).toBe('finished');
    // Each task is one run: the task id is recorded in the run's status and its start line.
    const jobId = (s.status(ok0)?.launcher?.slurmJobId as string).split('_')[0];
    s.runIds.forEach((id, k) => {
      expect(s.status(id)?.launcher).toMatchObject({ type: 'slurm', slurmJobId: `${jobId}_${k}` });
      expect(s.starts(id)[0]).toMatch(new RegExp(`task=${k}$`));
    });
    const status = await s.run(['status', 'sweep.yaml']);
    expect(status.out).toMatch(new RegExp(`${oom}\\s+seed=1\\s+failed.*${jobId}_1 FAILED.*killed: .*exit 137`));

    const again = await s.run(['run', 'sweep.yaml'], { FIXTURE_BEHAVIOURS: '{}' });
    expect(again.status).toBe(0);
    expect(again.out).toMatch(/\(2 tasks, 2 at a time\)/);
    for (const id of s.runIds) expect(s.finishes(id)).toHaveLength(1);
  });

  it('kill -9 of the launcher mid-sweep, then rerun: every run finished exactly once', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ type: slurm, jobs: 2 }', '[0, 1, 2, 3, 4, 5]'), { ...env(), FIXTURE_EPOCHS: '4', FIXTURE_EPOCH_MS: '300' });
    const first = s.start(['run', 'sweep.yaml']);
    await waitFor('a run finished', () => s.runIds.some((id) => s.finishes(id).length > 0));
    first.child.kill('SIGKILL');
    await first.exited;
    const rerun = await s.run(['run', 'sweep.yaml']);
    expect(rerun.status).toBe(0);
    expect(rerun.out).toMatch(/following \d+ runs? already submitted|nothing to do/);
    for (const id of s.runIds) {
      expect(s.status(id)?.state).toBe('finished');
      expect(s.finishes(id)).toHaveLength(1);
      expect(s.starts(id)).toHaveLength(1);
    }
  });

  it('--detach returns at once; a cancelled (preempted) task resumes from its checkpoint on the next run', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ type: slurm, jobs: 1 }', '[0, 1]'), { ...env(), FIXTURE_EPOCHS: '6', FIXTURE_EPOCH_MS: '100' });
    // The tasks hold their last epoch until this (never created) file exists: a `--detach` that
    // waited for them would never return (status null at the 120 s kill), and the cancel below
    // always finds task 0 running, however loaded the machine.
    const d = await s.run(['run', 'sweep.yaml', '--detach'], { FIXTURE_GATE: join(s.dir, 'gate') });
    expect(d.status).toBe(0);
    expect(d.out).toMatch(/Detached/);
    await waitFor('task 0 past epoch 3', () => (s.status(s.runIds[0])?.epoch ?? 0) >= 3);
    const c = await s.run(['cancel', 'sweep.yaml']);
    expect(c.out).toMatch(/Cancelled Slurm job/);
    await waitFor('task 0 stopped', () => s.status(s.runIds[0])?.state === 'killed');
    const rerun = await s.run(['run', 'sweep.yaml'], { FIXTURE_EPOCH_MS: '10' });
    expect(rerun.status).toBe(0);
    expect(s.finishes(s.runIds[0])[0]).toMatch(/resumedFrom=([3-9]|\d\d)/);
    expect(s.finishes(s.runIds[1])).toHaveLength(1);
  });

  it('a task told its time is up (USR1) checkpoints, requeues itself and resumes within the same `mmrun run`', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ type: slurm, jobs: 1 }', '[0]'), { ...env(), FIXTURE_EPOCHS: '30', FIXTURE_EPOCH_MS: '150' });
    // The task holds its last epoch until the gate exists: it is still running when USR1 comes,
    // however slow the machine; the gate is opened for the requeued attempt.
    const gate = join(s.dir, 'gate');
    const run = s.start(['run', 'sweep.yaml'], { FIXTURE_GATE: gate });
    const id = s.runIds[0];
    await waitFor('the task past epoch 3', () => (s.status(id)?.epoch ?? 0) >= 3, 120_000);
    const task = s.status(id)?.launcher?.slurmJobId as string;
    expect(cluster.cmd('scancel', ['--signal=USR1', '--batch', task]).status).toBe(0);
    // Slurm holds a requeued task back (BeginTime, ~2 minutes) and then starts it by itself. The
    // test used to force StartTime=now: on this single node a task restarted that early could fail
    // to launch at all (JobState FAILED, RunTime 0, the batch script never ran), whatever was
    // waited for first. So the test waits for the real schedule.
    await waitFor('the task requeued', () => /PENDING/.test(cluster.cmd('squeue', ['-h', '-r', '-j', task, '-o', '%T']).stdout), 120_000);
    writeFileSync(gate, '');
    expect(await run.exited, run.output()).toBe(0);
    expect(s.starts(id)).toHaveLength(2);
    expect(s.finishes(id)).toHaveLength(1);
    expect(s.finishes(id)[0]).toMatch(/resumedFrom=([3-9]|\d\d)/);
    expect(readFileSync(join(s.runDir(id), 'log.txt'), 'utf8')).toMatch(/requeueing slurm task/);
  });

  it('a job left held by a launcher killed while submitting is cancelled, not run beside the new one', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ type: slurm, jobs: 2 }', '[0, 1]'), { ...env() });
    const plan = JSON.parse((await s.run(['plan', 'sweep.yaml', '--json'])).out) as { sweepId: string };
    const held = cluster.cmd('sbatch', ['--parsable', '--hold', `--job-name=mmrun-${plan.sweepId}`, '--array=0-1', '--output=/dev/null', '--wrap', 'exit 0']);
    expect(held.status).toBe(0);
    const heldId = held.stdout.trim();
    const r = await s.run(['run', 'sweep.yaml']);
    expect(r.status).toBe(0);
    for (const id of s.runIds) expect(s.finishes(id)).toHaveLength(1);
    expect(cluster.cmd('squeue', ['-h', '-r', '--states=all', '-j', heldId, '-o', '%T']).stdout).toMatch(/CANCELLED/);
  });

  it('real worker on Slurm: kill -9 of the launcher at a random moment, rerun: the plan\'s runs, each finished once', { timeout: 900_000 }, async () => {
    const t = tempFiles();
    const file = writeShrunkQuickstart(t.dir, {
      name: 'slurm-real',
      imageFraction: 0.01,
      maxTest: 100,
      retrievalPool: 50,
      embeddingsSample: 20,
      extra: 'seeds: 1\nlauncher: { type: slurm, jobs: 2 }\n',
    });
    const e = { ...env(), MLFLOW_TRACKING_URI: '' };
    const cli = join(ROOT, 'bin/mmrun.js');
    const ids = (JSON.parse((await runMmrun(['plan', file, '--json'], { cwd: t.dir, env: e })).stdout) as { runs: { id: string }[] }).runs.map((r) => r.id);
    const { state, expectEachFinishedOnce } = sweepRuns(t.dir);
    const first = spawn(process.execPath, [cli, 'run', file], { cwd: t.dir, env: e, stdio: 'ignore' });
    const exited = new Promise((r) => first.on('close', r));
    await waitFor('a task running', () => ids.some((id) => state(id) === 'running'), 300_000);
    await new Promise((r) => setTimeout(r, 1_000 + Math.random() * 20_000));
    first.kill('SIGKILL');
    await exited;
    const rerun = await runMmrun(['run', file], { cwd: t.dir, env: e, timeoutMs: 800_000 });
    expect(rerun.stdout + rerun.stderr).not.toMatch(/internal error/);
    expect(rerun.status).toBe(0);
    expectEachFinishedOnce(ids);
  });

  it('launcher.timeout_minutes: a hung task is stopped by its watchdog and recorded as a timeout; the others finish', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ type: slurm, jobs: 2, timeout_minutes: 0.05 }', '[0, 1]'), { ...env(), FIXTURE_BEHAVIOURS: '{"0":"hang"}', MMRUN_KILL_GRACE_S: '1' });
    // The hung task never ends by itself: without the watchdog this mmrun is killed at 200 s (status null).
    const r = await s.run(['run', 'sweep.yaml'], {}, 200_000);
    expect(r.status).toBe(1);
    const [hung, ok] = s.runIds;
    expect(s.status(hung)).toMatchObject({ state: 'failed', error: { cause: 'timeout' } });
    expect(s.status(hung)?.error?.message).toMatch(/went past launcher\.timeout_minutes \(Slurm task \d+_0\)/);
    expect(readFileSync(join(s.runDir(hung), 'log.txt'), 'utf8')).toMatch(/=== mmrun: past launcher\.timeout_minutes \(0\.05\)/);
    expect(s.status(ok)?.state).toBe('finished');
    const pid = s.status(hung)?.pid as number;
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('sbatch missing: a clear error before anything is submitted or written', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ type: slurm }', '[0]'), { ...env() });
    const r = await s.run(['run', 'sweep.yaml'], { PATH: '/nonexistent' });
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/`sbatch` is not on PATH: nothing was submitted/);
    expect(r.out).not.toMatch(/internal error/);
    expect(existsSync(join(s.dir, 'artifacts'))).toBe(false);
  });

  it('controller down: a clear error before anything is submitted or written', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ type: slurm }', '[0]'), { ...env() });
    await cluster.stopController();
    const r = await s.run(['run', 'sweep.yaml']);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/Slurm controller does not answer.*nothing was submitted/);
    expect(existsSync(join(s.dir, 'artifacts'))).toBe(false);
  });
});

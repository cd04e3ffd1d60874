/**
 * The local launcher through the CLI, with fixture workers that sleep, crash, get OOM-killed,
 * segfault, hang or finish: faults are recorded with their cause, the sweep goes on, and a rerun
 * after kill -9 of the launcher finishes every run exactly once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureSweep, waitFor } from '../helpers/launch-sweep.ts';

const yaml = (launcher: string, seeds = '[0, 1, 2, 3]') => `name: fx\nseeds: ${seeds}\nlauncher: ${launcher}\n`;

describe('local launcher', () => {
  it('records a kill (137, no OOM in the cgroup) and a segfault (139) with their cause and goes on; a rerun retries only those', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ jobs: 2 }'), { FIXTURE_BEHAVIOURS: '{"1":"exit137","2":"segv"}' });
    const [ok0, oom, segv, ok3] = s.runIds;
    const first = await s.run(['run', 'sweep.yaml']);
    expect(first.status).toBe(1);
    expect(first.out).toMatch(/2 finished, 2 failed/);
    // Exit 137 with no OOM kill in the cgroup's counter is a kill, not an out-of-memory (exit-cause.ts).
    expect(s.status(oom)).toMatchObject({ state: 'failed', error: { cause: 'killed', exitCode: 137, signal: 'SIGKILL' } });
    expect(s.status(segv)).toMatchObject({ state: 'failed', error: { cause: 'segfault', signal: 'SIGSEGV' } });
    for (const id of [ok0, ok3]) expect(s.status(id)?.state).toBe('finished');
    expect(s.starts(ok0)[0]).toMatch(/threads=1 slot=[01]/);

    const again = await s.run(['run', 'sweep.yaml'], { FIXTURE_BEHAVIOURS: '{}' });
    expect(again.status).toBe(0);
    expect(again.out).toMatch(/2 of 4 runs already finished/);
    for (const id of s.runIds) expect(s.finishes(id)).toHaveLength(1);
    expect(s.status(oom)?.attempt).toBe(2);

    const third = await s.run(['run', 'sweep.yaml']);
    expect(third.status).toBe(0);
    expect(third.out).toMatch(/nothing to do: all 4 runs/);

    const status = await s.run(['status', 'sweep.yaml']);
    expect(status.status).toBe(0);
    expect(status.out).toMatch(/4 finished/);
    for (const id of s.runIds) expect(status.out).toMatch(new RegExp(`${id}\\s+seed=\\d\\s+finished\\s+\\d`));
  });

  it('kills a hung run at its timeout (whole process group) and records it', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ jobs: 2, timeout_minutes: 0.05 }', '[0, 1]'), { FIXTURE_BEHAVIOURS: '{"0":"hang"}', MMRUN_KILL_GRACE_S: '1' });
    // The hung worker never ends by itself: without the timeout kill, this mmrun is killed at 200 s (status null).
    // 3 s (not less): the other run must finish within it even on a loaded machine.
    const r = await s.run(['run', 'sweep.yaml'], {}, 200_000);
    expect(r.status).toBe(1);
    expect(s.status(s.runIds[0])).toMatchObject({ state: 'failed', error: { cause: 'timeout' } });
    expect(s.status(s.runIds[1])?.state).toBe('finished');
    const pid = s.status(s.runIds[0])?.pid as number;
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('retries a failed run with backoff', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ jobs: 1, retries: 2, retry_backoff_s: 0.2 }', '[0]'), { FIXTURE_BEHAVIOUR: 'flaky:2' });
    const r = await s.run(['run', 'sweep.yaml']);
    expect(r.out).toMatch(/retry 1\/2 in 0\.2s/);
    expect(r.out).toMatch(/retry 2\/2 in 0\.4s/);
    expect(r.status).toBe(0);
    expect(s.starts(s.runIds[0])).toHaveLength(3);
    expect(s.status(s.runIds[0])).toMatchObject({ state: 'finished', attempt: 3 });
  });

  it('fail_fast stops the sweep at the first failure', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ jobs: 1, fail_fast: true }'), { FIXTURE_BEHAVIOURS: '{"0":"crash"}' });
    const r = await s.run(['run', 'sweep.yaml']);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/fail_fast/);
    expect(s.status(s.runIds[0])).toMatchObject({ state: 'failed', error: { cause: 'exception', message: expect.stringMatching(/fixture crash/) } });
    expect(s.runIds.slice(1).filter((id) => s.status(id) !== undefined)).toHaveLength(0);
  });

  it('a second `mmrun run` of the same sweep is refused (or waits with --wait)', { timeout: 300_000 }, async () => {
    // The runs hold their last epoch until the gate file exists: the first launcher is still
    // running them however slow the machine is, until the test says so.
    const s = await fixtureSweep(yaml('{ jobs: 2 }', '[0, 1]'), { FIXTURE_EPOCHS: '2', FIXTURE_EPOCH_MS: '50' });
    const gate = join(s.dir, 'gate');
    const first = s.start(['run', 'sweep.yaml'], { FIXTURE_GATE: gate });
    await waitFor('first launcher started its runs', () => s.runIds.every((id) => s.status(id)?.state === 'running'));
    const second = await s.run(['run', 'sweep.yaml']);
    expect(second.status).toBe(1);
    expect(second.out).toMatch(new RegExp(`already being launched by pid ${first.child.pid} on`));
    expect(second.out).toMatch(/--wait/);
    const waiting = s.start(['run', 'sweep.yaml', '--wait']);
    await waitFor('the second launcher waiting for the first', () => /waiting for it/.test(waiting.output()));
    expect(s.runIds.every((id) => s.status(id)?.state === 'running')).toBe(true);
    writeFileSync(gate, '');
    expect(await first.exited).toBe(0);
    expect(await waiting.exited).toBe(0);
    expect(waiting.output()).toMatch(/nothing to do/);
    for (const id of s.runIds) expect(s.finishes(id)).toHaveLength(1);
  });

  it('kill -9 of the launcher mid-sweep, then rerun: every run finished exactly once', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ jobs: 2 }', '[0, 1, 2, 3, 4, 5]'), { FIXTURE_EPOCHS: '4', FIXTURE_EPOCH_MS: '250' });
    const first = s.start(['run', 'sweep.yaml']);
    // Kill it while runs are in flight (some finished, some running, some not started).
    await waitFor('a run finished and others running', () => s.runIds.some((id) => s.finishes(id).length > 0) && s.runIds.some((id) => s.status(id)?.state === 'running'));
    first.child.kill('SIGKILL');
    await first.exited;
    const rerun = await s.run(['run', 'sweep.yaml']);
    expect(rerun.status).toBe(0);
    for (const id of s.runIds) {
      expect(s.status(id)?.state).toBe('finished');
      expect(s.finishes(id)).toHaveLength(1);
    }
    // Orphaned workers of the killed launcher were watched, not started twice.
    const totalStarts = s.runIds.reduce((n, id) => n + s.starts(id).length, 0);
    expect(totalStarts).toBe(s.runIds.length);
  });

  it('kill -9 of launcher and workers: the rerun resumes the stale runs from their checkpoints', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ jobs: 2 }', '[0, 1]'), { FIXTURE_EPOCHS: '6', FIXTURE_EPOCH_MS: '300' });
    const gate = join(s.dir, 'gate'); // the runs cannot finish before the test kills them
    const first = s.start(['run', 'sweep.yaml'], { FIXTURE_GATE: gate });
    await waitFor('both runs past epoch 2', () => s.runIds.every((id) => (s.status(id)?.epoch ?? 0) >= 2));
    const pids = s.runIds.map((id) => s.status(id)?.pid as number);
    first.child.kill('SIGKILL');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await first.exited;
    const status = await s.run(['status', 'sweep.yaml']);
    expect(status.out).toMatch(/2 stale/);
    writeFileSync(gate, '');
    const rerun = await s.run(['run', 'sweep.yaml']);
    expect(rerun.status).toBe(0);
    for (const id of s.runIds) {
      expect(s.finishes(id)).toHaveLength(1);
      expect(s.finishes(id)[0]).toMatch(/resumedFrom=[2-6]/);
    }
  });

  it('Ctrl-C: the first stops launching and lets runs checkpoint, then they are killed; a rerun resumes them', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ jobs: 2 }'), { FIXTURE_EPOCHS: '20', FIXTURE_EPOCH_MS: '200' });
    const gate = join(s.dir, 'gate'); // the first two runs cannot finish before the Ctrl-C
    const first = s.start(['run', 'sweep.yaml'], { FIXTURE_GATE: gate });
    await waitFor('two runs running', () => s.runIds.filter((id) => (s.status(id)?.epoch ?? 0) >= 1).length === 2);
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(130);
    expect(first.output()).toMatch(/launching nothing more/);
    const states = s.runIds.map((id) => s.status(id)?.state);
    expect(states.filter((x) => x === 'killed')).toHaveLength(2);
    expect(states.filter((x) => x === undefined)).toHaveLength(2);
    const rerun = await s.run(['run', 'sweep.yaml'], { FIXTURE_EPOCH_MS: '10' });
    expect(rerun.status).toBe(0);
    const resumed = s.runIds.filter((id) => /resumedFrom=[1-9]/.test(s.finishes(id)[0] ?? ''));
    expect(resumed).toHaveLength(2);
  });

  it('a second Ctrl-C kills at once', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ jobs: 2 }', '[0, 1]'), { FIXTURE_BEHAVIOUR: 'hang' });
    const first = s.start(['run', 'sweep.yaml']);
    await waitFor('two runs running', () => s.runIds.every((id) => s.status(id)?.state === 'running'));
    first.child.kill('SIGINT');
    // Signals sent before the first is handled would be merged into one by the kernel.
    await waitFor('the launcher took the first Ctrl-C', () => /launching nothing more/.test(first.output()));
    first.child.kill('SIGINT');
    expect(await first.exited).toBe(130);
    for (const id of s.runIds) expect(s.status(id)).toMatchObject({ state: 'killed' });
  });

  it('`mmrun cancel` stops a local launcher', { timeout: 300_000 }, async () => {
    const s = await fixtureSweep(yaml('{ jobs: 1 }', '[0, 1]'), { FIXTURE_EPOCHS: '5', FIXTURE_EPOCH_MS: '100', FIXTURE_GATE: '/nonexistent/gate' });
    const first = s.start(['run', 'sweep.yaml']);
    await waitFor('a run running', () => s.status(s.runIds[0])?.state === 'running');
    const c = await s.run(['cancel', 'sweep.yaml']);
    expect(c.status).toBe(0);
    expect(c.out).toMatch(/Asked the launcher/);
    expect(await first.exited).toBe(130);
    expect(s.status(s.runIds[0])?.state).toBe('killed');
    expect((await s.run(['cancel', 'sweep.yaml'])).out).toMatch(/Nothing to cancel/);
  });
});

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { classifyExit } from '../../runner/launch/exit-cause.ts';
import { dispositionOf, type LivenessProbe } from '../../runner/launch/liveness.ts';
import { concurrencyOf, slotEnv } from '../../runner/launch/slots.ts';
import { isActive, parseScontrolJobs, parseSqueue, slurmScript, TIMED_OUT_MARKER } from '../../runner/launch/slurm/index.ts';
import { headerLine, runLine } from '../../runner/launch/display.ts';
import type { RunStatus } from '../../runner/track/run-store.ts';

const running = (over: Partial<RunStatus> = {}): RunStatus => ({ state: 'running', runId: 'r1', attempt: 1, pid: 100, host: 'here', heartbeatAt: new Date(1_000_000).toISOString(), ...over });
const probe = (alive: number[], now = 1_000_000 + 5_000): LivenessProbe => ({ host: 'here', now, pidAlive: (p) => p !== undefined && alive.includes(p) });

describe('classifyExit', () => {
  it('finished only when the worker exits 0 and says finished', () => {
    expect(classifyExit({ exitCode: 0, signal: null }, running({ state: 'finished' }))).toEqual({ state: 'finished' });
    const r = classifyExit({ exitCode: 0, signal: null }, running());
    expect(r.state).toBe('failed');
  });
  it('exit 137 and SIGKILL are kills; out-of-memory only when the kernel says so (tests/unit/integrity-exit-cause.test.ts)', () => {
    for (const exit of [{ exitCode: 137, signal: null }, { exitCode: null, signal: 'SIGKILL' }]) {
      const r = classifyExit(exit, running());
      expect(r.state).toBe('failed');
      if (r.state !== 'finished') expect(r.error).toMatchObject({ cause: 'killed', signal: 'SIGKILL' });
      const oom = classifyExit({ ...exit, oom: { verdict: 'killed', detail: 'oom_kill 0 -> 1' } }, running());
      if (oom.state !== 'finished') expect(oom.error).toMatchObject({ cause: 'oom', signal: 'SIGKILL' });
    }
  });
  it('exit 139 and SIGSEGV are segfaults', () => {
    for (const exit of [{ exitCode: 139, signal: null }, { exitCode: null, signal: 'SIGSEGV' }]) {
      const r = classifyExit(exit, running());
      if (r.state === 'finished') throw new Error('expected a failure');
      expect(r.error.cause).toBe('segfault');
    }
  });
  it('a timeout wins over the exit signal', () => {
    const r = classifyExit({ exitCode: null, signal: 'SIGKILL', timedOut: true }, running());
    if (r.state === 'finished') throw new Error('expected a failure');
    expect(r).toMatchObject({ state: 'failed', error: { cause: 'timeout' } });
  });
  it("keeps the worker's own verdict (nan) and its killed state", () => {
    const nan = classifyExit({ exitCode: 1, signal: null }, running({ state: 'failed', error: { message: 'loss is NaN', cause: 'nan' } }));
    expect(nan).toMatchObject({ state: 'failed', error: { cause: 'nan', exitCode: 1 } });
    const killed = classifyExit({ exitCode: 143, signal: null, stopRequested: true }, running({ state: 'killed', error: { message: 'stopped', cause: 'killed' } }));
    expect(killed.state).toBe('killed');
  });
  it('a SIGKILL the launcher sent on request is a kill, not an OOM', () => {
    expect(classifyExit({ exitCode: null, signal: 'SIGKILL', stopRequested: true }, running()).state).toBe('killed');
  });
});

describe('dispositionOf', () => {
  it('skips finished runs and relaunches failed/killed ones', () => {
    expect(dispositionOf(running({ state: 'finished' }), probe([]))).toBe('done');
    expect(dispositionOf(running({ state: 'failed' }), probe([100]))).toBe('launch');
    expect(dispositionOf(undefined, probe([]))).toBe('launch');
  });
  it('a running run on this host is live while its pid exists, resumed once it is gone', () => {
    expect(dispositionOf(running(), probe([100]))).toBe('live');
    expect(dispositionOf(running(), probe([]))).toBe('launch');
  });
  it('a live pid with a stale heartbeat that is not the run\'s worker (recycled pid) does not hold the run', () => {
    const stale = probe([100], 1_000_000 + 60_000);
    expect(dispositionOf(running(), { ...stale, isWorkerOf: () => false })).toBe('launch');
    expect(dispositionOf(running(), { ...stale, isWorkerOf: () => true })).toBe('live');
    expect(dispositionOf(running(), { ...probe([100]), isWorkerOf: () => false })).toBe('live'); // fresh heartbeat
  });
  it('a queued run is live while the launcher that queued it is alive', () => {
    const q = running({ state: 'queued', pid: undefined, launcher: { type: 'local', pid: 7 } });
    expect(dispositionOf(q, probe([7]))).toBe('live');
    expect(dispositionOf(q, probe([]))).toBe('launch');
  });
  it('on another host, the heartbeat decides (30 s)', () => {
    const other = running({ host: 'node7' });
    expect(dispositionOf(other, probe([], 1_000_000 + 10_000))).toBe('live');
    expect(dispositionOf(other, probe([], 1_000_000 + 31_000))).toBe('launch');
  });
});

describe('slots', () => {
  it('auto: one per GPU, else cores ÷ threads per run; --jobs wins', () => {
    expect(concurrencyOf({ jobs: 'auto', threads_per_run: 1 }, { cores: 8, gpus: 0 })).toBe(8);
    expect(concurrencyOf({ jobs: 'auto', threads_per_run: 3 }, { cores: 8, gpus: 0 })).toBe(2);
    expect(concurrencyOf({ jobs: 'auto', threads_per_run: 16 }, { cores: 8, gpus: 0 })).toBe(1);
    expect(concurrencyOf({ jobs: 'auto', threads_per_run: 1 }, { cores: 8, gpus: 2 })).toBe(2);
    expect(concurrencyOf({ jobs: 3, threads_per_run: 1 }, { cores: 8, gpus: 0 })).toBe(3);
    expect(concurrencyOf({ jobs: 3, threads_per_run: 1 }, { cores: 8, gpus: 0 }, 5)).toBe(5);
  });
  it('each slot gets its threads and its own GPU', () => {
    expect(slotEnv(1, { threads_per_run: 2 }, { cores: 8, gpus: 2 })).toMatchObject({ MMRUN_THREADS: '2', CUDA_VISIBLE_DEVICES: '1' });
    expect(slotEnv(3, { threads_per_run: 2 }, { cores: 8, gpus: 2 }).CUDA_VISIBLE_DEVICES).toBe('1');
    expect(slotEnv(0, { threads_per_run: 1 }, { cores: 8, gpus: 0 }).CUDA_VISIBLE_DEVICES).toBeUndefined();
  });
});

describe('slurm', () => {
  const launcher = { jobs: 3 as const, slurm: { partition: 'gpu', time: '01:00:00', cpus_per_task: 4, mem: '8G', gpus: 1, account: 'lab', extra_args: ['--qos=low'] } };
  it('the batch script maps the array task to its run directory with the resources of the file', () => {
    const s = slurmScript({ sweepId: 'q-1234', tasksFile: '/shared/a b/tasks.txt', count: 5, launcher, workerCommand: ['node', '/opt/mmrun/bin/mmrun.js', 'worker'], outputDir: '/shared/out' });
    for (const d of ['--array=0-4%3', '--cpus-per-task=4', '--time=01:00:00', '--mem=8G', '--partition=gpu', '--account=lab', '--gres=gpu:1', '--qos=low', '--job-name=mmrun-q-1234']) {
      expect(s).toContain(`#SBATCH ${d}\n`);
    }
    expect(s).toContain(`sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" '/shared/a b/tasks.txt'`);
    expect(s).toContain('node /opt/mmrun/bin/mmrun.js worker "$RUN_DIR" >> "$RUN_DIR/log.txt" 2>&1 &');
    expect(s).toContain('#SBATCH --signal=B:USR1@120\n');
    expect(spawnSync('bash', ['-n'], { input: s }).status).toBe(0);
    expect(slurmScript({ sweepId: 'x', tasksFile: '/t', count: 2, launcher: { ...launcher, jobs: 'auto' as never }, workerCommand: ['w'], outputDir: '/o' })).toContain('#SBATCH --array=0-1\n');
  });
  it('timeout_minutes adds a watchdog that marks the run, stops the worker and exits 124; none without it', () => {
    const with30s = slurmScript({ sweepId: 'x', tasksFile: '/t', count: 1, launcher: { ...launcher, timeout_minutes: 0.5 }, workerCommand: ['w'], outputDir: '/o' });
    expect(with30s).toContain('( sleep 30; echo "=== mmrun: past launcher.timeout_minutes (0.5)');
    expect(with30s).toContain(`touch "$RUN_DIR/${TIMED_OUT_MARKER}"; kill -TERM "$pid" 2>/dev/null; sleep "\${MMRUN_KILL_GRACE_S:-10}"; kill -KILL "$pid"`);
    expect(with30s).toContain(`if [ -f "$RUN_DIR/${TIMED_OUT_MARKER}" ]; then exit 124; fi`);
    expect(with30s.indexOf(`rm -f "$RUN_DIR/${TIMED_OUT_MARKER}"`)).toBeLessThan(with30s.indexOf('w "$RUN_DIR"'));
    expect(spawnSync('bash', ['-n'], { input: with30s }).status).toBe(0);
    const without = slurmScript({ sweepId: 'x', tasksFile: '/t', count: 1, launcher: { ...launcher, timeout_minutes: null }, workerCommand: ['w'], outputDir: '/o' });
    expect(without).not.toContain('watchdog');
  });
  it('parses squeue and scontrol output', () => {
    expect(parseSqueue('12|0|COMPLETED|None\n12|1|RUNNING|None\n12|2|PENDING|JobArrayTaskLimit\n\n')).toEqual([
      { jobId: '12', taskId: 0, state: 'COMPLETED', reason: 'None' },
      { jobId: '12', taskId: 1, state: 'RUNNING', reason: 'None' },
      { jobId: '12', taskId: 2, state: 'PENDING', reason: 'JobArrayTaskLimit' },
    ]);
    const jobs = parseScontrolJobs('JobId=14 ArrayJobId=12 ArrayTaskId=1 JobName=x JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0\nJobId=15 ArrayJobId=12 ArrayTaskId=2 JobState=CANCELLED ExitCode=0:15');
    expect(jobs).toEqual([
      { jobId: '12', taskId: 1, state: 'FAILED', exitCode: 3, signal: 0 },
      { jobId: '12', taskId: 2, state: 'CANCELLED', exitCode: 0, signal: 15 },
    ]);
    expect(isActive('PENDING')).toBe(true);
    expect(isActive('COMPLETED')).toBe(false);
  });
});

describe('display lines', () => {
  it('header shows counts, rate and ETA; run lines show phase, epoch, loss and speed', () => {
    const h = headerLine({ label: 'sweep s', startedAt: 0, total: 10, done: 4, doneHere: 4, failed: 1, killed: 0, queued: 3, running: [] }, 120_000);
    expect(h).toMatch(/4\/10 done, 0 running, 3 queued, 1 failed \| 2\.00 runs\/min \| 2m00s \| ETA 2m30s/);
    const line = runLine({ id: 'abc', name: 'seed=1', dir: '/x', startedAt: 0, attempt: 2 }, running({ phase: 'joint', epoch: 2, progress: { step: 5, steps: 9, loss: 0.5, samplesPerS: 1234.4 } }), 3000);
    expect(line).toContain('joint epoch 2 step 5/9');
    expect(line).toContain('loss 0.5000');
    expect(line).toContain('1234 samples/s');
    expect(line).toContain('attempt 2');
  });
});

describe('--only', () => {
  const plan = { sweepId: 's-1', file: 'x.yaml', runs: [{ id: 'abc111', name: 'seed=0' }, { id: 'abc222', name: 'seed=1' }, { id: 'def333', name: 'seed=2' }] } as never;
  it('selects runs by id, unique prefix or name; refuses unknown and ambiguous ones', async () => {
    const { selectRuns } = await import('../../runner/launch/index.ts');
    expect(selectRuns(plan, undefined)).toHaveLength(3);
    expect(selectRuns(plan, ['def', 'seed=1']).map((r) => r.id)).toEqual(['def333', 'abc222']);
    expect(() => selectRuns(plan, ['abc'])).toThrow(/2 runs match/);
    expect(() => selectRuns(plan, ['zzz'])).toThrow(/no run of sweep s-1 has this id/);
  });
});

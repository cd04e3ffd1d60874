/**
 * Slurm orchestration: the runs not finished yet become one `sbatch --array` job whose tasks map
 * SLURM_ARRAY_TASK_ID to a run directory through a task list in the sweep folder. The job is
 * submitted held, its tasks recorded (slurm.json, status.json), then released, so a launcher killed
 * at any moment leaves nothing that the next `mmrun run` cannot account for: held jobs are released
 * or cancelled (adoptHeldJobs), tasks still pending or running are followed, not submitted again;
 * tasks that ended without finishing are submitted again and resume from their checkpoints.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MmrunError } from '../../errors.ts';
import { RunStore, runDirOf, type RunStatus } from '../../track/run-store.ts';
import { startDisplay, type DisplayModel } from '../display.ts';
import { classifyExit, describeError } from '../exit-cause.ts';
import type { RunSpec } from '../../sweep/index.ts';
import type { LaunchRequest, LaunchResult, RunEnd } from '../launcher.ts';
import { defaultProbe, dispositionOf } from '../liveness.ts';
import { queryTasks, release, sbatchHeld, scancel, taskDetails } from './commands.ts';
import { isActive, signalName, taskKey, type TaskDetail, type TaskState } from './parse.ts';
import { REQUEUE_MARKER, TIMED_OUT_MARKER, slurmScript } from './script.ts';
import { readSlurmState, runOfTask, writeSlurmState, type SlurmJobRecord, type SlurmState } from './state-file.ts';
import { mkdirLevels } from '../../files/mkdir.ts';

type SlurmSweepOptions = LaunchRequest & { pollMs?: number };

function readStatus(dir: string): RunStatus | undefined {
  try {
    return new RunStore(dir).readStatus();
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Jobs left held by a launcher killed between submitting and releasing: releases those whose tasks
 * are recorded in slurm.json, cancels the others (nobody can tell which runs they hold). Returns the
 * runs of the jobs released, and of tasks still pending or running: followed, not submitted again.
 */
export async function adoptHeldJobs(o: LaunchRequest): Promise<string[]> {
  const state = readSlurmState(o.files.slurm);
  const followed = new Set<string>();
  for (const t of await queryTasks(o.plan.sweepId, o.env)) {
    const known = state.jobs.find((j) => j.jobId === t.jobId);
    if (t.state === 'PENDING' && /held/i.test(t.reason)) {
      if (known) {
        markQueued(o, known);
        const said = await release(t.jobId, o.env);
        if (said) o.say(`warning: could not release held Slurm job ${t.jobId} left by an earlier launcher: ${said}`);
      } else {
        await scancel([t.jobId], o.env);
        continue;
      }
    }
    const id = runOfTask(state, t);
    if (id && isActive(t.state)) followed.add(id);
  }
  return [...followed];
}

export async function runSlurmSweep(o: SlurmSweepOptions): Promise<LaunchResult> {
  const env = o.env;
  const pollMs = o.pollMs ?? Number(env.MMRUN_SLURM_POLL_MS ?? 2000);
  let state = readSlurmState(o.files.slurm);
  const runIds = new Set(o.runs.map((r) => r.id));
  const byId = new Map(o.runs.map((r) => [r.id, r]));
  const attempts = new Map<string, number>();

  let how: LaunchResult['how'];
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  if (o.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    for (;;) {
      const tasks = await queryTasks(o.plan.sweepId, env);
      const inFlight = new Set(tasks.filter((t) => isActive(t.state)).map((t) => runOfTask(state, t)).filter((id): id is string => Boolean(id)));
      const probe = defaultProbe();
      const toSubmit = o.runs.filter((r) => {
        if (inFlight.has(r.id)) return false;
        const status = readStatus(runDirOf(o.artifactsDir, r.id));
        if (status?.state === 'finished') return false;
        // A worker of a local launcher on it right now: leave it alone.
        if (status?.launcher?.type === 'local' && dispositionOf(status, probe) === 'live') return false;
        return true;
      });
      if (inFlight.size > 0) o.say(`sweep ${o.plan.sweepId}: following ${inFlight.size} run${inFlight.size === 1 ? '' : 's'} already submitted to Slurm.`);
      if (toSubmit.length > 0) {
        for (const r of toSubmit) attempts.set(r.id, (attempts.get(r.id) ?? 0) + 1);
        const job = await submit(o, toSubmit, state);
        state = readSlurmState(o.files.slurm);
        o.say(`sweep ${o.plan.sweepId}: submitted Slurm job array ${job.jobId} (${toSubmit.length} task${toSubmit.length === 1 ? '' : 's'}${o.launcher.jobs === 'auto' ? '' : `, ${o.launcher.jobs} at a time`}); task logs in ${o.artifactsDir}/runs/<id>/log.txt`);
      }
      if (o.detach) {
        o.say(`Detached: follow it with \`mmrun status ${o.experimentFile}\`, stop it with \`mmrun cancel ${o.experimentFile}\`; \`mmrun run\` again resumes whatever ends unfinished.`);
        how = 'detached';
        break;
      }
      const outcome = await follow(o, () => state, pollMs, () => interrupted);
      if (outcome === 'interrupted') {
        o.say('Stopped following: the Slurm array keeps running. `mmrun status` shows it, `mmrun cancel` stops it, `mmrun run` follows it again.');
        how = 'interrupted';
        break;
      }
      // Record how tasks that ended without finishing their run ended.
      const failedNow = await reconcile(o);
      if (outcome === 'fail_fast' || (o.launcher.fail_fast && failedNow.length > 0)) {
        how = 'fail_fast';
        break;
      }
      const retry = failedNow.filter((id) => runIds.has(id) && (attempts.get(id) ?? 1) <= o.launcher.retries);
      if (retry.length === 0) break;
      const k = Math.max(...retry.map((id) => attempts.get(id) ?? 1));
      const backoff = o.launcher.retry_backoff_s * 2 ** (k - 1);
      o.say(`retrying ${retry.length} failed run${retry.length === 1 ? '' : 's'} in ${backoff}s (${retry.map((id) => byId.get(id)?.name ?? id).join(', ')})`);
      await sleep(backoff * 1000);
      // Next round submits the runs not finished: limit it to those retried.
      o = { ...o, runs: o.runs.filter((r) => retry.includes(r.id) || !isTerminalFailure(readStatus(runDirOf(o.artifactsDir, r.id)))) };
    }
  } finally {
    if (o.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  const ends: RunEnd[] = [];
  const all = [...byId.values()];
  for (const spec of all) {
    const status = readStatus(runDirOf(o.artifactsDir, spec.id));
    if (!status) continue;
    if (status.state === 'finished') ends.push({ spec, state: 'finished', attempts: attempts.get(spec.id) ?? 0, adopted: !attempts.has(spec.id) });
    else if (status.state === 'failed' || status.state === 'killed') ends.push({ spec, state: status.state, error: status.error, attempts: attempts.get(spec.id) ?? 0 });
  }
  return { ends, how };
}

const isTerminalFailure = (s: RunStatus | undefined) => s?.state === 'failed' || s?.state === 'killed';

function markQueued(o: LaunchRequest, job: SlurmJobRecord): void {
  job.runIds.forEach((id, k) => {
    const store = new RunStore(runDirOf(o.artifactsDir, id));
    const previous = readStatus(store.dir);
    // Called only while the job is held: no task of it can have started, so a "running" status is
    // a stale one from an earlier task and is replaced.
    if (previous?.state === 'finished') return;
    const attempt = previous && previous.state !== 'queued' ? (previous.attempt ?? 0) + 1 : (previous?.attempt ?? 1);
    store.writeStatus({
      ...(previous ?? {}),
      state: 'queued',
      runId: id,
      attempt,
      pid: undefined,
      launcher: { type: 'slurm', pid: process.pid, slurmJobId: taskKey(job.jobId, k) },
      endedAt: null,
      error: undefined,
    });
  });
}

async function submit(o: SlurmSweepOptions, runs: RunSpec[], state: SlurmState): Promise<SlurmJobRecord> {
  const stamp = new Date().toISOString().replace(/[-:.]/g, '').replace('T', '-').slice(0, 15);
  const tasksFile = join(o.files.dir, `tasks-${stamp}-${process.pid}.txt`);
  const script = join(o.files.dir, `array-${stamp}-${process.pid}.sh`);
  const outputDir = join(o.files.dir, 'slurm-out');
  mkdirLevels(outputDir);
  const dirs = runs.map((r) => RunStore.create(o.artifactsDir, r, { sweepId: o.plan.sweepId, experimentFile: o.experimentFile }).dir);
  writeFileSync(tasksFile, dirs.join('\n') + '\n');
  writeFileSync(script, slurmScript({ sweepId: o.plan.sweepId, tasksFile, count: runs.length, launcher: o.launcher, workerCommand: o.workerCommand, outputDir }), { mode: 0o755 });
  // Held: nothing runs before every task is recorded, so a launcher killed in between leaves a
  // job the next launcher can release or cancel, never a task it does not know about.
  const jobId = await sbatchHeld(script, o.env);
  const job: SlurmJobRecord = { jobId, runIds: runs.map((x) => x.id), tasksFile, script, submittedAt: new Date().toISOString() };
  writeSlurmState(o.files.slurm, { jobs: [...state.jobs, job] });
  markQueued(o, job);
  const said = await release(jobId, o.env);
  if (said) {
    await scancel([jobId], o.env);
    throw new MmrunError(`could not release Slurm job ${jobId} (\`scontrol release\`: ${said}); it was cancelled.`);
  }
  return job;
}

async function follow(o: SlurmSweepOptions, state: () => SlurmState, pollMs: number, interrupted: () => boolean): Promise<'done' | 'interrupted' | 'fail_fast'> {
  const startedAt = Date.now();
  const firstSeen = new Map<string, number>();
  let snapshot: TaskState[] = [];
  const runOf = (t: TaskState) => runOfTask(state(), t);
  const ours = new Set(o.runs.map((r) => r.id));
  const initiallyDone = new Set(o.runs.filter((r) => readStatus(runDirOf(o.artifactsDir, r.id))?.state === 'finished').map((r) => r.id));
  const model = (): DisplayModel => {
    const statuses = o.runs.map((r) => ({ r, s: readStatus(runDirOf(o.artifactsDir, r.id)) }));
    const running = snapshot.filter((t) => t.state === 'RUNNING' || t.state === 'COMPLETING');
    const done = statuses.filter((x) => x.s?.state === 'finished').length;
    return {
      label: `sweep ${o.plan.sweepId} (slurm)`,
      startedAt,
      total: o.runs.length,
      done,
      doneHere: statuses.filter((x) => x.s?.state === 'finished' && !initiallyDone.has(x.r.id)).length,
      failed: statuses.filter((x) => x.s?.state === 'failed').length,
      killed: statuses.filter((x) => x.s?.state === 'killed').length,
      queued: snapshot.filter((t) => t.state === 'PENDING' && ours.has(runOf(t) ?? '')).length,
      running: running
        .map((t) => ({ t, id: runOf(t) }))
        .filter((x): x is { t: TaskState; id: string } => Boolean(x.id) && ours.has(x.id!))
        .map(({ t, id }) => {
          const k = taskKey(t.jobId, t.taskId);
          if (!firstSeen.has(k)) firstSeen.set(k, Date.now());
          const spec = o.runs.find((r) => r.id === id)!;
          return { id, name: `${spec.name} [${k}]`, dir: runDirOf(o.artifactsDir, id), startedAt: firstSeen.get(k)!, attempt: 1 };
        }),
    };
  };
  const requeueSeen = new Map<string, number>();
  const display = startDisplay(model, { tty: o.tty ?? Boolean(process.stdout.isTTY), write: (s) => process.stdout.write(s) });
  try {
    for (;;) {
      snapshot = (await queryTasks(o.plan.sweepId, o.env)).filter((t) => ours.has(runOf(t) ?? ''));
      const active = snapshot.filter((t) => isActive(t.state));
      if (active.length === 0 && !requeueUnderWay(o, requeueSeen)) return 'done';
      if (interrupted()) return 'interrupted';
      if (o.launcher.fail_fast) {
        const failed = o.runs.find((r) => readStatus(runDirOf(o.artifactsDir, r.id))?.state === 'failed');
        const endedBad = snapshot.find((t) => !isActive(t.state) && t.state !== 'COMPLETED');
        if (failed || endedBad) {
          display.log(`fail_fast: ${failed ? `${failed.id} failed` : `task ${taskKey(endedBad!.jobId, endedBad!.taskId)} ended ${endedBad!.state}`}; cancelling the rest of the array`);
          await scancel([...new Set(active.map((t) => t.jobId))], o.env);
          await waitUntilInactive(o, runOf, ours, pollMs);
          return 'fail_fast';
        }
      }
      await sleep(pollMs);
    }
  } finally {
    display.stop();
  }
}

/**
 * A task that requeued itself (its REQUEUE_MARKER is there) is not over although squeue may show it
 * ended while Slurm swaps the attempts; the wait is bounded in case the requeue never shows up.
 */
const REQUEUE_GRACE_MS = 60_000;
function requeueUnderWay(o: SlurmSweepOptions, seen: Map<string, number>): boolean {
  const now = Date.now();
  let waiting = false;
  for (const r of o.runs) {
    if (!existsSync(join(runDirOf(o.artifactsDir, r.id), REQUEUE_MARKER))) {
      seen.delete(r.id);
      continue;
    }
    const since = seen.get(r.id) ?? now;
    seen.set(r.id, since);
    if (now - since < REQUEUE_GRACE_MS) waiting = true;
  }
  return waiting;
}

async function waitUntilInactive(o: SlurmSweepOptions, runOf: (t: TaskState) => string | undefined, ours: Set<string>, pollMs: number): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const tasks = (await queryTasks(o.plan.sweepId, o.env)).filter((t) => ours.has(runOf(t) ?? ''));
    if (!tasks.some((t) => isActive(t.state))) return;
    await sleep(Math.min(pollMs, 1000));
  }
}

/**
 * Tasks that ended while their run's status.json still says queued or running (killed by Slurm
 * for memory or time, node failure, cancelled): write what happened. Returns the run ids that
 * ended failed (not killed) in this round.
 */
async function reconcile(o: SlurmSweepOptions): Promise<string[]> {
  const failed: string[] = [];
  const tasks = await queryTasks(o.plan.sweepId, o.env);
  const jobIds = [...new Set(tasks.map((t) => t.jobId))];
  const details = new Map<string, TaskDetail>();
  for (const d of await taskDetails(jobIds, o.env)) details.set(taskKey(d.jobId, d.taskId), d);
  for (const spec of o.runs) {
    const store = new RunStore(runDirOf(o.artifactsDir, spec.id));
    const status = readStatus(store.dir);
    if (!status) continue;
    if (status.state === 'failed') {
      failed.push(spec.id);
      continue;
    }
    // The watchdog stopped it (the worker may have recorded that as 'killed'): a timeout failure.
    const timedOut = existsSync(join(store.dir, TIMED_OUT_MARKER));
    if (status.state === 'finished' || (!timedOut && status.state !== 'queued' && status.state !== 'running')) continue;
    const key = status.launcher?.slurmJobId;
    const [jobId, task] = (key ?? '').split('_');
    const t = tasks.find((x) => x.jobId === jobId && String(x.taskId) === task);
    if (t && isActive(t.state)) continue;
    const d = key ? details.get(key) : undefined;
    const slurmState = (t?.state ?? d?.state ?? 'UNKNOWN').replace(/\+$/, '');
    let error: NonNullable<RunStatus['error']>;
    let end: 'failed' | 'killed' = 'failed';
    if (timedOut)
      error = { message: `killed by the launcher: the run went past launcher.timeout_minutes (Slurm task ${key})`, exitCode: d?.exitCode ?? null, signal: null, cause: 'timeout' };
    else if (slurmState === 'OUT_OF_MEMORY') error = { message: `Slurm task ${key} ran out of memory (launcher.slurm.mem)`, exitCode: d?.exitCode ?? null, signal: 'SIGKILL', cause: 'oom' };
    else if (slurmState === 'TIMEOUT' || slurmState === 'DEADLINE')
      error = { message: `Slurm task ${key} hit its time limit (launcher.slurm.time); \`mmrun run\` again resumes it from its checkpoint`, exitCode: d?.exitCode ?? null, signal: null, cause: 'timeout' };
    else if (slurmState === 'CANCELLED' || slurmState === 'PREEMPTED') {
      end = 'killed';
      error = { message: `Slurm task ${key} was ${slurmState.toLowerCase()}${status.state === 'queued' ? ' before it started' : ''}; \`mmrun run\` again resumes it`, exitCode: d?.exitCode ?? null, signal: null, cause: 'killed' };
    } else if (slurmState === 'NODE_FAIL' || slurmState === 'BOOT_FAIL') error = { message: `Slurm task ${key}: node failure (${slurmState})`, exitCode: null, signal: null, cause: 'exception' };
    else {
      const signal = d?.signal ? signalName(d.signal) : null;
      const outcome = classifyExit({ exitCode: d?.exitCode ?? null, signal }, status);
      if (outcome.state === 'finished') continue;
      end = outcome.state;
      error = { ...outcome.error, message: `Slurm task ${key ?? '?'} (${slurmState}): ${outcome.error.message}` };
    }
    store.updateStatus({ state: end, endedAt: new Date().toISOString(), error });
    o.say(`${spec.id} ${spec.name}: ${end.toUpperCase()} ${describeError(error)}`);
    if (end === 'failed') failed.push(spec.id);
  }
  return failed;
}

/**
 * scancel every pending or running task of this sweep; returns the job ids cancelled. Runs whose
 * task had not started yet are marked killed (running ones are marked by their worker on SIGTERM).
 */
export async function cancelSlurmSweep(sweepId: string, env: NodeJS.ProcessEnv, artifactsDir: string, slurmFile: string): Promise<string[]> {
  const tasks = await queryTasks(sweepId, env);
  const active = tasks.filter((t) => isActive(t.state));
  const jobs = [...new Set(active.map((t) => t.jobId))];
  if (jobs.length === 0) return [];
  const said = await scancel(jobs, env);
  if (said) throw new MmrunError(`scancel ${jobs.join(' ')} failed: ${said}`);
  {
    const state = readSlurmState(slurmFile);
    for (const t of active.filter((x) => x.state === 'PENDING')) {
      const id = state.jobs.find((j) => j.jobId === t.jobId)?.runIds[t.taskId];
      if (!id) continue;
      const store = new RunStore(runDirOf(artifactsDir, id));
      if (readStatus(store.dir)?.state !== 'queued') continue;
      store.updateStatus({ state: 'killed', endedAt: new Date().toISOString(), error: { message: `Slurm task ${taskKey(t.jobId, t.taskId)} was cancelled before it started`, exitCode: null, signal: null, cause: 'killed' } });
    }
  }
  return jobs;
}

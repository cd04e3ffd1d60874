/**
 * The Slurm launcher: the runs not finished yet become one `sbatch --array` job whose tasks map
 * SLURM_ARRAY_TASK_ID to a run directory through a task list in the sweep folder. The job is
 * submitted held, its tasks recorded (slurm.json, status.json), then released, so a launcher killed
 * at any moment leaves nothing that the next `mmrun run` cannot account for: tasks still pending or
 * running are followed, not submitted again; tasks that ended without finishing are submitted again
 * and resume from their checkpoints.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Launcher } from '../config/types.gen.ts';
import { MmrunError } from '../errors.ts';
import type { Plan, RunSpec } from '../sweep/index.ts';
import { RunStore, runDirOf, type RunStatus } from '../track/run-store.ts';
import { startDisplay, type DisplayModel } from './display.ts';
import { classifyExit, describeError } from './exit-cause.ts';
import { defaultProbe, dispositionOf } from './liveness.ts';
import type { RunEnd } from './local-pool.ts';
import type { SweepFiles } from './sweep-files.ts';
import { shellQuote } from './worker-command.ts';

export interface SlurmJobRecord {
  jobId: string;
  /** runIds[k] is the run of array task k. */
  runIds: string[];
  tasksFile: string;
  script: string;
  submittedAt: string;
}

export interface SlurmState {
  jobs: SlurmJobRecord[];
}

export interface TaskState {
  jobId: string;
  taskId: number;
  state: string; // PENDING, RUNNING, COMPLETED, FAILED, OUT_OF_MEMORY, TIMEOUT, CANCELLED, PREEMPTED, ...
  reason: string;
}

const ACTIVE = new Set(['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SUSPENDED', 'STAGE_OUT', 'SIGNALING', 'STOPPED']);
export const isActive = (state: string) => ACTIVE.has(state.replace(/\+$/, ''));

export const jobNameOf = (sweepId: string) => `mmrun-${sweepId}`;

async function slurmCmd(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000) {
  return execa(cmd, args, { env, reject: false, timeout: timeoutMs, stdin: 'ignore' });
}

/** Throws a clear MmrunError when sbatch is missing or the controller does not answer. */
export async function checkSlurmAvailable(env: NodeJS.ProcessEnv): Promise<void> {
  const version = await slurmCmd('sbatch', ['--version'], env);
  if ((version as { code?: string }).code === 'ENOENT' || version.exitCode === undefined || version.exitCode === 127) {
    throw new MmrunError(
      'launcher.type is slurm but `sbatch` is not on PATH: nothing was submitted.',
      'Run `mmrun run` on a Slurm login node, install the Slurm client (Debian: slurm-client), or use `launcher: { type: local }`.',
    );
  }
  const ping = await slurmCmd('scontrol', ['ping'], env, 30_000);
  if (ping.exitCode !== 0 || !/is UP/.test(ping.stdout)) {
    const said = `${ping.stdout}\n${ping.stderr}`.trim().split('\n').filter(Boolean).slice(0, 3).join(' / ');
    throw new MmrunError(
      `the Slurm controller does not answer (\`scontrol ping\`: ${said || `exit ${ping.exitCode}`}): nothing was submitted.`,
      'Check that slurmctld is running (`scontrol ping`, `sinfo`) and SLURM_CONF points at its configuration, then run the same command again.',
    );
  }
}

/** Parses `squeue -h -r -o '%F|%K|%T|%r'`. */
export function parseSqueue(text: string): TaskState[] {
  const out: TaskState[] = [];
  for (const line of text.split('\n')) {
    const [jobId, task, state, reason] = line.trim().split('|');
    if (!jobId || !/^\d+$/.test(task ?? '')) continue;
    out.push({ jobId, taskId: Number(task), state: state ?? '', reason: reason ?? '' });
  }
  return out;
}

/** Every array task of this sweep's jobs Slurm still knows about (pending, running, recently ended). */
export async function queryTasks(sweepId: string, env: NodeJS.ProcessEnv): Promise<TaskState[]> {
  const r = await slurmCmd('squeue', ['-h', '-r', '--states=all', `--name=${jobNameOf(sweepId)}`, '-o', '%F|%K|%T|%r'], env);
  if (r.exitCode !== 0) throw new MmrunError(`squeue failed (exit ${r.exitCode}): ${r.stderr.trim()}`, 'Is the Slurm controller up? `scontrol ping`');
  return parseSqueue(r.stdout);
}

/** `scontrol show job -o` records: exit code and signal of each ended task ("ExitCode=3:0"). */
export function parseScontrolJobs(text: string): { jobId: string; taskId: number; state: string; exitCode: number | null; signal: number | null }[] {
  const out = [];
  for (const line of text.split('\n')) {
    const f = Object.fromEntries(line.trim().split(/\s+/).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    if (!f.ArrayJobId || !/^\d+$/.test(f.ArrayTaskId ?? '')) continue;
    const [code, sig] = (f.ExitCode ?? '').split(':').map(Number);
    out.push({ jobId: f.ArrayJobId, taskId: Number(f.ArrayTaskId), state: f.JobState ?? '', exitCode: Number.isFinite(code) ? code : null, signal: Number.isFinite(sig) ? sig : null });
  }
  return out;
}

export function readSlurmState(file: string): SlurmState {
  if (!existsSync(file)) return { jobs: [] };
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SlurmState;
  } catch (err) {
    throw new MmrunError(`${file} is not valid JSON (${(err as Error).message}); it records the Slurm jobs of this sweep.`);
  }
}

function writeSlurmState(file: string, state: SlurmState): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, file); // atomic: readers see the old or the new list of jobs
}

/** Written in a run directory by the batch script's watchdog when the run went past launcher.timeout_minutes. */
export const TIMED_OUT_MARKER = 'slurm-timed-out';

export interface ScriptOptions {
  sweepId: string;
  tasksFile: string;
  count: number;
  launcher: Pick<Launcher, 'jobs' | 'slurm'> & Partial<Pick<Launcher, 'timeout_minutes'>>;
  workerCommand: string[];
  outputDir: string;
}

/**
 * launcher.timeout_minutes on Slurm: a watchdog beside the worker marks the run directory, sends
 * SIGTERM, then SIGKILL after MMRUN_KILL_GRACE_S (default 10 s); the launcher reads the mark and
 * records the run as failed by timeout (the task's own --time limit is a requeue, not a failure).
 */
function watchdog(minutes: number | null | undefined): string[] {
  if (!minutes) return [];
  const seconds = Math.max(1, Math.round(minutes * 60));
  return [
    `( sleep ${seconds}; echo "=== mmrun: past launcher.timeout_minutes (${minutes}) at $(date -u +%Y-%m-%dT%H:%M:%SZ): stopping the worker ===" >> "$RUN_DIR/log.txt"; touch "$RUN_DIR/${TIMED_OUT_MARKER}"; kill -TERM "$pid" 2>/dev/null; sleep "\${MMRUN_KILL_GRACE_S:-10}"; kill -KILL "$pid" 2>/dev/null ) &`,
    'watchdog=$!',
  ];
}

/** The batch script of one array job. Pure. */
export function slurmScript(o: ScriptOptions): string {
  const s = o.launcher.slurm;
  const throttle = o.launcher.jobs === 'auto' ? '' : `%${o.launcher.jobs}`;
  const directives = [
    `--job-name=${jobNameOf(o.sweepId)}`,
    `--array=0-${o.count - 1}${throttle}`,
    `--output=${join(o.outputDir, '%A_%a.out')}`,
    `--cpus-per-task=${s.cpus_per_task}`,
    `--time=${s.time}`,
    '--requeue',
    // USR1 to the batch shell 120 s before the time limit: the worker checkpoints, the task requeues itself.
    '--signal=B:USR1@120',
    ...(s.mem ? [`--mem=${s.mem}`] : []),
    ...(s.partition ? [`--partition=${s.partition}`] : []),
    ...(s.account ? [`--account=${s.account}`] : []),
    ...(s.gpus > 0 ? [`--gres=gpu:${s.gpus}`] : []),
    ...s.extra_args,
  ];
  const worker = o.workerCommand.map(shellQuote).join(' ');
  return [
    '#!/bin/bash',
    `# mmrun sweep ${o.sweepId}: array task k runs the run directory on line k+1 of ${o.tasksFile}`,
    ...directives.map((d) => `#SBATCH ${d}`),
    'set -u',
    `RUN_DIR=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" ${shellQuote(o.tasksFile)})`,
    'if [ -z "$RUN_DIR" ]; then echo "mmrun: no run for array task $SLURM_ARRAY_TASK_ID" >&2; exit 2; fi',
    '# A task requeued after its run finished has nothing left to do.',
    'if grep -qE \'"state": *"finished"\' "$RUN_DIR/status.json" 2>/dev/null; then exit 0; fi',
    `export MMRUN_THREADS=\${SLURM_CPUS_PER_TASK:-${s.cpus_per_task}}`,
    'export OMP_NUM_THREADS=$MMRUN_THREADS MMRUN_LAUNCHER=slurm',
    'echo "=== slurm task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (job ${SLURM_JOB_ID}) on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ) ===" >> "$RUN_DIR/log.txt"',
    '# Near the time limit (USR1, see --signal) or on preemption notice: stop the worker at its next',
    '# checkpoint and requeue this task, which then resumes from that checkpoint. SIGTERM (scancel)',
    '# stops it without requeueing.',
    'requeue=0',
    'trap \'requeue=1; kill -TERM "$pid" 2>/dev/null\' USR1',
    'trap \'kill -TERM "$pid" 2>/dev/null\' TERM',
    `rm -f "$RUN_DIR/${TIMED_OUT_MARKER}"`,
    `${worker} "$RUN_DIR" >> "$RUN_DIR/log.txt" 2>&1 &`,
    'pid=$!',
    ...watchdog(o.launcher.timeout_minutes),
    'wait "$pid"; code=$?',
    'while kill -0 "$pid" 2>/dev/null; do wait "$pid"; code=$?; done',
    ...(o.launcher.timeout_minutes ? ['kill "$watchdog" 2>/dev/null', `if [ -f "$RUN_DIR/${TIMED_OUT_MARKER}" ]; then exit 124; fi`] : []),
    'if [ "$requeue" = 1 ] && [ "$code" != 0 ]; then',
    '  echo "=== requeueing slurm task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} at $(date -u +%Y-%m-%dT%H:%M:%SZ) ===" >> "$RUN_DIR/log.txt"',
    '  scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"',
    'fi',
    'exit "$code"',
    '',
  ].join('\n');
}

export interface SlurmSweepOptions {
  plan: Plan;
  runs: RunSpec[];
  artifactsDir: string;
  launcher: Launcher;
  files: SweepFiles;
  workerCommand: string[];
  env: NodeJS.ProcessEnv;
  detach?: boolean;
  say: (line: string) => void;
  experimentFile: string;
  handleSignals?: boolean;
  pollMs?: number;
  tty?: boolean;
}

export interface SlurmSweepResult {
  ends: RunEnd[];
  how?: 'interrupted' | 'fail_fast' | 'detached';
}

function readStatus(dir: string): RunStatus | undefined {
  try {
    return new RunStore(dir).readStatus();
  } catch {
    return undefined;
  }
}

const taskKey = (jobId: string, taskId: number) => `${jobId}_${taskId}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runSlurmSweep(o: SlurmSweepOptions): Promise<SlurmSweepResult> {
  const env = o.env;
  const pollMs = o.pollMs ?? Number(env.MMRUN_SLURM_POLL_MS ?? 2000);
  let state = readSlurmState(o.files.slurm);
  const runIds = new Set(o.runs.map((r) => r.id));
  const byId = new Map(o.runs.map((r) => [r.id, r]));
  const attempts = new Map<string, number>();

  /** Run id of each task Slurm knows, through slurm.json. */
  const runOfTask = (t: TaskState) => state.jobs.find((j) => j.jobId === t.jobId)?.runIds[t.taskId];

  // Jobs left held by a launcher killed between submitting and releasing: release those we know
  // (their tasks are recorded), cancel the others (we cannot tell which runs they hold).
  for (const t of await queryTasks(o.plan.sweepId, env)) {
    if (t.state !== 'PENDING' || !/held/i.test(t.reason)) continue;
    const known = state.jobs.find((j) => j.jobId === t.jobId);
    if (known) {
      markQueued(o, known);
      await slurmCmd('scontrol', ['release', t.jobId], env);
    } else {
      await slurmCmd('scancel', [t.jobId], env);
    }
  }

  let how: SlurmSweepResult['how'];
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
      const inFlight = new Set(tasks.filter((t) => isActive(t.state)).map(runOfTask).filter((id): id is string => Boolean(id)));
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
      const failedNow = await reconcile(o, state);
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

function markQueued(o: SlurmSweepOptions, job: SlurmJobRecord): void {
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
  mkdirSync(outputDir, { recursive: true });
  const dirs = runs.map((r) => RunStore.create(o.artifactsDir, r, { sweepId: o.plan.sweepId, experimentFile: o.experimentFile }).dir);
  writeFileSync(tasksFile, dirs.join('\n') + '\n');
  writeFileSync(script, slurmScript({ sweepId: o.plan.sweepId, tasksFile, count: runs.length, launcher: o.launcher, workerCommand: o.workerCommand, outputDir }), { mode: 0o755 });
  // Held: nothing runs before every task is recorded, so a launcher killed in between leaves a
  // job the next launcher can release or cancel, never a task it does not know about.
  const r = await slurmCmd('sbatch', ['--parsable', '--hold', script], o.env);
  if (r.exitCode !== 0) {
    throw new MmrunError(`sbatch refused the job array (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`, `Nothing was submitted. The script is ${script}; check launcher.slurm in the experiment file.`);
  }
  const jobId = r.stdout.trim().split(';')[0];
  if (!/^\d+$/.test(jobId)) throw new MmrunError(`sbatch printed '${r.stdout.trim()}', not a job id`);
  const job: SlurmJobRecord = { jobId, runIds: runs.map((x) => x.id), tasksFile, script, submittedAt: new Date().toISOString() };
  writeSlurmState(o.files.slurm, { jobs: [...state.jobs, job] });
  markQueued(o, job);
  const rel = await slurmCmd('scontrol', ['release', jobId], o.env);
  if (rel.exitCode !== 0) {
    await slurmCmd('scancel', [jobId], o.env);
    throw new MmrunError(`could not release Slurm job ${jobId} (\`scontrol release\`: ${rel.stderr.trim()}); it was cancelled.`);
  }
  return job;
}

async function follow(o: SlurmSweepOptions, state: () => SlurmState, pollMs: number, interrupted: () => boolean): Promise<'done' | 'interrupted' | 'fail_fast'> {
  const startedAt = Date.now();
  const firstSeen = new Map<string, number>();
  let snapshot: TaskState[] = [];
  const runOfTask = (t: TaskState) => state().jobs.find((j) => j.jobId === t.jobId)?.runIds[t.taskId];
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
      queued: snapshot.filter((t) => t.state === 'PENDING' && ours.has(runOfTask(t) ?? '')).length,
      running: running
        .map((t) => ({ t, id: runOfTask(t) }))
        .filter((x): x is { t: TaskState; id: string } => Boolean(x.id) && ours.has(x.id!))
        .map(({ t, id }) => {
          const k = taskKey(t.jobId, t.taskId);
          if (!firstSeen.has(k)) firstSeen.set(k, Date.now());
          const spec = o.runs.find((r) => r.id === id)!;
          return { id, name: `${spec.name} [${k}]`, dir: runDirOf(o.artifactsDir, id), startedAt: firstSeen.get(k)!, attempt: 1 };
        }),
    };
  };
  const display = startDisplay(model, { tty: o.tty ?? Boolean(process.stdout.isTTY), write: (s) => process.stdout.write(s) });
  try {
    for (;;) {
      snapshot = (await queryTasks(o.plan.sweepId, o.env)).filter((t) => ours.has(runOfTask(t) ?? ''));
      const active = snapshot.filter((t) => isActive(t.state));
      if (active.length === 0) return 'done';
      if (interrupted()) return 'interrupted';
      if (o.launcher.fail_fast) {
        const failed = o.runs.find((r) => readStatus(runDirOf(o.artifactsDir, r.id))?.state === 'failed');
        const endedBad = snapshot.find((t) => !isActive(t.state) && t.state !== 'COMPLETED');
        if (failed || endedBad) {
          display.log(`fail_fast: ${failed ? `${failed.id} failed` : `task ${taskKey(endedBad!.jobId, endedBad!.taskId)} ended ${endedBad!.state}`}; cancelling the rest of the array`);
          await slurmCmd('scancel', [...new Set(active.map((t) => t.jobId))], o.env);
          await waitUntilInactive(o, runOfTask, ours, pollMs);
          return 'fail_fast';
        }
      }
      await sleep(pollMs);
    }
  } finally {
    display.stop();
  }
}

async function waitUntilInactive(o: SlurmSweepOptions, runOfTask: (t: TaskState) => string | undefined, ours: Set<string>, pollMs: number): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const tasks = (await queryTasks(o.plan.sweepId, o.env)).filter((t) => ours.has(runOfTask(t) ?? ''));
    if (!tasks.some((t) => isActive(t.state))) return;
    await sleep(Math.min(pollMs, 1000));
  }
}

/**
 * Tasks that ended while their run's status.json still says queued or running (killed by Slurm
 * for memory or time, node failure, cancelled): write what happened. Returns the run ids that
 * ended failed (not killed) in this round.
 */
async function reconcile(o: SlurmSweepOptions, state: SlurmState): Promise<string[]> {
  const failed: string[] = [];
  const tasks = await queryTasks(o.plan.sweepId, o.env);
  const jobIds = [...new Set(tasks.map((t) => t.jobId))];
  const details = new Map<string, ReturnType<typeof parseScontrolJobs>[number]>();
  for (const id of jobIds) {
    const r = await slurmCmd('scontrol', ['show', 'job', '-o', id], o.env);
    for (const d of parseScontrolJobs(r.stdout)) details.set(taskKey(d.jobId, d.taskId), d);
  }
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
  void state;
  return failed;
}

function signalName(n: number): string {
  return ({ 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM', 6: 'SIGABRT', 2: 'SIGINT', 7: 'SIGBUS' } as Record<number, string>)[n] ?? `signal ${n}`;
}

/**
 * scancel every pending or running task of this sweep; returns the job ids cancelled. Runs whose
 * task had not started yet are marked killed (running ones are marked by their worker on SIGTERM).
 */
export async function cancelSlurmSweep(sweepId: string, env: NodeJS.ProcessEnv, artifactsDir?: string): Promise<string[]> {
  const tasks = await queryTasks(sweepId, env);
  const active = tasks.filter((t) => isActive(t.state));
  const jobs = [...new Set(active.map((t) => t.jobId))];
  if (jobs.length === 0) return [];
  const r = await slurmCmd('scancel', jobs, env);
  if (r.exitCode !== 0) throw new MmrunError(`scancel ${jobs.join(' ')} failed: ${r.stderr.trim()}`);
  if (artifactsDir) {
    const state = readSlurmState(join(artifactsDir, 'sweeps', sweepId, 'slurm.json'));
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

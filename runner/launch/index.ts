/**
 * `mmrun run`: plan the sweep, take its lock, build shared inputs once, then launch what is not
 * finished (local process pool or one Slurm job array), follow it, and summarise. Running the same
 * command again after any interruption finishes the sweep with no run done twice.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadExperiment } from '../config/index.ts';
import { MmrunError } from '../errors.ts';
import { planSweep, type Plan, type RunSpec } from '../sweep/index.ts';
import { RunStore, runDirOf, type RunStatus } from '../track/run-store.ts';
import { startDisplay, formatDuration, type Display, type DisplayModel } from './display.ts';
import { describeError } from './exit-cause.ts';
import { defaultProbe, dispositionOf } from './liveness.ts';
import { LocalPool, type RunEnd } from './local-pool.ts';
import { prepareSharedInputs } from './prepare.ts';
import { concurrencyOf, detectMachine, type Machine } from './slots.ts';
import { acquireSweepLock, describeHolder, type SweepLock } from './sweep-lock.ts';
import { sweepFiles, type SweepFiles } from './sweep-files.ts';
import { workerCommand as defaultWorkerCommand } from './worker-command.ts';

export { classifyExit, describeError, type WorkerExit, type Outcome } from './exit-cause.ts';
export { dispositionOf, pidAlive, STALE_HEARTBEAT_MS, type RunDisposition } from './liveness.ts';
export { concurrencyOf, slotEnv, detectMachine, countGpus, type Machine } from './slots.ts';
export { acquireSweepLock, tryAcquire, readLock, isLockStale, describeHolder, type LockHolder, type SweepLock } from './sweep-lock.ts';
export { sweepFiles, type SweepFiles } from './sweep-files.ts';
export { LocalPool, type PoolOptions, type RunEnd, type PoolSnapshot } from './local-pool.ts';
export { workerCommand } from './worker-command.ts';
export { headerLine, runLine, startDisplay, type DisplayModel } from './display.ts';

export interface RunSweepOptions {
  file: string;
  /** --jobs: overrides launcher.jobs. */
  jobs?: number;
  /** --only: these run ids (or unique prefixes), in the foreground. */
  only?: string[];
  /** --wait: wait for another launcher holding the sweep lock instead of failing. */
  wait?: boolean;
  /** --detach (Slurm): submit and return. */
  detach?: boolean;
  maxRuns?: number;
  env?: NodeJS.ProcessEnv;
  /** Default: MMRUN_WORKER_COMMAND, else `node bin/mmrun.js worker`. */
  workerCommand?: string[];
  /** Build datasets and augmented sets before launching (default: yes, unless MMRUN_SKIP_PREPARE=1). */
  prepare?: boolean;
  /** Live display on a terminal (default: when stdout is a TTY). */
  tty?: boolean;
  write?: (s: string) => void;
  /** Install SIGINT/SIGTERM handlers (the CLI does). */
  handleSignals?: boolean;
  machine?: Machine;
}

export interface SweepOutcome {
  plan: Plan;
  ends: RunEnd[];
  exitCode: number;
}

export function selectRuns(plan: Plan, only: string[] | undefined): RunSpec[] {
  if (!only || only.length === 0) return plan.runs;
  const out: RunSpec[] = [];
  for (const want of only) {
    const matches = plan.runs.filter((r) => r.id === want || r.id.startsWith(want) || r.name === want);
    if (matches.length !== 1) {
      const list = plan.runs.map((r) => `  ${r.id}  ${r.name}`).join('\n');
      throw new MmrunError(
        matches.length === 0 ? `--only ${want}: no run of sweep ${plan.sweepId} has this id.` : `--only ${want}: ${matches.length} runs match; give more of the id.`,
        `The runs of ${plan.file}:\n${list}`,
      );
    }
    if (!out.includes(matches[0])) out.push(matches[0]);
  }
  return out;
}

export function readStatusQuiet(artifactsDir: string, id: string): RunStatus | undefined {
  try {
    return new RunStore(runDirOf(artifactsDir, id)).readStatus();
  } catch {
    return undefined;
  }
}

export async function runSweep(opts: RunSweepOptions): Promise<SweepOutcome> {
  const env = opts.env ?? process.env;
  const write = opts.write ?? ((s: string) => process.stdout.write(s));
  const say = (line: string) => write(`${line}\n`);
  const loaded = loadExperiment(opts.file);
  const plan = planSweep(loaded, { maxRuns: opts.maxRuns });
  const config = loaded.config;
  const artifactsDir = resolve(config.artifacts_dir);
  const runs = selectRuns(plan, opts.only);
  const files = sweepFiles(artifactsDir, plan.sweepId);
  const launcherType = config.launcher.type;

  // Slurm: fail on a missing sbatch or a down controller before anything is written.
  const slurm = launcherType === 'slurm' ? await import('./slurm.ts') : undefined;
  if (slurm) await slurm.checkSlurmAvailable(env);

  try {
    mkdirSync(files.dir, { recursive: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new MmrunError(`cannot create the sweep folder ${files.dir}: ${e.code === 'ENOSPC' ? 'the disk is full' : e.message}`, 'Check artifacts_dir in the experiment file and the free space there.');
  }
  const lock = await acquireSweepLock(files.lock, {
    wait: opts.wait,
    sweepId: plan.sweepId,
    command: `mmrun run ${opts.file}${opts.only ? ` --only ${opts.only.join(' ')}` : ''}`,
    onWait: (h) => say(`sweep ${plan.sweepId} is being launched by ${describeHolder(h)}; waiting for it to finish (--wait)`),
  });
  try {
    writeFileSync(files.plan, JSON.stringify(plan, null, 2) + '\n');
    rmSync(files.stop, { force: true });

    const probe = defaultProbe();
    const pending = runs.filter((r) => dispositionOf(readStatusQuiet(artifactsDir, r.id), probe) !== 'done');
    if (pending.length === 0) {
      say(`nothing to do: all ${runs.length} run${runs.length === 1 ? '' : 's'} of sweep ${plan.sweepId} already finished (${artifactsDir}/runs). See \`mmrun status ${opts.file}\`.`);
      return { plan, ends: runs.map((spec) => ({ spec, state: 'finished', attempts: 0, adopted: true })), exitCode: 0 };
    }
    if (pending.length < runs.length) say(`${runs.length - pending.length} of ${runs.length} runs already finished: launching the other ${pending.length}.`);

    if (opts.prepare ?? env.MMRUN_SKIP_PREPARE !== '1') {
      await prepareSharedInputs(pending, { artifactsDir, log: say, plain: !(opts.tty ?? process.stdout.isTTY) });
    }

    const sync = await startTracking(config, artifactsDir, plan, say);
    try {
      const workerCommand = opts.workerCommand ?? defaultWorkerCommand(env);
      if (slurm) {
        const r = await slurm.runSlurmSweep({ plan, runs, artifactsDir, launcher: config.launcher, files, workerCommand, env, detach: opts.detach, say, experimentFile: loaded.file, handleSignals: opts.handleSignals, tty: opts.tty });
        return { plan, ends: r.ends, exitCode: summarise(plan, runs, r.ends, say, files, r.how) };
      }
      return await runLocal({ opts, plan, runs, artifactsDir, files, lock, workerCommand, env, write, say, experimentFile: loaded.file, launcher: config.launcher });
    } finally {
      await sync?.stop();
    }
  } finally {
    rmSync(files.stop, { force: true });
    lock.release();
  }
}

async function startTracking(config: import('../config/types.gen.ts').Experiment, artifactsDir: string, plan: Plan, say: (l: string) => void) {
  try {
    const track = await import('../track/index.ts');
    const uri = track.resolveTrackingUri(config);
    if (!uri) {
      say(track.localOnlyMessage(artifactsDir));
      return undefined;
    }
    return track.startSyncLoop({ uri, artifactsDir, plan, log: say });
  } catch (err) {
    say(`warning: MLflow sync is off for this sweep: ${(err as Error).message}`);
    return undefined;
  }
}

interface LocalArgs {
  opts: RunSweepOptions;
  plan: Plan;
  runs: RunSpec[];
  artifactsDir: string;
  files: SweepFiles;
  lock: SweepLock;
  workerCommand: string[];
  env: NodeJS.ProcessEnv;
  write: (s: string) => void;
  say: (l: string) => void;
  experimentFile: string;
  launcher: import('../config/types.gen.ts').Launcher;
}

async function runLocal(a: LocalArgs): Promise<SweepOutcome> {
  const machine = a.opts.machine ?? detectMachine();
  const foreground = Boolean(a.opts.only && a.opts.only.length > 0);
  const jobs = foreground ? 1 : concurrencyOf(a.launcher, machine, a.opts.jobs);
  const tty = !foreground && (a.opts.tty ?? Boolean(process.stdout.isTTY));
  let display: Display | undefined;
  const log = (line: string) => (display ? display.log(line) : a.say(line));
  const pool = new LocalPool({
    runs: a.runs,
    artifactsDir: a.artifactsDir,
    sweepId: a.plan.sweepId,
    experimentFile: a.experimentFile,
    launcher: a.launcher,
    jobs,
    machine,
    workerCommand: a.workerCommand,
    stopFile: a.files.stop,
    env: a.env,
    foreground,
    log,
    killGraceS: a.env.MMRUN_KILL_GRACE_S ? Number(a.env.MMRUN_KILL_GRACE_S) : undefined,
  });
  log(
    `sweep ${a.plan.sweepId}: ${a.runs.length} run${a.runs.length === 1 ? '' : 's'}, ${jobs} at a time (${a.launcher.threads_per_run} thread${a.launcher.threads_per_run === 1 ? '' : 's'} each${machine.gpus ? `, ${machine.gpus} GPUs` : `, ${machine.cores} cores`}); ${foreground ? 'worker output below' : `logs in ${a.artifactsDir}/runs/<id>/log.txt`}`,
  );
  let note: string | undefined;
  const model = (): DisplayModel => {
    const s = pool.snapshot();
    return {
      label: `sweep ${a.plan.sweepId}`,
      startedAt: s.startedAt,
      total: s.total,
      done: s.ended.filter((e) => e.state === 'finished').length,
      doneHere: s.ended.filter((e) => e.state === 'finished' && !(e.adopted && e.attempts === 0)).length,
      failed: s.ended.filter((e) => e.state === 'failed').length,
      killed: s.ended.filter((e) => e.state === 'killed').length,
      queued: s.queued,
      running: s.running.map((r) => ({ id: r.spec.id, name: r.spec.name, dir: r.dir, startedAt: r.startedAt, attempt: r.attempt })),
      note,
    };
  };
  if (!foreground) display = startDisplay(model, { tty, write: a.write });

  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      note = 'stopping: running runs checkpoint and stop; Ctrl-C again to kill them now';
      log(`${sig}: launching nothing more; running runs finish their current epoch checkpoint and stop. ${sig === 'SIGINT' ? 'Ctrl-C' : 'Signal'} again to kill them at once.`);
      pool.stop('interrupt');
    } else {
      note = 'killing';
      log(`${sig} again: killing running runs now.`);
      pool.stop('interrupt', true);
    }
  };
  if (a.opts.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  let ends: RunEnd[];
  try {
    ends = await pool.run();
  } finally {
    if (a.opts.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    display?.stop();
  }
  const stopped = pool.snapshot().stopping;
  const exitCode = summarise(a.plan, a.runs, ends, a.say, a.files, stopped === 'interrupt' ? 'interrupted' : stopped === 'fail_fast' ? 'fail_fast' : undefined);
  return { plan: a.plan, ends, exitCode };
}

/** Prints the end of a sweep and returns the exit code: 0 all finished, 1 failures, 130 interrupted. */
export function summarise(plan: Plan, runs: RunSpec[], ends: RunEnd[], say: (l: string) => void, files: SweepFiles, how?: 'interrupted' | 'fail_fast' | 'detached'): number {
  if (how === 'detached') return 0;
  const finished = ends.filter((e) => e.state === 'finished');
  const already = finished.filter((e) => e.adopted && e.attempts === 0).length;
  const failed = ends.filter((e) => e.state === 'failed');
  const killed = ends.filter((e) => e.state === 'killed');
  const notRun = runs.length - ends.length;
  const parts = [`${finished.length} finished${already ? ` (${already} already or by an earlier launcher)` : ''}`];
  if (failed.length) parts.push(`${failed.length} failed`);
  if (killed.length) parts.push(`${killed.length} killed`);
  if (notRun) parts.push(`${notRun} not started`);
  say(`sweep ${plan.sweepId}: ${runs.length} run${runs.length === 1 ? '' : 's'}: ${parts.join(', ')}.`);
  for (const e of failed) say(`  FAILED ${e.spec.id} ${e.spec.name}: ${describeError(e.error)} (log: ${runDirOf(resolve(files.dir, '../..'), e.spec.id)}/log.txt)`);
  for (const e of killed) say(`  killed ${e.spec.id} ${e.spec.name}: resumes from its checkpoint on the next \`mmrun run\``);
  if (how === 'interrupted') {
    say('Interrupted: run the same command again to finish the sweep (finished runs are skipped, stopped ones resume).');
    return 130;
  }
  if (how === 'fail_fast') say('fail_fast: the sweep stopped at the first failure; fix it and run the same command again.');
  if (failed.length || killed.length || notRun) {
    if (!how) say('Run the same command again to retry what is not finished.');
    return 1;
  }
  return 0;
}

export { formatDuration };

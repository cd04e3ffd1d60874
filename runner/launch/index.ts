/**
 * `mmrun run`: plan the sweep, take its lock, build shared inputs once, then launch what is not
 * finished (local process pool or one Slurm job array), follow it, and summarise. Running the same
 * command again after any interruption finishes the sweep with no run done twice.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { adoptLegacyRuns, assertWritableArtifactsDir, planExperiment } from '../plan-experiment.ts';
import { MmrunError } from '../errors.ts';
import { writeFailure } from '../files/fs-errors.ts';
import type { Plan, RunSpec } from '../sweep/index.ts';
import { RunStore, runDirOf, type RunStatus } from '../track/run-store.ts';
import type { LaunchRequest, RunEnd } from './launcher.ts';
import { formatDuration } from './display.ts';
import { getLauncher } from './engines.ts';
import { describeError } from './exit-cause.ts';
import { defaultProbe, dispositionOf } from './liveness.ts';
import { prepareSharedInputs } from './prepare.ts';
import type { Machine } from './slots.ts';
import { checkBackendsInstalled } from '../model/backend/preflight.ts';
import { acquireSweepLock, describeHolder } from './sweep-lock.ts';
import { sweepFiles, type SweepFiles } from './sweep-files.ts';
import { workerCommand as defaultWorkerCommand } from './worker-command.ts';
import { mkdirLevels } from '../files/mkdir.ts';

export { classifyExit, describeError, type WorkerExit, type Outcome } from './exit-cause.ts';
export { dispositionOf, pidAlive, STALE_HEARTBEAT_MS, type RunDisposition } from './liveness.ts';
export { concurrencyOf, slotEnv, detectMachine, countGpus, type Machine } from './slots.ts';
export { acquireSweepLock, sweepLockHolder, describeHolder, SWEEP_LOCK_STALE_MS, type LockHolder, type SweepLock } from './sweep-lock.ts';
export { sweepFiles, type SweepFiles } from './sweep-files.ts';
export { LocalPool, type PoolOptions, type PoolSnapshot } from './local-pool.ts';
export type { Launcher, LaunchRequest, LaunchResult, RunEnd, SweepRef, EngineRunState } from './launcher.ts';
export { getLauncher, launcherNames, launchersInvolvedIn, registerLauncher } from './engines.ts';
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
  const { loaded, plan } = planExperiment(opts.file, { maxRuns: opts.maxRuns });
  const config = loaded.config;
  const artifactsDir = resolve(config.artifacts_dir);
  const runs = selectRuns(plan, opts.only);
  const files = sweepFiles(artifactsDir, plan.sweepId);
  const launcher = await getLauncher(config.launcher.type);

  // E.g. a missing sbatch or a Slurm controller that does not answer: fail before anything is
  // written, the artifacts folder included; then an artifacts folder that cannot be written fails
  // before any other work, and run directories of the previous id scheme are renamed.
  await launcher.checkAvailable(env);
  assertWritableArtifactsDir(config.artifacts_dir);
  adoptLegacyRuns(plan, artifactsDir);

  try {
    mkdirLevels(files.dir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new MmrunError(`cannot create the sweep folder ${files.dir}: ${e.code === 'ENOSPC' ? 'the disk is full' : e.message}`, 'Check artifacts_dir in the experiment file and the free space there.');
  }
  const lock = await acquireSweepLock(files.lock, {
    wait: opts.wait,
    sweepId: plan.sweepId,
    command: `mmrun run ${opts.file}${opts.only ? ` --only ${opts.only.join(' ')}` : ''}`,
    onWait: (h) => say(`sweep ${plan.sweepId} is being launched by ${h ? describeHolder(h) : 'another process'}; waiting for it to finish (--wait)`),
  });
  try {
    try {
      writeFileSync(files.plan, JSON.stringify(plan, null, 2) + '\n');
    } catch (err) {
      throw writeFailure(err, files.plan);
    }
    rmSync(files.stop, { force: true });

    const probe = defaultProbe();
    const pending = runs.filter((r) => dispositionOf(readStatusQuiet(artifactsDir, r.id), probe) !== 'done');
    if (pending.length === 0) {
      say(`nothing to do: all ${runs.length} run${runs.length === 1 ? '' : 's'} of sweep ${plan.sweepId} already finished (${artifactsDir}/runs). See \`mmrun status ${opts.file}\`.`);
      return { plan, ends: runs.map((spec) => ({ spec, state: 'finished', attempts: 0, adopted: true })), exitCode: 0 };
    }
    // A native TensorFlow backend that is not installed: one clear error now, not one per worker.
    checkBackendsInstalled(opts.file, pending.map((r) => r.config.model.backend));
    if (pending.length < runs.length) say(`${runs.length - pending.length} of ${runs.length} runs already finished: launching the other ${pending.length}.`);

    if (opts.prepare ?? env.MMRUN_SKIP_PREPARE !== '1') {
      await prepareSharedInputs(pending, { artifactsDir, log: say, plain: !(opts.tty ?? process.stdout.isTTY) });
    }

    const sync = await startTracking(config, artifactsDir, plan, say);
    try {
      const req: LaunchRequest = {
        plan,
        runs,
        artifactsDir,
        files,
        configured: config.launcher.type,
        env,
        launcher: config.launcher,
        workerCommand: opts.workerCommand ?? defaultWorkerCommand(env),
        experimentFile: loaded.file,
        say,
        write,
        tty: opts.tty,
        handleSignals: opts.handleSignals,
        jobs: opts.jobs,
        foreground: Boolean(opts.only && opts.only.length > 0),
        detach: opts.detach,
        machine: opts.machine,
      };
      const adopted = await launcher.adoptOrphans(req);
      if (adopted.length > 0) say(`sweep ${plan.sweepId}: ${adopted.length} run${adopted.length === 1 ? '' : 's'} still running from an earlier launcher: following ${adopted.length === 1 ? 'it' : 'them'}, not starting ${adopted.length === 1 ? 'it' : 'them'} again.`);
      const r = await launcher.submit(req);
      return { plan, ends: r.ends, exitCode: summarise(plan, runs, r.ends, say, files, r.how) };
    } finally {
      await sync?.stop();
    }
  } finally {
    // artifacts/ may have become unwritable: say so (the next launcher takes over a lock whose owner is gone).
    for (const [what, clean] of [['remove the stop file', () => rmSync(files.stop, { force: true })], ['release the sweep lock', () => lock.release()]] as const) {
      try {
        clean();
      } catch (err) {
        say(`warning: ${(writeFailure(err, files.dir, what) as Error).message}`);
      }
    }
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
    const { buildSweepAnalysis } = await import('../report/sweep-analysis.ts');
    return track.startSyncLoop({ uri, artifactsDir, plan, log: say, analyzeSweep: buildSweepAnalysis });
  } catch (err) {
    say(`warning: MLflow sync is off for this sweep: ${(err as Error).message}`);
    return undefined;
  }
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

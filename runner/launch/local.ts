/**
 * The local engine behind the Launcher interface: a process pool on this machine (local-pool.ts).
 * Workers run in their own process groups and outlive a killed launcher; the next launcher adopts
 * them (watches them until they end) instead of starting them again.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { MmrunError } from '../errors.ts';
import { runDirOf, RunStore, type RunStatus } from '../track/run-store.ts';
import { startDisplay, type Display, type DisplayModel } from './display.ts';
import type { EngineRunState, Launcher, LaunchRequest, LaunchResult, RunEnd, SweepRef } from './launcher.ts';
import { defaultProbe, dispositionOf } from './liveness.ts';
import { LocalPool } from './local-pool.ts';
import { concurrencyOf, detectMachine } from './slots.ts';
import { describeHolder, sweepLockHolder } from './sweep-lock.ts';

function readStatus(artifactsDir: string, id: string): RunStatus | undefined {
  try {
    return new RunStore(runDirOf(artifactsDir, id)).readStatus();
  } catch {
    return undefined;
  }
}

/** Runs of the sweep whose local worker is alive right now. */
function liveWorkers(sweep: SweepRef, ids = sweep.plan.runs.map((r) => r.id)): { id: string; status: RunStatus }[] {
  const probe = defaultProbe();
  const out: { id: string; status: RunStatus }[] = [];
  for (const id of ids) {
    const status = readStatus(sweep.artifactsDir, id);
    if (status?.launcher?.type === 'local' && dispositionOf(status, probe) === 'live') out.push({ id, status });
  }
  return out;
}

/** How long `mmrun cancel --now` waits for the launcher to take in the first signal before sending the second. */
const FIRST_SIGNAL_TAKEN_MS = 15_000;

export const localLauncher: Launcher = {
  name: 'local',
  async checkAvailable() {},
  involved: (sweep) => sweep.configured === 'local',
  // The pool itself watches runs whose worker is still alive (dispositionOf 'live'): nothing to take back.
  adoptOrphans: async (req) => liveWorkers(req, req.runs.map((r) => r.id)).map((w) => w.id),
  submit: runLocal,
  async states(sweep): Promise<EngineRunState[]> {
    return liveWorkers(sweep).map(({ id, status }) => ({ runId: id, task: `pid ${status.pid ?? status.launcher?.pid ?? '?'}`, state: status.state === 'queued' ? 'STARTING' : 'RUNNING', active: true }));
  },
  async cancel(sweep, opts): Promise<string[]> {
    const holder = sweepLockHolder(sweep.files.lock);
    if (!holder) return [];
    if (holder.host !== hostname()) {
      throw new MmrunError(`sweep ${sweep.plan.sweepId} is launched by ${describeHolder(holder)}, another machine: run \`mmrun cancel\` there.`);
    }
    process.kill(holder.pid, 'SIGTERM');
    if (opts.now) {
      // A second signal kills the runs at once; sent before the launcher handled the first, the
      // kernel would merge the two. The launcher creates the stop file when it handles the first.
      const deadline = Date.now() + FIRST_SIGNAL_TAKEN_MS;
      while (!existsSync(sweep.files.stop) && Date.now() < deadline && sweepLockHolder(sweep.files.lock)) await new Promise((r) => setTimeout(r, 20));
      if (sweepLockHolder(sweep.files.lock)) process.kill(holder.pid, 'SIGTERM');
      return [`Asked the launcher (${describeHolder(holder)}) to kill its runs now.`];
    }
    return [`Asked the launcher (${describeHolder(holder)}) to stop: running runs finish their current epoch checkpoint and stop; \`mmrun run\` resumes them.`];
  },
};

async function runLocal(req: LaunchRequest): Promise<LaunchResult> {
  const machine = req.machine ?? detectMachine({ backends: req.runs.map((r) => r.config.model.backend), env: req.env });
  const foreground = Boolean(req.foreground);
  const jobs = foreground ? 1 : concurrencyOf(req.launcher, machine, req.jobs);
  const tty = !foreground && (req.tty ?? Boolean(process.stdout.isTTY));
  let display: Display | undefined;
  const log = (line: string) => (display ? display.log(line) : req.say(line));
  const pool = new LocalPool({
    runs: req.runs,
    artifactsDir: req.artifactsDir,
    sweepId: req.plan.sweepId,
    experimentFile: req.experimentFile,
    launcher: req.launcher,
    jobs,
    machine,
    workerCommand: req.workerCommand,
    stopFile: req.files.stop,
    env: req.env,
    foreground,
    log,
    killGraceS: req.env.MMRUN_KILL_GRACE_S ? Number(req.env.MMRUN_KILL_GRACE_S) : undefined,
  });
  const l = req.launcher;
  log(
    `sweep ${req.plan.sweepId}: ${req.runs.length} run${req.runs.length === 1 ? '' : 's'}, ${jobs} at a time (${l.threads_per_run} thread${l.threads_per_run === 1 ? '' : 's'} each${machine.gpus ? `, ${machine.gpus} GPUs` : `, ${machine.cores} cores`}); ${foreground ? 'worker output below' : `logs in ${req.artifactsDir}/runs/<id>/log.txt`}`,
  );
  let note: string | undefined;
  const model = (): DisplayModel => {
    const s = pool.snapshot();
    return {
      label: `sweep ${req.plan.sweepId}`,
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
  if (!foreground) display = startDisplay(model, { tty, write: req.write });

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
  if (req.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  let ends: RunEnd[];
  try {
    ends = await pool.run();
  } finally {
    if (req.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    display?.stop();
  }
  const stopped = pool.snapshot().stopping;
  return { ends, how: stopped === 'interrupt' ? 'interrupted' : stopped === 'fail_fast' ? 'fail_fast' : undefined };
}

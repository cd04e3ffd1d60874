/**
 * The local launcher: one OS process per run, at most `jobs` at once, each in its own process
 * group (so a timeout can kill the whole tree and a terminal's Ctrl-C reaches only the launcher),
 * its output appended to the run's log.txt by the OS (so a worker outlives a killed launcher and
 * is adopted, not duplicated, by the next `mmrun run`).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { execa, type ResultPromise } from 'execa';
import type { Launcher } from '../config/types.gen.ts';
import type { RunSpec } from '../sweep/index.ts';
import { RunStore, runDirOf, type RunStatus } from '../track/run-store.ts';
import { classifyExit, describeError } from './exit-cause.ts';
import { watchOom, type OomWatch } from './oom-watch.ts';
import { errnoMeaning } from '../files/fs-errors.ts';
import type { RunEnd } from './launcher.ts';
import { defaultProbe, dispositionOf } from './liveness.ts';
import { slotEnv, type Machine } from './slots.ts';

export interface PoolOptions {
  runs: RunSpec[];
  artifactsDir: string;
  sweepId: string;
  experimentFile: string;
  launcher: Pick<Launcher, 'threads_per_run' | 'retries' | 'retry_backoff_s' | 'fail_fast' | 'timeout_minutes'>;
  jobs: number;
  machine: Machine;
  /** The command before the run directory, e.g. [node, bin/mmrun.js, 'worker']. */
  workerCommand: string[];
  stopFile: string;
  env?: NodeJS.ProcessEnv;
  /** Worker output on this terminal instead of log.txt (`--only`). */
  foreground?: boolean;
  /** Plain event lines (launch, end, retry). */
  log: (line: string) => void;
  /** Seconds a timed-out or stopped worker gets between SIGTERM and SIGKILL (default 10). */
  killGraceS?: number;
  pollMs?: number;
  /** Tests: the run directory of a run (default RunStore.create). */
  createRunDir?: (spec: RunSpec) => RunStore;
}

export type { RunEnd };

export interface PoolSnapshot {
  startedAt: number;
  total: number;
  running: { spec: RunSpec; dir: string; startedAt: number; attempt: number; adopted: boolean }[];
  queued: number;
  ended: RunEnd[];
  stopping: false | 'interrupt' | 'fail_fast';
}

interface Active {
  spec: RunSpec;
  store: RunStore;
  attempt: number;
  slot: number;
  startedAt: number;
  child?: ResultPromise;
  logFd?: number;
  timer?: NodeJS.Timeout;
  timedOut: boolean;
  /** A worker left by an earlier launcher that is still alive: watched, not started. */
  adopted: boolean;
  /** The kernel's OOM-kill counter of the worker's memory cgroup, read at start (exit-cause: oom only on its word). */
  oom?: OomWatch;
}

interface Pending {
  spec: RunSpec;
  attempt: number; // attempts made by this launcher so far
  notBefore: number;
}

export class LocalPool {
  private queue: Pending[] = [];
  private active: Active[] = [];
  private ended: RunEnd[] = [];
  private stopping: PoolSnapshot['stopping'] = false;
  private killNow = false;
  private wake: () => void = () => {};
  private readonly startedAt = Date.now();
  private readonly pollMs: number;

  constructor(private readonly opts: PoolOptions) {
    this.pollMs = opts.pollMs ?? 500;
  }

  snapshot(): PoolSnapshot {
    return {
      startedAt: this.startedAt,
      total: this.opts.runs.length,
      running: this.active.map((a) => ({ spec: a.spec, dir: a.store.dir, startedAt: a.startedAt, attempt: a.attempt, adopted: a.adopted })),
      queued: this.queue.length,
      ended: [...this.ended],
      stopping: this.stopping,
    };
  }

  /** First call: launch nothing more, ask running workers to checkpoint and stop. Second interrupt (or `now`): kill them at once. */
  stop(reason: 'interrupt' | 'fail_fast' = 'interrupt', now = false): void {
    if (!this.stopping) {
      this.stopping = reason;
      try {
        closeSync(openSync(this.opts.stopFile, 'w'));
      } catch (err) {
        this.opts.log(`warning: could not write the stop file ${this.opts.stopFile} (${(err as Error).message}); sending SIGTERM instead`);
        for (const a of this.active) this.signal(a, 'SIGTERM');
      }
    } else if (reason === 'interrupt') {
      now = true;
    }
    if (now) {
      this.killNow = true;
      for (const a of this.active) this.signal(a, 'SIGKILL');
    }
    this.wake();
  }

  async run(): Promise<RunEnd[]> {
    const probe = defaultProbe();
    for (const spec of this.opts.runs) {
      const status = readStatusSafe(runDirOf(this.opts.artifactsDir, spec.id));
      const d = dispositionOf(status, probe);
      if (d === 'done') this.ended.push({ spec, state: 'finished', attempts: 0, adopted: true });
      else this.queue.push({ spec, attempt: 0, notBefore: 0 });
    }
    for (;;) {
      if (!this.stopping) this.fillSlots();
      if (this.active.length === 0 && (this.queue.length === 0 || this.stopping)) break;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        // Wake up for retries whose backoff ends, and to watch adopted workers.
        const soonest = Math.min(...this.queue.map((p) => p.notBefore), Infinity);
        const adopted = this.active.some((a) => a.adopted);
        const wait = adopted ? this.pollMs : soonest === Infinity ? 3_600_000 : Math.max(10, soonest - Date.now());
        timer = setTimeout(resolve, wait);
      });
      clearTimeout(timer);
      this.wake = () => {};
      this.checkAdopted();
    }
    return this.ended;
  }

  private fillSlots(): void {
    const probe = defaultProbe();
    for (let i = 0; i < this.queue.length && this.active.length < this.opts.jobs; ) {
      const p = this.queue[i];
      if (p.notBefore > Date.now()) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      const dir = runDirOf(this.opts.artifactsDir, p.spec.id);
      const status = readStatusSafe(dir);
      const d = p.attempt === 0 ? dispositionOf(status, probe) : 'launch';
      const slot = this.freeSlot();
      if (d === 'done') {
        this.ended.push({ spec: p.spec, state: 'finished', attempts: 0, adopted: true });
      } else if (d === 'live') {
        this.opts.log(`${p.spec.id} ${p.spec.name}: already running (pid ${status?.pid ?? status?.launcher?.pid} on ${status?.host ?? '?'}), watching it instead of starting it again`);
        this.active.push({ spec: p.spec, store: new RunStore(dir), attempt: status?.attempt ?? 1, slot, startedAt: Date.now(), timedOut: false, adopted: true });
      } else {
        this.launch(p, slot, status);
      }
    }
  }

  private freeSlot(): number {
    const used = new Set(this.active.map((a) => a.slot));
    let s = 0;
    while (used.has(s)) s++;
    return s;
  }

  private checkAdopted(): void {
    const probe = defaultProbe();
    for (const a of [...this.active]) {
      if (!a.adopted) continue;
      const status = readStatusSafe(a.store.dir);
      const d = dispositionOf(status, probe);
      if (d === 'live') continue;
      this.active.splice(this.active.indexOf(a), 1);
      if (d === 'done') {
        this.ended.push({ spec: a.spec, state: 'finished', attempts: 0, adopted: true });
        this.opts.log(`${a.spec.id} ${a.spec.name}: finished (by the worker of an earlier launcher)`);
      } else if (!this.stopping) {
        // The adopted worker died or stopped: this launcher takes the run over (it resumes from its checkpoint).
        this.queue.unshift({ spec: a.spec, attempt: 0, notBefore: 0 });
      } else {
        this.ended.push({ spec: a.spec, state: status?.state === 'failed' ? 'failed' : 'killed', error: status?.error, attempts: 0 });
      }
    }
  }

  private launch(p: Pending, slot: number, previous: RunStatus | undefined): void {
    const { spec } = p;
    const attempt = p.attempt + 1;
    // The attempt number in status.json counts every start of the run, across launchers.
    const statusAttempt = previous && previous.state !== 'queued' ? (previous.attempt ?? 0) + 1 : (previous?.attempt ?? 1);
    let store: RunStore;
    let logFd: number | undefined;
    try {
      store = this.opts.createRunDir ? this.opts.createRunDir(spec) : RunStore.create(this.opts.artifactsDir, spec, { sweepId: this.opts.sweepId, experimentFile: this.opts.experimentFile });
      store.writeStatus({
        ...(previous && previous.state !== 'finished' ? previous : {}),
        state: 'queued',
        runId: spec.id,
        attempt: statusAttempt,
        host: hostname(),
        pid: undefined,
        launcher: { type: 'local', pid: process.pid },
        endedAt: null,
        error: undefined,
      });
      logFd = openSync(store.path('log'), 'a');
      writeSync(logFd, `\n=== mmrun launcher pid ${process.pid} on ${hostname()}: attempt ${statusAttempt} started at ${new Date().toISOString()} (slot ${slot})${this.opts.foreground ? '; output on the terminal (--only), not here' : ''} ===\n`);
    } catch (err) {
      if (logFd !== undefined) closeSync(logFd);
      const e = err as NodeJS.ErrnoException;
      const dir = runDirOf(this.opts.artifactsDir, spec.id);
      const what = errnoMeaning(e);
      const error = { message: `could not write the run directory ${dir}: ${what}`, exitCode: null, signal: null, cause: 'exception' as const };
      try {
        new RunStore(dir).writeStatus({ state: 'failed', runId: spec.id, attempt: statusAttempt, endedAt: new Date().toISOString(), error });
      } catch {
        /* the disk is full: the launcher's summary carries the error */
      }
      this.opts.log(`${spec.id} ${spec.name}: FAILED before start: ${error.message}`);
      this.finishRun(p, { spec, state: 'failed', error, attempts: attempt });
      return;
    }

    const env = {
      ...(this.opts.env ?? process.env),
      ...slotEnv(slot, this.opts.launcher, this.opts.machine),
      MMRUN_STOP_FILE: this.opts.stopFile,
      MMRUN_LAUNCHER: 'local',
    };
    const [file, ...args] = this.opts.workerCommand;
    const child = execa(file, [...args, store.dir], {
      env,
      extendEnv: false,
      detached: true,
      cleanup: false,
      reject: false,
      buffer: false,
      stdin: 'ignore',
      // The log file's descriptor goes to the child as is (execa passes numbers through natively; its
      // types only list 3-9): the worker writes its log itself and survives a killed launcher.
      stdout: this.opts.foreground ? 'inherit' : (logFd as unknown as 3),
      stderr: this.opts.foreground ? 'inherit' : (logFd as unknown as 3),
    });
    const active: Active = { spec, store, attempt, slot, startedAt: Date.now(), child, logFd, timedOut: false, adopted: false };
    this.active.push(active);
    if (child.pid) active.oom = watchOom(child.pid);
    // Record the worker's pid at once, so that a launcher killed before the worker writes its first
    // status leaves a run the next launcher recognises as live (and does not start twice).
    try {
      const now = store.readStatus();
      if (now?.state === 'queued' && child.pid) store.writeStatus({ ...now, pid: child.pid });
    } catch {
      /* best effort */
    }
    this.opts.log(`${spec.id} ${spec.name}: started (attempt ${statusAttempt}, pid ${child.pid ?? '?'}, slot ${slot})`);
    const timeoutMin = this.opts.launcher.timeout_minutes;
    if (timeoutMin) {
      active.timer = setTimeout(() => {
        active.timedOut = true;
        this.opts.log(`${spec.id} ${spec.name}: timed out after ${timeoutMin} min, killing it`);
        this.signal(active, 'SIGTERM');
        setTimeout(() => this.signal(active, 'SIGKILL'), (this.opts.killGraceS ?? 10) * 1000).unref();
      }, timeoutMin * 60_000);
    }
    void child.then((result) => this.onExit(active, p, result.exitCode ?? null, result.signal ?? null));
  }

  private signal(a: Active, sig: NodeJS.Signals): void {
    const pid = a.child?.pid;
    if (!pid) return;
    try {
      process.kill(-pid, sig); // the worker's whole process group
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  }

  private onExit(a: Active, p: Pending, exitCode: number | null, signal: string | null): void {
    if (a.timer) clearTimeout(a.timer);
    if (a.logFd !== undefined) {
      try {
        writeSync(a.logFd, `=== worker exited: ${signal ? `signal ${signal}` : `code ${exitCode}`} at ${new Date().toISOString()} ===\n`);
      } catch {
        /* disk full */
      }
      closeSync(a.logFd);
    }
    // Anything the worker left in its group (its children) goes with it.
    if (a.child?.pid) {
      try {
        process.kill(-a.child.pid, 'SIGKILL');
      } catch {
        /* group already empty */
      }
    }
    this.active.splice(this.active.indexOf(a), 1);
    const status = readStatusSafe(a.store.dir);
    const outcome = classifyExit({ exitCode, signal, timedOut: a.timedOut, stopRequested: Boolean(this.stopping) || this.killNow, oom: a.oom?.check() }, status);
    if (outcome.state === 'finished') {
      this.opts.log(`${a.spec.id} ${a.spec.name}: finished in ${((Date.now() - a.startedAt) / 1000).toFixed(1)}s`);
      this.finishRun(p, { spec: a.spec, state: 'finished', attempts: a.attempt });
    } else {
      try {
        a.store.updateStatus({ state: outcome.state, endedAt: new Date().toISOString(), error: outcome.error, heartbeatAt: status?.heartbeatAt });
      } catch (err) {
        this.opts.log(`warning: could not record the end of ${a.spec.id} in ${a.store.dir}: ${errnoMeaning(err)}`);
      }
      this.opts.log(`${a.spec.id} ${a.spec.name}: ${outcome.state.toUpperCase()} ${describeError(outcome.error)} (log: ${a.store.path('log')})`);
      this.finishRun({ ...p, attempt: a.attempt }, { spec: a.spec, state: outcome.state, error: outcome.error, attempts: a.attempt });
    }
    this.wake();
  }

  private finishRun(p: Pending, end: RunEnd): void {
    if (end.state === 'failed' && !this.stopping && end.attempts <= this.opts.launcher.retries) {
      const backoff = this.opts.launcher.retry_backoff_s * 1000 * 2 ** (end.attempts - 1);
      this.opts.log(`${end.spec.id} ${end.spec.name}: retry ${end.attempts}/${this.opts.launcher.retries} in ${(backoff / 1000).toFixed(1)}s`);
      this.queue.unshift({ spec: end.spec, attempt: end.attempts, notBefore: Date.now() + backoff });
      return;
    }
    this.ended.push(end);
    if (end.state === 'failed' && this.opts.launcher.fail_fast && !this.stopping) {
      this.opts.log(`fail_fast: ${end.spec.id} failed, stopping the sweep`);
      this.stop('fail_fast');
    }
  }
}

function readStatusSafe(dir: string): RunStatus | undefined {
  try {
    return new RunStore(dir).readStatus();
  } catch {
    return undefined;
  }
}


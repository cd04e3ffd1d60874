// Keeps MLflow in step with a sweep while it runs: the launcher starts this loop, workers only
// write their run directories. An unreachable or failing server never stops training: one
// warning, then silent retries until it answers again; run directories keep everything.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MmrunError } from '../errors.ts';
import { MlflowClient, MlflowUnreachableError } from './mlflow-client.ts';
import { redactCredentials } from '../config/tracking-uri.ts';
import type { Plan } from './plan-types.ts';
import { listRunDirs, RUN_FILES, runDirOf } from './run-store.ts';
import type { SweepAnalyzer } from './sweep-analysis.ts';
import { syncRuns, SyncSession, sweepUrl, type SyncReport } from './sync.ts';

export interface SyncLoopOptions {
  uri: string;
  artifactsDir: string;
  /** Sync the plan's runs (default: every run directory under artifactsDir). */
  plan?: Plan;
  /** Sync only these run directories (e.g. a worker forwarding its own run). */
  runDirs?: string[];
  intervalMs?: number; // default 5000
  /** Warnings and notes for the user (default: console.warn). */
  log?: (message: string) => void;
  /** The sweep's analysis for its parent run (SyncOptions.analyzeSweep; without it, none). */
  analyzeSweep?: SweepAnalyzer;
}

export interface SyncLoop {
  /** Runs one sync now (waits for a tick in progress first). Never throws. */
  syncNow(): Promise<SyncReport | undefined>;
  /** Stops the timer and does a last sync so that the end of the sweep is sent. Never throws. */
  stop(): Promise<SyncReport | undefined>;
}

export function startSyncLoop(opts: SyncLoopOptions): SyncLoop {
  const log = opts.log ?? ((m: string) => console.warn(m));
  const interval = opts.intervalMs ?? 5000;
  // Few attempts and a short timeout: a down server must not make ticks pile up.
  const session = new SyncSession(new MlflowClient({ uri: opts.uri, attempts: 2, backoffMs: 500, timeoutMs: 10_000 }));
  const warned = new Set<string>();
  const announced = new Set<string>();
  let unreachable = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<SyncReport | undefined> = Promise.resolve(undefined);

  const runDirs = () =>
    opts.runDirs
      ? opts.runDirs.filter((d) => existsSync(join(d, RUN_FILES.spec)))
      : opts.plan
      ? opts.plan.runs.map((r) => runDirOf(opts.artifactsDir, r.id)).filter((d) => existsSync(join(d, RUN_FILES.spec)))
      : listRunDirs(opts.artifactsDir);

  const tick = async (): Promise<SyncReport | undefined> => {
    try {
      const dirs = runDirs();
      if (dirs.length === 0) return undefined;
      const report = await syncRuns({ session, runDirs: dirs, plan: opts.plan, analyzeSweep: opts.analyzeSweep });
      if (unreachable) log(`MLflow at ${session.uri} answers again: run directories are synced.`);
      for (const s of report.sweeps) {
        if (announced.has(s.sweepId)) continue;
        announced.add(s.sweepId);
        log(`MLflow: sweep ${s.sweepId} at ${sweepUrl(session.uri, s.experimentId, s.parentRunUuid)}`);
      }
      unreachable = false;
      for (const p of report.problems) warnOnce(p);
      return report;
    } catch (err) {
      if (err instanceof MlflowUnreachableError) {
        if (!unreachable) {
          log(
            `warning: ${err.message}. Training goes on; runs stay in ${opts.artifactsDir}/runs and are sent when the server answers again (or later: \`mmrun sync\`).`,
          );
        }
        unreachable = true;
      } else {
        warnOnce(`warning: MLflow sync failed: ${redactCredentials((err as Error).message ?? String(err))}. Training goes on; retrying.`);
      }
      return undefined;
    }
  };

  function warnOnce(message: string): void {
    if (warned.has(message)) return;
    warned.add(message);
    log(message);
  }

  // Ticks never overlap: each one chains on the previous.
  const syncNow = () => {
    current = current.then(tick, tick);
    return current;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void syncNow().finally(schedule), interval);
    timer.unref();
  };

  void syncNow().finally(schedule);
  return {
    syncNow,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current.catch(() => undefined);
      return syncNow();
    },
  };
}

// Replays run directories into MLflow. The run directory is the source of truth; this only
// forwards what MLflow does not have yet, so it can run any number of times (launcher loop
// every few seconds, `mmrun sync` later) without duplicating runs, metrics or params.
// What was sent is kept beside the data (sync-state.ts); each result folder's runs carry its
// store id (sync-store-id.ts), so two folders of the same experiment never share a run.
// The steps: the parent run (sync-parent.ts), each child run (sync-run.ts), then the parent's
// status and analysis.
import { dirname, join } from 'node:path';
import { MmrunError } from '../errors.ts';
import { readJsonIfExists } from '../files/atomic.ts';
import { MlflowUnreachableError } from './mlflow-client.ts';
import { experimentNameOf } from './mlflow-mapping.ts';
import type { Plan } from './plan-types.ts';
import { RunStore, runDirOf, sweepDirOf, type RunSpecFile } from './run-store.ts';
import type { SweepAnalyzer } from './sweep-analysis.ts';
import { emptyResult, type ParentHandle, type RunSyncResult, type SweepContext, type SyncReport } from './sync-context.ts';
import { withSyncLock } from './sync-lock.ts';
import { withRetryIfGone } from './sync-lookup.ts';
import { syncParentStart, syncParentStatus, syncSweepAnalysis } from './sync-parent.ts';
import { syncOneRun } from './sync-run.ts';
import { SyncSession } from './sync-session.ts';
import { dropState, SYNC_LOCK_FILE, SYNC_STATE_FILE } from './sync-state.ts';
import { mkdirLevels } from '../files/mkdir.ts';

export { SyncSession } from './sync-session.ts';
export { SYNC_LOCK_FILE, SYNC_STATE_FILE } from './sync-state.ts';
export type { RunSyncResult, SweepSyncResult, SyncReport } from './sync-context.ts';

export interface SyncOptions {
  /** The tracking server (http(s)). Ignored when `session` is given. */
  uri?: string;
  /** Run directories to replay (each holds a spec.json). */
  runDirs: string[];
  /** The sweep's plan when the caller has it (gives the parent run its plan size and YAML). */
  plan?: Plan;
  session?: SyncSession;
  /** Runs synced at the same time (default 4): the server's latency, not its throughput, is the limit. */
  concurrency?: number;
  /** Where warnings and progress notes go (default: nowhere). */
  log?: (message: string) => void;
  /**
   * Builds the sweep's analysis (report, comparison tables, per-arm metrics) for its parent run
   * once every planned run has ended: runner/report's buildSweepAnalysis, passed by the layers
   * above report. Without it the parent run carries no analysis.
   */
  analyzeSweep?: SweepAnalyzer;
}

interface RunToSync {
  store: RunStore;
  spec: RunSpecFile;
}

/**
 * Sends to MLflow what the run directories hold and MLflow lacks. Idempotent; a run directory
 * with nothing new costs no request at all.
 * Throws MlflowUnreachableError when the server does not answer (state is kept: nothing is lost).
 */
export async function syncRuns(opts: SyncOptions): Promise<SyncReport> {
  const session = opts.session ?? new SyncSession({ uri: requireUri(opts.uri) });
  const report: SyncReport = { uri: session.uri, sweeps: [], runs: [], problems: [] };
  for (const [sweepId, runs] of runsBySweep(opts.runDirs, report.problems)) {
    await syncSweep(sweepContext(session, sweepId, runs, opts.plan, report), runs, opts);
  }
  for (const p of report.problems) (opts.log ?? (() => {}))(p);
  return report;
}

/** Run directories grouped by sweep; one whose spec.json cannot be read is a problem, not the end of the sync. */
function runsBySweep(runDirs: string[], problems: string[]): Map<string, RunToSync[]> {
  const bySweep = new Map<string, RunToSync[]>();
  for (const dir of runDirs) {
    const store = RunStore.open(dir);
    let spec: RunToSync['spec'];
    try {
      spec = store.readSpec();
    } catch (err) {
      if (!(err instanceof MmrunError)) throw err;
      problems.push(`${err.message}; this run was not synced`);
      continue;
    }
    const list = bySweep.get(spec.sweepId) ?? [];
    list.push({ store, spec });
    bySweep.set(spec.sweepId, list);
  }
  return bySweep;
}

function sweepContext(session: SyncSession, sweepId: string, runs: RunToSync[], givenPlan: Plan | undefined, report: SyncReport): SweepContext {
  const artifactsDir = dirname(dirname(runs[0].store.dir));
  const plan = givenPlan?.sweepId === sweepId ? givenPlan : readPlan(artifactsDir, sweepId);
  return {
    session,
    artifactsDir,
    storeId: session.storeId(artifactsDir),
    sweepId,
    plan,
    spec: runs[0].spec,
    experiment: experimentNameOf(runs[0].spec.config),
    source: session.source(plan?.file ?? runs[0].spec.experimentFile),
    report,
  };
}

/** The parent first (children name it), then the runs, then the parent's status and analysis. */
async function syncSweep(ctx: SweepContext, runs: RunToSync[], opts: SyncOptions): Promise<void> {
  const sweepDir = sweepDirOf(ctx.artifactsDir, ctx.sweepId);
  mkdirLevels(sweepDir);
  const underSweepLock = <T>(waitMs: number, fn: () => Promise<T>) => withSyncLock(join(sweepDir, SYNC_LOCK_FILE), waitMs, fn);
  const parent = await underSweepLock(60_000, () => withRetryIfGone(() => syncParentStart(ctx), () => dropState(join(sweepDir, SYNC_STATE_FILE), ctx.session.uri)));
  if (!parent) throw sweepBusy(ctx.sweepId, sweepDir);

  ctx.report.runs.push(...(await mapLimit(runs, opts.concurrency ?? 4, (run) => syncRunLocked(ctx, run, parent))));

  const plan = ctx.plan;
  const states = plan ? plan.runs.map((r) => new RunStore(runDirOf(ctx.artifactsDir, r.id)).readStatus()?.state) : runs.map((r) => r.store.readStatus()?.state);
  const endTimes = runs.map((r) => Date.parse(r.store.readStatus()?.endedAt ?? '')).filter(Number.isFinite);
  const status = await underSweepLock(60_000, () => syncParentStatus(ctx, parent, states, endTimes));
  if (!status) throw sweepBusy(ctx.sweepId, sweepDir);
  const analyze = opts.analyzeSweep;
  if (status !== 'RUNNING' && plan && analyze) await underSweepLock(1000, () => syncSweepAnalysis(ctx, parent, plan, analyze));
  ctx.report.sweeps.push({ sweepId: ctx.sweepId, experimentId: parent.experimentId, parentRunUuid: parent.runUuid, created: parent.created, status });
}

/** One run under its lock; a problem the user can fix is reported and the other runs go on. */
async function syncRunLocked(ctx: SweepContext, { store, spec }: RunToSync, parent: ParentHandle): Promise<RunSyncResult> {
  try {
    const result = await withSyncLock(join(store.dir, SYNC_LOCK_FILE), 3000, () =>
      withRetryIfGone(() => syncOneRun(ctx, store, spec, parent), () => dropState(join(store.dir, SYNC_STATE_FILE), ctx.session.uri)),
    );
    return result ?? { ...emptyResult(spec, store), skipped: 'being synced by another process' };
  } catch (err) {
    if (err instanceof MlflowUnreachableError || !(err instanceof MmrunError)) throw err;
    ctx.report.problems.push(`run ${spec.id} (${spec.name}): ${err.message}`);
    return { ...emptyResult(spec, store), problems: [err.message] };
  }
}

function sweepBusy(sweepId: string, sweepDir: string): MmrunError {
  return new MmrunError(`Sweep ${sweepId} has been synced by another process for over a minute (${join(sweepDir, SYNC_LOCK_FILE)}); try again later.`);
}

/** The sweep's page in the MLflow UI (its parent run, children listed under it). */
export function sweepUrl(uri: string, experimentId: string, parentRunUuid: string): string {
  return `${uri}/#/experiments/${experimentId}/runs/${parentRunUuid}`;
}

function requireUri(uri: string | undefined): string {
  if (!uri) throw new MmrunError('No MLflow tracking URI: set MLFLOW_TRACKING_URI or tracking.uri.');
  return uri;
}

function readPlan(artifactsDir: string, sweepId: string): Plan | undefined {
  try {
    return readJsonIfExists<Plan>(join(sweepDirOf(artifactsDir, sweepId), 'plan.json'));
  } catch {
    return undefined;
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

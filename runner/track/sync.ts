// Replays run directories into MLflow. The run directory is the source of truth; this only
// forwards what MLflow does not have yet, so it can run any number of times (launcher loop
// every few seconds, `mmrun sync` later) without duplicating runs, metrics or params.
// State of what was sent lives beside the data: `<run-dir>/mlflow.json` per run and
// `sweeps/<sweepId>/mlflow.json` for the parent run, keyed by server URI.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MmrunError } from '../errors.ts';
import { readJsonIfExists, writeJsonAtomic } from '../files/atomic.ts';
import { ArtifactProxyUnavailableError, MlflowClient, MlflowError, MlflowUnreachableError, type MlflowRun, type MlflowRunStatus } from './mlflow-client.ts';
import { fitEntries, type KeyValue, type Metric, type Truncation } from './mlflow-limits.ts';
import {
  TAG,
  childRunTags,
  experimentNameOf,
  isTerminal,
  metricsOfLines,
  metricsOfSummary,
  phaseOffsets,
  mlflowStatusOf,
  parentRunName,
  parentRunTags,
  parentStatusOf,
  runParams,
  type SourceInfo,
} from './mlflow-mapping.ts';
import type { Plan } from './plan-types.ts';
import { RunStore, runDirOf, sweepDirOf, type RunSpecFile, type RunState, type RunStatus, type RunSummary } from './run-store.ts';
import { readVerifiedJson } from '../files/verified.ts';
import { sourceInfoFor } from './source-info.ts';
import { withSyncLock } from './sync-lock.ts';
import { readSystemSamples, systemMetricsOf, SYSTEM_METRICS_FILE } from './system-metrics.ts';
import { datasetInputsOf } from './dataset-inputs.ts';
import type { SweepAnalyzer } from './sweep-analysis.ts';
import { finalCheckpointOf, MODEL_ARTIFACT_PATH, redactedFileSource, runArtifacts, type ArtifactSource } from './sync-artifacts.ts';
import { redactCredentials } from '../config/tracking-uri.ts';
import { mkdirLevels } from '../files/mkdir.ts';

export const SYNC_STATE_FILE = 'mlflow.json';
export const SYNC_LOCK_FILE = 'mlflow.lock';
const METRICS_PER_FLUSH = 5000;

interface RunServerState {
  experiment: string;
  experimentId: string;
  runUuid: string;
  artifactUri: string;
  parentRunUuid?: string;
  paramsDone: boolean;
  tags: Record<string, string>;
  linesSent: number;
  metricsSent: number;
  summarySent?: string;
  status?: string;
  artifacts: Record<string, string>;
  truncations: Record<string, string>;
  problemsReported: string[];
  systemSamplesSent?: number;
  inputsSent?: string;
  /** Sizes and times of the run's files when everything in them had been sent. */
  seen?: string;
}

interface ParentServerState {
  experiment: string;
  experimentId: string;
  runUuid: string;
  artifactUri: string;
  tags: Record<string, string>;
  artifacts: Record<string, string>;
  status?: string;
  /** Signature of the finished runs whose analysis the parent carries. */
  analysisSent?: string;
  analysisVersions?: number;
}

interface SyncStateFile<T> {
  servers: Record<string, T>;
}

export interface RunSyncResult {
  runId: string;
  runDir: string;
  runUuid?: string;
  created: boolean;
  /** Something was sent to MLflow for this run by this call. */
  updated: boolean;
  skipped?: string; // why nothing was sent (e.g. still queued)
  linesSent: number; // metrics.jsonl lines sent by this call
  metricsSent: number; // metric values sent by this call
  paramsSent: number;
  artifactsSent: string[];
  status?: MlflowRunStatus;
  problems: string[];
}

export interface SweepSyncResult {
  sweepId: string;
  experimentId: string;
  parentRunUuid: string;
  created: boolean;
  status: MlflowRunStatus;
}

export interface SyncReport {
  uri: string;
  sweeps: SweepSyncResult[];
  runs: RunSyncResult[];
  /** Problems worth telling the user (each reported once across calls). */
  problems: string[];
}

/** Caches shared by the calls of one process (the launcher's loop keeps one). */
export class SyncSession {
  readonly client: MlflowClient;
  readonly experimentIds = new Map<string, Promise<string>>();
  readonly sources = new Map<string, SourceInfo>();
  artifactsUnavailable?: string;

  constructor(client: MlflowClient | { uri: string }) {
    this.client = client instanceof MlflowClient ? client : new MlflowClient({ uri: client.uri });
  }

  get uri(): string {
    return this.client.uri;
  }

  experimentId(name: string, description?: string): Promise<string> {
    let id = this.experimentIds.get(name);
    if (!id) {
      // MLflow 3's UI shows a new experiment as GenAI (traces) unless told it holds model training runs.
      const note = description ? [{ key: TAG.note, value: description }] : [];
      id = this.client.ensureExperiment(name, [{ key: 'mlflow.experimentKind', value: 'custom_model_development' }, ...note]).then(async (experimentId) => {
        // An experiment created earlier (or by MLflow's UI) gets the file's description too.
        if (description) await this.client.setExperimentTag(experimentId, TAG.note, description);
        return experimentId;
      });
      id.catch(() => this.experimentIds.delete(name));
      this.experimentIds.set(name, id);
    }
    return id;
  }
}

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

/**
 * Sends to MLflow what the run directories hold and MLflow lacks. Idempotent; a run directory
 * with nothing new costs no request at all.
 * Throws MlflowUnreachableError when the server does not answer (state is kept: nothing is lost).
 */
export async function syncRuns(opts: SyncOptions): Promise<SyncReport> {
  const session = opts.session ?? new SyncSession({ uri: requireUri(opts.uri) });
  const log = opts.log ?? (() => {});
  const report: SyncReport = { uri: session.uri, sweeps: [], runs: [], problems: [] };

  const bySweep = new Map<string, { store: RunStore; spec: RunSpecFile }[]>();
  for (const dir of opts.runDirs) {
    const store = RunStore.open(dir);
    const spec = store.readSpec();
    const list = bySweep.get(spec.sweepId) ?? [];
    list.push({ store, spec });
    bySweep.set(spec.sweepId, list);
  }

  for (const [sweepId, runs] of bySweep) {
    const artifactsDir = dirname(dirname(runs[0].store.dir));
    const plan = opts.plan?.sweepId === sweepId ? opts.plan : readPlan(artifactsDir, sweepId);
    const ctx: SweepContext = {
      session,
      artifactsDir,
      sweepId,
      plan,
      spec: runs[0].spec,
      experiment: experimentNameOf(runs[0].spec.config),
      source: sourceOf(session, plan?.file ?? runs[0].spec.experimentFile),
      report,
    };
    const sweepDir = sweepDirOf(artifactsDir, sweepId);
    mkdirLevels(sweepDir);
    const parent = await withSyncLock(join(sweepDir, SYNC_LOCK_FILE), 60_000, () =>
      withRetryIfGone(() => syncParentStart(ctx), () => dropState(join(sweepDir, SYNC_STATE_FILE), session.uri)),
    );
    if (!parent) throw new MmrunError(`Sweep ${sweepId} has been synced by another process for over a minute (${join(sweepDir, SYNC_LOCK_FILE)}); try again later.`);

    const results = await mapLimit(runs, opts.concurrency ?? 4, async ({ store, spec }) => {
      try {
        const result = await withSyncLock(join(store.dir, SYNC_LOCK_FILE), 3000, () =>
          withRetryIfGone(() => syncOneRun(ctx, store, spec, parent), () => dropState(join(store.dir, SYNC_STATE_FILE), session.uri)),
        );
        return result ?? { ...emptyResult(spec, store), skipped: 'being synced by another process' };
      } catch (err) {
        if (err instanceof MlflowUnreachableError || !(err instanceof MmrunError)) throw err;
        report.problems.push(`run ${spec.id} (${spec.name}): ${err.message}`);
        return { ...emptyResult(spec, store), problems: [err.message] };
      }
    });
    report.runs.push(...results);

    const states = plan ? plan.runs.map((r) => new RunStore(runDirOf(artifactsDir, r.id)).readStatus()?.state) : runs.map((r) => r.store.readStatus()?.state);
    const endTimes = runs.map((r) => Date.parse(r.store.readStatus()?.endedAt ?? '')).filter(Number.isFinite);
    const status = await withSyncLock(join(sweepDir, SYNC_LOCK_FILE), 60_000, () => syncParentStatus(ctx, parent, states, endTimes));
    if (!status) throw new MmrunError(`Sweep ${sweepId} has been synced by another process for over a minute (${join(sweepDir, SYNC_LOCK_FILE)}); try again later.`);
    const analyze = opts.analyzeSweep;
    if (status !== 'RUNNING' && plan && analyze) await withSyncLock(join(sweepDir, SYNC_LOCK_FILE), 1000, () => syncSweepAnalysis(ctx, parent, plan, analyze));
    report.sweeps.push({ sweepId, experimentId: parent.experimentId, parentRunUuid: parent.runUuid, created: parent.created, status });
  }
  for (const p of report.problems) log(p);
  return report;
}

interface SweepContext {
  session: SyncSession;
  artifactsDir: string;
  sweepId: string;
  plan?: Plan;
  spec: RunSpecFile; // any run of the sweep, for what the plan would say when there is none
  experiment: string;
  source: SourceInfo;
  report: SyncReport;
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

function sourceOf(session: SyncSession, file: string): SourceInfo {
  let s = session.sources.get(file);
  if (!s) {
    s = sourceInfoFor(file);
    session.sources.set(file, s);
  }
  return s;
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

/** The run recorded in our state is gone from the server (database reset, run deleted). */
function isGone(err: unknown): boolean {
  return err instanceof MlflowError && (err.errorCode === 'RESOURCE_DOES_NOT_EXIST' || /must be in the .active. state|is deleted/i.test(err.message));
}

/** Runs `fn`; if it failed because our recorded run vanished, forgets the state and runs it once more. */
async function withRetryIfGone<T>(fn: () => Promise<T>, forget: () => void): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isGone(err)) throw err;
    forget();
    return fn();
  }
}

function dropState(file: string, uri: string): void {
  const state = readState<unknown>(file);
  delete state.servers[uri];
  writeJsonAtomic(file, state);
}

function readState<T>(file: string): SyncStateFile<T> {
  try {
    return readJsonIfExists<SyncStateFile<T>>(file) ?? { servers: {} };
  } catch {
    return { servers: {} }; // a corrupt state file only costs a look-up on the server
  }
}

// ---------------------------------------------------------------- one run per identity

function identityFilter(identity: Record<string, string>): string {
  return Object.entries(identity)
    .map(([k, v]) => `tags.\`${k}\` = '${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)
    .join(' AND ');
}

/**
 * The one MLflow run of an identity (a sweep's parent, or one RunSpec of a sweep), created when
 * missing. Processes race here (the launcher's loop, a worker's sync-on-exit, `mmrun sync`; on a
 * cluster their file locks may not even share a host), and a create whose answer was lost may
 * still have happened. So: look up, create with a single attempt, look up again. When twins exist
 * anyway, every process keeps the same one (smallest run uuid) and deletes the others; a process
 * still writing to a deleted twin finds the survivor on its next call (withRetryIfGone).
 */
async function findOrCreateRun(
  session: SyncSession,
  experimentId: string,
  identity: Record<string, string>,
  create: () => Promise<MlflowRun>,
): Promise<{ run: MlflowRun; created: boolean }> {
  let tried = false;
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    const found = await soleRun(session, experimentId, identity);
    if (found) return { run: found, created: tried };
    if (attempt > 0) await sleep(250 * 2 ** attempt);
    let made: MlflowRun;
    try {
      tried = true;
      made = await create();
    } catch (err) {
      // A 4xx is an answer: nothing was created. Anything else may have been: look before retrying.
      if (err instanceof MlflowError && err.status < 500 && err.status !== 429) throw err;
      lastError = err;
      continue;
    }
    return { run: (await soleRun(session, experimentId, identity)) ?? made, created: true };
  }
  throw lastError;
}

async function soleRun(session: SyncSession, experimentId: string, identity: Record<string, string>): Promise<MlflowRun | undefined> {
  const runs = await session.client.searchRuns({ experimentIds: [experimentId], filter: identityFilter(identity) });
  if (runs.length === 0) return undefined;
  runs.sort((a, b) => (a.info.run_id < b.info.run_id ? -1 : a.info.run_id > b.info.run_id ? 1 : 0));
  for (const twin of runs.slice(1)) {
    try {
      await session.client.deleteRun(twin.info.run_id);
    } catch (err) {
      if (!isGone(err)) throw err; // deleted meanwhile by another process
    }
  }
  return runs[0];
}

// ---------------------------------------------------------------- parent run (one per sweep)

interface ParentHandle {
  experimentId: string;
  runUuid: string;
  created: boolean;
}

async function syncParentStart(ctx: SweepContext): Promise<ParentHandle> {
  const { session } = ctx;
  const sweepDir = sweepDirOf(ctx.artifactsDir, ctx.sweepId);
  const stateFile = join(sweepDir, SYNC_STATE_FILE);
  const file = readState<ParentServerState>(stateFile);
  let st = file.servers[session.uri];
  let created = false;
  const save = () => {
    file.servers[session.uri] = st;
    mkdirLevels(sweepDir);
    writeJsonAtomic(stateFile, file);
  };

  if (!st || st.experiment !== ctx.experiment) {
    const experimentId = await session.experimentId(ctx.experiment, ctx.spec.config.description || undefined);
    const identity = { [TAG.sweepId]: ctx.sweepId, [TAG.kind]: 'sweep' };
    const found = await findOrCreateRun(session, experimentId, identity, () =>
      session.client.createRun({ experimentId, runName: parentRunName({ sweepId: ctx.sweepId }), startTime: sweepStartTime(sweepDir), tags: keyValues(identity) }),
    );
    const run = found.run;
    created = found.created;
    st = { experiment: ctx.experiment, experimentId, runUuid: run.info.run_id, artifactUri: run.info.artifact_uri, tags: tagMap(run.data.tags), artifacts: {}, status: undefined };
    save();
  }

  const plan: Plan = ctx.plan ?? { experiment: ctx.spec.config.name, sweepId: ctx.sweepId, file: ctx.spec.experimentFile, contentHash: '', runs: [], factors: { grid: {}, ablations: 0, seeds: 0 } };
  let tags = parentRunTags(plan, ctx.spec.config.description, ctx.source);
  if (!ctx.plan) tags = tags.filter((t) => t.key !== TAG.contentHash && t.key !== TAG.planSize && t.key !== 'mmrun.factors');
  const changed = tags.filter((t) => st.tags[t.key] !== t.value);
  if (changed.length) {
    await session.client.logBatch(st.runUuid, { tags: changed });
    for (const t of changed) st.tags[t.key] = t.value;
    save();
  }

  const files: ArtifactSource[] = [];
  if (existsSync(plan.file)) files.push(redactedFileSource(`sweep/${basename(plan.file)}`, plan.file));
  const planJson = join(sweepDir, 'plan.json');
  if (existsSync(planJson)) files.push(redactedFileSource('sweep/plan.json', planJson));
  else if (ctx.plan) files.push({ path: 'sweep/plan.json', read: () => Buffer.from(redactCredentials(JSON.stringify(ctx.plan, null, 2))) });
  await uploadChanged(session, st.artifactUri, files, st.artifacts, save, ctx.report.problems);
  return { experimentId: st.experimentId, runUuid: st.runUuid, created };
}

async function syncParentStatus(ctx: SweepContext, parent: ParentHandle, states: (RunState | undefined)[], endTimes: number[]): Promise<MlflowRunStatus> {
  const stateFile = join(sweepDirOf(ctx.artifactsDir, ctx.sweepId), SYNC_STATE_FILE);
  const file = readState<ParentServerState>(stateFile);
  const st = file.servers[ctx.session.uri];
  const status = parentStatusOf(states);
  const endTime = status === 'RUNNING' ? undefined : Math.max(...endTimes, 0) || Date.now();
  const signature = `${status}|${endTime ?? ''}`;
  if (st && st.status !== signature) {
    await ctx.session.client.updateRun({ runId: parent.runUuid, status, endTime });
    st.status = signature;
    writeJsonAtomic(stateFile, file);
  }
  return status;
}

/**
 * The report, comparison tables and per-arm metrics on the parent run, once every planned run has
 * ended and again whenever the finished runs change (a rerun, a late sync). Busy: skipped, the
 * process holding the lock does it.
 */
async function syncSweepAnalysis(ctx: SweepContext, parent: ParentHandle, plan: Plan, analyze: SweepAnalyzer): Promise<void> {
  const stateFile = join(sweepDirOf(ctx.artifactsDir, ctx.sweepId), SYNC_STATE_FILE);
  const file = readState<ParentServerState>(stateFile);
  const st = file.servers[ctx.session.uri];
  if (!st) return;
  const runs = plan.runs.map((r) => new RunStore(runDirOf(ctx.artifactsDir, r.id)));
  if (!runs.some((r) => r.readStatus()?.state === 'finished')) return;
  const sig = hashOf(JSON.stringify(runs.map((r) => [r.readStatus()?.state, mtimeOf(r.path('summary'))])));
  if (st.analysisSent === sig) return;
  const save = () => writeJsonAtomic(stateFile, file);
  let analysis;
  try {
    analysis = await analyze(plan.file, ctx.artifactsDir, st.analysisVersions ?? 0);
  } catch (err) {
    const message = `sweep ${ctx.sweepId}: the report for the parent run could not be built: ${err instanceof Error ? err.message : String(err)}`;
    if (!ctx.report.problems.includes(message)) ctx.report.problems.push(message);
    return;
  }
  const existing = new Map(((await ctx.session.client.getRun(parent.runUuid))?.data.params ?? []).map((p) => [p.key, p.value]));
  const params = analysis.params.filter((p) => !existing.has(p.key));
  await ctx.session.client.logBatch(parent.runUuid, { metrics: analysis.metrics, params, tags: analysis.tags });
  await uploadChanged(ctx.session, st.artifactUri, analysis.files, st.artifacts, save, ctx.report.problems);
  st.analysisSent = sig;
  st.analysisVersions = (st.analysisVersions ?? 0) + 1;
  save();
}

function mtimeOf(file: string): number {
  try {
    return Math.round(statSync(file).mtimeMs);
  } catch {
    return 0;
  }
}

function sweepStartTime(sweepDir: string): number {
  try {
    return Math.round(statSync(join(sweepDir, 'plan.json')).mtimeMs);
  } catch {
    return Date.now();
  }
}

// ---------------------------------------------------------------- child run (one per RunSpec)

async function syncOneRun(ctx: SweepContext, store: RunStore, spec: RunSpecFile, parent: ParentHandle): Promise<RunSyncResult> {
  const { session, report } = ctx;
  const result = emptyResult(spec, store);
  const status = store.readStatus();
  if (!status || status.state === 'queued') {
    result.skipped = 'not started yet';
    return result;
  }
  const experiment = experimentNameOf(spec.config);
  const stateFile = join(store.dir, SYNC_STATE_FILE);
  const file = readState<RunServerState>(stateFile);
  let st: RunServerState | undefined = file.servers[session.uri];
  const save = () => {
    file.servers[session.uri] = st!;
    writeJsonAtomic(stateFile, file);
  };

  let serverRun: MlflowRun | undefined;
  if (!st || st.experiment !== experiment) {
    const experimentId = await session.experimentId(experiment, spec.config.description || undefined);
    const identity = { [TAG.runId]: spec.id, [TAG.sweepId]: spec.sweepId };
    const found = await findOrCreateRun(session, experimentId, identity, () =>
      session.client.createRun({ experimentId, runName: spec.name, startTime: startTimeOf(store, status), tags: keyValues({ ...identity, [TAG.parentRunId]: parent.runUuid }) }),
    );
    serverRun = found.run;
    if (found.created) {
      result.created = true;
      result.updated = true;
    }
    st = {
      experiment,
      experimentId,
      runUuid: serverRun.info.run_id,
      artifactUri: serverRun.info.artifact_uri,
      parentRunUuid: parent.runUuid,
      paramsDone: false,
      tags: tagMap(serverRun.data.tags),
      linesSent: 0,
      metricsSent: 0,
      artifacts: {},
      truncations: {},
      problemsReported: [],
    };
    save(); // first: a crash from here on finds this run again instead of creating another
  }
  result.runUuid = st.runUuid;
  // The experiment file's current upload settings win over those frozen in spec.json: enabling
  // log_model after a sweep uploads the models on the next sync (tracking never changes run ids).
  const settings = ctx.plan?.runs.find((r) => r.id === spec.id)?.config.tracking ?? spec.config.tracking;
  // Fast path for the loop's frequent ticks: nothing changed on disk since everything was sent.
  const seen = `${filesSignature(store)}|model:${settings?.log_model !== false}|ckpt:${Boolean(settings?.log_checkpoints)}`;
  if (st.seen === seen && st.parentRunUuid === parent.runUuid) {
    result.status = mlflowStatusOf(status.state);
    return result;
  }
  const truncations: Truncation[] = [];

  // Params are immutable in MLflow: send only the missing ones, never a different value.
  let params: KeyValue[] = [];
  if (!st.paramsDone) {
    const wanted = fitEntries({ metrics: [], params: runParams(spec), tags: [] });
    truncations.push(...wanted.truncations);
    const existing = new Map((serverRun?.data.params ?? []).map((p) => [p.key, p.value]));
    for (const p of wanted.batch.params) {
      const there = existing.get(p.key);
      if (there === undefined) params.push(p);
      else if (there !== p.value) {
        const message = `run ${spec.id} (${spec.name}): param ${p.key} is already logged in MLflow as '${there.slice(0, 80)}', not '${p.value.slice(0, 80)}'; kept the logged value`;
        result.problems.push(message);
        report.problems.push(message);
      }
    }
  }

  // Tags are mutable: send those whose value changed (backend, host, state, error...).
  st.parentRunUuid = parent.runUuid;
  const tags = childRunTags(spec, status, parent.runUuid, ctx.source);
  tags.push({ key: TAG.runDir, value: store.dir });
  if (status.state === 'finished' && settings?.log_model !== false && finalCheckpointOf(store, spec, ctx.artifactsDir)) tags.push({ key: TAG.modelPath, value: MODEL_ARTIFACT_PATH });
  tags.splice(0, tags.length, ...tags.filter((t) => st!.tags[t.key] !== t.value));

  // Metric lines after the last one sent, in chunks; the first chunk carries params and tags.
  const read = store.readMetrics();
  const pending = read.lines.slice(st.linesSent);
  const offsets = phaseOffsets(read.lines);

  // Final metrics once, when the run has finished (summary.json is rewritten after each phase).
  const summary = status.state === 'finished' ? store.readSummary() : undefined;
  const summarySig = summary ? hashOf(JSON.stringify([summary.final, summary.durationS, Object.keys(summary.phases ?? {})])) : undefined;
  const lastStep = Math.max(0, ...Object.entries(offsets.steps).map(([p, off]) => off + Math.max(0, ...read.lines.filter((l) => l.phase === p).map((l) => l.step))));
  const summaryMetrics = summary && st.summarySent === undefined ? metricsOfSummary(summary, Math.round(statSync(store.path('summary')).mtimeMs), lastStep) : [];
  tags.push(...provenanceTags(ctx.artifactsDir, summary ?? store.readSummary(), spec).filter((t) => st!.tags[t.key] !== t.value));
  let first = true;
  for (let i = 0; first || i < pending.length; first = false) {
    let j = i;
    let chunk: Metric[] = [];
    while (j < pending.length && chunk.length < METRICS_PER_FLUSH) chunk = chunk.concat(metricsOfLines([pending[j++]], offsets));
    const extra = first ? summaryMetrics : [];
    if (chunk.length + extra.length + (first ? params.length + tags.length : 0) === 0) break;
    const sent = await session.client.logBatch(st.runUuid, first ? { params, tags, metrics: dedupe([...chunk, ...extra]) } : { metrics: dedupe(chunk) });
    result.updated = true;
    if (first) {
      truncations.push(...sent.truncations.filter((t) => t.kind === 'tag'));
      if (!st.paramsDone) {
        st.paramsDone = true;
        result.paramsSent = params.length;
      }
      for (const t of tags) st.tags[t.key] = t.value;
      if (summarySig) st.summarySent = summarySig;
    }
    st.linesSent += j - i;
    st.metricsSent += chunk.length;
    result.linesSent += j - i;
    result.metricsSent += chunk.length + extra.length;
    save();
    i = j;
  }
  if (!st.paramsDone) {
    st.paramsDone = true; // every param was already there
    save();
  }

  // System metrics (system.jsonl, sampled by the worker) after the last sample sent.
  const samples = readSystemSamples(store.dir);
  const sentSamples = st.systemSamplesSent ?? 0;
  if (samples.length > sentSamples) {
    const metrics = systemMetricsOf(samples.slice(sentSamples), sentSamples);
    await session.client.logBatch(st.runUuid, { metrics });
    st.systemSamplesSent = samples.length;
    result.metricsSent += metrics.length;
    result.updated = true;
    save();
  }

  // Dataset inputs, once the dataset (and augmented set) exist on disk.
  const inputs = datasetInputsOf(ctx.artifactsDir, spec.config, spec.seed);
  const inputsSig = hashOf(JSON.stringify(inputs.map((i) => [i.name, i.digest])));
  if (inputs.length && st.inputsSent !== inputsSig) {
    await session.client.logInputs(st.runUuid, inputs);
    st.inputsSent = inputsSig;
    result.updated = true;
    save();
  }

  // A running worker may be mid-line; judge the file once the run has ended.
  if (isTerminal(status.state)) {
    for (const p of read.problems) {
      if (st.problemsReported.includes(p)) continue;
      const message = `run ${spec.id} (${spec.name}): ${p}; the ${read.lines.length} valid lines were synced`;
      result.problems.push(message);
      report.problems.push(message);
      st.problemsReported.push(p);
      save();
    }
  }

  // The full text of every shortened value, kept as an artifact.
  for (const t of truncations) st.truncations[`${t.kind}:${t.key}`] = t.value;
  result.artifactsSent = await uploadChanged(session, st.artifactUri, runArtifacts(store, spec, status, st.truncations, settings, ctx.artifactsDir), st.artifacts, save, report.problems);

  // Status last: FINISHED only once everything above is in.
  const mlStatus = mlflowStatusOf(status.state);
  const endTime = isTerminal(status.state) ? Date.parse(status.endedAt ?? '') || Math.round(statSync(store.path('status')).mtimeMs) : undefined;
  const sig = `${mlStatus}|${endTime ?? ''}`;
  if (st.status !== sig) {
    await session.client.updateRun({ runId: st.runUuid, status: mlStatus, endTime });
    result.updated = true;
    st.status = sig;
    save();
  }
  result.status = mlStatus;
  if (!session.artifactsUnavailable && st.seen !== seen) {
    st.seen = seen;
    save();
  }
  return result;
}

/** Where a reused joint phase came from: its key, and the run that trained it (and how long it took). */
function provenanceTags(artifactsDir: string, summary: RunSummary | undefined, spec: RunSpecFile): KeyValue[] {
  if (!summary?.jointKey) return [];
  const tags: KeyValue[] = [{ key: TAG.jointKey, value: summary.jointKey }];
  if (!summary.jointReused) return tags;
  let from = 'another run with the same joint key';
  try {
    const r = readVerifiedJson<{ trainedBy?: string; durationS?: number; finishedAt?: string }>(join(artifactsDir, 'joint', summary.jointKey, 'result.json'));
    if (r?.trainedBy && r.trainedBy !== spec.id) from = `run ${r.trainedBy}, joint phase (trained in ${Math.round(r.durationS ?? 0)} s${r.finishedAt ? `, finished ${r.finishedAt}` : ''})`;
  } catch {
    // an unreadable result only costs the detail
  }
  tags.push({ key: TAG.jointReusedFrom, value: from });
  return tags;
}

function filesSignature(store: RunStore): string {
  const parts: string[] = [];
  for (const f of ['status.json', 'metrics.jsonl', 'summary.json', 'log.txt', 'plots', 'checkpoints/latest.json', SYSTEM_METRICS_FILE, 'embeddings.json']) {
    try {
      const s = statSync(join(store.dir, f));
      parts.push(`${f}:${s.size}:${Math.round(s.mtimeMs)}`);
    } catch {
      parts.push(`${f}:-`);
    }
  }
  return parts.join('|');
}

function emptyResult(spec: RunSpecFile, store: RunStore): RunSyncResult {
  return { runId: spec.id, runDir: store.dir, created: false, updated: false, linesSent: 0, metricsSent: 0, paramsSent: 0, artifactsSent: [], problems: [] };
}

function startTimeOf(store: RunStore, status: RunStatus): number {
  const t = Date.parse(status.startedAt ?? '');
  return Number.isFinite(t) ? t : Math.round(statSync(store.path('spec')).mtimeMs);
}

function keyValues(tags: Record<string, string>): KeyValue[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

function tagMap(tags: KeyValue[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.key, t.value]));
}

function dedupe(metrics: Metric[]): Metric[] {
  const seen = new Set<string>();
  return metrics.filter((m) => {
    const k = `${m.key}\u0000${m.step}\u0000${m.timestamp}\u0000${m.value}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function hashOf(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

// ---------------------------------------------------------------- artifacts

/** Uploads the artifacts whose signature changed; a server without artifact proxy is reported once. */
async function uploadChanged(
  session: SyncSession,
  artifactUri: string,
  sources: ArtifactSource[],
  sent: Record<string, string>,
  save: () => void,
  problems: string[],
): Promise<string[]> {
  const uploaded: string[] = [];
  if (session.artifactsUnavailable) return uploaded;
  for (const src of sources) {
    let body: Buffer | undefined;
    const sig = src.signature ? src.signature() : hashOf((body = src.read()));
    if (sent[src.path] === sig) continue;
    try {
      await session.client.uploadArtifact(artifactUri, src.path, body ?? src.read());
    } catch (err) {
      if (err instanceof ArtifactProxyUnavailableError) {
        session.artifactsUnavailable = err.message;
        problems.push(`${err.message} ${err.hint ?? ''}`.trim());
        return uploaded;
      }
      if (err instanceof MlflowError) {
        problems.push(`artifact ${src.path}: ${err.message}`);
        continue;
      }
      throw err;
    }
    sent[src.path] = sig;
    uploaded.push(src.path);
    save();
  }
  return uploaded;
}

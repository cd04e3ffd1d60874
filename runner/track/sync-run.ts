// One run directory (one RunSpec) into its MLflow child run: each step sends what MLflow lacks
// and records it in `<run-dir>/mlflow.json` right away, so a crash re-sends at most one request.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { MlflowRun } from './mlflow-client.ts';
import type { KeyValue, Metric, Truncation } from './mlflow-limits.ts';
import { fitEntries } from './mlflow-limits.ts';
import { TAG, childRunTags, experimentNameOf, isTerminal, metricsOfSummary, mlflowStatusOf, phaseOffsets, runParams } from './mlflow-mapping.ts';
import { readVerifiedJson } from '../files/verified.ts';
import type { MetricsRead, RunSpecFile, RunStatus, RunStore, RunSummary } from './run-store.ts';
import { datasetInputsOf } from './dataset-inputs.ts';
import { readSystemSamples, systemMetricsOf, SYSTEM_METRICS_FILE } from './system-metrics.ts';
import { finalCheckpointOf, MODEL_ARTIFACT_PATH, runArtifacts, type UploadSettings } from './sync-artifacts.ts';
import { emptyResult, type ParentHandle, type RunSyncResult, type SweepContext } from './sync-context.ts';
import { findOrCreateRun, firstRun, identityTags, keyValues, tagMap, tagOf, type RunIdentity } from './sync-lookup.ts';
import { dedupe, lastStepOf, metricChunks, type MetricChunk } from './sync-metrics.ts';
import { hashOf, openServerState, SYNC_STATE_FILE, type RunServerState, type ServerState } from './sync-state.ts';
import { uploadChanged } from './sync-upload.ts';

/** What the steps of one run's sync share. */
interface RunJob {
  ctx: SweepContext;
  store: RunStore;
  spec: RunSpecFile;
  status: RunStatus;
  parent: ParentHandle;
  st: RunServerState;
  save: () => void;
  result: RunSyncResult;
  /** The experiment file's upload settings (log_model, log_checkpoints). */
  settings: UploadSettings | undefined;
  /** The run as the server returned it, when this call looked it up (its params). */
  serverRun?: MlflowRun;
  truncations: Truncation[];
}

/** What the first request of a sync carries besides metric lines. */
interface RunHead {
  params: KeyValue[];
  tags: KeyValue[];
  metrics: Metric[];
  summarySig?: string;
}

export async function syncOneRun(ctx: SweepContext, store: RunStore, spec: RunSpecFile, parent: ParentHandle): Promise<RunSyncResult> {
  const result = emptyResult(spec, store);
  const status = store.readStatus();
  if (!status || status.state === 'queued') return { ...result, skipped: 'not started yet' };
  const job = await openRunJob(ctx, store, spec, status, parent, result);
  const seen = filesSeen(job);
  if (job.st.seen === seen && job.st.parentRunUuid === parent.runUuid) {
    result.status = mlflowStatusOf(status.state);
    return result; // the loop's frequent ticks: nothing changed on disk since everything was sent
  }
  const metrics = store.readMetrics();
  await sendHeadAndMetricLines(job, metrics);
  await sendSystemMetrics(job);
  await sendDatasetInputs(job);
  reportMetricFileProblems(job, metrics);
  await uploadRunArtifacts(job);
  await sendRunStatus(job);
  markSeen(job, seen);
  return result;
}

// ---------------------------------------------------------------- the run on the server

async function openRunJob(ctx: SweepContext, store: RunStore, spec: RunSpecFile, status: RunStatus, parent: ParentHandle, result: RunSyncResult): Promise<RunJob> {
  const handle = openServerState<RunServerState>(join(store.dir, SYNC_STATE_FILE), ctx.session.uri);
  const experiment = experimentNameOf(spec.config);
  const st = handle.state;
  const serverRun = st && st.experiment === experiment && st.storeId === ctx.storeId ? undefined : await attachServerRun(ctx, store, spec, status, parent, handle, result);
  result.runUuid = handle.state!.runUuid;
  // The experiment file's current upload settings win over those frozen in spec.json: enabling
  // log_model after a sweep uploads the models on the next sync (tracking never changes run ids).
  const settings = ctx.plan?.runs.find((r) => r.id === spec.id)?.config.tracking ?? spec.config.tracking;
  return { ctx, store, spec, status, parent, st: handle.state!, save: () => handle.save(), result, settings, serverRun, truncations: [] };
}

/**
 * Finds (or creates) this folder's run and records it in the state file before anything else, so
 * that a crash from here on finds it again instead of creating another. State an older mmrun wrote
 * (no store id) is kept when it names the run found: nothing is sent twice after an upgrade.
 */
async function attachServerRun(
  ctx: SweepContext,
  store: RunStore,
  spec: RunSpecFile,
  status: RunStatus,
  parent: ParentHandle,
  handle: ServerState<RunServerState>,
  result: RunSyncResult,
): Promise<MlflowRun> {
  const { session } = ctx;
  const old = handle.state;
  const experiment = experimentNameOf(spec.config);
  const experimentId = await session.experimentId(experiment, spec.config.description || undefined);
  const identity = childIdentity(ctx, store, spec, experimentId, old);
  const found = await findOrCreateRun(session, identity, () =>
    session.client.createRun({ experimentId, runName: spec.name, startTime: startTimeOf(store, status), tags: keyValues({ ...identityTags(identity), [TAG.parentRunId]: parent.runUuid }) }),
  );
  if (found.created) {
    result.created = true;
    result.updated = true;
  }
  const run = found.run;
  const keep = old && old.runUuid === run.info.run_id && old.experiment === experiment && (old.storeId ?? ctx.storeId) === ctx.storeId;
  handle.state = keep ? { ...old, storeId: ctx.storeId, tags: { ...old.tags, [TAG.storeId]: ctx.storeId } } : newRunState(ctx.storeId, experiment, experimentId, run, parent);
  handle.save();
  return run;
}

/** Nothing sent yet to this run (as far as this folder knows). */
function newRunState(storeId: string, experiment: string, experimentId: string, run: MlflowRun, parent: ParentHandle): RunServerState {
  return {
    storeId,
    experiment,
    experimentId,
    runUuid: run.info.run_id,
    artifactUri: run.info.artifact_uri,
    parentRunUuid: parent.runUuid,
    paramsDone: false,
    tags: tagMap(run.data.tags),
    linesSent: 0,
    metricsSent: 0,
    artifacts: {},
    truncations: {},
    problemsReported: [],
  };
}

/**
 * The child's identity in this folder. A run an older mmrun synced (no store tag) is this folder's
 * when our state file names it, or when its `mmrun.run_dir` tag is this run directory.
 */
function childIdentity(ctx: SweepContext, store: RunStore, spec: RunSpecFile, experimentId: string, old: RunServerState | undefined): RunIdentity {
  const recorded = old && old.storeId === undefined ? old.runUuid : undefined;
  return {
    experimentId,
    tags: { [TAG.runId]: spec.id, [TAG.sweepId]: spec.sweepId },
    storeId: ctx.storeId,
    pickLegacy: (legacy) => legacy.find((r) => r.info.run_id === recorded) ?? firstRun(legacy.filter((r) => tagOf(r, TAG.runDir) === store.dir)),
  };
}

function startTimeOf(store: RunStore, status: RunStatus): number {
  const t = Date.parse(status.startedAt ?? '');
  return Number.isFinite(t) ? t : Math.round(statSync(store.path('spec')).mtimeMs);
}

/** Sizes and times of the run's files, and the settings that decide what is uploaded. */
function filesSeen(job: RunJob): string {
  const parts: string[] = [];
  for (const f of ['status.json', 'metrics.jsonl', 'summary.json', 'log.txt', 'plots', 'checkpoints/latest.json', SYSTEM_METRICS_FILE, 'embeddings.json']) {
    try {
      const s = statSync(join(job.store.dir, f));
      parts.push(`${f}:${s.size}:${Math.round(s.mtimeMs)}`);
    } catch {
      parts.push(`${f}:-`);
    }
  }
  return `${parts.join('|')}|model:${job.settings?.log_model !== false}|ckpt:${Boolean(job.settings?.log_checkpoints)}`;
}

// ---------------------------------------------------------------- params, tags, metrics

/** Metric lines after the last one sent, in chunks; the first request carries params, tags and final metrics. */
async function sendHeadAndMetricLines(job: RunJob, read: MetricsRead): Promise<void> {
  const offsets = phaseOffsets(read.lines);
  const head = runHead(job, read, offsets);
  const chunks = metricChunks(read.lines.slice(job.st.linesSent), offsets);
  for (let k = 0; k === 0 || k < chunks.length; k++) {
    const chunk: MetricChunk = chunks[k] ?? { lines: 0, metrics: [] };
    const extra = k === 0 ? head : { params: [], tags: [], metrics: [] };
    if (chunk.metrics.length + extra.params.length + extra.tags.length + extra.metrics.length === 0) break;
    const sent = await job.ctx.session.client.logBatch(job.st.runUuid, { params: extra.params, tags: extra.tags, metrics: dedupe([...chunk.metrics, ...extra.metrics]) });
    if (k === 0) recordHeadSent(job, head, sent.truncations);
    recordChunkSent(job, chunk, extra.metrics.length);
  }
  if (!job.st.paramsDone) {
    job.st.paramsDone = true; // every param was already there
    job.save();
  }
}

function runHead(job: RunJob, read: MetricsRead, offsets: ReturnType<typeof phaseOffsets>): RunHead {
  const { store, status, st } = job;
  // Final metrics once, when the run has finished (summary.json is rewritten after each phase).
  const summary = status.state === 'finished' ? store.readSummary() : undefined;
  const summarySig = summary ? hashOf(JSON.stringify([summary.final, summary.durationS, Object.keys(summary.phases ?? {})])) : undefined;
  // A run found again without our state (state lost) gets only the final metrics whose value the
  // server does not already show: a run redone after its directory was deleted sends its new ones.
  const onServer = new Map((job.serverRun?.data.metrics ?? []).map((m) => [m.key, m.value]));
  const metrics = summary && st.summarySent === undefined ? metricsOfSummary(summary, Math.round(statSync(store.path('summary')).mtimeMs), lastStepOf(read.lines, offsets)).filter((m) => onServer.get(m.key) !== m.value) : [];
  const provenance = provenanceTags(job.ctx.artifactsDir, summary ?? store.readSummary(), job.spec);
  const tags = [...runTags(job), ...provenance].filter((t) => st.tags[t.key] !== t.value);
  return { params: missingParams(job), tags, metrics, summarySig };
}

/** Params are immutable in MLflow: only the missing ones, never a different value (reported instead). */
function missingParams(job: RunJob): KeyValue[] {
  if (job.st.paramsDone) return [];
  const wanted = fitEntries({ metrics: [], params: runParams(job.spec), tags: [] });
  job.truncations.push(...wanted.truncations);
  const existing = new Map((job.serverRun?.data.params ?? []).map((p) => [p.key, p.value]));
  const params: KeyValue[] = [];
  for (const p of wanted.batch.params) {
    const there = existing.get(p.key);
    if (there === undefined) params.push(p);
    else if (there !== p.value) {
      problem(job, `run ${job.spec.id} (${job.spec.name}): param ${p.key} is already logged in MLflow as '${there.slice(0, 80)}', not '${p.value.slice(0, 80)}'; kept the logged value`);
    }
  }
  return params;
}

/** Tags are mutable: the caller sends those whose value changed (backend, host, state, error...). */
function runTags(job: RunJob): KeyValue[] {
  const { store, spec, status, parent, ctx } = job;
  job.st.parentRunUuid = parent.runUuid;
  const tags = childRunTags(spec, status, parent.runUuid, ctx.source);
  tags.push({ key: TAG.runDir, value: store.dir });
  if (status.state === 'finished' && job.settings?.log_model !== false && finalCheckpointOf(store, spec, ctx.artifactsDir)) tags.push({ key: TAG.modelPath, value: MODEL_ARTIFACT_PATH });
  return tags;
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

function recordHeadSent(job: RunJob, head: RunHead, truncations: Truncation[]): void {
  const { st, result } = job;
  job.truncations.push(...truncations.filter((t) => t.kind === 'tag'));
  if (!st.paramsDone) {
    st.paramsDone = true;
    result.paramsSent = head.params.length;
  }
  for (const t of head.tags) st.tags[t.key] = t.value;
  if (head.summarySig) st.summarySent = head.summarySig;
}

function recordChunkSent(job: RunJob, chunk: MetricChunk, extraMetrics: number): void {
  const { st, result } = job;
  result.updated = true;
  st.linesSent += chunk.lines;
  st.metricsSent += chunk.metrics.length;
  result.linesSent += chunk.lines;
  result.metricsSent += chunk.metrics.length + extraMetrics;
  job.save();
}

// ---------------------------------------------------------------- the rest of the run

/** System metrics (system.jsonl, sampled by the worker) after the last sample sent. */
async function sendSystemMetrics(job: RunJob): Promise<void> {
  const samples = readSystemSamples(job.store.dir);
  const sent = job.st.systemSamplesSent ?? 0;
  if (samples.length <= sent) return;
  const metrics = systemMetricsOf(samples.slice(sent), sent);
  await job.ctx.session.client.logBatch(job.st.runUuid, { metrics });
  job.st.systemSamplesSent = samples.length;
  job.result.metricsSent += metrics.length;
  job.result.updated = true;
  job.save();
}

/** Dataset inputs, once the dataset (and augmented set) exist on disk. */
async function sendDatasetInputs(job: RunJob): Promise<void> {
  const inputs = datasetInputsOf(job.ctx.artifactsDir, job.spec.config, job.spec.seed, job.store, (p) => problemOnce(job, p));
  const sig = hashOf(JSON.stringify(inputs.map((i) => [i.name, i.digest])));
  if (!inputs.length || job.st.inputsSent === sig) return;
  await job.ctx.session.client.logInputs(job.st.runUuid, inputs);
  job.st.inputsSent = sig;
  job.result.updated = true;
  job.save();
}

/** Damaged lines of metrics.jsonl, each reported once. A running worker may be mid-line: judged once the run has ended. */
function reportMetricFileProblems(job: RunJob, read: MetricsRead): void {
  if (!isTerminal(job.status.state)) return;
  for (const p of read.problems) {
    if (job.st.problemsReported.includes(p)) continue;
    problem(job, `run ${job.spec.id} (${job.spec.name}): ${p}; the ${read.lines.length} valid lines were synced`);
    job.st.problemsReported.push(p);
    job.save();
  }
}

/** Changed artifacts, and the full text of every shortened value (mmrun/truncated-values.json). */
async function uploadRunArtifacts(job: RunJob): Promise<void> {
  const { ctx, st, store, spec, status } = job;
  for (const t of job.truncations) st.truncations[`${t.kind}:${t.key}`] = t.value;
  const sources = runArtifacts(store, spec, status, st.truncations, job.settings, ctx.artifactsDir);
  job.result.artifactsSent = await uploadChanged(ctx.session, st.artifactUri, sources, st.artifacts, job.save, ctx.report.problems);
}

/** Status last: FINISHED only once everything else is in. */
async function sendRunStatus(job: RunJob): Promise<void> {
  const { status, st, store } = job;
  const mlStatus = mlflowStatusOf(status.state);
  const endTime = isTerminal(status.state) ? Date.parse(status.endedAt ?? '') || Math.round(statSync(store.path('status')).mtimeMs) : undefined;
  const sig = `${mlStatus}|${endTime ?? ''}`;
  if (st.status !== sig) {
    await job.ctx.session.client.updateRun({ runId: st.runUuid, status: mlStatus, endTime });
    job.result.updated = true;
    st.status = sig;
    job.save();
  }
  job.result.status = mlStatus;
}

/** Everything on disk is in MLflow: the next tick costs no request while the files stay as they are. */
function markSeen(job: RunJob, seen: string): void {
  if (job.ctx.session.artifactsUnavailable || job.st.seen === seen) return;
  job.st.seen = seen;
  job.save();
}

function problem(job: RunJob, message: string): void {
  job.result.problems.push(message);
  job.ctx.report.problems.push(message);
}

/** A problem told once per run and server (a dataset input left out is found again every pass). */
function problemOnce(job: RunJob, p: string): void {
  if (job.st.problemsReported.includes(p)) return;
  problem(job, `run ${job.spec.id} (${job.spec.name}): ${p}`);
  job.st.problemsReported.push(p);
  job.save();
}

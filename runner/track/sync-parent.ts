// A sweep's parent run in MLflow: found or created before its children, its status once they
// have been synced, and the sweep's analysis (report, comparison tables) once every run has ended.
import { existsSync, statSync } from 'node:fs';
import { basename, join, sep } from 'node:path';
import type { MlflowRun, MlflowRunStatus } from './mlflow-client.ts';
import { TAG, parentRunName, parentRunTags, parentStatusOf } from './mlflow-mapping.ts';
import type { Plan } from './plan-types.ts';
import { RunStore, runDirOf, sweepDirOf, type RunState } from './run-store.ts';
import type { SweepAnalyzer } from './sweep-analysis.ts';
import { redactedFileSource, type ArtifactSource } from './sync-artifacts.ts';
import type { ParentHandle, SweepContext } from './sync-context.ts';
import { findOrCreateRun, identityTags, keyValues, searchByTags, storeIdOfRun, tagMap, tagOf, type RunIdentity } from './sync-lookup.ts';
import { hashOf, openServerState, SYNC_STATE_FILE, type ParentServerState, type ServerState } from './sync-state.ts';
import { uploadChanged } from './sync-upload.ts';
import { redactCredentials } from '../config/tracking-uri.ts';
import { mkdirLevels } from '../files/mkdir.ts';

function parentState(ctx: SweepContext): ServerState<ParentServerState> {
  const sweepDir = sweepDirOf(ctx.artifactsDir, ctx.sweepId);
  mkdirLevels(sweepDir);
  return openServerState<ParentServerState>(join(sweepDir, SYNC_STATE_FILE), ctx.session.uri);
}

/** The parent run, its tags and the sweep's files (experiment file, plan.json). */
export async function syncParentStart(ctx: SweepContext): Promise<ParentHandle> {
  const handle = parentState(ctx);
  const st = handle.state;
  const created = st && st.experiment === ctx.experiment && st.storeId === ctx.storeId ? false : await attachParentRun(ctx, handle);
  const plan: Plan = ctx.plan ?? { experiment: ctx.spec.config.name, sweepId: ctx.sweepId, file: ctx.spec.experimentFile, contentHash: '', runs: [], factors: { grid: {}, ablations: 0, seeds: 0 } };
  await sendParentTags(ctx, handle, plan);
  await uploadSweepFiles(ctx, handle, plan);
  return { experimentId: handle.state!.experimentId, runUuid: handle.state!.runUuid, created };
}

/** Finds or creates this folder's parent run and records it; true when it was created. */
async function attachParentRun(ctx: SweepContext, handle: ServerState<ParentServerState>): Promise<boolean> {
  const { session } = ctx;
  const old = handle.state;
  const experimentId = await session.experimentId(ctx.experiment, ctx.spec.config.description || undefined);
  const identity = parentIdentity(ctx, experimentId, old);
  const startTime = sweepStartTime(sweepDirOf(ctx.artifactsDir, ctx.sweepId));
  const found = await findOrCreateRun(session, identity, () =>
    session.client.createRun({ experimentId, runName: parentRunName({ sweepId: ctx.sweepId }), startTime, tags: keyValues(identityTags(identity)) }),
  );
  const run = found.run;
  const keep = old && old.runUuid === run.info.run_id && old.experiment === ctx.experiment && (old.storeId ?? ctx.storeId) === ctx.storeId;
  handle.state = keep
    ? { ...old, storeId: ctx.storeId, tags: { ...old.tags, [TAG.storeId]: ctx.storeId } }
    : { storeId: ctx.storeId, experiment: ctx.experiment, experimentId, runUuid: run.info.run_id, artifactUri: run.info.artifact_uri, tags: tagMap(run.data.tags), artifacts: {}, status: undefined };
  handle.save();
  return found.created;
}

/**
 * The parent's identity in this folder. A parent an older mmrun synced (no store tag) is this
 * folder's when our sweep state names it, or when it is the one parent of this folder's children.
 */
function parentIdentity(ctx: SweepContext, experimentId: string, old: ParentServerState | undefined): RunIdentity {
  const recorded = old && old.storeId === undefined ? old.runUuid : undefined;
  return {
    experimentId,
    tags: { [TAG.sweepId]: ctx.sweepId, [TAG.kind]: 'sweep' },
    storeId: ctx.storeId,
    pickLegacy: async (legacy) => legacy.find((r) => r.info.run_id === recorded) ?? (await parentOfOurChildren(ctx, experimentId, legacy)),
  };
}

async function parentOfOurChildren(ctx: SweepContext, experimentId: string, legacy: MlflowRun[]): Promise<MlflowRun | undefined> {
  const children = await searchByTags(ctx.session, experimentId, { [TAG.sweepId]: ctx.sweepId, [TAG.kind]: 'run' });
  const runsDir = join(ctx.artifactsDir, 'runs') + sep;
  const ours = children.filter((c) => {
    const store = storeIdOfRun(c);
    return store === ctx.storeId || (store === undefined && (tagOf(c, TAG.runDir) ?? '').startsWith(runsDir));
  });
  const parents = new Set(ours.map((c) => tagOf(c, TAG.parentRunId)));
  const candidates = legacy.filter((p) => parents.has(p.info.run_id));
  return candidates.length === 1 ? candidates[0] : undefined;
}

async function sendParentTags(ctx: SweepContext, handle: ServerState<ParentServerState>, plan: Plan): Promise<void> {
  const st = handle.state!;
  let tags = parentRunTags(plan, ctx.spec.config.description, ctx.source);
  if (!ctx.plan) tags = tags.filter((t) => t.key !== TAG.contentHash && t.key !== TAG.planSize && t.key !== 'mmrun.factors');
  const changed = tags.filter((t) => st.tags[t.key] !== t.value);
  if (!changed.length) return;
  await ctx.session.client.logBatch(st.runUuid, { tags: changed });
  for (const t of changed) st.tags[t.key] = t.value;
  handle.save();
}

async function uploadSweepFiles(ctx: SweepContext, handle: ServerState<ParentServerState>, plan: Plan): Promise<void> {
  const files: ArtifactSource[] = [];
  if (existsSync(plan.file)) files.push(redactedFileSource(`sweep/${basename(plan.file)}`, plan.file));
  const planJson = join(sweepDirOf(ctx.artifactsDir, ctx.sweepId), 'plan.json');
  if (existsSync(planJson)) files.push(redactedFileSource('sweep/plan.json', planJson));
  else if (ctx.plan) files.push({ path: 'sweep/plan.json', read: () => Buffer.from(redactCredentials(JSON.stringify(ctx.plan, null, 2))) });
  const st = handle.state!;
  await uploadChanged(ctx.session, st.artifactUri, files, st.artifacts, () => handle.save(), ctx.report.problems);
}

export async function syncParentStatus(ctx: SweepContext, parent: ParentHandle, states: (RunState | undefined)[], endTimes: number[]): Promise<MlflowRunStatus> {
  const handle = parentState(ctx);
  const st = handle.state;
  const status = parentStatusOf(states);
  const endTime = status === 'RUNNING' ? undefined : Math.max(...endTimes, 0) || Date.now();
  const signature = `${status}|${endTime ?? ''}`;
  if (st && st.status !== signature) {
    await ctx.session.client.updateRun({ runId: parent.runUuid, status, endTime });
    st.status = signature;
    handle.save();
  }
  return status;
}

/**
 * The report, comparison tables and per-arm metrics on the parent run, once every planned run has
 * ended and again whenever the finished runs change (a rerun, a late sync). Busy: skipped, the
 * process holding the lock does it.
 */
export async function syncSweepAnalysis(ctx: SweepContext, parent: ParentHandle, plan: Plan, analyze: SweepAnalyzer): Promise<void> {
  const handle = parentState(ctx);
  const st = handle.state;
  if (!st) return;
  const runs = plan.runs.map((r) => new RunStore(runDirOf(ctx.artifactsDir, r.id)));
  if (!runs.some((r) => r.readStatus()?.state === 'finished')) return;
  const sig = hashOf(JSON.stringify(runs.map((r) => [r.readStatus()?.state, mtimeOf(r.path('summary'))])));
  if (st.analysisSent === sig) return;
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
  await uploadChanged(ctx.session, st.artifactUri, analysis.files, st.artifacts, () => handle.save(), ctx.report.problems);
  st.analysisSent = sig;
  st.analysisVersions = (st.analysisVersions ?? 0) + 1;
  handle.save();
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

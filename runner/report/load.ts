/**
 * Reading the run directories of a plan into RunResults, through the run store (the only
 * reader of run directories). Runs of the same experiment whose ids are not in the plan
 * (an older version of the file) are returned apart as orphans.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { listRunDirs, runDirOf, RunStore, type EmbeddingsFile, type RunSpecFile, type RunSummary } from '../track/run-store.ts';
import type { Plan, RunSpec } from '../sweep/index.ts';
import type { ReportRunState, RunResult } from './aggregate.ts';
import { readItemResults } from './item-files.ts';

export interface LoadedRuns {
  artifactsDir: string;
  runs: RunResult[]; // one per RunSpec of the plan, in plan order
  orphans: RunResult[]; // run dirs of this experiment that are not in the plan
  problems: string[]; // unreadable files (the run is then reported as failed, or finished and left out)
  /** Numbers used without a checksum to check them against (summary.json of a run made before mmrun recorded one): print these. */
  warnings: string[];
}

/** `artifacts_dir` is relative to the current directory unless absolute (schema). */
export function artifactsDirOf(plan: Plan, cwd = process.cwd()): string {
  return resolve(cwd, plan.runs[0]?.config.artifacts_dir ?? 'artifacts');
}

export function loadPlanRuns(plan: Plan, artifactsDir = artifactsDirOf(plan)): LoadedRuns {
  const problems: string[] = [];
  const warnings: string[] = [];
  const runs = plan.runs.map((spec) => readRun(spec, runDirOf(artifactsDir, spec.id), problems, warnings));
  const inPlan = new Set(plan.runs.map((r) => r.id));
  const orphans: RunResult[] = [];
  for (const dir of listRunDirs(artifactsDir)) {
    let spec: RunSpecFile;
    try {
      spec = RunStore.open(dir).readSpec();
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    if (inPlan.has(spec.id)) continue;
    const sameExperiment = spec.config?.name === plan.experiment || (spec.experimentFile && resolve(spec.experimentFile) === resolve(plan.file));
    if (sameExperiment) orphans.push(readRun(spec, dir, problems, []));
  }
  return { artifactsDir, runs, orphans, problems, warnings };
}

function readRun(spec: RunSpec, dir: string, problems: string[], warnings: string[]): RunResult {
  const base = { id: spec.id, name: spec.name, coords: spec.coords ?? {}, ablation: spec.ablation, seed: spec.seed, config: spec.config };
  if (!existsSync(dir)) return { ...base, state: 'missing' };
  const store = new RunStore(dir);
  let state: ReportRunState;
  try {
    const status = store.readStatus();
    state = status?.state ?? 'queued';
    if (state !== 'finished') {
      const why = status?.error ? `${status.error.cause ? status.error.cause + ': ' : ''}${status.error.message}` : state === 'running' ? staleHeartbeat(status?.heartbeatAt) : undefined;
      return { ...base, state, problem: why };
    }
  } catch (err) {
    problems.push((err as Error).message);
    return { ...base, state: 'failed', problem: (err as Error).message };
  }
  // A finished run whose summary is damaged stays finished, left out with the reason (never its numbers).
  try {
    const read = store.readSummaryChecked();
    if (!read?.value.final) return { ...base, state, problem: read ? 'summary.json has no final metrics' : `${store.path('summary')} is missing` };
    if (!read.verified) warnings.push(`${spec.name} (${spec.id}): ${read.file} has no checksum (written by an mmrun before summaries were checked): its numbers are used unverified`);
    return { ...base, state, final: numericOnly(read.value.final), ...readItems(dir) };
  } catch (err) {
    problems.push((err as Error).message);
    return { ...base, state, problem: (err as Error).message };
  }
}

/** Per-item results; a damaged file is a named problem for the item tests, not for the run. */
function readItems(dir: string): Pick<RunResult, 'items' | 'itemsProblem'> {
  try {
    return { items: readItemResults(dir) };
  } catch (err) {
    return { itemsProblem: (err as Error).message };
  }
}

/** Workers refresh their heartbeat every 10 s; a much older one suggests a dead worker. */
const STALE_AFTER_MS = 60_000;

export function staleHeartbeat(heartbeatAt: string | undefined, now = Date.now()): string | undefined {
  const t = heartbeatAt ? Date.parse(heartbeatAt) : NaN;
  if (!Number.isFinite(t) || now - t < STALE_AFTER_MS) return undefined;
  const minutes = Math.round((now - t) / 60_000);
  const age = minutes < 120 ? `${minutes} min` : minutes < 48 * 60 ? `${Math.round(minutes / 60)} h` : `${Math.round(minutes / 1440)} days`;
  return `no heartbeat for ${age}: the worker may be dead (see mmrun status)`;
}

function numericOnly(metrics: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter((e): e is [string, number] => typeof e[1] === 'number'));
}

export type { EmbeddingsFile };

/** Per-run files only the HTML report needs. A damaged file is absent here, with its reason in `problems`. */
export interface RunDetails {
  summary?: RunSummary;
  metrics: ReturnType<RunStore['readMetrics']>['lines'];
  embeddings?: EmbeddingsFile;
  problems?: string[];
}

export function loadRunDetails(artifactsDir: string, runId: string, want: { metrics?: boolean; embeddings?: boolean } = {}): RunDetails {
  const store = new RunStore(runDirOf(artifactsDir, runId));
  const problems: string[] = [];
  const attempt = <T>(read: () => T): T | undefined => {
    try {
      return read();
    } catch (err) {
      problems.push((err as Error).message);
      return undefined;
    }
  };
  const details: RunDetails = { summary: attempt(() => store.readSummary()), metrics: [], problems };
  if (want.metrics !== false) details.metrics = store.readMetrics().lines;
  if (want.embeddings) details.embeddings = attempt(() => store.readEmbeddingsChecked()?.value);
  return details;
}

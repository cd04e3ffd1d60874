// How mmrun's plan and run directories map onto MLflow (pure): experiment name, parent run
// per sweep, child run per RunSpec, params, tags and metrics. Grouping works through tags
// alone (mmrun.sweep_id, mmrun.coord.*) because nested display in the UI is fragile.
import type { Experiment } from '../config/types.gen.ts';
import type { KeyValue, Metric } from './mlflow-limits.ts';
import type { MlflowRunStatus } from './mlflow-client.ts';
import type { Plan } from './plan-types.ts';
import type { MetricLine, RunSpecFile, RunState, RunStatus, RunSummary } from './run-store.ts';

export const TAG = {
  runId: 'mmrun.run_id',
  sweepId: 'mmrun.sweep_id',
  kind: 'mmrun.kind', // "sweep" on parent runs, "run" on children
  ablation: 'mmrun.ablation',
  seed: 'mmrun.seed',
  backend: 'mmrun.backend',
  host: 'mmrun.host',
  attempt: 'mmrun.attempt',
  state: 'mmrun.state',
  error: 'mmrun.error',
  errorCause: 'mmrun.error.cause',
  exitCode: 'mmrun.error.exit_code',
  coordPrefix: 'mmrun.coord.',
  contentHash: 'mmrun.content_hash',
  planSize: 'mmrun.plan_size',
  gitCommit: 'mmrun.git_commit',
  version: 'mmrun.version',
  parentRunId: 'mlflow.parentRunId',
  runName: 'mlflow.runName',
  note: 'mlflow.note.content',
  sourceName: 'mlflow.source.name',
  sourceType: 'mlflow.source.type',
  sourceGitCommit: 'mlflow.source.git.commit',
  user: 'mlflow.user',
} as const;

/** tracking.experiment, else the study's name. */
export function experimentNameOf(config: Experiment): string {
  return config.tracking?.experiment || config.name;
}

/** The resolved config as dotted keys; lists and null become JSON text. */
export function flattenConfig(config: unknown, prefix = ''): KeyValue[] {
  const out: KeyValue[] = [];
  const walk = (value: unknown, path: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      if (entries.length === 0 && path) out.push({ key: path, value: '{}' });
      for (const [k, v] of entries) walk(v, path ? `${path}.${k}` : k);
      return;
    }
    out.push({ key: path, value: typeof value === 'string' ? value : JSON.stringify(value) });
  };
  walk(config, prefix);
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/** Config keys that say nothing about the run itself and would only clutter the params. */
const PARAM_EXCLUDED = ['grid', 'ablations', 'launcher', 'tracking', 'artifacts_dir', 'description', 'extends'];

export function runParams(spec: RunSpecFile): KeyValue[] {
  const config = Object.fromEntries(Object.entries(spec.config).filter(([k]) => !PARAM_EXCLUDED.includes(k)));
  return [...flattenConfig(config), { key: 'ablation', value: spec.ablation }, { key: 'seed', value: String(spec.seed) }];
}

export function formatValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export interface SourceInfo {
  gitCommit?: string;
  version: string;
  user?: string;
}

/** Tags of a child run, from its spec and its current status. */
export function childRunTags(spec: RunSpecFile, status: RunStatus | undefined, parentRunUuid: string | undefined, source: SourceInfo): KeyValue[] {
  const tags: Record<string, string> = {
    [TAG.runId]: spec.id,
    [TAG.sweepId]: spec.sweepId,
    [TAG.kind]: 'run',
    [TAG.runName]: spec.name,
    [TAG.ablation]: spec.ablation,
    [TAG.seed]: String(spec.seed),
    [TAG.sourceName]: spec.experimentFile,
    [TAG.sourceType]: 'LOCAL',
    [TAG.version]: source.version,
  };
  if (parentRunUuid) tags[TAG.parentRunId] = parentRunUuid;
  if (spec.config.description) tags[TAG.note] = spec.config.description;
  if (source.gitCommit) {
    tags[TAG.sourceGitCommit] = source.gitCommit;
    tags[TAG.gitCommit] = source.gitCommit;
  }
  if (source.user) tags[TAG.user] = source.user;
  for (const [path, value] of Object.entries(spec.coords ?? {})) tags[TAG.coordPrefix + path] = formatValue(value);
  if (status) {
    tags[TAG.state] = status.state;
    tags[TAG.attempt] = String(status.attempt);
    if (status.backend) tags[TAG.backend] = status.backend;
    if (status.host) tags[TAG.host] = status.host;
    if (status.error && (status.state === 'failed' || status.state === 'killed')) {
      tags[TAG.error] = status.error.message;
      if (status.error.cause) tags[TAG.errorCause] = status.error.cause;
      if (status.error.exitCode !== undefined && status.error.exitCode !== null) tags[TAG.exitCode] = String(status.error.exitCode);
    }
  }
  return toKeyValues(tags);
}

export function parentRunName(plan: Pick<Plan, 'sweepId'>): string {
  return `sweep ${plan.sweepId}`;
}

export function parentRunTags(plan: Plan, description: string | undefined, source: SourceInfo): KeyValue[] {
  const tags: Record<string, string> = {
    [TAG.sweepId]: plan.sweepId,
    [TAG.kind]: 'sweep',
    [TAG.runName]: parentRunName(plan),
    [TAG.contentHash]: plan.contentHash,
    [TAG.planSize]: String(plan.runs.length),
    [TAG.version]: source.version,
    [TAG.sourceName]: plan.file,
    [TAG.sourceType]: 'LOCAL',
    'mmrun.factors': JSON.stringify(plan.factors),
  };
  if (description) tags[TAG.note] = description;
  if (source.gitCommit) {
    tags[TAG.gitCommit] = source.gitCommit;
    tags[TAG.sourceGitCommit] = source.gitCommit;
  }
  if (source.user) tags[TAG.user] = source.user;
  return toKeyValues(tags);
}

function toKeyValues(tags: Record<string, string>): KeyValue[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

/** MLflow metrics of metrics.jsonl lines: key `<phase>/<name>`, x = the phase's global step. */
export function metricsOfLines(lines: MetricLine[]): Metric[] {
  const out: Metric[] = [];
  for (const line of lines) {
    const timestamp = Date.parse(line.t);
    for (const [name, value] of Object.entries(line.metrics)) {
      if (typeof value !== 'number') continue;
      out.push({ key: `${line.phase}/${name}`, value, timestamp: Number.isFinite(timestamp) ? timestamp : 0, step: line.step });
    }
  }
  return out;
}

/** summary.json's final metrics as `final/<name>`, one point per summary version. */
export function metricsOfSummary(summary: RunSummary, timestamp: number): Metric[] {
  const step = Object.keys(summary.phases ?? {}).length;
  const out: Metric[] = [];
  for (const [name, value] of Object.entries(summary.final ?? {})) {
    if (typeof value === 'number') out.push({ key: `final/${name}`, value, timestamp, step });
  }
  if (typeof summary.durationS === 'number') out.push({ key: 'final/duration_s', value: summary.durationS, timestamp, step });
  return out;
}

export function mlflowStatusOf(state: RunState | undefined): MlflowRunStatus {
  switch (state) {
    case 'finished':
      return 'FINISHED';
    case 'failed':
      return 'FAILED';
    case 'killed':
      return 'KILLED';
    case 'running':
      return 'RUNNING';
    default:
      return 'SCHEDULED';
  }
}

export function isTerminal(state: RunState | undefined): boolean {
  return state === 'finished' || state === 'failed' || state === 'killed';
}

/** Parent status: running until every planned run ended; then FAILED/KILLED if any did. */
export function parentStatusOf(states: (RunState | undefined)[]): MlflowRunStatus {
  if (states.length === 0 || !states.every(isTerminal)) return 'RUNNING';
  if (states.includes('failed')) return 'FAILED';
  if (states.includes('killed')) return 'KILLED';
  return 'FINISHED';
}

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
  storeId: 'mmrun.store_id', // the result folder (artifacts_dir) the run belongs to: runner/track/sync-store-id.ts
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
  jointKey: 'mmrun.joint.key',
  jointReusedFrom: 'mmrun.joint.reused_from',
  modelPath: 'mmrun.model.artifact_path',
  runDir: 'mmrun.run_dir',
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

/** Config keys that say nothing about the run itself and would only clutter the params (`seeds`: the run's `seed` says it). */
const PARAM_EXCLUDED = ['grid', 'ablations', 'launcher', 'tracking', 'artifacts_dir', 'description', 'extends', 'seeds', 'report', 'name'];

/** Prefix of the params that repeat a run's grid coordinates, so swept settings sort together. */
export const SWEPT_PARAM_PREFIX = 'swept.';

/** Sub-trees of the config that do not take effect for this run (alternatives not chosen). */
function unusedPaths(config: Experiment): string[] {
  const out: string[] = [];
  const c = config as unknown as Record<string, Record<string, unknown>>;
  const descriptions = (c.dataset?.descriptions ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(descriptions)) {
    if (descriptions[k] && typeof descriptions[k] === 'object' && !Array.isArray(descriptions[k]) && k !== descriptions.describer) out.push(`dataset.descriptions.${k}`);
  }
  const aug = (c.augmentation ?? {}) as Record<string, unknown>;
  const augmentationUsed = config.training?.retrain?.enabled && aug.method !== 'none' && Number(aug.ratio) > 0;
  for (const k of Object.keys(aug)) {
    if (k === 'method' || k === 'ratio') continue;
    const isOptionBlock = aug[k] !== null && typeof aug[k] === 'object' && !Array.isArray(aug[k]);
    if (!augmentationUsed || (isOptionBlock && k !== aug.method)) out.push(`augmentation.${k}`);
  }
  if (config.training?.retrain && !config.training.retrain.enabled) {
    for (const k of Object.keys(config.training.retrain)) if (k !== 'enabled') out.push(`training.retrain.${k}`);
  }
  return out;
}

/**
 * The params of a run: the settings that take effect for it (dotted keys), `ablation`, `seed`,
 * and its grid coordinates again under `swept.` so the compare views list them first.
 */
export function runParams(spec: RunSpecFile): KeyValue[] {
  const config = Object.fromEntries(Object.entries(spec.config).filter(([k]) => !PARAM_EXCLUDED.includes(k)));
  const unused = unusedPaths(spec.config);
  const effective = flattenConfig(config).filter((p) => !unused.some((u) => p.key === u || p.key.startsWith(`${u}.`)));
  const swept = Object.entries(spec.coords ?? {}).map(([path, value]) => ({ key: SWEPT_PARAM_PREFIX + path, value: formatValue(value) }));
  return [...effective, ...swept, { key: 'ablation', value: spec.ablation }, { key: 'seed', value: String(spec.seed) }];
}

/** What a child run is, in a sentence: its coordinates, ablation and seed (the sweep's description is on the parent). */
export function describeChild(spec: Pick<RunSpecFile, 'name' | 'coords' | 'ablation' | 'seed'>): string {
  const coords = Object.entries(spec.coords ?? {}).map(([k, v]) => `${k} = ${formatValue(v)}`);
  return [`Run \`${spec.name}\` of the sweep.`, coords.length ? `Grid: ${coords.join(', ')}.` : 'No grid.', `Ablation: ${spec.ablation}.`, `Seed: ${spec.seed}.`].join(' ');
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
  tags[TAG.note] = describeChild(spec);
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

/** Where each phase starts on the run's single step axis, and how many epochs came before it. */
export interface PhaseOffsets {
  steps: Record<string, number>;
  epochs: Record<string, number>;
}

const PHASE_ORDER = ['joint', 'retrain'];

/** Offsets from the whole metrics file: a phase starts where the previous one's last step ended. */
export function phaseOffsets(lines: MetricLine[]): PhaseOffsets {
  const lastStep: Record<string, number> = {};
  const lastEpoch: Record<string, number> = {};
  for (const l of lines) {
    lastStep[l.phase] = Math.max(lastStep[l.phase] ?? 0, l.step);
    lastEpoch[l.phase] = Math.max(lastEpoch[l.phase] ?? 0, l.epoch);
  }
  const out: PhaseOffsets = { steps: {}, epochs: {} };
  let steps = 0;
  let epochs = 0;
  const phases = [...PHASE_ORDER, ...Object.keys(lastStep).filter((p) => !PHASE_ORDER.includes(p))];
  for (const p of phases) {
    out.steps[p] = steps;
    out.epochs[p] = epochs;
    steps += lastStep[p] ?? 0;
    epochs += lastEpoch[p] ?? 0;
  }
  return out;
}

/** Step-line values that describe the machine, not the model: kept in the run directory only (system/* carries the machine). */
export const NOT_MODEL_METRICS = new Set(['samples_per_s', 'rss_mb']);

/**
 * MLflow metrics of metrics.jsonl lines, on one step axis across phases (`offsets`):
 * batch values as `train/<name>`, epoch means as `epoch/<name>` plus `epoch` (the epoch number
 * counted across phases), a phase's end-of-phase evaluation as `<phase>/<name>`.
 */
export function metricsOfLines(lines: MetricLine[], offsets: PhaseOffsets = { steps: {}, epochs: {} }): Metric[] {
  const out: Metric[] = [];
  for (const line of lines) {
    const parsed = Date.parse(line.t);
    const timestamp = Number.isFinite(parsed) ? parsed : 0;
    const step = line.step + (offsets.steps[line.phase] ?? 0);
    const prefix = line.kind === 'step' ? 'train' : line.kind === 'epoch' ? 'epoch' : line.phase;
    for (const [name, value] of Object.entries(line.metrics)) {
      if (typeof value !== 'number' || (line.kind === 'step' && NOT_MODEL_METRICS.has(name))) continue;
      out.push({ key: `${prefix}/${name}`, value, timestamp, step });
    }
    if (line.kind === 'epoch') out.push({ key: 'epoch', value: line.epoch + (offsets.epochs[line.phase] ?? 0), timestamp, step });
  }
  return out;
}

/** summary.json's final metrics as `final/<name>`: one point, at the run's last step. */
export function metricsOfSummary(summary: RunSummary, timestamp: number, step: number): Metric[] {
  const out: Metric[] = [];
  for (const [name, value] of Object.entries(summary.final ?? {})) {
    if (typeof value === 'number') out.push({ key: `final/${name}`, value, timestamp, step });
  }
  // This process's wall time; a reused joint phase was trained (and timed) by another run.
  if (typeof summary.durationS === 'number') out.push({ key: summary.jointReused ? 'final/duration_s_without_joint' : 'final/duration_s', value: summary.durationS, timestamp, step });
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

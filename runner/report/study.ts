/** One experiment's runs as the report sees them: plan + run directories + the metric choice. */
import { relative } from 'node:path';
import { MmrunError } from '../errors.ts';
import { loadExperiment } from '../config/index.ts';
import { planSweep, type Plan } from '../sweep/index.ts';
import { availableMetrics, compareRuns, getDotted, type Comparison, type CompareOptions, type RunResult } from './aggregate.ts';
import { loadPlanRuns } from './load.ts';

export const DEFAULT_METRICS = ['image_acc', 'text_acc', 'modality_gap', 'transfer_text_to_image_acc'];

export interface Study {
  plan: Plan;
  artifactsDir: string;
  runs: RunResult[];
  orphans: RunResult[];
  problems: string[];
}

export function loadStudy(file: string, opts: { artifactsDir?: string } = {}): Study {
  const plan = planSweep(loadExperiment(file));
  const loaded = loadPlanRuns(plan, opts.artifactsDir);
  return { plan, artifactsDir: loaded.artifactsDir, runs: loaded.runs, orphans: loaded.orphans, problems: loaded.problems };
}

/** Throws a clear MmrunError when no run of the plan has finished. */
export function requireFinished(study: Study): void {
  if (study.runs.some((r) => r.state === 'finished' && r.final)) return;
  const counts = new Map<string, number>();
  for (const r of study.runs) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const parts = [...counts].map(([s, n]) => `${n} ${s === 'missing' ? 'not started' : s}`);
  const rel = relative(process.cwd(), study.plan.file);
  const file = !rel || rel.startsWith('..') ? study.plan.file : rel;
  const orphanNote = study.orphans.length
    ? ` ${study.orphans.length} run director${study.orphans.length === 1 ? 'y' : 'ies'} of '${study.plan.experiment}' belong to an older version of the file (ids not in the current plan).`
    : '';
  throw new MmrunError(
    `No finished run yet for experiment '${study.plan.experiment}' (${study.plan.runs.length} runs in the plan: ${parts.join(', ')}; looked in ${study.artifactsDir}/runs).${orphanNote}`,
    `Start the sweep with \`mmrun run ${file}\`, and follow it with \`mmrun status ${file}\`.`,
  );
}

/**
 * The metrics to show: the requested ones (each must exist in a finished run's summary), or
 * the defaults that exist.
 */
export function chooseMetrics(requested: string[] | undefined, runs: readonly RunResult[]): string[] {
  const available = availableMetrics(runs);
  if (!requested || requested.length === 0) {
    const defaults = DEFAULT_METRICS.filter((m) => available.includes(m));
    return defaults.length ? defaults : available.slice(0, 4);
  }
  const unknown = requested.filter((m) => !available.includes(m));
  if (unknown.length) {
    throw new MmrunError(
      `Unknown metric${unknown.length > 1 ? 's' : ''} ${unknown.map((m) => `'${m}'`).join(', ')}. Metrics in the finished runs: ${available.join(', ')}.`,
    );
  }
  return requested;
}

/** Checks `--by` keys: `ablation`, a grid axis or a dotted path present in the runs' config. */
export function checkBy(by: string[] | undefined, study: Study): void {
  if (!by) return;
  const axes = Object.keys(study.plan.factors.grid);
  for (const key of by) {
    if (key === 'ablation' || axes.includes(key)) continue;
    const known = study.runs.some((r) => getDotted(r.config, key) !== undefined);
    if (!known) throw new MmrunError(`--by '${key}': not a grid axis, 'ablation', nor a config path. Grid axes: ${axes.length ? axes.join(', ') : '(none)'}.`);
  }
}

export function compareStudy(study: Study, opts: Omit<CompareOptions, 'metrics'> & { metrics?: string[] }): Comparison {
  requireFinished(study);
  const metrics = chooseMetrics(opts.metrics, study.runs);
  checkBy(opts.by, study);
  if (opts.sort && !metrics.includes(opts.sort)) chooseMetrics([opts.sort], study.runs); // same error for an unknown metric
  return compareRuns(study.runs, { ...opts, metrics });
}

/** One experiment's runs as the report sees them: plan + run directories + the metric choice. */
import { relative } from 'node:path';
import { ConfigError, MmrunError } from '../errors.ts';
import type { LoadedExperiment } from '../config/index.ts';
import { planExperiment } from '../plan-experiment.ts';
import type { Plan } from '../sweep/index.ts';
import { availableMetrics, compareRuns, controlProblems, getDotted, parseControl, type Comparison, type CompareOptions, type ControlArm, type RunResult } from './aggregate.ts';
import { loadPlanRuns } from './load.ts';

export const DEFAULT_METRICS = ['image_acc', 'text_acc', 'modality_gap', 'transfer_text_to_image_acc'];

export interface Study {
  plan: Plan;
  artifactsDir: string;
  runs: RunResult[];
  orphans: RunResult[];
  problems: string[];
  /** Numbers used unverified (older runs' summaries without a checksum): commands print them. */
  warnings?: string[];
  /** The experiment as loaded (to locate `report.*` problems at file:line:col). */
  experiment?: LoadedExperiment;
}

export function loadStudy(file: string, opts: { artifactsDir?: string } = {}): Study {
  const { loaded: experiment, plan } = planExperiment(file, { adoptLegacyRunsIn: opts.artifactsDir ?? true });
  const loaded = loadPlanRuns(plan, opts.artifactsDir);
  return { plan, artifactsDir: loaded.artifactsDir, runs: loaded.runs, orphans: loaded.orphans, problems: loaded.problems, warnings: loaded.warnings, experiment };
}

/**
 * The control arm: `--control` (as given), else `report.control` of the experiment file, else
 * undefined (the default rule of compareRuns). Checked against the runs of the plan: an unknown
 * key or a value no run has is an error naming the option, or the field at file:line:col.
 */
export function resolveControl(study: Study, option: string | undefined): ControlArm | undefined {
  if (option !== undefined) {
    const control = parseControl(option, 'option');
    if (!control) throw new MmrunError(`--control '${option}': expected <path>=<value>, e.g. --control model.projection.dim=128 or --control ablation=baseline.`);
    const problems = controlProblems(study.runs, control, `--control ${option}`);
    if (problems.length) throw new MmrunError(problems[0]);
    return control;
  }
  const written = study.plan.runs[0]?.config.report?.control ?? study.experiment?.config.report?.control;
  if (!written || written === 'auto') return undefined;
  const control = parseControl(written, 'file');
  const problems = control ? controlProblems(study.runs, control, `report.control '${written}'`) : [`report.control '${written}': expected <path>=<value>`];
  if (problems.length) {
    if (study.experiment) throw new ConfigError(problems.map((p) => study.experiment!.locate(['report', 'control'], p)));
    throw new MmrunError(`${study.plan.file}: ${problems[0]}`);
  }
  return control;
}

/** Throws a clear MmrunError when no run of the plan has finished (with usable results). */
export function requireFinished(study: Study): void {
  if (study.runs.some((r) => r.state === 'finished' && r.final)) return;
  const counts = new Map<string, number>();
  for (const r of study.runs) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const parts = [...counts].map(([s, n]) => `${n} ${s === 'missing' ? 'not started' : s}`);
  const unusable = study.runs.filter((r) => r.state === 'finished' && r.problem).map((r) => ` ${r.name} (${r.id}) finished but is left out: ${r.problem}.`);
  const rel = relative(process.cwd(), study.plan.file);
  const file = !rel || rel.startsWith('..') ? study.plan.file : rel;
  const orphanNote = study.orphans.length
    ? ` ${study.orphans.length} run director${study.orphans.length === 1 ? 'y' : 'ies'} of '${study.plan.experiment}' belong to an older version of the file (ids not in the current plan).`
    : '';
  throw new MmrunError(
    `No finished run yet for experiment '${study.plan.experiment}' (${study.plan.runs.length} runs in the plan: ${parts.join(', ')}; looked in ${study.artifactsDir}/runs).${unusable.slice(0, 3).join('')}${orphanNote}`,
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

export function compareStudy(study: Study, opts: Omit<CompareOptions, 'metrics' | 'control'> & { metrics?: string[]; control?: string }): Comparison {
  requireFinished(study);
  const metrics = chooseMetrics(opts.metrics, study.runs);
  checkBy(opts.by, study);
  if (opts.sort && !metrics.includes(opts.sort)) chooseMetrics([opts.sort], study.runs); // same error for an unknown metric
  const control = resolveControl(study, opts.control);
  return compareRuns(study.runs, { ...opts, metrics, control });
}

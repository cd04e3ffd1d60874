/**
 * Grouping run results into rows (grid cell × ablation, aggregated over seeds) and comparing
 * each row with its control arm. Pure: the caller reads the run directories (see load.ts).
 *
 * Control rule: the control of a run is the run with the same coordinates except
 * `augmentation.ratio` = 0, the same ablation and the same seed (runs are paired by seed).
 * A study with no ratio-0 arm but with ablations compares each ablation with the baseline of
 * the same cell instead. Only finished runs enter statistics; the others are counted per row.
 */
import { lowerIsBetter, metricRange } from './metrics.ts';
import { bootstrapPairedDiffCI, pairedTTest, summarize, type BootstrapOptions, type Interval, type Summary } from './stats.ts';

export const RATIO_PATH = 'augmentation.ratio';
export const ABLATION_KEY = 'ablation';
export const BASELINE = 'baseline';

/** Run state as the report sees it: the status.json states plus `missing` (no run directory yet). */
export type ReportRunState = 'finished' | 'running' | 'queued' | 'failed' | 'killed' | 'missing';

/** What the report needs of one run (one RunSpec of the plan, or an orphan run directory). */
export interface RunResult {
  id: string;
  name: string;
  coords: Record<string, unknown>;
  ablation: string;
  seed: number;
  state: ReportRunState;
  /** The run's resolved config (for --by paths that are not grid axes). */
  config?: unknown;
  /** summary.json `final`, present when the run finished. */
  final?: Record<string, number>;
  /** Why the run failed or is not usable (status error, missing summary). */
  problem?: string;
}

export interface MetricDelta {
  /** Pairs (treated run, control run) both finished with the metric. */
  n: number;
  controlMean: number;
  meanDiff: number;
  std: number; // of the paired differences; NaN when n < 2
  ci?: Interval; // Student-t
  bootstrapCi?: Interval; // undefined below MIN_BOOTSTRAP_PAIRS
  p?: number; // paired t-test, two-sided
}

export type RowRole = 'control' | 'treated' | 'none';

export interface Row {
  /** Readable label, e.g. "ratio=4 frac=0.01 no_align". */
  label: string;
  /** Value of each `by` key for this row. */
  values: Record<string, unknown>;
  role: RowRole;
  /** Label of the control row (when the control arm is one row). */
  controlLabel?: string;
  counts: Record<ReportRunState, number>;
  runIds: string[];
  seeds: number[]; // of the finished runs
  stats: Record<string, Summary>;
  deltas: Record<string, MetricDelta>;
}

export interface Comparison {
  by: string[];
  metrics: string[];
  control: 'ratio' | 'ablation' | 'none';
  rows: Row[];
  /** Every metric name found in finished runs' summaries. */
  availableMetrics: string[];
  /** Runs that are in the plan but not finished (running, queued, failed, killed, missing). */
  unfinished: RunResult[];
  /** Finished runs without a usable summary, or other problems found while reading. */
  problems: string[];
}

export interface CompareOptions {
  by?: string[];
  metrics: string[];
  /** Sort rows by the mean of this metric, best first (lowest first for modality_gap). */
  sort?: string;
  bootstrap?: BootstrapOptions;
}

/**
 * Fewest pairs for a bootstrap CI. Below it the percentile bootstrap is degenerate: with n
 * pairs it can never be wider than the range of the n differences, so it would look far more
 * certain than the t interval.
 */
export const MIN_BOOTSTRAP_PAIRS = 5;

export function ratioOf(run: RunResult): number | undefined {
  const v = RATIO_PATH in run.coords ? run.coords[RATIO_PATH] : getDotted(run.config, RATIO_PATH);
  return typeof v === 'number' ? v : undefined;
}

/** A value at a dotted path of a config object (undefined when absent). */
export function getDotted(obj: unknown, dotted: string): unknown {
  let cur = obj;
  for (const key of dotted.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** Value of a grouping key for a run: `ablation`, a grid coordinate or any dotted config path. */
export function valueOf(run: RunResult, key: string): unknown {
  if (key === ABLATION_KEY) return run.ablation;
  if (key === 'seed') return run.seed;
  if (key in run.coords) return run.coords[key];
  return getDotted(run.config, key);
}

/** Grid axes in first-seen order, plus `ablation` when runs have more than one. */
export function defaultBy(runs: readonly RunResult[]): string[] {
  const axes: string[] = [];
  for (const r of runs) for (const k of Object.keys(r.coords)) if (!axes.includes(k)) axes.push(k);
  const ablations = new Set(runs.map((r) => r.ablation));
  return ablations.size > 1 ? [...axes, ABLATION_KEY] : axes;
}

/** Metric names found in the finished runs, sorted. */
export function availableMetrics(runs: readonly RunResult[]): string[] {
  const names = new Set<string>();
  for (const r of runs) if (r.state === 'finished' && r.final) for (const [k, v] of Object.entries(r.final)) if (typeof v === 'number') names.add(k);
  return [...names].sort();
}

/** Short name of a key for labels: the last segment of a dotted path, `image_fraction` → `frac`. */
export function shortKey(key: string): string {
  const last = key.split('.').pop() ?? key;
  const aliases: Record<string, string> = { image_fraction: 'frac', ratio: 'ratio' };
  return aliases[last] ?? last;
}

export function formatValue(v: unknown): string {
  if (typeof v === 'string') return v;
  return JSON.stringify(v) ?? 'undefined';
}

function labelOf(by: readonly string[], values: Record<string, unknown>): string {
  const parts = by.map((k) => (k === ABLATION_KEY ? formatValue(values[k]) : `${shortKey(k)}=${formatValue(values[k])}`));
  return parts.length ? parts.join(' ') : 'all runs';
}

/** Identity of a run apart from its ratio (or ablation) and seed: where its control is found. */
function pairKey(run: RunResult, rule: Comparison['control']): string {
  const coords = Object.entries(run.coords)
    .filter(([k]) => rule !== 'ratio' || k !== RATIO_PATH)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([coords, rule === 'ablation' ? null : run.ablation, run.seed]);
}

function controlRule(runs: readonly RunResult[]): Comparison['control'] {
  const ratios = new Set(runs.map(ratioOf));
  if (ratios.has(0) && ratios.size > 1) return 'ratio';
  const ablations = new Set(runs.map((r) => r.ablation));
  if (ablations.has(BASELINE) && ablations.size > 1) return 'ablation';
  return 'none';
}

function isControlRun(run: RunResult, rule: Comparison['control']): boolean {
  if (rule === 'ratio') return ratioOf(run) === 0;
  if (rule === 'ablation') return run.ablation === BASELINE;
  return false;
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (a === b) return 0;
  if (a === BASELINE) return -1; // the baseline ablation first
  if (b === BASELINE) return 1;
  return formatValue(a).localeCompare(formatValue(b));
}

const EMPTY_COUNTS = (): Record<ReportRunState, number> => ({ finished: 0, running: 0, queued: 0, failed: 0, killed: 0, missing: 0 });

/**
 * Rows over seeds with per-metric summaries and deltas against the control arm.
 * Unknown `by` keys or metrics are the caller's to check (see `checkMetrics`).
 */
export function compareRuns(runs: readonly RunResult[], opts: CompareOptions): Comparison {
  const by = opts.by ?? defaultBy(runs);
  const rule = controlRule(runs);
  const problems: string[] = [];
  const usable = (r: RunResult) => r.state === 'finished' && r.final !== undefined;
  for (const r of runs) if (r.state === 'finished' && !r.final) problems.push(`${r.name} (${r.id}): finished but ${r.problem ?? 'has no summary'}; left out`);

  const controls = new Map<string, RunResult>();
  for (const r of runs) if (isControlRun(r, rule)) controls.set(pairKey(r, rule), r);

  const groups = new Map<string, { values: Record<string, unknown>; runs: RunResult[] }>();
  for (const r of runs) {
    const values = Object.fromEntries(by.map((k) => [k, valueOf(r, k)]));
    const key = JSON.stringify(by.map((k) => values[k]));
    const g = groups.get(key) ?? { values, runs: [] };
    g.runs.push(r);
    groups.set(key, g);
  }

  const rows: Row[] = [];
  for (const { values, runs: members } of groups.values()) {
    const counts = EMPTY_COUNTS();
    for (const r of members) counts[r.state === 'finished' && !r.final ? 'failed' : r.state]++;
    const finished = members.filter(usable);
    const stats: Record<string, Summary> = {};
    for (const m of opts.metrics) {
      const xs = finished.map((r) => r.final![m]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      stats[m] = clipToRange(summarize(xs), metricRange(m));
    }
    const treated = members.filter((r) => !isControlRun(r, rule));
    const role: RowRole = rule === 'none' ? 'none' : treated.length === 0 ? 'control' : 'treated';
    const deltas: Record<string, MetricDelta> = {};
    let controlLabel: string | undefined;
    if (role === 'treated') {
      const controlRows = new Set<string>();
      for (const m of opts.metrics) {
        const a: number[] = [];
        const b: number[] = [];
        for (const r of treated) {
          const c = controls.get(pairKey(r, rule));
          if (!c) continue;
          controlRows.add(labelOf(by, Object.fromEntries(by.map((k) => [k, valueOf(c, k)]))));
          const x = usable(r) ? r.final![m] : undefined;
          const y = usable(c) ? c.final![m] : undefined;
          if (typeof x === 'number' && typeof y === 'number' && Number.isFinite(x) && Number.isFinite(y)) {
            a.push(x);
            b.push(y);
          }
        }
        deltas[m] = pairedDelta(a, b, opts.bootstrap);
      }
      if (controlRows.size === 1) controlLabel = [...controlRows][0];
    }
    rows.push({
      label: labelOf(by, values),
      values,
      role,
      controlLabel,
      counts,
      runIds: members.map((r) => r.id),
      seeds: finished.map((r) => r.seed).sort((x, y) => x - y),
      stats,
      deltas,
    });
  }

  // The ratio varies fastest, so each control row sits right above its treated rows.
  const order = [...by.filter((k) => k !== RATIO_PATH), ...by.filter((k) => k === RATIO_PATH)];
  rows.sort((x, y) => {
    for (const k of order) {
      const c = compareValues(x.values[k], y.values[k]);
      if (c !== 0) return c;
    }
    return 0;
  });
  if (opts.sort) {
    const m = opts.sort;
    const sign = lowerIsBetter(m) ? 1 : -1;
    const key = (r: Row) => (Number.isFinite(r.stats[m]?.mean) ? r.stats[m].mean : NaN);
    rows.sort((x, y) => {
      const a = key(x);
      const b = key(y);
      if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
      if (Number.isNaN(b)) return -1;
      return sign * (a - b);
    });
  }

  return {
    by,
    metrics: opts.metrics,
    control: rule,
    rows,
    availableMetrics: availableMetrics(runs),
    unfinished: runs.filter((r) => r.state !== 'finished'),
    problems,
  };
}

function clipToRange(s: Summary, range: [number, number] | undefined): Summary {
  if (!s.ci || !range) return s;
  return { ...s, ci: [Math.max(range[0], s.ci[0]), Math.min(range[1], s.ci[1])] };
}

function pairedDelta(a: number[], b: number[], bootstrap?: BootstrapOptions): MetricDelta {
  const d = a.map((x, i) => x - b[i]);
  const base = summarize(d);
  const test = pairedTTest(a, b);
  return {
    n: a.length,
    controlMean: summarize(b).mean,
    meanDiff: base.mean,
    std: base.std,
    ci: test?.ci,
    bootstrapCi: a.length >= MIN_BOOTSTRAP_PAIRS ? bootstrapPairedDiffCI(a, b, bootstrap) : undefined,
    p: test?.p,
  };
}

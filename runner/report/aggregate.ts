/**
 * Grouping run results into rows (grid cell × ablation, aggregated over seeds) and comparing
 * each row with the control arm. Pure: the caller reads the run directories (see load.ts).
 *
 * Control: one arm, named `<path>=<value>` (`--control`, or `report.control` in the experiment
 * file), e.g. `model.projection.dim=128` or `ablation=baseline`. Without one, the control is the
 * `augmentation.ratio = 0` arm when the study has one, else the 'baseline' ablation. A run's
 * control run has the same coordinates except the control's key, the same ablation (unless the
 * control is an ablation) and the same seed: differences are paired by seed.
 *
 * p values are Holm-adjusted over the arms compared with the control (one family per metric);
 * the raw p is kept beside it. Only finished runs enter statistics; the others are counted.
 */
import { MmrunError } from '../errors.ts';
import { addNet, countCorrect, decodeBits, discordant, isItemMetric, type ItemResults } from './items.ts';
import { lowerIsBetter, metricRange } from './metrics.ts';
import { bcaPairedDiffCI, holmAdjust, itemNetTest, MIN_BOOTSTRAP_N, mcnemarExact, pairedTTest, summarize, type BootstrapOptions, type Interval, type Summary } from './stats.ts';
import { formatNumber, roundsToZero } from './units.ts';

export const RATIO_PATH = 'augmentation.ratio';
export const ABLATION_KEY = 'ablation';
export const BASELINE = 'baseline';
/** Significance level applied to Holm-adjusted p values. */
export const SIGNIFICANCE = 0.05;

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
  /** items.json: per-item correctness of the final test evaluation (absent in older runs). */
  items?: ItemResults;
  /** Why `items` is absent or unusable (damaged file). */
  itemsProblem?: string;
  /** Why the run failed or is not usable (status error, missing summary). */
  problem?: string;
}

/** The control arm: runs whose value at `key` is `value`. */
export interface ControlArm {
  key: string; // 'ablation', a grid axis or a dotted config path
  value: unknown;
  origin: 'option' | 'file' | 'default';
}

/** One seed pair's exact McNemar test on the test items. */
export interface ItemPair {
  seed: number;
  b: number; // items only the treated run gets right
  c: number; // items only the control run gets right
  items: number;
  /** Exact McNemar p of this seed pair alone, unadjusted (JSON shows it only with --raw-p). */
  pRaw: number;
}

export interface ItemEvidence {
  pairs: ItemPair[];
  /** Pooled over the seed pairs, each test item one unit: itemNetTest on the per-item net (see docs/statistics.md). */
  pooled?: { b: number; c: number; items: number; pRaw: number; pHolm?: number };
  /** Seed pairs without usable per-item results, and why ("older run without items.json"). */
  missing: { seed: number; reason: string }[];
}

export type Verdict = 'better' | 'worse' | 'none';

export interface MetricDelta {
  /** Pairs (treated run, control run) both finished with the metric. */
  n: number;
  controlMean: number;
  meanDiff: number;
  std: number; // of the paired differences; NaN when n < 2
  ci?: Interval; // Student-t; undefined when n < 2 or zero variance
  bootstrapCi?: Interval; // BCa, only from MIN_BOOTSTRAP_N pairs
  pRaw?: number; // paired t-test, two-sided; undefined where no test is defined
  pHolm?: number; // Holm-adjusted over the family (this metric, all arms with a test)
  /** Why there is no test or no claim, in plain words (zero variance, one pair, rounds to 0). */
  note?: string;
  /** The difference shows as 0 at display precision: never called an effect. */
  roundsToZero: boolean;
  /** Better / worse than the control at SIGNIFICANCE after Holm, CI excluding 0, visible difference. */
  verdict: Verdict;
  items?: ItemEvidence;
}

/** control: the control arm; treated: compared with it; none: no control in the study; mixed: the row pools control and other runs. */
export type RowRole = 'control' | 'treated' | 'none' | 'mixed';

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
  /** Plain notes about the row (e.g. two seeds that gave identical results). */
  notes: string[];
}

export interface Comparison {
  by: string[];
  metrics: string[];
  /** The control arm; undefined when the study has none. */
  control?: ControlArm;
  /** Why no Δ is shown although there is a control (rows pool it with other arms). */
  controlNote?: string;
  /** Arms in each metric's Holm family (seed-level test). */
  family: Record<string, number>;
  /** Most seed pairs of any arm: decides whether a bootstrap interval can be shown at all. */
  maxPairs: number;
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
  /** The control arm (validated by the caller: see checkControl); default: ratio 0, else baseline. */
  control?: ControlArm;
}

/** Fewest pairs for a bootstrap CI (BCa): below it the t interval is used alone. */
export const MIN_BOOTSTRAP_PAIRS = MIN_BOOTSTRAP_N;

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

/** Values equal as the user writes them: 0.1 and 0.10, "128" and 128. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b;
  return formatValue(a) === formatValue(b);
}

/** "model.projection.dim = 128", "the 'baseline' ablation". */
export function describeControl(control: ControlArm): string {
  if (control.key === ABLATION_KEY) return `the '${formatValue(control.value)}' ablation`;
  return `${control.key} = ${formatValue(control.value)}`;
}

/**
 * Parses `<path>=<value>` (the `--control` option and `report.control`). The value is read as
 * JSON when it parses (numbers, booleans), else as a string. Undefined when there is no '='.
 */
export function parseControl(text: string, origin: ControlArm['origin']): ControlArm | undefined {
  const at = text.indexOf('=');
  if (at <= 0 || at === text.length - 1) return undefined;
  const key = text.slice(0, at).trim();
  const raw = text.slice(at + 1).trim();
  let value: unknown = raw;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed === 'number' || typeof parsed === 'boolean' || typeof parsed === 'string') value = parsed;
  } catch {
    /* a plain string such as an ablation name */
  }
  return { key, value, origin };
}

/** The values a key takes over the runs, distinct, sorted as rows are. */
export function valuesOf(runs: readonly RunResult[], key: string): unknown[] {
  const out: unknown[] = [];
  for (const r of runs) {
    const v = valueOf(r, key);
    if (v !== undefined && !out.some((x) => sameValue(x, v))) out.push(v);
  }
  return out.sort(compareValues);
}

/**
 * Problems with a control arm over these runs (empty: usable): the key must vary and the value
 * must be one of the values the runs take. `where` names the option or field in the messages.
 */
export function controlProblems(runs: readonly RunResult[], control: ControlArm, where: string): string[] {
  const values = valuesOf(runs, control.key);
  if (values.length === 0) return [`${where}: no run has a value at '${control.key}' (use 'ablation', a grid axis or a config path)`];
  if (!values.some((v) => sameValue(v, control.value))) {
    return [`${where}: no run has ${control.key} = ${formatValue(control.value)}; the values in this study are ${values.map(formatValue).join(', ')}`];
  }
  if (values.length < 2) return [`${where}: every run has ${control.key} = ${formatValue(control.value)}, so there is nothing to compare with it`];
  return [];
}

/** The control when none is named: the ratio-0 arm, else the 'baseline' ablation, else none. */
export function defaultControl(runs: readonly RunResult[]): ControlArm | undefined {
  const ratios = new Set(runs.map(ratioOf));
  if (ratios.has(0) && ratios.size > 1) return { key: RATIO_PATH, value: 0, origin: 'default' };
  const ablations = new Set(runs.map((r) => r.ablation));
  if (ablations.has(BASELINE) && ablations.size > 1) return { key: ABLATION_KEY, value: BASELINE, origin: 'default' };
  return undefined;
}

function labelOf(by: readonly string[], values: Record<string, unknown>): string {
  const parts = by.map((k) => (k === ABLATION_KEY ? formatValue(values[k]) : `${shortKey(k)}=${formatValue(values[k])}`));
  return parts.length ? parts.join(' ') : 'all runs';
}

function isControlRun(run: RunResult, control: ControlArm | undefined): boolean {
  return !!control && sameValue(valueOf(run, control.key), control.value);
}

/**
 * Identity of a run apart from the control's key and the seed: where its control is found. The
 * ablation is part of it unless the control is an ablation, or a config path no grid axis sets
 * (then only ablations can change it).
 */
function pairKey(run: RunResult, control: ControlArm, keyIsGridAxis: boolean): string {
  const coords = Object.entries(run.coords)
    .filter(([k]) => k !== control.key)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const ablation = control.key === ABLATION_KEY || !keyIsGridAxis ? null : run.ablation;
  return JSON.stringify([coords, ablation, run.seed]);
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (a === b) return 0;
  if (a === BASELINE) return -1; // the baseline ablation first
  if (b === BASELINE) return 1;
  return formatValue(a).localeCompare(formatValue(b));
}

const EMPTY_COUNTS = (): Record<ReportRunState, number> => ({ finished: 0, running: 0, queued: 0, failed: 0, killed: 0, missing: 0 });

const usable = (r: RunResult) => r.state === 'finished' && r.final !== undefined;

/** Seeds of a row whose runs gave exactly the same final metrics (the same run twice?). */
function identicalSeeds(runs: RunResult[]): number[][] {
  const bySignature = new Map<string, number[]>();
  for (const r of runs) {
    const sig = JSON.stringify(Object.entries(r.final!).sort(([a], [b]) => (a < b ? -1 : 1)));
    bySignature.set(sig, [...(bySignature.get(sig) ?? []), r.seed]);
  }
  return [...bySignature.values()].filter((s) => s.length > 1);
}

/**
 * Rows over seeds with per-metric summaries and deltas against the control arm.
 * Unknown `by` keys, metrics and control values are the caller's to check (see study.ts).
 */
export function compareRuns(runs: readonly RunResult[], opts: CompareOptions): Comparison {
  const by = opts.by ?? defaultBy(runs);
  const control = opts.control ?? defaultControl(runs);
  const keyIsGridAxis = !!control && runs.some((r) => control.key in r.coords);
  const problems: string[] = [];
  for (const r of runs) if (r.state === 'finished' && !r.final) problems.push(`${r.name} (${r.id}): finished but ${r.problem ?? 'has no summary'}; left out`);

  const controls = new Map<string, RunResult>();
  if (control) {
    for (const r of runs) {
      if (!isControlRun(r, control)) continue;
      const key = pairKey(r, control, keyIsGridAxis);
      const other = controls.get(key);
      if (other) {
        throw new MmrunError(
          `The control ${describeControl(control)} is ambiguous: runs ${other.name} (${other.id}) and ${r.name} (${r.id}) both match for the same seed and cell.`,
          `Name a control that picks one arm per cell, e.g. with the ablation: --control ablation=${other.ablation}.`,
        );
      }
      controls.set(key, r);
    }
  }

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
    const notes: string[] = [];
    for (const seeds of identicalSeeds(finished)) {
      notes.push(`seeds ${seeds.join(', ')} gave identical results (the same run twice?): their agreement is not evidence of low variance`);
    }
    const stats: Record<string, Summary> = {};
    for (const m of opts.metrics) {
      const xs = finished.map((r) => r.final![m]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      stats[m] = clipToRange(summarize(xs), metricRange(m));
    }
    const nControl = members.filter((r) => isControlRun(r, control)).length;
    const role: RowRole = !control ? 'none' : nControl === members.length ? 'control' : nControl === 0 ? 'treated' : 'mixed';
    const deltas: Record<string, MetricDelta> = {};
    let controlLabel: string | undefined;
    if (role === 'treated' && control) {
      const controlRows = new Set<string>();
      for (const m of opts.metrics) {
        const a: number[] = [];
        const b: number[] = [];
        const pairs: [RunResult, RunResult][] = [];
        const unpaired: number[] = []; // seeds with the metric whose control run lacks it (or is absent)
        for (const r of members) {
          const x = usable(r) ? r.final![m] : undefined;
          const has = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
          const c = controls.get(pairKey(r, control, keyIsGridAxis));
          if (c) controlRows.add(labelOf(by, Object.fromEntries(by.map((k) => [k, valueOf(c, k)]))));
          const y = c && usable(c) ? c.final![m] : undefined;
          if (has(x) && has(y)) {
            a.push(x);
            b.push(y);
            pairs.push([r, c!]);
          } else if (has(x)) unpaired.push(r.seed);
        }
        // Rows that pool cells (--by leaving axes out) hold several pairs per seed; those share the
        // seed's randomness (e.g. one joint phase), so the seed stays the unit: average within it first.
        const perSeed = averageBySeed(
          pairs.map(([r]) => r.seed),
          a,
          b,
        );
        deltas[m] = pairedDelta(m, perSeed.a, perSeed.b, opts.bootstrap);
        if (unpaired.length) {
          const seeds = unpaired.sort((p, q) => p - q).join(', ');
          const k = unpaired.length;
          const why = `${k} run${k === 1 ? '' : 's'} (seed${k === 1 ? '' : 's'} ${seeds}) ${k === 1 ? 'has' : 'have'} no finished control run with ${m} for the same seed: left out of Δ`;
          deltas[m].note = deltas[m].note ? `${deltas[m].note}; ${why}` : why;
        }
        if (isItemMetric(m) && pairs.length) deltas[m].items = itemEvidence(m, pairs);
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
      notes,
    });
  }

  const family = adjustAndJudge(rows, opts.metrics);

  // The control's key varies fastest (control value first), so each control row sits right above its treated rows.
  const ck = control?.key;
  const order = [...by.filter((k) => k !== ck), ...by.filter((k) => k === ck)];
  rows.sort((x, y) => {
    for (const k of order) {
      const c = k === ck ? Number(isControlValue(y.values[k])) - Number(isControlValue(x.values[k])) || compareValues(x.values[k], y.values[k]) : compareValues(x.values[k], y.values[k]);
      if (c !== 0) return c;
    }
    return 0;
  });
  function isControlValue(v: unknown): boolean {
    return !!control && sameValue(v, control.value);
  }
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

  const controlNote =
    control && rows.some((r) => r.role === 'mixed')
      ? `Rows pool the control arm (${describeControl(control)}) with other arms because '${control.key}' is not one of the grouping keys (${by.join(', ') || 'none'}): no Δ is shown. Add '${control.key}' to --by, or name another control with --control.`
      : undefined;

  return {
    by,
    metrics: opts.metrics,
    control,
    controlNote,
    family,
    maxPairs: Math.max(0, ...rows.flatMap((r) => Object.values(r.deltas).map((d) => d.n))),
    rows,
    availableMetrics: availableMetrics(runs),
    unfinished: runs.filter((r) => r.state !== 'finished'),
    problems,
  };
}

/** Means of a and b per seed (in first-seen order): one pair per seed. */
function averageBySeed(seeds: number[], a: number[], b: number[]): { a: number[]; b: number[] } {
  if (new Set(seeds).size === seeds.length) return { a, b };
  const sums = new Map<number, [number, number, number]>();
  seeds.forEach((s, i) => {
    const acc = sums.get(s) ?? [0, 0, 0];
    sums.set(s, [acc[0] + a[i], acc[1] + b[i], acc[2] + 1]);
  });
  const out = { a: [] as number[], b: [] as number[] };
  for (const [x, y, k] of sums.values()) {
    out.a.push(x / k);
    out.b.push(y / k);
  }
  return out;
}

function clipToRange(s: Summary, range: [number, number] | undefined): Summary {
  if (!s.ci || !range) return s;
  return { ...s, ci: [Math.max(range[0], s.ci[0]), Math.min(range[1], s.ci[1])] };
}

function pairedDelta(metric: string, a: number[], b: number[], bootstrap?: BootstrapOptions): MetricDelta {
  const d = a.map((x, i) => x - b[i]);
  const base = summarize(d);
  const test = pairedTTest(a, b);
  const n = a.length;
  const zero = n > 0 && roundsToZero(metric, base.mean);
  let note: string | undefined;
  if (n === 1) note = 'one seed pair: no interval, no test';
  else if (n >= 2 && test?.p === undefined) {
    note =
      d.every((x) => x === 0)
        ? `identical in all ${n} pairs: no difference, no test`
        : `all ${n} pairs differ by exactly ${formatNumber(metric, base.mean, true)} (zero variance): too few distinct values for a test`;
  } else if (zero && n >= 2) note = 'the difference rounds to 0: not an effect at this precision';
  return {
    n,
    controlMean: summarize(b).mean,
    meanDiff: base.mean,
    std: base.std,
    ci: test?.ci,
    bootstrapCi: n >= MIN_BOOTSTRAP_PAIRS ? bcaPairedDiffCI(a, b, bootstrap) : undefined,
    pRaw: test?.p,
    note,
    roundsToZero: zero,
    verdict: 'none',
  };
}

function itemEvidence(metric: string, pairs: [RunResult, RunResult][]): ItemEvidence {
  const out: ItemEvidence = { pairs: [], missing: [] };
  const nets = new Map<string, Int32Array>(); // per test split: per-item net over the seed pairs
  for (const [t, c] of pairs) {
    const why = itemProblem(t, metric) ?? itemProblem(c, metric);
    if (why) {
      out.missing.push({ seed: t.seed, reason: why });
      continue;
    }
    if (t.items!.testSet !== c.items!.testSet || t.items!.n !== c.items!.n) {
      out.missing.push({ seed: t.seed, reason: 'the two runs were scored on different test items' });
      continue;
    }
    const n = t.items!.n;
    const treatedBits = decodeBits(t.items!.correct[metric as 'image_acc']!, n);
    const controlBits = decodeBits(c.items!.correct[metric as 'image_acc']!, n);
    const d = discordant(treatedBits, controlBits, n);
    out.pairs.push({ seed: t.seed, ...d, pRaw: mcnemarExact(d.b, d.c) });
    const split = `${t.items!.testSet}:${n}`;
    const net = nets.get(split) ?? new Int32Array(n);
    addNet(net, treatedBits, controlBits);
    nets.set(split, net);
  }
  if (out.pairs.length) {
    const b = out.pairs.reduce((s, p) => s + p.b, 0);
    const c = out.pairs.reduce((s, p) => s + p.c, 0);
    const items = out.pairs.reduce((s, p) => s + p.items, 0);
    // The seed pairs reuse the same test items: summing their discordant counts into one McNemar
    // test would count an item once per seed as if independent (anti-conservative); one unit per item.
    const allNets = [...nets.values()].flatMap((net) => Array.from(net));
    out.pooled = { b, c, items, pRaw: itemNetTest(allNets) };
  }
  return out;
}

function itemProblem(run: RunResult, metric: string): string | undefined {
  if (run.itemsProblem) return `${run.name}: ${run.itemsProblem}`;
  if (!run.items) return `${run.name} has no items.json (run before per-item results were stored)`;
  const bits = run.items.correct[metric as 'image_acc'];
  if (!bits) return `${run.name} has no per-item ${metric}`;
  // A stale or foreign items.json (e.g. left from an earlier attempt) must not stand in for this run.
  const n = run.items.n;
  const accuracy = run.final?.[metric];
  if (typeof accuracy === 'number' && n > 0 && Math.abs(countCorrect(decodeBits(bits, n), n) / n - accuracy) > 0.5 / n) {
    return `${run.name}: items.json does not match summary.json (${countCorrect(decodeBits(bits, n), n)} of ${n} items correct, ${metric} = ${accuracy})`;
  }
  return undefined;
}

/** Holm over the treated arms of each metric (seed-level and item-level families), then the verdicts. */
function adjustAndJudge(rows: Row[], metrics: string[]): Record<string, number> {
  const family: Record<string, number> = {};
  for (const m of metrics) {
    const tested = rows.filter((r) => r.role === 'treated' && r.deltas[m]?.pRaw !== undefined);
    const adjusted = holmAdjust(tested.map((r) => r.deltas[m].pRaw!));
    tested.forEach((r, i) => (r.deltas[m].pHolm = adjusted[i]));
    family[m] = tested.length;
    const pooled = rows.filter((r) => r.role === 'treated' && r.deltas[m]?.items?.pooled);
    const itemAdjusted = holmAdjust(pooled.map((r) => r.deltas[m].items!.pooled!.pRaw));
    pooled.forEach((r, i) => (r.deltas[m].items!.pooled!.pHolm = itemAdjusted[i]));
    for (const r of rows) {
      const d = r.deltas[m];
      if (!d) continue;
      const excludesZero = !!d.ci && (d.ci[0] > 0 || d.ci[1] < 0);
      if (d.pHolm !== undefined && d.pHolm < SIGNIFICANCE && excludesZero && !d.roundsToZero) {
        d.verdict = d.meanDiff > 0 !== lowerIsBetter(m) ? 'better' : 'worse';
      }
    }
  }
  return family;
}

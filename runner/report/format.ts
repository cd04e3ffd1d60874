/**
 * Rendering a Comparison as text: a terminal table, Markdown, CSV or JSON. Pure.
 * Table and Markdown give one section per metric (one row per cell); CSV and JSON are wide
 * (one row per cell, every metric) and keep raw values (accuracies in [0, 1]).
 * p values are Holm-adjusted; the raw p only with `rawP`.
 */
import { describeControl, type Comparison, type MetricDelta, type Row, type RunResult } from './aggregate.ts';
import { isItemMetric } from './items.ts';
import { isProportion } from './metrics.ts';
import { MIN_BOOTSTRAP_N, type Interval, type Summary } from './stats.ts';
import { formatNumber } from './units.ts';

export { isProportion };
export { formatMetricValue, formatNumber, roundsToZero, unitOf } from './units.ts';

export type OutputFormat = 'table' | 'csv' | 'json' | 'markdown';
export const FORMATS: OutputFormat[] = ['table', 'csv', 'json', 'markdown'];

export interface FormatOptions {
  /** Show the unadjusted p beside the Holm-adjusted one. */
  rawP?: boolean;
}

export function metricUnit(metric: string): string {
  return isProportion(metric) ? '%' : '';
}

/** Display value: percent for proportions (1 decimal), else 3 decimals. */
export function fmt(metric: string, v: number | undefined, signed = false): string {
  return formatNumber(metric, v, signed);
}

export function fmtInterval(metric: string, ci: Interval | undefined, signed = false): string {
  return ci ? `[${fmt(metric, ci[0], signed)}, ${fmt(metric, ci[1], signed)}]` : 'n/a';
}

export function fmtP(p: number | undefined): string {
  if (p === undefined || Number.isNaN(p)) return 'n/a';
  if (p < 0.001) return '<0.001';
  const s = p < 0.01 ? p.toFixed(3) : p.toFixed(2);
  // Never round a p below the significance level up to it ("0.05" for 0.0496, shown as significant).
  return p < 0.05 && Number(s) >= 0.05 ? (Math.floor(p * 1000) / 1000).toFixed(3) : s;
}

/** "+14 of 10,000": the net items a treated arm gets right over its control, per seed pair. */
export function fmtItems(d: MetricDelta): string {
  const pooled = d.items?.pooled;
  if (!pooled || !d.items?.pairs.length) return 'n/a';
  const k = d.items.pairs.length;
  const net = Math.round((pooled.b - pooled.c) / k);
  const per = Math.round(pooled.items / k);
  return `${net > 0 ? '+' : ''}${net} of ${per.toLocaleString('en-US')}`;
}

function runsCell(row: Row): string {
  const total = Object.values(row.counts).reduce((a, b) => a + b, 0);
  return `${row.counts.finished}/${total}`;
}

/** "1 running, 2 failed" for the runs of a row that are not finished; '' when all are. */
export function statusNote(row: Row): string {
  const parts: string[] = [];
  for (const s of ['running', 'queued', 'failed', 'killed', 'missing'] as const) {
    if (row.counts[s]) parts.push(`${row.counts[s]} ${s === 'missing' ? 'not started' : s}`);
  }
  return parts.join(', ');
}

function meanSd(metric: string, s: Summary | undefined): string {
  if (!s || s.n === 0) return 'n/a';
  return s.n < 2 ? fmt(metric, s.mean) : `${fmt(metric, s.mean)} ± ${fmt(metric, s.std)}`;
}

/** A level's CI cell: n/a with one seed, "no spread" when every seed gave the same value. */
export function levelInterval(metric: string, s: Summary | undefined): string {
  if (s && s.n >= 2 && !s.ci) return 'no spread'; // n ≥ 2 has an interval unless the values do not vary
  return fmtInterval(metric, s?.ci);
}

/** Which optional columns a comparison needs. */
export interface Columns {
  control: boolean;
  rawP: boolean;
  bootstrap: boolean; // some arm has ≥ MIN_BOOTSTRAP_N pairs
  items: (metric: string) => boolean;
}

export function columnsOf(c: Comparison, opts: FormatOptions = {}): Columns {
  const control = !!c.control && !c.controlNote;
  return {
    control,
    rawP: !!opts.rawP,
    bootstrap: control && c.maxPairs >= MIN_BOOTSTRAP_N,
    items: (m) => control && isItemMetric(m) && c.rows.some((r) => r.deltas[m]?.items),
  };
}

function deltaCells(metric: string, row: Row, cols: Columns): string[] {
  const width = 3 + (cols.rawP ? 1 : 0) + (cols.bootstrap ? 1 : 0) + (cols.items(metric) ? 2 : 0);
  const blank = (first: string) => [first, ...new Array<string>(width - 1).fill('')];
  if (row.role === 'control') return blank('control');
  if (row.role !== 'treated') return blank('');
  const d: MetricDelta | undefined = row.deltas[metric];
  if (!d || d.n === 0) return blank('no pairs');
  const cells = [`${fmt(metric, d.meanDiff, true)} (n=${d.n})`, fmtInterval(metric, d.ci, true), fmtP(d.pHolm)];
  if (cols.rawP) cells.push(fmtP(d.pRaw));
  if (cols.bootstrap) cells.push(fmtInterval(metric, d.bootstrapCi, true));
  if (cols.items(metric)) cells.push(fmtItems(d), fmtP(d.items?.pooled?.pHolm));
  return cells;
}

function metricSection(c: Comparison, metric: string, cols: Columns): { title: string; header: string[]; rows: string[][]; notes: string[] } {
  const header = ['cell', 'runs', 'mean ± sd', '95% CI'];
  if (cols.control) {
    header.push('Δ vs control', 'Δ 95% CI (t)', 'p (Holm)');
    if (cols.rawP) header.push('p (raw)');
    if (cols.bootstrap) header.push('Δ 95% CI (BCa)');
    if (cols.items(metric)) header.push('Δ items per seed', 'p items (Holm)');
  }
  const anyNote = c.rows.some((r) => statusNote(r) !== '');
  if (anyNote) header.push('not finished');
  const rows = c.rows.map((r) => {
    const s = r.stats[metric];
    const cells = [r.label, runsCell(r), meanSd(metric, s), levelInterval(metric, s)];
    if (cols.control) cells.push(...deltaCells(metric, r, cols));
    if (anyNote) cells.push(statusNote(r));
    return cells;
  });
  const unit = isProportion(metric) ? ' (%, differences in points)' : '';
  return { title: `${metric}${unit}`, header, rows, notes: sectionNotes(c, metric, cols) };
}

/** Plain notes under a metric's table: why a p or an item test is missing. */
export function sectionNotes(c: Comparison, metric: string, cols: Columns): string[] {
  const out: string[] = [];
  if (!cols.control) return out;
  for (const r of c.rows) {
    const d = r.deltas[metric];
    if (d?.note) out.push(`${r.label}: ${d.note}.`);
  }
  if (cols.items(metric)) {
    const missing = new Map<string, number>();
    for (const r of c.rows) for (const m of r.deltas[metric]?.items?.missing ?? []) missing.set(genericReason(m.reason), (missing.get(genericReason(m.reason)) ?? 0) + 1);
    for (const [reason, n] of missing) out.push(`Items n/a for ${n} seed pair${n === 1 ? '' : 's'}: ${reason}.`);
  }
  return out;
}

function genericReason(reason: string): string {
  if (/no items\.json/.test(reason)) return 'a run has no items.json (it ran before per-item results were stored)';
  return reason;
}

/** The sentences that say once what the columns mean. */
export function legend(c: Comparison, cols: Columns): string[] {
  if (!c.control) return ['No control arm in this study (no augmentation.ratio = 0, no ablations, no report.control): no deltas. Name one with --control <path>=<value>.'];
  if (c.controlNote) return [c.controlNote];
  const where = c.control.key === 'augmentation.ratio' ? 'same cell and ablation' : c.control.key === 'ablation' ? 'same cell' : 'same other coordinates and ablation';
  const from = c.control.origin === 'option' ? ' (--control)' : c.control.origin === 'file' ? ' (report.control)' : '';
  const sizes = [...new Set(c.metrics.map((m) => c.family[m]).filter((n) => n > 0))];
  const fam = sizes.length === 1 ? `the ${sizes[0]} arm${sizes[0] === 1 ? '' : 's'} tested against the control` : 'the arms tested against the control';
  const out = [
    `Δ: difference from the control arm, ${describeControl(c.control)}${from}, ${where}, paired by seed.`,
    `p (Holm): two-sided paired t-test over seeds, Holm-adjusted over ${fam}, per metric${cols.rawP ? '; p (raw): unadjusted' : ' (--raw-p shows the unadjusted p)'}. Intervals: 95% Student t, per arm (not adjusted for the number of arms).`,
  ];
  if (!cols.bootstrap) out.push(`No bootstrap interval: a bootstrap needs at least ${MIN_BOOTSTRAP_N} seed pairs to be trusted (at fewer it covers less than it claims), and this study has at most ${c.maxPairs}.`);
  else out.push(`Δ 95% CI (BCa): bias-corrected and accelerated bootstrap of the mean paired difference, shown for arms with at least ${MIN_BOOTSTRAP_N} seed pairs.`);
  if (c.metrics.some((m) => cols.items(m))) {
    out.push('Δ items per seed: test items the arm gets right that the control gets wrong, minus the reverse, per seed pair; p items (Holm): paired test with each test item as one unit (exact McNemar for one seed pair; over several seed pairs, which reuse the same items, a sign-flip test of each item’s net), Holm-adjusted over the arms. It holds these trained models fixed and measures test-set sampling only; the seed-level p measures training noise.');
  }
  return out;
}

export function textTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  return rows.map((r) => r.map((cell, i) => cell + ' '.repeat(widths[i] - [...cell].length)).join('  ').trimEnd()).join('\n');
}

function markdownTable(header: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [`| ${header.map(esc).join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function runLine(r: RunResult): string {
  const state = r.state === 'missing' ? 'not started' : r.state;
  return `${r.name} (${r.id}): ${state}${r.problem ? ` — ${r.problem}` : ''}`;
}

/** Notes printed after the tables: row notes, unfinished runs, orphans, problems. */
export function notes(c: Comparison, orphans: readonly RunResult[]): string[] {
  const out: string[] = [];
  for (const r of c.rows) for (const n of r.notes) out.push(`${r.label}: ${n}.`);
  const unfinished = c.unfinished.filter((r) => r.state !== 'missing');
  const missing = c.unfinished.filter((r) => r.state === 'missing').length;
  if (unfinished.length) out.push(`Not in the statistics (not finished):\n${unfinished.map((r) => `  ${runLine(r)}`).join('\n')}`);
  if (missing) out.push(`${missing} run${missing === 1 ? '' : 's'} of the plan not started yet.`);
  if (orphans.length) {
    out.push(
      `Runs of this experiment that are not in the current plan (an older version of the file?), left out:\n${orphans.map((r) => `  ${runLine(r)}`).join('\n')}`,
    );
  }
  for (const p of c.problems) out.push(p);
  return out;
}

export function formatTable(c: Comparison, orphans: readonly RunResult[] = [], opts: FormatOptions = {}): string {
  const cols = columnsOf(c, opts);
  const parts = [legend(c, cols).join('\n')];
  for (const m of c.metrics) {
    const s = metricSection(c, m, cols);
    parts.push(`${s.title}\n${textTable([s.header, ...s.rows])}${s.notes.length ? `\n${s.notes.map((n) => `  ${n}`).join('\n')}` : ''}`);
  }
  parts.push(...notes(c, orphans));
  return parts.join('\n\n');
}

export function formatMarkdown(c: Comparison, orphans: readonly RunResult[] = [], opts: FormatOptions = {}): string {
  const cols = columnsOf(c, opts);
  const parts = [legend(c, cols).map((l) => `_${l}_`).join('\n')];
  for (const m of c.metrics) {
    const s = metricSection(c, m, cols);
    parts.push(`**${s.title}**\n\n${markdownTable(s.header, s.rows)}${s.notes.length ? `\n\n${s.notes.map((n) => `- ${n}`).join('\n')}` : ''}`);
  }
  const n = notes(c, orphans);
  if (n.length) parts.push(n.map((x) => x.replace(/\n {2}/g, '\n- ')).join('\n\n'));
  return parts.join('\n\n');
}

function csvCell(v: unknown): string {
  if (v === undefined || v === null || (typeof v === 'number' && !Number.isFinite(v))) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatCsv(c: Comparison, opts: FormatOptions = {}): string {
  const cols = columnsOf(c, opts);
  const header = [...c.by, 'label', 'role', 'finished', 'running', 'queued', 'failed', 'killed', 'missing'];
  for (const m of c.metrics) {
    header.push(`${m}_n`, `${m}_mean`, `${m}_std`, `${m}_ci_lo`, `${m}_ci_hi`);
    if (cols.control) {
      header.push(`${m}_delta_n`, `${m}_delta`, `${m}_delta_ci_lo`, `${m}_delta_ci_hi`, `${m}_delta_bca_lo`, `${m}_delta_bca_hi`, `${m}_p_holm`);
      if (cols.rawP) header.push(`${m}_p_raw`);
      header.push(`${m}_note`);
      if (cols.items(m)) {
        header.push(`${m}_items_better`, `${m}_items_worse`, `${m}_items_scored`, `${m}_items_p_holm`);
        if (cols.rawP) header.push(`${m}_items_p_raw`);
      }
    }
  }
  const lines = [header.join(',')];
  for (const r of c.rows) {
    const cells: unknown[] = [...c.by.map((k) => r.values[k]), r.label, r.role, r.counts.finished, r.counts.running, r.counts.queued, r.counts.failed, r.counts.killed, r.counts.missing];
    for (const m of c.metrics) {
      const s = r.stats[m];
      cells.push(s?.n, s?.mean, s?.std, s?.ci?.[0], s?.ci?.[1]);
      if (cols.control) {
        const d = r.deltas[m];
        cells.push(d?.n, d?.meanDiff, d?.ci?.[0], d?.ci?.[1], d?.bootstrapCi?.[0], d?.bootstrapCi?.[1], d?.pHolm);
        if (cols.rawP) cells.push(d?.pRaw);
        cells.push(d?.note);
        if (cols.items(m)) {
          const p = d?.items?.pooled;
          cells.push(p?.b, p?.c, p?.items, p?.pHolm);
          if (cols.rawP) cells.push(p?.pRaw);
        }
      }
    }
    lines.push(cells.map(csvCell).join(','));
  }
  return lines.join('\n');
}

export function formatJson(c: Comparison, orphans: readonly RunResult[] = [], extra: Record<string, unknown> = {}, opts: FormatOptions = {}): string {
  const strip = (r: RunResult) => ({ id: r.id, name: r.name, state: r.state, problem: r.problem });
  const cols = columnsOf(c, opts);
  const value = { ...extra, ...c, legend: legend(c, cols), unfinished: c.unfinished.map(strip), orphans: orphans.map(strip) };
  // NaN and ±∞ are not JSON: null (a std of n=1, a CI that cannot be estimated). Raw p only on request.
  return JSON.stringify(value, (k, v) => (!opts.rawP && k === 'pRaw' ? undefined : typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}

export function formatComparison(format: OutputFormat, c: Comparison, orphans: readonly RunResult[] = [], extra: Record<string, unknown> = {}, opts: FormatOptions = {}): string {
  switch (format) {
    case 'table':
      return formatTable(c, orphans, opts);
    case 'markdown':
      return formatMarkdown(c, orphans, opts);
    case 'csv':
      return formatCsv(c, opts);
    case 'json':
      return formatJson(c, orphans, extra, opts);
  }
}

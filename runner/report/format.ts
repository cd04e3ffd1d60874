/**
 * Rendering a Comparison as text: a terminal table, Markdown, CSV or JSON. Pure.
 * Table and Markdown give one section per metric (one row per cell); CSV and JSON are wide
 * (one row per cell, every metric) and keep raw values (accuracies in [0, 1]).
 */
import type { Comparison, MetricDelta, Row, RunResult } from './aggregate.ts';
import type { Interval, Summary } from './stats.ts';
import { isProportion } from './metrics.ts';

export { isProportion };

export type OutputFormat = 'table' | 'csv' | 'json' | 'markdown';
export const FORMATS: OutputFormat[] = ['table', 'csv', 'json', 'markdown'];

export function metricUnit(metric: string): string {
  return isProportion(metric) ? '%' : '';
}

/** Display value: percent for proportions (1 decimal), else 3 decimals. */
export function fmt(metric: string, v: number | undefined, signed = false): string {
  if (v === undefined || !Number.isFinite(v)) return v === Infinity ? '∞' : v === -Infinity ? '-∞' : 'n/a';
  const x = isProportion(metric) ? v * 100 : v;
  const s = x.toFixed(isProportion(metric) ? 1 : 3);
  return signed && x >= 0 && !/^-?0\.0+$/.test(s) ? `+${s}` : s === '-0.0' || s === '-0.000' ? s.slice(1) : s;
}

export function fmtInterval(metric: string, ci: Interval | undefined, signed = false): string {
  return ci ? `[${fmt(metric, ci[0], signed)}, ${fmt(metric, ci[1], signed)}]` : 'n/a';
}

export function fmtP(p: number | undefined): string {
  if (p === undefined || Number.isNaN(p)) return 'n/a';
  if (p < 0.001) return '<0.001';
  return p < 0.01 ? p.toFixed(3) : p.toFixed(2);
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

function deltaCells(metric: string, row: Row): string[] {
  if (row.role === 'control') return ['control', '', '', ''];
  if (row.role === 'none') return ['', '', '', ''];
  const d: MetricDelta | undefined = row.deltas[metric];
  if (!d || d.n === 0) return ['no pairs', '', '', ''];
  return [`${fmt(metric, d.meanDiff, true)} (n=${d.n})`, fmtInterval(metric, d.ci, true), fmtInterval(metric, d.bootstrapCi, true), fmtP(d.p)];
}

function metricSection(c: Comparison, metric: string): { title: string; header: string[]; rows: string[][] } {
  const hasControl = c.control !== 'none';
  const header = ['cell', 'runs', 'mean ± sd', '95% CI'];
  if (hasControl) header.push('Δ vs control', 'Δ 95% CI (t)', 'Δ 95% CI (bootstrap)', 'p (paired t)');
  const anyNote = c.rows.some((r) => statusNote(r) !== '');
  if (anyNote) header.push('not finished');
  const rows = c.rows.map((r) => {
    const s = r.stats[metric];
    const cells = [r.label, runsCell(r), meanSd(metric, s), fmtInterval(metric, s?.ci)];
    if (hasControl) cells.push(...deltaCells(metric, r));
    if (anyNote) cells.push(statusNote(r));
    return cells;
  });
  const unit = isProportion(metric) ? ' (%, differences in points)' : '';
  return { title: `${metric}${unit}`, header, rows };
}

function controlSentence(c: Comparison): string {
  const boot = 'Bootstrap CI from 5 pairs on.';
  if (c.control === 'ratio') return `Δ: difference from the control arm (augmentation.ratio = 0, same cell and ablation), paired by seed. ${boot}`;
  if (c.control === 'ablation') return `Δ: difference from the 'baseline' ablation of the same cell, paired by seed. ${boot}`;
  return 'No control arm in this study (no augmentation.ratio = 0 and no ablations): no deltas.';
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

/** Notes printed after the tables: unfinished runs, orphans, problems. */
export function notes(c: Comparison, orphans: readonly RunResult[]): string[] {
  const out: string[] = [];
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

export function formatTable(c: Comparison, orphans: readonly RunResult[] = []): string {
  const parts = [controlSentence(c) + ' CI: 95%.'];
  for (const m of c.metrics) {
    const s = metricSection(c, m);
    parts.push(`${s.title}\n${textTable([s.header, ...s.rows])}`);
  }
  parts.push(...notes(c, orphans));
  return parts.join('\n\n');
}

export function formatMarkdown(c: Comparison, orphans: readonly RunResult[] = []): string {
  const parts = [`_${controlSentence(c)} Intervals: 95%._`];
  for (const m of c.metrics) {
    const s = metricSection(c, m);
    parts.push(`**${s.title}**\n\n${markdownTable(s.header, s.rows)}`);
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

export function formatCsv(c: Comparison): string {
  const header = [...c.by, 'label', 'role', 'finished', 'running', 'queued', 'failed', 'killed', 'missing'];
  for (const m of c.metrics) {
    header.push(`${m}_n`, `${m}_mean`, `${m}_std`, `${m}_ci_lo`, `${m}_ci_hi`);
    if (c.control !== 'none') header.push(`${m}_delta_n`, `${m}_delta`, `${m}_delta_ci_lo`, `${m}_delta_ci_hi`, `${m}_delta_boot_lo`, `${m}_delta_boot_hi`, `${m}_p`);
  }
  const lines = [header.join(',')];
  for (const r of c.rows) {
    const cells: unknown[] = [...c.by.map((k) => r.values[k]), r.label, r.role, r.counts.finished, r.counts.running, r.counts.queued, r.counts.failed, r.counts.killed, r.counts.missing];
    for (const m of c.metrics) {
      const s = r.stats[m];
      cells.push(s?.n, s?.mean, s?.std, s?.ci?.[0], s?.ci?.[1]);
      if (c.control !== 'none') {
        const d = r.deltas[m];
        cells.push(d?.n, d?.meanDiff, d?.ci?.[0], d?.ci?.[1], d?.bootstrapCi?.[0], d?.bootstrapCi?.[1], d?.p);
      }
    }
    lines.push(cells.map(csvCell).join(','));
  }
  return lines.join('\n');
}

export function formatJson(c: Comparison, orphans: readonly RunResult[] = [], extra: Record<string, unknown> = {}): string {
  const strip = (r: RunResult) => ({ id: r.id, name: r.name, state: r.state, problem: r.problem });
  const value = { ...extra, ...c, unfinished: c.unfinished.map(strip), orphans: orphans.map(strip) };
  // NaN and ±∞ are not JSON: null (a std of n=1, a CI that cannot be estimated).
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
}

export function formatComparison(format: OutputFormat, c: Comparison, orphans: readonly RunResult[] = [], extra: Record<string, unknown> = {}): string {
  switch (format) {
    case 'table':
      return formatTable(c, orphans);
    case 'markdown':
      return formatMarkdown(c, orphans);
    case 'csv':
      return formatCsv(c);
    case 'json':
      return formatJson(c, orphans, extra);
  }
}

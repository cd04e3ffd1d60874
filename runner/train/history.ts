// The metric history of a phase that may be interrupted and replayed. A phase resumed from a
// checkpoint at step S replays exactly what followed S, so the lines written after S by the
// interrupted attempt (and its evaluation line) are dropped first, and the replay writes them
// again: the history ends as an uninterrupted run's, each line once. Lines are compared without
// the fields that measure the machine rather than the training (time, throughput, memory).
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../files/atomic.ts';
import { parseMetricsJsonl, type MetricLine, type MetricsRead } from '../track/run-store.ts';

/** Metric names that differ between two identical trainings (speed, memory). */
export const VOLATILE_METRICS: readonly string[] = ['samples_per_s', 'rss_mb'];

/** A line without its timestamp and volatile metrics: equal for equal training. */
export function stableLine(l: MetricLine): Omit<MetricLine, 't'> {
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(l.metrics)) if (!VOLATILE_METRICS.includes(k)) metrics[k] = v;
  return { phase: l.phase, kind: l.kind, step: l.step, epoch: l.epoch, metrics };
}

const keyOf = (l: MetricLine) => JSON.stringify(stableLine(l));

export function readHistory(file: string): MetricsRead {
  if (!existsSync(file)) return { lines: [], problems: [] };
  return parseMetricsJsonl(readFileSync(file, 'utf8'));
}

function writeHistory(file: string, lines: MetricLine[]): void {
  writeFileAtomic(file, lines.map((l) => JSON.stringify(l) + '\n').join(''));
}

/**
 * Drops what a replay of `phase` from global step `step` writes again: its lines after `step` and
 * its evaluation lines (plus any broken line a kill left). Rewrites the file only when needed.
 */
export function truncatePhase(file: string, phase: string, step: number): void {
  const read = readHistory(file);
  const kept = read.lines.filter((l) => l.phase !== phase || (l.kind !== 'eval' && l.step <= step));
  if (kept.length !== read.lines.length || read.problems.length > 0) writeHistory(file, kept);
}

/**
 * Makes `file` hold exactly `phaseLines` as its lines of `phase`, ahead of its other lines: what a
 * run that reuses (or took over) a shared phase must show. Appends when the file already holds a
 * prefix of that (the usual case, and the only one a follower of the file by line count sees
 * unchanged); rewrites it otherwise.
 */
export function adoptPhaseHistory(file: string, phase: string, phaseLines: MetricLine[]): void {
  const read = readHistory(file);
  const wanted = [...phaseLines, ...read.lines.filter((l) => l.phase !== phase)];
  const isPrefix = read.problems.length === 0 && read.lines.length <= wanted.length && read.lines.every((l, i) => keyOf(l) === keyOf(wanted[i]));
  if (!isPrefix) {
    writeHistory(file, wanted);
    return;
  }
  const missing = wanted.slice(read.lines.length);
  if (missing.length > 0) appendFileSync(file, missing.map((l) => JSON.stringify(l) + '\n').join(''));
}

/**
 * Checks that a finished phase's history is whole: one epoch line for each of epochs 1..epochs
 * and one evaluation line. Returns what is wrong (empty: whole).
 */
export function historyProblems(lines: MetricLine[], phase: string, epochs: number): string[] {
  const mine = lines.filter((l) => l.phase === phase);
  const problems: string[] = [];
  for (let e = 1; e <= epochs; e++) {
    const n = mine.filter((l) => l.kind === 'epoch' && l.epoch === e).length;
    if (n !== 1) problems.push(`${n} lines for epoch ${e}, expected 1`);
  }
  const evals = mine.filter((l) => l.kind === 'eval').length;
  if (evals !== 1) problems.push(`${evals} evaluation lines, expected 1`);
  const steps = mine.filter((l) => l.kind === 'step').map((l) => l.step);
  if (new Set(steps).size !== steps.length) problems.push('a step is logged twice');
  return problems;
}

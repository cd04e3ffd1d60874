// Metric lines of metrics.jsonl as MLflow metric batches: cut into chunks of about
// METRICS_PER_FLUSH values so that progress is saved after each, never a line split in two.
import type { Metric } from './mlflow-limits.ts';
import { metricsOfLines, type PhaseOffsets } from './mlflow-mapping.ts';
import type { MetricLine } from './run-store.ts';

export const METRICS_PER_FLUSH = 5000;

export interface MetricChunk {
  /** How many metric lines the chunk covers. */
  lines: number;
  metrics: Metric[];
}

export function metricChunks(pending: MetricLine[], offsets: PhaseOffsets): MetricChunk[] {
  const chunks: MetricChunk[] = [];
  for (let i = 0; i < pending.length; ) {
    let j = i;
    const metrics: Metric[] = [];
    while (j < pending.length && metrics.length < METRICS_PER_FLUSH) metrics.push(...metricsOfLines([pending[j++]], offsets));
    chunks.push({ lines: j - i, metrics });
    i = j;
  }
  return chunks;
}

/** The last step of the run's single step axis (phases placed one after another). */
export function lastStepOf(lines: MetricLine[], offsets: PhaseOffsets): number {
  return Math.max(0, ...Object.entries(offsets.steps).map(([p, off]) => off + Math.max(0, ...lines.filter((l) => l.phase === p).map((l) => l.step))));
}

/** A batch without exact repeats of a point (key, step, time, value). */
export function dedupe(metrics: Metric[]): Metric[] {
  const seen = new Set<string>();
  return metrics.filter((m) => {
    const k = `${m.key}\u0000${m.step}\u0000${m.timestamp}\u0000${m.value}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

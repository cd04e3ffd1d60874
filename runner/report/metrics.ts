/** What the report knows about metric names (docs/contracts.md, summary.json). Pure. */

/** Accuracy-like metrics in [0, 1]: shown in percent, their differences in points. */
export function isProportion(metric: string): boolean {
  return /(^|_)acc($|_)|retrieval_|_r\d+$/.test(metric);
}

/** Metrics where lower is better. */
export function lowerIsBetter(metric: string): boolean {
  return metric === 'modality_gap' || metric.endsWith('loss');
}

/**
 * The values a metric can take, when bounded. A confidence interval of the mean is clipped
 * to it: the mean cannot leave it, so clipping keeps the coverage and avoids "101.4%".
 */
export function metricRange(metric: string): [number, number] | undefined {
  if (isProportion(metric)) return [0, 1];
  // distance between the centroids of L2-normalised embeddings
  if (metric === 'modality_gap') return [0, 2];
  return undefined;
}

// Which arm leads on a metric, by mean: what the MLflow parent run shows as `best/<metric>` and
// `mmrun.best_arm.<metric>`. A ranking by mean only; whether the lead is real is the comparison
// table's job (intervals, Holm-adjusted tests against the control).
import type { Row } from './aggregate.ts';
import { lowerIsBetter } from './metrics.ts';

export interface LeadingArm {
  label: string;
  mean: number;
}

/** The row with the best finite mean (lowest for losses and the modality gap); the first on ties; undefined when no row has one. */
export function leadingArm(rows: readonly Pick<Row, 'label' | 'stats'>[], metric: string): LeadingArm | undefined {
  const lower = lowerIsBetter(metric);
  let best: LeadingArm | undefined;
  for (const row of rows) {
    const mean = row.stats[metric]?.mean;
    if (mean === undefined || !Number.isFinite(mean)) continue;
    if (!best || (lower ? mean < best.mean : mean > best.mean)) best = { label: row.label, mean };
  }
  return best;
}

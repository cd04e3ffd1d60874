// What sync puts on a sweep's MLflow parent run besides its own fields: the sweep's analysis.
// Track only defines its shape; the caller supplies how to build it (runner/report's
// buildSweepAnalysis, passed by commands and launch), so that track never imports report.
import type { KeyValue, Metric } from './mlflow-limits.ts';
import type { ArtifactSource } from './sync-artifacts.ts';

export interface SweepAnalysis {
  files: ArtifactSource[];
  metrics: Metric[];
  params: KeyValue[];
  tags: KeyValue[];
}

/**
 * Builds the analysis of the sweep planned in `planFile` whose runs are under `artifactsDir`.
 * `step`: the version of the analysis (metrics of a later version are new points, never a second
 * value at the same step). Throws (MmrunError) when there is nothing to analyse.
 */
export type SweepAnalyzer = (planFile: string, artifactsDir: string, step: number) => Promise<SweepAnalysis>;

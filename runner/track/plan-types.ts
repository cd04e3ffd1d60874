// RunSpec and Plan as described in docs/contracts.md. runner/sweep owns them; until
// runner/sweep/index.ts exports them this file mirrors the contract so track/ compiles.
import type { Experiment } from '../config/types.gen.ts';

export interface RunSpec {
  id: string;
  name: string;
  coords: Record<string, unknown>;
  ablation: string;
  seed: number;
  config: Experiment;
}

export interface Plan {
  experiment: string;
  sweepId: string;
  file: string;
  contentHash: string;
  runs: RunSpec[];
  factors: { grid: Record<string, number>; ablations: number; seeds: number };
}

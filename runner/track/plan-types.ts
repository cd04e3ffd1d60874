// RunSpec and Plan are owned by runner/sweep (docs/contracts.md); track/ only reads them.
export type { Plan, RunSpec } from '../sweep/index.ts';

/** Files a launcher keeps in `artifacts/sweeps/<sweepId>/` (docs/contracts.md, "Artifacts layout"). */
import { join } from 'node:path';
import { sweepDirOf } from '../track/run-store.ts';

export interface SweepFiles {
  dir: string;
  plan: string; // plan.json
  lock: string; // lock: {pid, host, since, heartbeatAt}
  stop: string; // MMRUN_STOP_FILE given to workers: created on the first Ctrl-C
  slurm: string; // slurm.json: the job arrays submitted for this sweep
}

export function sweepFiles(artifactsDir: string, sweepId: string): SweepFiles {
  const dir = sweepDirOf(artifactsDir, sweepId);
  return {
    dir,
    plan: join(dir, 'plan.json'),
    lock: join(dir, 'lock'),
    stop: join(dir, 'stop'),
    slurm: join(dir, 'slurm.json'),
  };
}

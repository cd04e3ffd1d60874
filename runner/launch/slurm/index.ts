/**
 * The Slurm engine behind the Launcher interface: one held-then-released `sbatch --array` job per
 * submission. Split by concern: commands.ts (the only code running Slurm binaries), parse.ts
 * (squeue/scontrol output), state-file.ts (slurm.json), script.ts (the batch script), sweep.ts
 * (submit, follow, reconcile, retry, cancel).
 */
import type { EngineRunState, Launcher, LaunchRequest, SweepRef } from '../launcher.ts';
import { checkSlurmAvailable, queryTasks } from './commands.ts';
import { isActive, taskKey } from './parse.ts';
import { readSlurmState, runOfTask } from './state-file.ts';
import { adoptHeldJobs, cancelSlurmSweep, runSlurmSweep } from './sweep.ts';

export const slurmLauncher: Launcher = {
  name: 'slurm',
  checkAvailable: checkSlurmAvailable,
  involved: (sweep: SweepRef) => sweep.configured === 'slurm' || readSlurmState(sweep.files.slurm).jobs.length > 0,
  adoptOrphans: adoptHeldJobs,
  submit: (req: LaunchRequest) => runSlurmSweep(req),
  async states(sweep: SweepRef): Promise<EngineRunState[]> {
    const state = readSlurmState(sweep.files.slurm);
    const out: EngineRunState[] = [];
    for (const t of await queryTasks(sweep.plan.sweepId, sweep.env)) {
      const runId = runOfTask(state, t);
      if (runId) out.push({ runId, task: taskKey(t.jobId, t.taskId), state: t.state, active: isActive(t.state) });
    }
    return out;
  },
  async cancel(sweep: SweepRef): Promise<string[]> {
    const jobs = await cancelSlurmSweep(sweep.plan.sweepId, sweep.env, sweep.artifactsDir, sweep.files.slurm);
    if (jobs.length === 0) return [];
    return [`Cancelled Slurm job${jobs.length === 1 ? '' : 's'} ${jobs.join(', ')} of sweep ${sweep.plan.sweepId}: running tasks checkpoint and stop (SIGTERM); \`mmrun run\` resumes them.`];
  },
};

export { checkSlurmAvailable, queryTasks } from './commands.ts';
export { isActive, parseScontrolJobs, parseSqueue, taskKey, type TaskState } from './parse.ts';
export { jobNameOf, slurmScript, TIMED_OUT_MARKER, type ScriptOptions } from './script.ts';
export { readSlurmState, type SlurmJobRecord, type SlurmState } from './state-file.ts';
export { cancelSlurmSweep, runSlurmSweep } from './sweep.ts';

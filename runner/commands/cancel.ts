import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { MmrunError } from '../errors.ts';
import type { Command } from './types.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const command: Command = {
  name: 'cancel',
  summary: 'Stop a sweep: scancel its Slurm tasks, or signal its local launcher',
  usage: 'mmrun cancel <experiment.yaml> [--now]',
  options: {
    now: { type: 'boolean', description: 'Local: kill running runs at once instead of letting them checkpoint' },
  },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new MmrunError('mmrun cancel: name one experiment file.');
    const { loadExperiment } = await import('../config/index.ts');
    const { planSweep } = await import('../sweep/index.ts');
    const { sweepFiles, readLock, isLockStale, describeHolder } = await import('../launch/index.ts');
    const slurm = await import('../launch/slurm.ts');
    const loaded = loadExperiment(positionals[0]);
    const plan = planSweep(loaded, { maxRuns: Number.MAX_SAFE_INTEGER });
    const artifactsDir = resolve(loaded.config.artifacts_dir);
    const files = sweepFiles(artifactsDir, plan.sweepId);
    let did = false;

    const slurmJobs = slurm.readSlurmState(files.slurm).jobs;
    if (loaded.config.launcher.type === 'slurm' || slurmJobs.length > 0) {
      const cancelled = await slurm.cancelSlurmSweep(plan.sweepId, process.env, artifactsDir);
      if (cancelled.length) {
        console.log(`Cancelled Slurm job${cancelled.length === 1 ? '' : 's'} ${cancelled.join(', ')} of sweep ${plan.sweepId}: running tasks checkpoint and stop (SIGTERM); \`mmrun run\` resumes them.`);
        did = true;
      }
    }

    // A Slurm launcher following the array sees its tasks end and records them: only a local
    // launcher is signalled.
    const holder = loaded.config.launcher.type === 'local' ? readLock(files.lock) : undefined;
    if (holder && !isLockStale(holder)) {
      if (holder.host !== hostname()) {
        throw new MmrunError(`sweep ${plan.sweepId} is launched by ${describeHolder(holder)}, another machine: run \`mmrun cancel\` there.`);
      }
      process.kill(holder.pid, 'SIGTERM');
      if (values.now) {
        await sleep(300);
        process.kill(holder.pid, 'SIGTERM'); // a second signal: the launcher kills its runs at once
      }
      console.log(
        values.now
          ? `Asked the launcher (${describeHolder(holder)}) to kill its runs now.`
          : `Asked the launcher (${describeHolder(holder)}) to stop: running runs finish their current epoch checkpoint and stop; \`mmrun run\` resumes them.`,
      );
      did = true;
    }
    if (!did) console.log(`Nothing to cancel: no launcher is running sweep ${plan.sweepId} and no Slurm task of it is pending or running.`);
    return 0;
  },
};

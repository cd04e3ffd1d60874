import { resolve } from 'node:path';
import { MmrunError } from '../errors.ts';
import type { Command } from './types.ts';

export const command: Command = {
  name: 'status',
  summary: 'Show the runs of a sweep: state, duration, key metric (and Slurm tasks)',
  usage: 'mmrun status <experiment.yaml> [--json]',
  options: {
    json: { type: 'boolean', description: 'Print the rows as JSON' },
  },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new MmrunError('mmrun status: name one experiment file.');
    const { loadExperiment } = await import('../config/index.ts');
    const { planSweep } = await import('../sweep/index.ts');
    const { statusRows, formatStatusTable, countStates } = await import('../launch/sweep-status.ts');
    const { sweepFiles, readLock, isLockStale, describeHolder } = await import('../launch/index.ts');
    const loaded = loadExperiment(positionals[0]);
    const plan = planSweep(loaded, { maxRuns: Number.MAX_SAFE_INTEGER });
    const artifactsDir = resolve(loaded.config.artifacts_dir);
    const files = sweepFiles(artifactsDir, plan.sweepId);
    let tasks: import('../launch/slurm.ts').TaskState[] = [];
    const notes: string[] = [];
    const slurm = await import('../launch/slurm.ts');
    const usesSlurm = loaded.config.launcher.type === 'slurm' || slurm.readSlurmState(files.slurm).jobs.length > 0;
    if (usesSlurm) {
      try {
        tasks = await slurm.queryTasks(plan.sweepId, process.env);
      } catch (err) {
        notes.push(`(Slurm queue not available: ${(err as Error).message.split('\n')[0]}; states are from the run directories only)`);
      }
    }
    const rows = statusRows(plan, artifactsDir, tasks);
    if (values.json) {
      console.log(JSON.stringify({ sweepId: plan.sweepId, artifactsDir, runs: rows }, null, 2));
      return 0;
    }
    console.log(formatStatusTable(rows, { slurm: usesSlurm, width: process.stdout.columns || 200 }));
    console.log('');
    console.log(`${plan.experiment} (sweep ${plan.sweepId}): ${plan.runs.length} runs: ${countStates(rows)}.`);
    const holder = readLock(files.lock);
    if (holder && !isLockStale(holder)) console.log(`Being launched by ${describeHolder(holder)}.`);
    if (rows.some((r) => r.state === 'stale')) console.log('stale: left running by a launcher that is gone; `mmrun run` resumes them from their checkpoints.');
    for (const n of notes) console.log(n);
    return 0;
  },
};

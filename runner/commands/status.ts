import { resolve } from 'node:path';
import { MmrunError } from '../errors.ts';
import { MAX_RUNS_OPTION, type Command } from './types.ts';

export const command: Command = {
  name: 'status',
  summary: 'Show the runs of a sweep: state, duration, key metric (and the launcher\'s tasks, e.g. Slurm)',
  usage: 'mmrun status <experiment.yaml> [--json]',
  options: {
    'max-runs': MAX_RUNS_OPTION,
    json: { type: 'boolean', description: 'Print the rows as JSON' },
  },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new MmrunError('mmrun status: name one experiment file.');
    const { planExperiment } = await import('../plan-experiment.ts');
    const { statusRows, formatStatusTable, countStates } = await import('../launch/sweep-status.ts');
    const { sweepFiles, sweepLockHolder, describeHolder, launchersInvolvedIn } = await import('../launch/index.ts');
    const { loaded, plan } = planExperiment(positionals[0], { maxRuns: values['max-runs'] as number | undefined, adoptLegacyRunsIn: true });
    const artifactsDir = resolve(loaded.config.artifacts_dir);
    const sweep = { plan, artifactsDir, files: sweepFiles(artifactsDir, plan.sweepId), configured: loaded.config.launcher.type, env: process.env };
    const tasks: import('../launch/index.ts').EngineRunState[] = [];
    const notes: string[] = [];
    let showTasks = false;
    for (const launcher of await launchersInvolvedIn(sweep)) {
      try {
        const states = await launcher.states(sweep);
        tasks.push(...states);
        showTasks ||= launcher.name !== 'local' || states.length > 0;
      } catch (err) {
        showTasks = true;
        notes.push(`(${launcher.name} launcher not available: ${(err as Error).message.split('\n')[0]}; states are from the run directories only)`);
      }
    }
    const rows = statusRows(plan, artifactsDir, tasks);
    if (values.json) {
      console.log(JSON.stringify({ sweepId: plan.sweepId, artifactsDir, runs: rows }, null, 2));
      return 0;
    }
    console.log(formatStatusTable(rows, { tasks: showTasks, width: process.stdout.columns || 200 }));
    console.log('');
    console.log(`${plan.experiment} (sweep ${plan.sweepId}): ${plan.runs.length} runs: ${countStates(rows)}.`);
    const holder = sweepLockHolder(sweep.files.lock);
    if (holder) console.log(`Being launched by ${describeHolder(holder)}.`);
    if (rows.some((r) => r.state === 'stale')) console.log('stale: left running by a launcher that is gone; `mmrun run` resumes them from their checkpoints.');
    for (const n of notes) console.log(n);
    return 0;
  },
};

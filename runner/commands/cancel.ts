import { resolve } from 'node:path';
import { MmrunError } from '../errors.ts';
import { MAX_RUNS_OPTION, type Command } from './types.ts';

export const command: Command = {
  name: 'cancel',
  summary: 'Stop a sweep: its launcher\'s runs checkpoint and stop (local launcher signalled, Slurm tasks scancelled)',
  usage: 'mmrun cancel <experiment.yaml> [--now]',
  options: {
    'max-runs': MAX_RUNS_OPTION,
    now: { type: 'boolean', description: 'Local: kill running runs at once instead of letting them checkpoint' },
  },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new MmrunError('mmrun cancel: name one experiment file.');
    const { planExperiment } = await import('../plan-experiment.ts');
    const { sweepFiles, launchersInvolvedIn } = await import('../launch/index.ts');
    const { loaded, plan } = planExperiment(positionals[0], { maxRuns: values['max-runs'] as number | undefined });
    const artifactsDir = resolve(loaded.config.artifacts_dir);
    const sweep = { plan, artifactsDir, files: sweepFiles(artifactsDir, plan.sweepId), configured: loaded.config.launcher.type, env: process.env };
    let did = false;
    for (const launcher of await launchersInvolvedIn(sweep)) {
      for (const line of await launcher.cancel(sweep, { now: Boolean(values.now) })) {
        console.log(line);
        did = true;
      }
    }
    if (!did) console.log(`Nothing to cancel: no launcher is running sweep ${plan.sweepId} and no task of it is pending or running.`);
    return 0;
  },
};

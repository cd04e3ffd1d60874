import { ConfigError, MmrunError } from '../errors.ts';
import { checkBackendsInstalled } from '../model/backend/preflight.ts';
import { planExperiment } from '../plan-experiment.ts';
import { MAX_RUNS_OPTION, type Command } from './types.ts';

export const command: Command = {
  name: 'validate',
  summary: 'Check experiment files; list every problem with file:line:col',
  usage: 'mmrun validate <file...>',
  options: { 'max-runs': MAX_RUNS_OPTION },
  async run({ positionals, values }) {
    if (positionals.length === 0) throw new MmrunError('mmrun validate: name at least one experiment file.');
    let failed = 0;
    for (const file of positionals) {
      try {
        const { plan } = planExperiment(file, { maxRuns: values['max-runs'] as number | undefined });
        checkBackendsInstalled(file, plan.runs.map((r) => r.config.model.backend));
        console.log(`${file}: valid (${plan.runs.length} run${plan.runs.length === 1 ? '' : 's'})`);
      } catch (err) {
        if (!(err instanceof MmrunError)) throw err;
        failed++;
        const count = err instanceof ConfigError ? err.problems.length : 1;
        console.error(`${err.message}${err.hint ? `\n${err.hint}` : ''}\n\n${file}: ${count} problem${count === 1 ? '' : 's'}\n`);
      }
    }
    return failed ? 1 : 0;
  },
};

import { ConfigError, MmrunError } from '../errors.ts';
import { loadExperiment } from '../config/index.ts';
import { planSweep } from '../sweep/index.ts';
import type { Command } from './types.ts';

export const command: Command = {
  name: 'validate',
  summary: 'Check experiment files; list every problem with file:line:col',
  usage: 'mmrun validate <file...>',
  options: { 'max-runs': { type: 'string', description: 'Largest sweep accepted', default: '10000' } },
  async run({ positionals, values }) {
    if (positionals.length === 0) throw new MmrunError('mmrun validate: name at least one experiment file.');
    let failed = 0;
    for (const file of positionals) {
      try {
        const plan = planSweep(loadExperiment(file), { maxRuns: Number(values['max-runs'] ?? 10000) });
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

import { MmrunError } from '../errors.ts';
import { runWorker } from '../train/worker.ts';
import type { Command } from './types.ts';

export const command: Command = {
  name: 'worker',
  summary: 'Train one run in its run directory (what launchers call); resumes from its checkpoint',
  usage: 'mmrun worker <run-dir>',
  async run({ positionals }) {
    if (positionals.length !== 1) throw new MmrunError('mmrun worker: expected exactly one argument, the run directory (artifacts/runs/<id>).');
    return runWorker(positionals[0]);
  },
};

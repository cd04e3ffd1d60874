import { MmrunError } from '../errors.ts';
import type { Command } from './types.ts';

function positiveInt(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new MmrunError(`${flag} expects a whole number ≥ 1, got '${value}'.`);
  return n;
}

/** What a researcher looks at after a sweep: the comparison over seeds, and the report's path. */
async function showResults(file: string): Promise<void> {
  const { compareStudy, loadStudy } = await import('../report/study.ts');
  const { formatComparison } = await import('../report/format.ts');
  const { buildReport } = await import('../report/build.ts');
  try {
    const study = loadStudy(file, {});
    const comparison = compareStudy(study, {});
    console.log('\n' + formatComparison('table', comparison, study.orphans, { experiment: study.plan.experiment, sweepId: study.plan.sweepId }));
    const { html } = await buildReport(study, {});
    console.log(`\nReport: ${html}  (open it in a browser; \`mmrun compare --help\` for other views)`);
  } catch (err) {
    if (!(err instanceof MmrunError)) throw err;
    console.log(`\n(no comparison yet: ${err.message})`);
  }
}

export const command: Command = {
  name: 'run',
  summary: 'Run a sweep: launch every run not finished yet (local pool or Slurm array); rerun to resume',
  usage: 'mmrun run <experiment.yaml> [--jobs N] [--only <id>...] [--wait] [--detach]',
  options: {
    jobs: { type: 'string', short: 'j', description: 'Runs at once (overrides launcher.jobs)', integer: { min: 1 } },
    only: { type: 'string', multiple: true, description: 'Run only this run id (or unique prefix), in the foreground' },
    wait: { type: 'boolean', description: 'If another `mmrun run` holds this sweep, wait for it instead of failing' },
    detach: { type: 'boolean', description: 'Slurm: submit the job array and return at once' },
    'max-runs': { type: 'string', description: 'Largest sweep accepted', default: '10000', integer: { min: 1 } },
    'no-report': { type: 'boolean', description: 'Do not print the comparison nor write the HTML report at the end' },
  },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new MmrunError('mmrun run: name one experiment file, e.g. `mmrun run experiments/quickstart.yaml`.');
    const { runSweep } = await import('../launch/index.ts');
    const outcome = await runSweep({
      file: positionals[0],
      jobs: positiveInt(values.jobs, '--jobs'),
      only: values.only as string[] | undefined,
      wait: Boolean(values.wait),
      detach: Boolean(values.detach),
      maxRuns: positiveInt(values['max-runs'] ?? '10000', '--max-runs'),
      handleSignals: true,
    });
    const wholeSweepRan = !values.only && !values.detach && outcome.exitCode !== 130;
    if (wholeSweepRan && !values['no-report']) await showResults(positionals[0]);
    return outcome.exitCode;
  },
};

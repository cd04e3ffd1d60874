import { MmrunError } from '../errors.ts';
import { planExperiment } from '../plan-experiment.ts';
import { planSize, type Plan } from '../sweep/index.ts';
import { MAX_RUNS_OPTION, type Command } from './types.ts';

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

export function formatPlan(plan: Plan): string {
  const gridPaths = Object.keys(plan.factors.grid);
  const header = ['id', ...gridPaths.map((p) => p.split('.').pop()!), 'ablation', 'seed'];
  const rows = plan.runs.map((r) => [r.id, ...gridPaths.map((p) => JSON.stringify(r.coords[p])), r.ablation, String(r.seed)]);
  const f = plan.factors;
  const factors = [...Object.entries(f.grid).map(([k, n]) => `${n} ${k}`), `${f.ablations + 1} ablation${f.ablations ? 's (baseline included)' : ' (baseline)'}`, `${f.seeds} seed${f.seeds === 1 ? '' : 's'}`];
  return `${table([header, ...rows])}\n\n${plan.experiment} (sweep ${plan.sweepId}): ${planSize(f)} run${planSize(f) === 1 ? '' : 's'} = ${factors.join(' × ')}`;
}

export const command: Command = {
  name: 'plan',
  summary: 'Show the runs an experiment file expands to',
  usage: 'mmrun plan <file> [--json]',
  options: {
    json: { type: 'boolean', description: 'Print the RunSpecs as JSON' },
    'max-runs': MAX_RUNS_OPTION,
  },
  async run({ positionals, values }) {
    if (positionals.length !== 1) throw new MmrunError('mmrun plan: name one experiment file.');
    const { plan } = planExperiment(positionals[0], { maxRuns: values['max-runs'] as number | undefined });
    console.log(values.json ? JSON.stringify(plan, null, 2) : formatPlan(plan));
    return 0;
  },
};

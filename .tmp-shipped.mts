import { loadExperiment } from './runner/config/index.ts';
import { planSweep } from './runner/sweep/index.ts';
import { writeRun } from './tests/fixtures/runs-synthetic.ts';
import { rmSync } from 'node:fs';
for (const name of ['quickstart', 'ablations', 'shared-space', 'text-aug-ratio']) {
  const dir = `/tmp/rep/shipped/${name}`;
  rmSync(dir, { recursive: true, force: true });
  const plan = planSweep(loadExperiment(`experiments/${name}.yaml`));
  for (const run of plan.runs) writeRun(dir, plan, run, 'finished');
  console.log(name, plan.runs.length);
}

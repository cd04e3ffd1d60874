import { loadExperiment } from './runner/config/index.ts';
import { planSweep } from './runner/sweep/index.ts';
import { RunStore } from './runner/track/run-store.ts';
import { execFileSync } from 'node:child_process';
const plan = planSweep(loadExperiment(process.argv[2]));
for (const run of plan.runs) {
  const store = RunStore.create(run.config.artifacts_dir, run, { sweepId: plan.sweepId, experimentFile: plan.file });
  if (store.readStatus()?.state === 'finished') continue;
  const t0 = Date.now();
  try {
    execFileSync('node', ['bin/mmrun.js', 'worker', store.dir], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, MMRUN_THREADS: '1' } });
  } catch (e) { console.log('worker failed', (e as Error).message); }
  console.log(run.name, ((Date.now() - t0) / 1000).toFixed(1), 's', store.readStatus()?.state);
}

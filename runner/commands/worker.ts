import { MmrunError } from '../errors.ts';
import { RunStore } from '../track/run-store.ts';
import { resolveTrackingUri } from '../track/tracking-uri.ts';
import { redactCredentials } from '../config/tracking-uri.ts';
import type { Command } from './types.ts';

/**
 * After the run ends, push it to MLflow when a server is configured: on a cluster with
 * `--detach` no launcher stays alive to do it. Idempotent and locked, so it is safe beside the
 * launcher's own sync loop; a failure only warns (`mmrun sync` replays it later).
 */
async function syncOnExit(runDir: string): Promise<void> {
  // Tracking never decides the run's outcome: a bad URI or a failing server is a warning only.
  try {
    const uri = resolveTrackingUri(RunStore.open(runDir).readSpec().config);
    if (!uri) return;
    const { syncRuns } = await import('../track/sync.ts');
    // The last run of a sweep to end uploads the sweep's report (no launcher may be left to do it).
    const { buildSweepAnalysis } = await import('../report/sweep-analysis.ts');
    await syncRuns({ uri, runDirs: [runDir], log: () => undefined, analyzeSweep: buildSweepAnalysis });
  } catch (err) {
    console.error(`warning: could not sync this run to MLflow (${redactCredentials((err as Error).message)}); the run directory keeps everything and \`mmrun sync\` replays it later.`);
  }
}

export const command: Command = {
  name: 'worker',
  summary: 'Train one run in its run directory (what launchers call); resumes from its checkpoint',
  usage: 'mmrun worker <run-dir>',
  async run({ positionals }) {
    if (positionals.length !== 1) throw new MmrunError('mmrun worker: expected exactly one argument, the run directory (artifacts/runs/<id>).');
    // Loaded here, not at the top: `mmrun --help` lists every command and must not load TensorFlow.js.
    const { runWorker } = await import('../train/worker.ts');
    const code = await runWorker(positionals[0]);
    await syncOnExit(positionals[0]);
    return code;
  },
};

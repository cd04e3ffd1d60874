import { MmrunError } from '../errors.ts';
import { RunStore } from '../track/run-store.ts';
import { resolveTrackingUri } from '../track/tracking-uri.ts';
import { runWorker } from '../train/worker.ts';
import type { Command } from './types.ts';

/**
 * After the run ends, push it to MLflow when a server is configured: on a cluster with
 * `--detach` no launcher stays alive to do it. Idempotent and locked, so it is safe beside the
 * launcher's own sync loop; a failure only warns (`mmrun sync` replays it later).
 */
async function syncOnExit(runDir: string): Promise<void> {
  const spec = RunStore.open(runDir).readSpec();
  const uri = resolveTrackingUri(spec.config);
  if (!uri) return;
  try {
    const { syncRuns } = await import('../track/sync.ts');
    await syncRuns({ uri, runDirs: [runDir], log: () => undefined });
  } catch (err) {
    console.error(`warning: could not sync this run to MLflow (${(err as Error).message}); \`mmrun sync\` will replay it later.`);
  }
}

export const command: Command = {
  name: 'worker',
  summary: 'Train one run in its run directory (what launchers call); resumes from its checkpoint',
  usage: 'mmrun worker <run-dir>',
  async run({ positionals }) {
    if (positionals.length !== 1) throw new MmrunError('mmrun worker: expected exactly one argument, the run directory (artifacts/runs/<id>).');
    const code = await runWorker(positionals[0]);
    await syncOnExit(positionals[0]);
    return code;
  },
};

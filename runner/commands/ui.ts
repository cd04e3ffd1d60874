import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { MmrunError } from '../errors.ts';
import type { Command } from './types.ts';
import { findMlflowBin, freePort, startLocalMlflow } from '../track/local-server.ts';
import { listRunDirs, startSyncLoop, syncRuns } from '../track/index.ts';
import { describeReport } from './sync.ts';
import { buildSweepAnalysis } from '../report/sweep-analysis.ts';

async function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((ok) => {
    const srv = createServer();
    srv.once('error', () => ok(false));
    srv.listen(port, host, () => srv.close(() => ok(true)));
  });
}

export const command: Command = {
  name: 'ui',
  summary: 'Start a local MLflow server on the artifacts folder, sync the runs, print its URL',
  usage: 'mmrun ui [experiment.yaml]',
  options: {
    port: { type: 'string', description: 'Port (default: 5000 when free, else any free port)', integer: { min: 1, max: 65535 } },
    'artifacts-dir': { type: 'string', description: 'Artifacts folder (default: the experiment\'s artifacts_dir, else ./artifacts)' },
  },
  async run({ positionals, values }) {
    const mlflowBin = findMlflowBin();
    if (!mlflowBin) {
      throw new MmrunError(
        '`mmrun ui` needs the `mlflow` command, which is not installed.',
        'Install it with `pip install mlflow` (or `bash scripts/setup-python.sh`, which puts it in ./.venv), or point MMRUN_MLFLOW at it.',
      );
    }
    let artifactsDir = values['artifacts-dir'] as string | undefined;
    if (!artifactsDir && positionals[0]) {
      const { loadExperiment } = await import('../config/index.ts');
      artifactsDir = loadExperiment(positionals[0]).config.artifacts_dir;
    }
    artifactsDir = resolve(artifactsDir ?? 'artifacts');
    const host = '127.0.0.1';
    const port = values.port ? Number(values.port) : (await portIsFree(5000, host)) ? 5000 : await freePort(host);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new MmrunError(`mmrun ui: --port must be a port number, not '${values.port}'.`);

    const dir = join(artifactsDir, 'mlflow');
    console.log(`Starting MLflow (${mlflowBin}) with its data in ${dir} ...`);
    const server = await startLocalMlflow({ mlflowBin, dir, port, host });
    try {
      const runDirs = listRunDirs(artifactsDir);
      if (runDirs.length) for (const line of describeReport(await syncRuns({ uri: server.uri, runDirs, analyzeSweep: buildSweepAnalysis }))) console.log(line);
      else console.log(`No run directories under ${artifactsDir}/runs yet.`);
      const loop = startSyncLoop({ uri: server.uri, artifactsDir, intervalMs: 5000, analyzeSweep: buildSweepAnalysis });
      console.log(`\nMLflow UI: ${server.uri}\n(new runs are synced every 5 s; Ctrl-C stops the server)`);
      await new Promise<void>((done) => {
        const finish = () => done();
        process.once('SIGINT', finish);
        process.once('SIGTERM', finish);
        void server.exited.then(finish);
      });
      console.log('Stopping MLflow ...');
      await loop.stop();
    } finally {
      await server.stop();
    }
    return 0;
  },
};

// A real `mlflow server` for tests: free loopback port, SQLite backend and artifact store in
// a temp dir, stopped (whole process group) by stop(). restart() brings it back on the same
// port and database, for "server killed mid-sync" tests.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLocalMlflow, type LocalMlflow } from '../../runner/track/local-server.ts';

export const MLFLOW_BIN = resolve(import.meta.dirname, '../../.venv/bin/mlflow');

export interface TestMlflow {
  uri: string;
  port: number;
  dir: string;
  /** Kills the server (SIGKILL to its group when `hard`), keeping its data. */
  kill(hard?: boolean): Promise<void>;
  /** Starts it again on the same port with the same database. */
  restart(): Promise<void>;
  /** Stops it and removes its data. */
  stop(): Promise<void>;
}

/** True when MLflow is installed; otherwise throws how to install it (or returns false when allowed to skip). */
export function mlflowAvailable(): boolean {
  if (existsSync(MLFLOW_BIN)) return true;
  if (process.env.MMRUN_ALLOW_MISSING_SERVICES === '1') return false;
  throw new Error(`MLflow is not installed at ${MLFLOW_BIN}: run \`bash scripts/setup-test-env.sh\` (or \`bash scripts/setup-python.sh\`), or set MMRUN_ALLOW_MISSING_SERVICES=1 to skip.`);
}

export async function startMlflowServer(opts: { serveArtifacts?: boolean } = {}): Promise<TestMlflow> {
  mlflowAvailable();
  const dir = mkdtempSync(join(tmpdir(), 'mmrun-mlflow-'));
  let server: LocalMlflow = await startLocalMlflow({ mlflowBin: MLFLOW_BIN, dir, serveArtifacts: opts.serveArtifacts });
  const port = server.port;
  return {
    uri: server.uri,
    port,
    dir,
    async kill(hard = true) {
      if (hard) {
        try {
          process.kill(-server.pid, 'SIGKILL');
        } catch {
          // gone
        }
        await server.exited;
      } else {
        await server.stop();
      }
    },
    async restart() {
      await server.stop();
      server = await startLocalMlflow({ mlflowBin: MLFLOW_BIN, dir, port, serveArtifacts: opts.serveArtifacts });
    },
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

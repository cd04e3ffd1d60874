// A real `mlflow server` for tests: free loopback port, SQLite backend and artifact store in
// a temp dir, stopped (whole process group) by stop(). restart() brings it back on the same
// port and database, for "server killed mid-sync" tests.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startLocalMlflow, type LocalMlflow } from '../../runner/track/local-server.ts';
import type { MlflowClient, MlflowRun } from '../../runner/track/mlflow-client.ts';

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

export interface FaultyProxy {
  uri: string;
  /** Requests forwarded, and answers thrown away after the server had handled the request. */
  stats: { requests: number; droppedAnswers: number; upstreamDown: number };
  close(): Promise<void>;
}

export interface ProxyFaults {
  /** Delay added before forwarding each request and again before each answer (ms). */
  latencyMs: number;
  /** Random extra delay up to this many ms, so concurrent requests reorder. */
  jitterMs?: number;
  /**
   * Every n-th POST's answer is dropped (connection reset) after the server has handled it: the
   * client cannot tell whether a create happened, the case a blind retry turns into a duplicate.
   */
  dropAnswerEvery?: number;
}

/**
 * A loopback HTTP proxy in front of a test server that injects latency and lost answers. When the
 * server is down (restarting) it answers 502, as a reverse proxy in front of MLflow would.
 */
export async function startFaultyProxy(targetPort: number, faults: ProxyFaults): Promise<FaultyProxy> {
  const { createServer: createHttpServer, request } = await import('node:http');
  const stats = { requests: 0, droppedAnswers: 0, upstreamDown: 0 };
  let posts = 0;
  const pause = () => new Promise((r) => setTimeout(r, faults.latencyMs + Math.random() * (faults.jitterMs ?? 0)));
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      stats.requests++;
      const drop = req.method === 'POST' && faults.dropAnswerEvery !== undefined && ++posts % faults.dropAnswerEvery === 0;
      await pause();
      const up = request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: { ...req.headers, connection: 'close' } }, (upRes) => {
        const body: Buffer[] = [];
        upRes.on('data', (c: Buffer) => body.push(c));
        upRes.on('end', async () => {
          await pause();
          if (drop) {
            stats.droppedAnswers++;
            req.socket.destroy();
            return;
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(Buffer.concat(body));
        });
      });
      up.on('error', () => {
        stats.upstreamDown++;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('bad gateway: upstream down');
      });
      up.end(Buffer.concat(chunks));
    });
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return {
    uri: `http://127.0.0.1:${port}`,
    stats,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

/** A run's tags as a plain object. */
export function tagsOf(r: MlflowRun): Record<string, string> {
  return Object.fromEntries((r.data.tags ?? []).map((t) => [t.key, t.value]));
}

/** Every run of an MLflow experiment, by name ([] when the experiment does not exist). */
export async function runsOfExperiment(client: MlflowClient, experiment: string): Promise<MlflowRun[]> {
  const exp = await client.getExperimentByName(experiment);
  return exp ? client.searchRuns({ experimentIds: [exp.experiment_id] }) : [];
}

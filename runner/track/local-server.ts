// Starts a local `mlflow server` (loopback, SQLite backend, artifact proxy) for `mmrun ui`
// and the tests. The server runs in its own process group so stopping it also stops the
// uvicorn/gunicorn workers it forks.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MmrunError } from '../errors.ts';

export interface LocalMlflow {
  uri: string;
  port: number;
  pid: number;
  /** Stops the server and every process it started. */
  stop(): Promise<void>;
  /** Resolves when the server process exits (for whatever reason). */
  exited: Promise<number | null>;
}

export interface LocalMlflowOptions {
  mlflowBin: string;
  /** Folder for mlflow.db and the artifact store. */
  dir: string;
  port?: number;
  host?: string;
  /** Server output goes here (default: <dir>/server.log). */
  logFile?: string;
  startTimeoutMs?: number;
  /** Proxy artifacts over HTTP (default true); false stores them in <dir>/artifacts directly. */
  serveArtifacts?: boolean;
}

/** The `mlflow` executable: $MMRUN_MLFLOW, then PATH, then ./.venv/bin. */
export function findMlflowBin(cwd = process.cwd()): string | undefined {
  const candidates = [
    process.env.MMRUN_MLFLOW,
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'mlflow')),
    join(cwd, '.venv', 'bin', 'mlflow'),
  ];
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return resolve(c);
    } catch {
      // next
    }
  }
  return undefined;
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, host, () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

export async function startLocalMlflow(opts: LocalMlflowOptions): Promise<LocalMlflow> {
  const host = opts.host ?? '127.0.0.1';
  const dir = resolve(opts.dir);
  mkdirSync(join(dir, 'artifacts'), { recursive: true });
  const port = opts.port ?? (await freePort(host));
  const uri = `http://${host}:${port}`;
  const logFile = opts.logFile ?? join(dir, 'server.log');
  const log = createWriteStream(logFile, { flags: 'a' });
  const child: ChildProcess = spawn(
    opts.mlflowBin,
    [
      'server',
      '--host', host,
      '--port', String(port),
      '--backend-store-uri', `sqlite:///${join(dir, 'mlflow.db')}`,
      ...(opts.serveArtifacts === false
        ? ['--no-serve-artifacts', '--default-artifact-root', join(dir, 'artifacts')]
        : ['--serve-artifacts', '--artifacts-destination', join(dir, 'artifacts')]),
      '--workers', '1',
    ],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // No telemetry (no network), and no job runner: it forks ~8 huey workers for GenAI
      // features mmrun does not use, a real cost on a small machine.
      env: { MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true', MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false', ...process.env },
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
  let running = true;
  void exited.then(() => (running = false));

  const stop = async () => {
    if (!running || child.pid === undefined) return;
    killGroup(child.pid, 'SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(8000).then(() => false)]);
    if (!done) {
      killGroup(child.pid, 'SIGKILL');
      await exited;
    }
    // Workers forked by the server share its group; make sure none outlives it.
    killGroup(child.pid, 'SIGKILL');
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 120_000);
  while (Date.now() < deadline) {
    if (!running) throw new MmrunError(`mlflow server exited during start-up; see ${logFile}.`);
    try {
      const res = await fetch(`${uri}/health`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return { uri, port, pid: child.pid!, stop, exited };
    } catch {
      // not yet listening
    }
    await sleep(300);
  }
  await stop();
  throw new MmrunError(`mlflow server did not answer on ${uri} within ${Math.round((opts.startTimeoutMs ?? 120_000) / 1000)} s; see ${logFile}.`);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

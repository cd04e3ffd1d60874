// Launcher tests: a tiny sweep whose runs are fixture workers (tests/fixtures/workers), driven
// through the real CLI (`node bin/mmrun.js run ...`) as a separate process.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { tempFiles } from './tmp.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const FIXTURE_WORKER = join(ROOT, 'tests/fixtures/workers/fixture-worker.mjs');

export interface FixtureSweep {
  dir: string;
  file: string;
  env: NodeJS.ProcessEnv;
  runIds: string[];
  runDir(id: string): string;
  /**
   * `mmrun <args>` to completion, without blocking this process: vitest's worker keeps answering
   * its parent meanwhile (a test blocked for a minute in spawnSync ends in "Timeout calling
   * onTaskUpdate"). status is null when the command was killed at `timeoutMs`.
   */
  run(args: string[], env?: NodeJS.ProcessEnv, timeoutMs?: number): Promise<{ status: number | null; out: string }>;
  /** `mmrun <args>` in the background. */
  start(args: string[], env?: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exited: Promise<number | null> };
  status(id: string): Record<string, any> | undefined;
  /** Lines of finishes.txt: how many times a worker finished this run. */
  finishes(id: string): string[];
  starts(id: string): string[];
}

/**
 * A command to completion without blocking this process (see FixtureSweep.run): status null when it
 * was killed at `timeoutMs`; stdout and stderr apart and together.
 */
export function runCommand(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ status: number | null; stdout: string; stderr: string; out: string }> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let out = '';
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => ((stdout += d), (out += d)));
    child.stderr!.on('data', (d) => ((stderr += d), (out += d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 240_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: signal ? null : code, stdout, stderr, out });
    });
  });
}

/** `node bin/mmrun.js <args>` to completion, without blocking this process. */
export const runMmrun = (args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }) => runCommand(process.execPath, [join(ROOT, 'bin/mmrun.js'), ...args], opts);

/** A sweep file in a temporary folder, planned with the real CLI (`mmrun plan`, without blocking this process). */
export async function fixtureSweep(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<FixtureSweep> {
  const t = tempFiles({ 'sweep.yaml': yaml });
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    MMRUN_WORKER_COMMAND: JSON.stringify([process.execPath, FIXTURE_WORKER]),
    MMRUN_SKIP_PREPARE: '1',
    MLFLOW_TRACKING_URI: '',
    ...env,
  };
  const cli = join(ROOT, 'bin/mmrun.js');
  const plan = await runMmrun(['plan', 'sweep.yaml', '--json'], { cwd: t.dir, env: baseEnv, timeoutMs: 120_000 });
  if (plan.status !== 0) throw new Error(`mmrun plan failed (${plan.status === null ? 'killed after 120 s' : `exit ${plan.status}`}): ${plan.stderr}`);
  const runIds = (JSON.parse(plan.stdout) as { runs: { id: string }[] }).runs.map((r) => r.id);
  const runDir = (id: string) => join(t.dir, 'artifacts/runs', id);
  const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean) : []);
  return {
    dir: t.dir,
    file: join(t.dir, 'sweep.yaml'),
    env: baseEnv,
    runIds,
    runDir,
    run(args, extra = {}, timeoutMs = 240_000) {
      return runMmrun(args, { cwd: t.dir, env: { ...baseEnv, ...extra }, timeoutMs }).then(({ status, out }) => ({ status, out }));
    },
    start(args, extra = {}) {
      let out = '';
      const child = spawn(process.execPath, [cli, ...args], { cwd: t.dir, env: { ...baseEnv, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      return { child, output: () => out, exited };
    },
    status(id) {
      const f = join(runDir(id), 'status.json');
      return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : undefined;
    },
    finishes: (id) => lines(join(runDir(id), 'finishes.txt')),
    starts: (id) => lines(join(runDir(id), 'starts.txt')),
  };
}

/** Polls `check` until it holds: tests wait for states, not for time (generous default for a loaded machine). */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

export function writeFile(path: string, content: string): void {
  writeFileSync(path, content);
}

/** The run directories of a real sweep run from `dir` (artifacts in `dir/artifacts`). */
export function sweepRuns(dir: string) {
  const runDir = (id: string) => join(dir, 'artifacts/runs', id);
  const state = (id: string): string | undefined => (existsSync(join(runDir(id), 'status.json')) ? JSON.parse(readFileSync(join(runDir(id), 'status.json'), 'utf8')).state : undefined);
  /** Every run finished, and its log says so exactly once: none ran twice. */
  const expectEachFinishedOnce = (ids: string[]) => {
    for (const id of ids) {
      expect(state(id)).toBe('finished');
      const log = readFileSync(join(runDir(id), 'log.txt'), 'utf8');
      expect(log.match(new RegExp(`run ${id} finished`, 'g')) ?? []).toHaveLength(1);
    }
  };
  return { runDir, state, expectEachFinishedOnce };
}

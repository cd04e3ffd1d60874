// Several syncs of the same sweeps at once (the launcher's loop, workers' sync-on-exit, manual
// `mmrun sync` processes) through a proxy that adds latency and loses answers, with a server
// restart in the middle: MLflow must end with exactly one parent per sweep and one child per run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mlflowAvailable, startFaultyProxy, startMlflowServer, type FaultyProxy, type TestMlflow, tagsOf } from '../helpers/mlflow-server.ts';
import { expectedCounts, quickstartPlan, writeFinishedRun, writePlan, type FakeRun } from '../helpers/track-fixtures.ts';
import { MlflowClient, type MlflowRun } from '../../runner/track/mlflow-client.ts';
import { TAG } from '../../runner/track/mlflow-mapping.ts';
import { startSyncLoop as startSyncLoopOf, syncRuns as syncRunsOf, SyncSession, type SyncLoopOptions, type SyncOptions } from '../../runner/track/index.ts';
import { buildSweepAnalysis } from '../../runner/report/sweep-analysis.ts';

/** As commands and the launcher call them: with runner/report's analysis for the sweep's parent run. */
const syncRuns = (opts: SyncOptions) => syncRunsOf({ analyzeSweep: buildSweepAnalysis, ...opts });
const startSyncLoop = (opts: SyncLoopOptions) => startSyncLoopOf({ analyzeSweep: buildSweepAnalysis, ...opts });

const run = mlflowAvailable() ? describe : describe.skip;
const MMRUN = resolve(import.meta.dirname, '../../bin/mmrun.js');

let server: TestMlflow;
let proxy: FaultyProxy;
let dir: string;

beforeAll(async () => {
  if (!mlflowAvailable()) return;
  server = await startMlflowServer();
  // Every 4th POST answer lost after the server handled it; 30-100 ms each way.
  proxy = await startFaultyProxy(server.port, { latencyMs: 30, jitterMs: 70, dropAnswerEvery: 4 });
  dir = mkdtempSync(join(tmpdir(), 'mmrun-stress-'));
}, 300_000);

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `mmrun sync <artifacts>` in its own process; resolves with its exit code and output. */
function syncProcess(artifacts: string, uri: string): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn('node', [MMRUN, 'sync', artifacts], { cwd: dir, env: { ...process.env, MLFLOW_TRACKING_URI: uri }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => done({ code, out }));
  });
}

run('concurrent syncs under latency, lost answers and a server restart', () => {
  it('create exactly one parent and one child per run', async () => {
    const artifacts = join(dir, 'artifacts');
    const plans = [quickstartPlan(dir, 'stress')];
    const fakes: FakeRun[] = [];
    for (const plan of plans) {
      writePlan(artifacts, plan);
      for (const spec of plan.runs) fakes.push(writeFinishedRun(artifacts, plan, spec, { epochs: 2, steps: 30 }));
    }
    const runDirs = fakes.map((f) => f.store.dir);

    // The launcher's loop, one sync-on-exit per run, three manual `mmrun sync`.
    const loops = plans.map((plan) => startSyncLoop({ uri: proxy.uri, artifactsDir: artifacts, plan, intervalMs: 300, log: () => undefined }));
    const onExit = runDirs.map((d) => syncRuns({ session: new SyncSession({ uri: proxy.uri }), runDirs: [d] }).catch((e: Error) => e));
    const manual = [0, 1, 2].map(() => syncProcess(artifacts, proxy.uri));

    // Restart the server once some runs exist on it.
    const client = new MlflowClient({ uri: server.uri });
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline && proxy.stats.requests < 40) await new Promise((r) => setTimeout(r, 100));
    expect(proxy.stats.requests).toBeGreaterThanOrEqual(40);
    await server.restart();

    const manualResults = await Promise.all(manual);
    await Promise.all(onExit);
    for (const loop of loops) await loop.stop();
    for (const r of manualResults) expect(r.out).not.toMatch(/internal error|\n\s+at .*\.ts:\d+/);
    expect(proxy.stats.droppedAnswers).toBeGreaterThan(5);

    // What was skipped as busy or lost in the restart is sent now, straight to the server.
    const last = await syncRuns({ uri: server.uri, runDirs });
    expect(last.problems).toEqual([]);
    console.log(`stress: ${JSON.stringify(proxy.stats)}; created by the last sync: ${last.runs.filter((r) => r.created).length}; manual exit codes ${manualResults.map((r) => r.code)}`);

    for (const plan of plans) {
      const exp = await client.getExperimentByName(plan.experiment);
      const runs = await client.searchRuns({ experimentIds: [exp!.experiment_id] });
      expect(runs.filter((r) => tagsOf(r)[TAG.kind] === 'sweep')).toHaveLength(1);
      const children = runs.filter((r) => tagsOf(r)[TAG.kind] !== 'sweep');
      expect(children.map((r) => tagsOf(r)[TAG.runId]).sort()).toEqual(plan.runs.map((r) => r.id).sort());
      const parent = runs.find((r) => tagsOf(r)[TAG.kind] === 'sweep')!;
      for (const c of children) expect(tagsOf(c)[TAG.parentRunId]).toBe(parent.info.run_id);
      // Every child holds its whole history (no half-filled twin).
      for (const spec of plan.runs) {
        const child = children.find((r) => tagsOf(r)[TAG.runId] === spec.id)!;
        const fake = fakes.find((f) => f.store.readSpec().id === spec.id && f.store.readSpec().sweepId === plan.sweepId)!;
        const want = expectedCounts(fake.store.readMetrics().lines);
        const key = Object.keys(want).find((k) => k.endsWith('/loss'))!;
        expect((await client.getMetricHistory(child.info.run_id, key)).length).toBe(want[key]);
      }
    }
  }, 400_000);
});

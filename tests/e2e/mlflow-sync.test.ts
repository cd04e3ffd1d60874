// Sync of run directories into a real MLflow server (tests/helpers/mlflow-server.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeDirectoryChecksums } from '../../runner/files/verified.ts';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { mlflowAvailable, startMlflowServer, type TestMlflow, tagsOf, runsOfExperiment } from '../helpers/mlflow-server.ts';
import { endRun, expectedCounts, quickstartPlan, startRun, trainEpoch, writeFinishedRun, writePlan, type FakeRun } from '../helpers/track-fixtures.ts';
import { MlflowClient, MlflowUnreachableError, type MlflowRun } from '../../runner/track/mlflow-client.ts';
import { TAG, runParams } from '../../runner/track/mlflow-mapping.ts';
import { freePort } from '../../runner/track/local-server.ts';
import { RunStore, runDirOf } from '../../runner/track/run-store.ts';
import { startSyncLoop as startSyncLoopOf, syncRuns as syncRunsOf, SyncSession, SYNC_STATE_FILE, type SyncLoopOptions, type SyncOptions } from '../../runner/track/index.ts';
import { TRUNCATION_MARKER } from '../../runner/track/mlflow-limits.ts';
import type { Plan } from '../../runner/sweep/index.ts';
import { waitFor } from '../helpers/launch-sweep.ts';
import { buildSweepAnalysis } from '../../runner/report/sweep-analysis.ts';

/** As commands and the launcher call them: with runner/report's analysis for the sweep's parent run. */
const syncRuns = (opts: SyncOptions) => syncRunsOf({ analyzeSweep: buildSweepAnalysis, ...opts });
const startSyncLoop = (opts: SyncLoopOptions) => startSyncLoopOf({ analyzeSweep: buildSweepAnalysis, ...opts });

const run = mlflowAvailable() ? describe : describe.skip;
const execFileP = promisify(execFile);
const MMRUN = resolve(import.meta.dirname, '../../bin/mmrun.js');

let server: TestMlflow;
let client: MlflowClient;
const temps: string[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mmrun-sync-'));
  temps.push(d);
  return d;
}

const runsOf = (experiment: string) => runsOfExperiment(client, experiment);

/** Every metric key of a run with how many values MLflow holds for it. */
async function metricCounts(runUuid: string, keys: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (await client.getMetricHistory(runUuid, k)).length;
  return out;
}

async function expectRunsMatchDirs(plan: Plan, artifactsDir: string, fakes: FakeRun[]): Promise<void> {
  const runs = await runsOf(plan.experiment);
  const children = runs.filter((r) => tagsOf(r)[TAG.kind] === 'run');
  expect(runs.filter((r) => tagsOf(r)[TAG.kind] === 'sweep')).toHaveLength(1);
  expect(children.map((r) => tagsOf(r)[TAG.runId]).sort()).toEqual(fakes.map((f) => f.store.readSpec().id).sort());
  for (const f of fakes) {
    const child = children.find((r) => tagsOf(r)[TAG.runId] === f.store.readSpec().id)!;
    const want = expectedCounts(f.store.readMetrics().lines);
    expect(await metricCounts(child.info.run_id, Object.keys(want))).toEqual(want);
  }
  void artifactsDir;
}

beforeAll(async () => {
  if (!mlflowAvailable()) return;
  server = await startMlflowServer();
  client = new MlflowClient({ uri: server.uri });
}, 300_000);

afterAll(async () => {
  await server?.stop();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

run('sync into a real MLflow server', { timeout: 300_000 }, () => {
  it('maps a sweep to one parent run and nested child runs, read back through REST', async () => {
    const dir = tempDir();
    const artifacts = join(dir, 'artifacts');
    const plan = quickstartPlan(dir, 'mapping');
    writePlan(artifacts, plan);
    const failedSpec = plan.runs[plan.runs.length - 1];
    const fakes = plan.runs.map((spec) =>
      writeFinishedRun(artifacts, plan, spec, spec === failedSpec ? { state: 'failed', error: 'loss became NaN at step 12' } : {}),
    );

    const report = await syncRuns({ uri: server.uri, runDirs: fakes.map((f) => f.store.dir), plan });
    expect(report.problems).toEqual([]);
    expect(report.runs.filter((r) => r.created)).toHaveLength(plan.runs.length);

    const runs = await runsOf('mapping');
    expect(runs).toHaveLength(plan.runs.length + 1);
    const parent = runs.find((r) => tagsOf(r)[TAG.kind] === 'sweep')!;
    expect(parent.info.run_name).toBe(`sweep ${plan.sweepId}`);
    expect(tagsOf(parent)).toMatchObject({
      [TAG.sweepId]: plan.sweepId,
      [TAG.contentHash]: plan.contentHash,
      [TAG.planSize]: String(plan.runs.length),
      [TAG.note]: plan.runs[0].config.description,
    });
    expect(tagsOf(parent)[TAG.version]).toMatch(/^\d+\.\d+\.\d+/);
    expect(parent.info.status).toBe('FAILED'); // one child failed
    const parentFiles = await client.listArtifacts(parent.info.run_id, 'sweep');
    expect(parentFiles.map((f) => f.path).sort()).toEqual(['sweep/mapping.yaml', 'sweep/plan.json']);
    // The analysis given by the caller (runner/report's) is on the parent: the report and per-arm metrics.
    expect((await client.listArtifacts(parent.info.run_id, 'report')).map((f) => f.path)).toEqual(expect.arrayContaining(['report/report.html', 'report/comparison.csv']));
    const parentMetrics = Object.fromEntries(((await client.getRun(parent.info.run_id))!.data.metrics ?? []).map((m) => [m.key, m.value]));
    expect(parentMetrics['runs_finished']).toBe(plan.runs.length - 1);

    const children = runs.filter((r) => tagsOf(r)[TAG.kind] === 'run');
    expect(children.map((c) => c.info.run_name).sort()).toEqual(plan.runs.map((r) => r.name).sort());
    for (const spec of plan.runs) {
      const child = children.find((c) => tagsOf(c)[TAG.runId] === spec.id)!;
      const tags = tagsOf(child);
      expect(tags[TAG.parentRunId]).toBe(parent.info.run_id);
      expect(tags[TAG.sweepId]).toBe(plan.sweepId);
      expect(tags[TAG.coordPrefix + 'augmentation.ratio']).toBe(String(spec.coords['augmentation.ratio']));
      expect(tags[TAG.ablation]).toBe(spec.ablation);
      expect(tags[TAG.seed]).toBe(String(spec.seed));
      expect(tags[TAG.backend]).toBe('cpu');
      expect(tags[TAG.host]).toBe('testhost');
      expect(tags[TAG.sourceName]).toBe(plan.file);
      const full = (await client.getRun(child.info.run_id))!;
      expect(full.data.params).toHaveLength(runParams({ ...spec, sweepId: plan.sweepId, experimentFile: plan.file }).length);
      expect(full.data.params!.find((p) => p.key === 'augmentation.ratio')?.value).toBe(String(spec.coords['augmentation.ratio']));
      expect(child.info.end_time).toBe(Date.UTC(2026, 0, 1, 1));
      if (spec === failedSpec) {
        expect(child.info.status).toBe('FAILED');
        expect(tags[TAG.error]).toBe('loss became NaN at step 12');
      } else {
        expect(child.info.status).toBe('FINISHED');
      }
    }
    // Grouping by tags alone: the UI's search filter finds one grid cell of the sweep.
    const exp = (await client.getExperimentByName('mapping'))!;
    const cell = await client.searchRuns({ experimentIds: [exp.experiment_id], filter: `tags.\`mmrun.sweep_id\` = '${plan.sweepId}' and tags.\`mmrun.coord.augmentation.ratio\` = '4'` });
    expect(cell).toHaveLength(plan.runs.filter((r) => r.coords['augmentation.ratio'] === 4).length);

    // A finished child (search order is not creation order; the failed one has no final metrics)
    const child = children.find((c) => tagsOf(c)[TAG.runId] !== failedSpec.id)!;
    const files = (await client.listArtifacts(child.info.run_id)).map((f) => f.path).sort();
    expect(files).toEqual(['config.json', 'summary.json']);
    const config = JSON.parse((await client.downloadArtifact(child.info.artifact_uri, 'config.json')).toString('utf8'));
    expect(config.name).toBe('mapping');
    expect((await client.getMetricHistory(child.info.run_id, 'final/image_acc')).length).toBe(1);
  });

  it('respects the server limits: 300 params and a 10,000-character value', async () => {
    const dir = tempDir();
    const artifacts = join(dir, 'artifacts');
    const plan = quickstartPlan(dir, 'limits');
    const base = plan.runs[0];
    const long = 'y'.repeat(10_000);
    const extra: Record<string, string> = { long };
    for (let i = 0; i < 300; i++) extra[`p${String(i).padStart(3, '0')}`] = `value ${i}`;
    extra['k'.repeat(300)] = 'long key';
    const spec = { ...base, id: 'a1b2c3d4e5f6', config: { ...base.config, extra } };
    const fake = writeFinishedRun(artifacts, plan, spec as typeof base, { state: 'failed', error: 'd'.repeat(10_000) });

    const report = await syncRuns({ uri: server.uri, runDirs: [fake.store.dir], plan });
    expect(report.problems).toEqual([]);
    const child = (await runsOf('limits')).find((r) => tagsOf(r)[TAG.runId] === spec.id)!;
    const full = (await client.getRun(child.info.run_id))!;
    const params = Object.fromEntries(full.data.params!.map((p) => [p.key, p.value]));
    expect(full.data.params!.length).toBe(runParams({ ...(spec as typeof base), sweepId: plan.sweepId, experimentFile: plan.file }).length);
    expect(full.data.params!.length).toBeGreaterThan(300);
    expect(params['extra.long']).toHaveLength(6000);
    expect(params['extra.long'].endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(params['extra.p299']).toBe('value 299');
    expect(Object.keys(params).some((k) => k.length === 250 && k.startsWith('extra.kkk'))).toBe(true);
    expect(tagsOf(full)[TAG.error]).toHaveLength(8000);
    const kept = JSON.parse((await client.downloadArtifact(child.info.artifact_uri, 'mmrun/truncated-values.json')).toString('utf8'));
    expect(kept['param:extra.long']).toBe(long);
    expect(kept[`tag:${TAG.error}`]).toBe('d'.repeat(10_000));
    expect(kept[`param:extra.${'k'.repeat(300)}`]).toBe('long key');
  });

  it('offline, then sync, then sync again: the same runs, metric counts equal to the run directories', async () => {
    const dir = tempDir();
    const artifacts = join(dir, 'artifacts');
    const plan = quickstartPlan(dir, 'offline');
    writePlan(artifacts, plan);
    const fakes = plan.runs.slice(0, 3).map((spec) => writeFinishedRun(artifacts, plan, spec, { epochs: 3, steps: 20 }));
    const live = startRun(artifacts, plan, plan.runs[3]);
    trainEpoch(live, 'joint', 0, 20);
    fakes.push(live);
    const runDirs = fakes.map((f) => f.store.dir);

    // Server down: the sync fails clearly and leaves no state behind.
    const dead = `http://127.0.0.1:${await freePort()}`;
    const offline = new SyncSession(new MlflowClient({ uri: dead, attempts: 2, backoffMs: 10 }));
    await expect(syncRuns({ session: offline, runDirs, plan })).rejects.toBeInstanceOf(MlflowUnreachableError);

    const first = await syncRuns({ uri: server.uri, runDirs, plan });
    expect(first.runs.map((r) => r.created)).toEqual([true, true, true, true]);
    await expectRunsMatchDirs(plan, artifacts, fakes);
    const before = (await runsOf('offline')).map((r) => r.info.run_id).sort();

    const second = await syncRuns({ uri: server.uri, runDirs, plan });
    for (const r of second.runs) {
      expect(r).toMatchObject({ created: false, updated: false, linesSent: 0, metricsSent: 0, paramsSent: 0, artifactsSent: [] });
    }
    expect((await runsOf('offline')).map((r) => r.info.run_id).sort()).toEqual(before);
    await expectRunsMatchDirs(plan, artifacts, fakes);

    // The live run goes on and ends: only what is new is sent.
    trainEpoch(live, 'joint', 1, 20);
    endRun(live, 'finished');
    const third = await syncRuns({ uri: server.uri, runDirs, plan });
    expect(third.runs.filter((r) => r.linesSent > 0).map((r) => r.runId)).toEqual([live.store.readSpec().id]);
    await expectRunsMatchDirs(plan, artifacts, fakes);

    // Sync state lost (e.g. a copied run directory): the run is found by its tag, not duplicated.
    rmSync(join(live.store.dir, 'mlflow.json'));
    rmSync(join(artifacts, 'sweeps', plan.sweepId, 'mlflow.json'));
    const fourth = await syncRuns({ uri: server.uri, runDirs, plan });
    expect(fourth.runs.every((r) => !r.created)).toBe(true);
    expect(fourth.problems).toEqual([]);
    expect((await runsOf('offline')).map((r) => r.info.run_id).sort()).toEqual(before);
    await expectRunsMatchDirs(plan, artifacts, fakes);
    const liveRun = (await runsOf('offline')).find((r) => tagsOf(r)[TAG.runId] === live.store.readSpec().id)!;
    expect(liveRun.info.status).toBe('FINISHED');
  });

  it('two processes syncing the same sweep at once create each run once', async () => {
    const dir = tempDir();
    const artifacts = join(dir, 'artifacts');
    const plan = quickstartPlan(dir, 'concurrent');
    writePlan(artifacts, plan);
    const fakes = plan.runs.slice(0, 4).map((spec) => writeFinishedRun(artifacts, plan, spec));
    const runDirs = fakes.map((f) => f.store.dir);
    // Separate sessions: nothing shared in memory, only the files on disk.
    await Promise.all([syncRuns({ uri: server.uri, runDirs, plan }), syncRuns({ uri: server.uri, runDirs: [...runDirs].reverse(), plan })]);
    await syncRuns({ uri: server.uri, runDirs, plan }); // anything skipped as busy is sent now
    await expectRunsMatchDirs(plan, artifacts, fakes);
  });

  it('uploads a finished run\'s model by default, not with log_model: false, and late on the next sync once enabled', async () => {
    const dir = tempDir();
    const artifacts = join(dir, 'artifacts');
    const plan = quickstartPlan(dir, 'models');
    writePlan(artifacts, plan);
    const spec = plan.runs[0];
    const fake = writeFinishedRun(artifacts, plan, spec);
    const ckpt = join(fake.store.dir, 'checkpoints', 'retrain-epoch1');
    mkdirSync(ckpt, { recursive: true });
    writeFileSync(join(ckpt, 'weights.bin'), Buffer.alloc(1000, 7));
    writeFileSync(join(ckpt, 'manifest.json'), '{"format":"fake"}');
    writeDirectoryChecksums(ckpt, ['weights.bin', 'manifest.json']);
    writeFileSync(join(fake.store.dir, 'checkpoints', 'latest.json'), JSON.stringify({ name: 'retrain-epoch1', phase: 'retrain', createdAt: '2026-01-01T00:00:00Z' }));
    writeFileSync(fake.store.path('tokenizer'), '{}');

    // The file says log_model: false (tracking settings never change run ids: same plan, same dirs).
    const off = { ...plan, runs: plan.runs.map((r) => ({ ...r, config: { ...r.config, tracking: { ...r.config.tracking, log_model: false } } })) };
    await syncRuns({ uri: server.uri, runDirs: [fake.store.dir], plan: off });
    const child = (await runsOf('models')).find((r) => tagsOf(r)[TAG.runId] === spec.id)!;
    expect((await client.listArtifacts(child.info.run_id)).map((f) => f.path)).not.toContain('model');
    expect(tagsOf(child)[TAG.modelPath]).toBeUndefined();
    const again = await syncRuns({ uri: server.uri, runDirs: [fake.store.dir], plan: off });
    expect(again.runs[0].updated).toBe(false);

    // Enabled later (the default): the next sync uploads the model.
    const late = await syncRuns({ uri: server.uri, runDirs: [fake.store.dir], plan });
    expect(late.runs[0].artifactsSent).toEqual(expect.arrayContaining(['model/checkpoint/weights.bin', 'model/checkpoint/checksums.json', 'model/tokenizer.json', 'model/config.json', 'model/README.md']));
    const weights = await client.downloadArtifact(child.info.artifact_uri, 'model/checkpoint/weights.bin');
    expect(weights.equals(Buffer.alloc(1000, 7))).toBe(true);
    expect(tagsOf((await client.getRun(child.info.run_id))!)[TAG.modelPath]).toBe('model');
  });

  it('syncs the valid prefix of a truncated metrics file and reports the problem once', async () => {
    const dir = tempDir();
    const artifacts = join(dir, 'artifacts');
    const plan = quickstartPlan(dir, 'truncated');
    const fake = startRun(artifacts, plan, plan.runs[0]);
    trainEpoch(fake, 'joint', 0, 10);
    appendFileSync(fake.store.path('metrics'), '{"t":"2026-01-01T00:00:00Z","phase":"joint","kind":"step","st');
    fake.store.updateStatus({ state: 'killed', endedAt: new Date(Date.UTC(2026, 0, 1, 2)).toISOString(), error: { message: 'killed by signal SIGKILL', signal: 'SIGKILL', cause: 'killed' } });

    const report = await syncRuns({ uri: server.uri, runDirs: [fake.store.dir], plan });
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatch(/metrics\.jsonl:12: truncated last line \(skipped\); the 11 valid lines were synced/);
    const child = (await runsOf('truncated')).find((r) => tagsOf(r)[TAG.kind] === 'run')!;
    expect(child.info.status).toBe('KILLED');
    expect(await metricCounts(child.info.run_id, ['train/loss', 'epoch/val_image_acc'])).toEqual({ 'train/loss': 10, 'epoch/val_image_acc': 1 });
    const again = await syncRuns({ uri: server.uri, runDirs: [fake.store.dir], plan });
    expect(again.problems).toEqual([]);
  });

  it('keeps training going when the server dies mid-sweep, and catches up when it is back', async () => {
    const dir = tempDir();
    const artifacts = join(dir, 'artifacts');
    const plan = quickstartPlan(dir, 'outage');
    writePlan(artifacts, plan);
    const messages: string[] = [];
    const loop = startSyncLoop({ uri: server.uri, artifactsDir: artifacts, plan, intervalMs: 200, log: (m) => messages.push(m) });
    try {
      const fakes = plan.runs.slice(0, 2).map((spec) => startRun(artifacts, plan, spec));
      for (const f of fakes) trainEpoch(f, 'joint', 0, 10);
      // A big run, so that the server is likely killed while a sync is sending it.
      const big = startRun(artifacts, plan, plan.runs[2]);
      trainEpoch(big, 'joint', 0, 4000);
      fakes.push(big);
      let settled = false;
      const pending = loop.syncNow().finally(() => (settled = true));
      // Kill it once the sync is sending the big run (its state file is written when its MLflow run exists).
      await waitFor('the sync to start sending the big run', () => settled || existsSync(join(big.store.dir, SYNC_STATE_FILE)), 60_000);
      await server.kill(true);
      await pending;

      for (const f of fakes) {
        trainEpoch(f, 'joint', 1, 10);
        endRun(f, 'finished');
      }
      fakes.push(writeFinishedRun(artifacts, plan, plan.runs[3]));
      await loop.syncNow();
      await loop.syncNow();
      expect(messages.filter((m) => /unreachable/.test(m))).toHaveLength(1);
      expect(messages[0]).toMatch(/Training goes on/);

      await server.restart();
      await loop.syncNow();
      expect(messages.some((m) => /answers again/.test(m))).toBe(true);
      await loop.stop();
      await expectRunsMatchDirs(plan, artifacts, fakes);
      const children = (await runsOf('outage')).filter((r) => tagsOf(r)[TAG.kind] === 'run');
      expect(children.every((c) => c.info.status === 'FINISHED')).toBe(true);

      // `mmrun sync` afterwards finds nothing to send.
      const { stdout } = await execFileP('node', [MMRUN, 'sync', plan.file], { cwd: dir, env: { ...process.env, MLFLOW_TRACKING_URI: server.uri } });
      expect(stdout).toMatch(/Synced 4 runs to .*: 0 created, 0 updated, 4 already up to date/);
      expect(stdout).toMatch(/4 of the plan's 8 runs have no run directory yet/);
    } finally {
      await loop.stop();
    }
  }, 240_000);

  it('a server that does not proxy artifacts gets one clear message; runs and metrics still sync', async () => {
    const plain = await startMlflowServer({ serveArtifacts: false });
    try {
      const dir = tempDir();
      const artifacts = join(dir, 'artifacts');
      const plan = quickstartPlan(dir, 'noproxy');
      const fakes = plan.runs.slice(0, 2).map((spec) => writeFinishedRun(artifacts, plan, spec));
      const report = await syncRuns({ uri: plain.uri, runDirs: fakes.map((f) => f.store.dir), plan });
      expect(report.problems).toHaveLength(1);
      expect(report.problems[0]).toMatch(/does not proxy artifacts .*--serve-artifacts/s);
      const c = new MlflowClient({ uri: plain.uri });
      const exp = (await c.getExperimentByName('noproxy'))!;
      const runs = await c.searchRuns({ experimentIds: [exp.experiment_id] });
      expect(runs).toHaveLength(3);
      const child = runs.find((r) => tagsOf(r)[TAG.runId] === plan.runs[0].id)!;
      expect(child.info.status).toBe('FINISHED');
      expect((await c.getMetricHistory(child.info.run_id, 'train/loss')).length).toBe(10);
    } finally {
      await plain.stop();
    }
  }, 240_000); // starts a second server: slow on a busy machine

  it('mmrun sync without a tracking URI stays local and says how to view runs', async () => {
    const dir = tempDir();
    const plan = quickstartPlan(dir, 'local');
    writeFinishedRun(join(dir, 'artifacts'), plan, plan.runs[0]);
    const env = { ...process.env };
    delete env.MLFLOW_TRACKING_URI;
    const { stdout } = await execFileP('node', [MMRUN, 'sync', plan.file], { cwd: dir, env });
    expect(stdout).toMatch(/Tracking is local only/);
    expect(stdout).toMatch(/mmrun ui/);
    expect(new RunStore(runDirOf(join(dir, 'artifacts'), plan.runs[0].id)).readStatus()?.state).toBe('finished');
  });
});

// Two result folders (artifacts_dir) of the same experiment syncing to one real MLflow server:
// run ids are content hashes, equal in both, so only the folder's store id (`.store-id`, tag
// mmrun.store_id) keeps their runs apart. Also: runs an older mmrun synced (no store tag) are
// adopted by their own folder, never by another, and never duplicated.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mlflowAvailable, startMlflowServer, type TestMlflow, tagsOf, runsOfExperiment } from '../helpers/mlflow-server.ts';
import { fixtureSweep } from '../helpers/launch-sweep.ts';
import { expectedCounts, quickstartPlan, writeFinishedRun, writePlan, type FakeRun } from '../helpers/track-fixtures.ts';
import { MlflowClient, type MlflowRun } from '../../runner/track/mlflow-client.ts';
import { TAG } from '../../runner/track/mlflow-mapping.ts';
import { RunStore, sweepDirOf, type MetricLine } from '../../runner/track/run-store.ts';
import { syncRuns, SYNC_STATE_FILE } from '../../runner/track/index.ts';
import { STORE_ID_FILE } from '../../runner/track/sync-store-id.ts';
import type { Plan } from '../../runner/sweep/index.ts';

const run = mlflowAvailable() ? describe : describe.skip;

let server: TestMlflow;
let client: MlflowClient;
const temps: string[] = [];

beforeAll(async () => {
  if (!mlflowAvailable()) return;
  server = await startMlflowServer();
  client = new MlflowClient({ uri: server.uri });
}, 300_000);

afterAll(async () => {
  await server?.stop();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mmrun-stores-'));
  temps.push(d);
  return d;
}

const runsOf = (experiment: string) => runsOfExperiment(client, experiment);

function storeIdIn(artifactsDir: string): string {
  return readFileSync(join(artifactsDir, STORE_ID_FILE), 'utf8').trim();
}

/** Every metric key of a run with how many values MLflow holds for it. */
async function metricCounts(runUuid: string, keys: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (await client.getMetricHistory(runUuid, k)).length;
  return out;
}

/** A folder's runs on the server: its parent, and its children by mmrun run id. */
function folderRuns(all: MlflowRun[], storeId: string) {
  const mine = all.filter((r) => tagsOf(r)[TAG.storeId] === storeId);
  const parents = mine.filter((r) => tagsOf(r)[TAG.kind] === 'sweep');
  const children = new Map(mine.filter((r) => tagsOf(r)[TAG.kind] === 'run').map((r) => [tagsOf(r)[TAG.runId], r]));
  return { parents, children };
}

/** Every run uuid with its metric counts: what a no-op sync must leave exactly as it was. */
async function serverSnapshot(experiment: string, keys: string[]): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of await runsOf(experiment)) out[r.info.run_id] = await metricCounts(r.info.run_id, keys);
  return out;
}

function lossLines(n: number, base: number): MetricLine[] {
  return Array.from({ length: n }, (_, i) => ({ t: new Date(Date.UTC(2026, 0, 2) + i * 1000).toISOString(), phase: 'joint', kind: 'step' as const, step: i, epoch: 0, metrics: { loss: base - i * 0.01 } }));
}

run('two result folders of one experiment on one MLflow server', () => {
  it('`mmrun run` in each folder gives each folder its own parent and children with their own metrics; syncing again changes nothing', { timeout: 600_000 }, async () => {
    const yaml = 'name: twofolders\nseeds: [0, 1]\nlauncher: { jobs: 2 }\n';
    const a = await fixtureSweep(yaml, { MLFLOW_TRACKING_URI: server.uri });
    // Folder b's seed-1 run crashes: the two folders' runs end differently.
    const b = await fixtureSweep(yaml, { MLFLOW_TRACKING_URI: server.uri, FIXTURE_BEHAVIOURS: '{"1":"crash"}' });
    temps.push(a.dir, b.dir);
    expect(b.runIds).toEqual(a.runIds); // content hashes: the same ids in both folders
    const [seed0, seed1] = a.runIds;

    const first = await a.run(['run', 'sweep.yaml']);
    expect(first.status, first.out).toBe(0);
    expect(first.out).toContain(`${server.uri}/#/experiments/`);
    const second = await b.run(['run', 'sweep.yaml']);
    expect(second.status, second.out).toBe(1); // b's seed-1 run failed
    expect(second.out).toContain(`${server.uri}/#/experiments/`);

    const idA = storeIdIn(join(a.dir, 'artifacts'));
    const idB = storeIdIn(join(b.dir, 'artifacts'));
    expect(idA).toMatch(/^[0-9a-f]{16}$/);
    expect(idB).not.toBe(idA);

    const all = await runsOf('twofolders');
    expect(all).toHaveLength(6); // two parents, four children: nothing shared, nothing deleted
    const runsA = folderRuns(all, idA);
    const runsB = folderRuns(all, idB);
    expect(runsA.parents).toHaveLength(1);
    expect(runsB.parents).toHaveLength(1);
    expect([...runsA.children.keys()].sort()).toEqual([...a.runIds].sort());
    expect([...runsB.children.keys()].sort()).toEqual([...b.runIds].sort());
    for (const [folder, runs] of [[a, runsA], [b, runsB]] as const) {
      for (const [id, child] of runs.children) {
        expect(tagsOf(child)[TAG.parentRunId]).toBe(runs.parents[0].info.run_id);
        expect(tagsOf(child)[TAG.runDir]).toBe(folder.runDir(id));
      }
    }
    expect(runsA.children.get(seed1)!.info.status).toBe('FINISHED');
    expect(runsB.children.get(seed1)!.info.status).toBe('FAILED');
    expect(runsB.children.get(seed0)!.info.status).toBe('FINISHED');
    // Each finished run carries its own final metric.
    expect(await metricCounts(runsA.children.get(seed1)!.info.run_id, ['final/image_acc'])).toEqual({ 'final/image_acc': 1 });
    expect(await metricCounts(runsB.children.get(seed1)!.info.run_id, ['final/image_acc'])).toEqual({ 'final/image_acc': 0 });

    // New metric lines in b's seed-0 run reach b's run only.
    new RunStore(b.runDir(seed0)).appendMetrics(...lossLines(7, 2));
    const syncB = await b.run(['sync', 'sweep.yaml']);
    expect(syncB.status, syncB.out).toBe(0);
    expect(syncB.out).toMatch(/Synced 2 runs to .*: 0 created, 1 updated, 1 already up to date/);
    expect(await metricCounts(runsB.children.get(seed0)!.info.run_id, ['train/loss'])).toEqual({ 'train/loss': 7 });
    expect(await metricCounts(runsA.children.get(seed0)!.info.run_id, ['train/loss'])).toEqual({ 'train/loss': 0 });

    // Syncing each folder again: nothing created, sent or deleted.
    const keys = ['train/loss', 'final/image_acc'];
    const before = await serverSnapshot('twofolders', keys);
    for (const folder of [a, b]) {
      const again = await folder.run(['sync', 'sweep.yaml']);
      expect(again.status, again.out).toBe(0);
      expect(again.out).toMatch(/Synced 2 runs to .*: 0 created, 0 updated, 2 already up to date; 0 metric values sent/);
    }
    // Even with every sync state file gone, each folder finds its own runs by its store id.
    for (const folder of [a, b]) {
      for (const id of folder.runIds) rmSync(join(folder.runDir(id), SYNC_STATE_FILE), { force: true });
      const lost = await folder.run(['sync', 'sweep.yaml']);
      expect(lost.status, lost.out).toBe(0);
      expect(lost.out).toMatch(/: 0 created, /);
    }
    expect(await serverSnapshot('twofolders', keys)).toEqual(before);
  });

  /** A folder synced by an older mmrun: no store tag on its runs, no store id in its state, no .store-id. */
  async function asIfSyncedByOlderMmrun(artifactsDir: string, plan: Plan, fakes: FakeRun[], opts: { keepState: boolean }): Promise<void> {
    const storeId = storeIdIn(artifactsDir);
    for (const r of await runsOf(plan.experiment)) {
      if (tagsOf(r)[TAG.storeId] === storeId) await client.deleteTag(r.info.run_id, TAG.storeId);
    }
    rmSync(join(artifactsDir, STORE_ID_FILE));
    const stateFiles = [join(sweepDirOf(artifactsDir, plan.sweepId), SYNC_STATE_FILE), ...fakes.map((f) => join(f.store.dir, SYNC_STATE_FILE))];
    for (const file of stateFiles) {
      if (!opts.keepState) {
        rmSync(file, { force: true });
        continue;
      }
      const state = JSON.parse(readFileSync(file, 'utf8')) as { servers: Record<string, { storeId?: string; tags: Record<string, string> }> };
      for (const s of Object.values(state.servers)) {
        delete s.storeId;
        delete s.tags[TAG.storeId];
      }
      writeFileSync(file, JSON.stringify(state));
    }
  }

  async function expectOneSetPerFolder(plan: Plan, folders: { artifacts: string; fakes: FakeRun[] }[]): Promise<void> {
    const all = await runsOf(plan.experiment);
    expect(all).toHaveLength(folders.length * (1 + folders[0].fakes.length));
    for (const f of folders) {
      const runs = folderRuns(all, storeIdIn(f.artifacts));
      expect(runs.parents).toHaveLength(1);
      for (const fake of f.fakes) {
        const child = runs.children.get(fake.store.readSpec().id)!;
        expect(tagsOf(child)[TAG.parentRunId]).toBe(runs.parents[0].info.run_id);
        expect(tagsOf(child)[TAG.runDir]).toBe(fake.store.dir);
        const want = expectedCounts(fake.store.readMetrics().lines);
        expect(await metricCounts(child.info.run_id, Object.keys(want))).toEqual(want);
      }
    }
  }

  it('runs an older mmrun synced are adopted by their own folder (with or without its sync state), never by another, never duplicated', { timeout: 300_000 }, async () => {
    const dirA = tempDir();
    const dirB = tempDir();
    const plan = quickstartPlan(dirA, 'adopt');
    const artifactsA = join(dirA, 'artifacts');
    const artifactsB = join(dirB, 'artifacts');
    writePlan(artifactsA, plan);
    writePlan(artifactsB, plan);
    const fakesA = plan.runs.slice(0, 3).map((spec) => writeFinishedRun(artifactsA, plan, spec, { epochs: 2, steps: 6 }));
    const fakesB = plan.runs.slice(0, 3).map((spec) => writeFinishedRun(artifactsB, plan, spec, { epochs: 3, steps: 4 }));
    const dirsA = fakesA.map((f) => f.store.dir);
    const dirsB = fakesB.map((f) => f.store.dir);

    await syncRuns({ uri: server.uri, runDirs: dirsA, plan });
    await asIfSyncedByOlderMmrun(artifactsA, plan, fakesA, { keepState: true });
    const legacy = (await runsOf('adopt')).map((r) => r.info.run_id).sort();
    expect(legacy).toHaveLength(4);
    expect(existsSync(join(artifactsA, STORE_ID_FILE))).toBe(false);

    // Another folder of the same experiment leaves a's old runs alone: its own runs, a's untouched.
    const b = await syncRuns({ uri: server.uri, runDirs: dirsB, plan });
    expect(b.runs.every((r) => r.created)).toBe(true);
    expect(b.sweeps[0].created).toBe(true);
    for (const r of (await runsOf('adopt')).filter((x) => legacy.includes(x.info.run_id))) expect(tagsOf(r)[TAG.storeId]).toBeUndefined();

    // a, upgraded, with its state files: adopts its runs, creates none, sends nothing twice.
    const adopted = await syncRuns({ uri: server.uri, runDirs: dirsA, plan });
    expect(adopted.problems).toEqual([]);
    expect(adopted.runs.map((r) => r.created)).toEqual([false, false, false]);
    expect(adopted.runs.map((r) => r.metricsSent)).toEqual([0, 0, 0]);
    expect(adopted.sweeps[0].created).toBe(false);
    expect((await runsOf('adopt')).filter((r) => legacy.includes(r.info.run_id)).every((r) => tagsOf(r)[TAG.storeId] === storeIdIn(artifactsA))).toBe(true);
    await expectOneSetPerFolder(plan, [
      { artifacts: artifactsA, fakes: fakesA },
      { artifacts: artifactsB, fakes: fakesB },
    ]);

    // Again as an older mmrun left it, this time without any sync state: found by run_dir and parent, adopted.
    await asIfSyncedByOlderMmrun(artifactsA, plan, fakesA, { keepState: false });
    const found = await syncRuns({ uri: server.uri, runDirs: dirsA, plan });
    expect(found.runs.map((r) => r.created)).toEqual([false, false, false]);
    expect(found.sweeps[0].created).toBe(false);
    expect((await runsOf('adopt')).map((r) => r.info.run_id).filter((id) => legacy.includes(id))).toHaveLength(4);
    await expectOneSetPerFolder(plan, [
      { artifacts: artifactsA, fakes: fakesA },
      { artifacts: artifactsB, fakes: fakesB },
    ]);

    // Once adopted, syncing both folders again changes nothing.
    for (const dirs of [dirsA, dirsB]) {
      const again = await syncRuns({ uri: server.uri, runDirs: dirs, plan });
      for (const r of again.runs) expect(r).toMatchObject({ created: false, updated: false, metricsSent: 0, paramsSent: 0 });
    }
    await expectOneSetPerFolder(plan, [
      { artifacts: artifactsA, fakes: fakesA },
      { artifacts: artifactsB, fakes: fakesB },
    ]);
  });

  it('a run an older mmrun shared between two folders goes to the first folder that claims it; the other gets its own', { timeout: 300_000 }, async () => {
    const dirA = tempDir();
    const dirB = tempDir();
    const plan = quickstartPlan(dirA, 'shared');
    const artifactsA = join(dirA, 'artifacts');
    const artifactsB = join(dirB, 'artifacts');
    writePlan(artifactsA, plan);
    writePlan(artifactsB, plan);
    const fakesA = plan.runs.slice(0, 2).map((spec) => writeFinishedRun(artifactsA, plan, spec, { epochs: 2, steps: 6 }));
    const fakesB = plan.runs.slice(0, 2).map((spec) => writeFinishedRun(artifactsB, plan, spec, { epochs: 3, steps: 4 }));

    await syncRuns({ uri: server.uri, runDirs: fakesA.map((f) => f.store.dir), plan });
    await asIfSyncedByOlderMmrun(artifactsA, plan, fakesA, { keepState: true });
    // The old bug: b's sync found a's runs by their ids and recorded them as its own.
    for (const [i, f] of fakesB.entries()) cpSync(join(fakesA[i].store.dir, SYNC_STATE_FILE), join(f.store.dir, SYNC_STATE_FILE));
    cpSync(join(sweepDirOf(artifactsA, plan.sweepId), SYNC_STATE_FILE), join(sweepDirOf(artifactsB, plan.sweepId), SYNC_STATE_FILE));

    const a = await syncRuns({ uri: server.uri, runDirs: fakesA.map((f) => f.store.dir), plan });
    expect(a.runs.map((r) => r.created)).toEqual([false, false]);
    const b = await syncRuns({ uri: server.uri, runDirs: fakesB.map((f) => f.store.dir), plan });
    expect(b.runs.map((r) => r.created)).toEqual([true, true]);
    expect(b.sweeps[0].created).toBe(true);
    // b's whole history went to its new runs, none of it into a's.
    await expectOneSetPerFolder(plan, [
      { artifacts: artifactsA, fakes: fakesA },
      { artifacts: artifactsB, fakes: fakesB },
    ]);
  });
});


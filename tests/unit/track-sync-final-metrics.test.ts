// Final metrics on MLflow follow the run directory: a run directory deleted and run again (the
// usual way to redo one run) loses its mlflow.json with it; the next sync finds the same MLflow run
// again by its tags and store id and must send the new final/* values, not keep the deleted run's
// (sync-run.ts runHead skips only values the server already shows).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MlflowRun } from '../../runner/track/mlflow-client.ts';
import { TAG } from '../../runner/track/mlflow-mapping.ts';
import { RunStore, type RunSummary } from '../../runner/track/run-store.ts';
import type { SweepContext } from '../../runner/track/sync-context.ts';
import { syncOneRun } from '../../runner/track/sync-run.ts';
import type { SyncSession } from '../../runner/track/sync-session.ts';
import { quickstartPlan } from '../helpers/track-fixtures.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mmrun-review-s3-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const STORE = 'aaaaaaaaaaaaaaaa';

/** An MLflow server holding the run of a deleted run directory, synced earlier: final/image_acc 0.5. */
function serverWithEarlierRun(runId: string, sweepId: string) {
  const sent: { key: string; value: number }[] = [];
  const run = {
    info: { run_id: 'uuid-1', experiment_id: '1', artifact_uri: 'mlflow-artifacts:/1/uuid-1', start_time: 1, status: 'FINISHED' },
    data: {
      tags: [
        { key: TAG.runId, value: runId },
        { key: TAG.sweepId, value: sweepId },
        { key: TAG.storeId, value: STORE },
      ],
      params: [],
      metrics: [{ key: 'final/image_acc', value: 0.5, timestamp: 1, step: 3 }],
    },
  } as unknown as MlflowRun;
  const client = {
    uri: 'http://fake',
    searchRuns: async () => [run],
    getRun: async () => run,
    setTag: async () => {},
    deleteRun: async () => {},
    createRun: async () => {
      throw new Error('the run is there: nothing should be created');
    },
    logBatch: async (_id: string, b: { metrics?: { key: string; value: number }[] }) => {
      sent.push(...(b.metrics ?? []));
      return { truncations: [] };
    },
    logInputs: async () => {},
    updateRun: async () => {},
    uploadArtifact: async () => {},
  };
  const session = { client, uri: client.uri, experimentId: async () => '1', artifactsUnavailable: 'no artifacts in this test' } as unknown as SyncSession;
  return { session, sent };
}

describe('sync: a run redone after its directory was deleted', () => {
  it('sends its new final metrics to the MLflow run it finds again', async () => {
    const plan = quickstartPlan();
    const spec = plan.runs[0];
    const artifactsDir = join(dir, 'artifacts');
    const store = RunStore.create(artifactsDir, spec, { sweepId: plan.sweepId, experimentFile: plan.file });
    store.writeStatus({ runId: spec.id, state: 'finished', startedAt: new Date().toISOString(), endedAt: new Date().toISOString() } as never);
    const summary: RunSummary = { runId: spec.id, backend: 'cpu', durationS: 2, phases: {}, final: { image_acc: 0.9 } } as RunSummary;
    store.writeSummary(summary);
    const { session, sent } = serverWithEarlierRun(spec.id, plan.sweepId);
    const ctx = {
      session,
      artifactsDir,
      storeId: STORE,
      sweepId: plan.sweepId,
      plan,
      spec: store.readSpec(),
      experiment: plan.experiment,
      source: { version: 'test' },
      report: { uri: 'http://fake', sweeps: [], runs: [], problems: [] },
    } as unknown as SweepContext;
    await syncOneRun(ctx, store, store.readSpec(), { experimentId: '1', runUuid: 'parent-uuid', created: false });
    // MLflow shows the latest value: the redone run's 0.9 must have been sent.
    expect(sent.filter((m) => m.key === 'final/image_acc').map((m) => m.value)).toEqual([0.9]);
  });
});

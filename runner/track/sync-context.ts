// What the steps of a sync share: the sweep being synced, and the report they add to.
import type { MlflowRunStatus } from './mlflow-client.ts';
import type { SourceInfo } from './mlflow-mapping.ts';
import type { Plan } from './plan-types.ts';
import type { RunSpecFile, RunStore } from './run-store.ts';
import type { SyncSession } from './sync-session.ts';

export interface RunSyncResult {
  runId: string;
  runDir: string;
  runUuid?: string;
  created: boolean;
  /** Something was sent to MLflow for this run by this call. */
  updated: boolean;
  skipped?: string; // why nothing was sent (e.g. still queued)
  linesSent: number; // metrics.jsonl lines sent by this call
  metricsSent: number; // metric values sent by this call
  paramsSent: number;
  artifactsSent: string[];
  status?: MlflowRunStatus;
  problems: string[];
}

export interface SweepSyncResult {
  sweepId: string;
  experimentId: string;
  parentRunUuid: string;
  created: boolean;
  status: MlflowRunStatus;
}

export interface SyncReport {
  uri: string;
  sweeps: SweepSyncResult[];
  runs: RunSyncResult[];
  /** Problems worth telling the user (each reported once across calls). */
  problems: string[];
}

export interface SweepContext {
  session: SyncSession;
  artifactsDir: string;
  /** The result folder's store id (tag mmrun.store_id on every run synced from it). */
  storeId: string;
  sweepId: string;
  plan?: Plan;
  spec: RunSpecFile; // any run of the sweep, for what the plan would say when there is none
  experiment: string;
  source: SourceInfo;
  report: SyncReport;
}

/** The sweep's parent run, once found or created. */
export interface ParentHandle {
  experimentId: string;
  runUuid: string;
  created: boolean;
}

export function emptyResult(spec: RunSpecFile, store: RunStore): RunSyncResult {
  return { runId: spec.id, runDir: store.dir, created: false, updated: false, linesSent: 0, metricsSent: 0, paramsSent: 0, artifactsSent: [], problems: [] };
}

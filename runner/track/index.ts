// runner/track: the run store on disk (source of truth) and the MLflow sink.
export * from './run-store.ts';
export { syncRuns, SyncSession, sweepUrl, SYNC_STATE_FILE, type SyncOptions, type SyncReport, type RunSyncResult, type SweepSyncResult } from './sync.ts';
export { startSyncLoop, type SyncLoop, type SyncLoopOptions } from './sync-loop.ts';
export type { SweepAnalysis, SweepAnalyzer } from './sweep-analysis.ts';
export { MlflowClient, MlflowError, MlflowUnreachableError, ArtifactProxyUnavailableError } from './mlflow-client.ts';
export { resolveTrackingUri, localOnlyMessage } from './tracking-uri.ts';

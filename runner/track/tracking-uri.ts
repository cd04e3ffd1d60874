import type { Experiment } from '../config/types.gen.ts';
import { normalizeTrackingUri } from './mlflow-client.ts';

/** tracking.uri, else MLFLOW_TRACKING_URI, else undefined (local only). Throws for non-http URIs. */
export function resolveTrackingUri(config?: Pick<Experiment, 'tracking'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const uri = config?.tracking?.uri || env.MLFLOW_TRACKING_URI;
  return uri ? normalizeTrackingUri(uri) : undefined;
}

/** What to tell a user whose runs are tracked locally only. */
export function localOnlyMessage(artifactsDir: string): string {
  return [
    `Tracking is local only (no MLFLOW_TRACKING_URI, no tracking.uri): runs are in ${artifactsDir}/runs/.`,
    'To see them in MLflow: `mmrun ui` (needs `pip install mlflow`), or start a server, set',
    'MLFLOW_TRACKING_URI=http://127.0.0.1:5000 and run `mmrun sync <experiment.yaml>`.',
  ].join('\n');
}

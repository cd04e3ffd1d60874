// Caches shared by the sync calls of one process (the launcher's loop keeps one session).
import { MlflowClient } from './mlflow-client.ts';
import { TAG, type SourceInfo } from './mlflow-mapping.ts';
import { sourceInfoFor } from './source-info.ts';
import { storeIdOf } from './sync-store-id.ts';

export class SyncSession {
  readonly client: MlflowClient;
  readonly experimentIds = new Map<string, Promise<string>>();
  readonly sources = new Map<string, SourceInfo>();
  readonly storeIds = new Map<string, string>();
  artifactsUnavailable?: string;

  constructor(client: MlflowClient | { uri: string }) {
    this.client = client instanceof MlflowClient ? client : new MlflowClient({ uri: client.uri });
  }

  get uri(): string {
    return this.client.uri;
  }

  experimentId(name: string, description?: string): Promise<string> {
    let id = this.experimentIds.get(name);
    if (!id) {
      // MLflow 3's UI shows a new experiment as GenAI (traces) unless told it holds model training runs.
      const note = description ? [{ key: TAG.note, value: description }] : [];
      id = this.client.ensureExperiment(name, [{ key: 'mlflow.experimentKind', value: 'custom_model_development' }, ...note]).then(async (experimentId) => {
        // An experiment created earlier (or by MLflow's UI) gets the file's description too.
        if (description) await this.client.setExperimentTag(experimentId, TAG.note, description);
        return experimentId;
      });
      id.catch(() => this.experimentIds.delete(name));
      this.experimentIds.set(name, id);
    }
    return id;
  }

  /** Where the experiment file and mmrun's version come from (git commit, user), read once per file. */
  source(file: string): SourceInfo {
    let s = this.sources.get(file);
    if (!s) {
      s = sourceInfoFor(file);
      this.sources.set(file, s);
    }
    return s;
  }

  /** The result folder's store id (`<artifactsDir>/.store-id`), read once per folder. */
  storeId(artifactsDir: string): string {
    let id = this.storeIds.get(artifactsDir);
    if (!id) {
      id = storeIdOf(artifactsDir);
      this.storeIds.set(artifactsDir, id);
    }
    return id;
  }
}

// What was sent to which MLflow server, kept beside the data: `<run-dir>/mlflow.json` per run and
// `sweeps/<sweepId>/mlflow.json` for the parent run, keyed by server URI.
import { createHash } from 'node:crypto';
import { readJsonIfExists, writeJsonAtomic } from '../files/atomic.ts';

export const SYNC_STATE_FILE = 'mlflow.json';
export const SYNC_LOCK_FILE = 'mlflow.lock';

export interface RunServerState {
  /** The result folder's store id the run was found or created for (absent: written by an older mmrun). */
  storeId?: string;
  experiment: string;
  experimentId: string;
  runUuid: string;
  artifactUri: string;
  parentRunUuid?: string;
  paramsDone: boolean;
  tags: Record<string, string>;
  linesSent: number;
  metricsSent: number;
  summarySent?: string;
  status?: string;
  artifacts: Record<string, string>;
  truncations: Record<string, string>;
  problemsReported: string[];
  systemSamplesSent?: number;
  inputsSent?: string;
  /** Sizes and times of the run's files when everything in them had been sent. */
  seen?: string;
}

export interface ParentServerState {
  storeId?: string;
  experiment: string;
  experimentId: string;
  runUuid: string;
  artifactUri: string;
  tags: Record<string, string>;
  artifacts: Record<string, string>;
  status?: string;
  /** Signature of the finished runs whose analysis the parent carries. */
  analysisSent?: string;
  analysisVersions?: number;
}

interface SyncStateFile<T> {
  servers: Record<string, T>;
}

/** One server's entry of a state file, and how to write it back after each step. */
export interface ServerState<T> {
  state?: T;
  save(): void;
}

export function openServerState<T>(file: string, uri: string): ServerState<T> {
  const content = readState<T>(file);
  const handle: ServerState<T> = {
    state: content.servers[uri],
    save() {
      if (handle.state) content.servers[uri] = handle.state;
      else delete content.servers[uri];
      writeJsonAtomic(file, content);
    },
  };
  return handle;
}

export function dropState(file: string, uri: string): void {
  const state = readState<unknown>(file);
  delete state.servers[uri];
  writeJsonAtomic(file, state);
}

function readState<T>(file: string): SyncStateFile<T> {
  try {
    return readJsonIfExists<SyncStateFile<T>>(file) ?? { servers: {} };
  } catch {
    return { servers: {} }; // a corrupt state file only costs a look-up on the server
  }
}

/** Short content signature of what was sent. */
export function hashOf(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 16);
}

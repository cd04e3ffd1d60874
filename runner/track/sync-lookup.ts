// Finding the one MLflow run of an identity (a sweep's parent, or one RunSpec of a sweep) in one
// result folder, creating it when missing, and adopting the runs an older mmrun left without a
// store tag. Runs carrying another folder's store id are never modified or deleted.
import { setTimeout as sleep } from 'node:timers/promises';
import { MlflowError, type MlflowRun } from './mlflow-client.ts';
import type { KeyValue } from './mlflow-limits.ts';
import { TAG } from './mlflow-mapping.ts';
import type { SyncSession } from './sync-session.ts';

export interface RunIdentity {
  experimentId: string;
  /** The tags that name the run in every result folder (`mmrun.run_id` + `mmrun.sweep_id`, ...). */
  tags: Record<string, string>;
  /** This result folder's store id (tag `mmrun.store_id`). */
  storeId: string;
  /**
   * Which of the runs an older mmrun synced (same tags, no store id) is this folder's, if it can
   * tell for sure; undefined leaves them all alone.
   */
  pickLegacy(legacy: MlflowRun[]): MlflowRun | undefined | Promise<MlflowRun | undefined>;
}

/** Every tag a new run of the identity is created with. */
export function identityTags(id: RunIdentity): Record<string, string> {
  return { ...id.tags, [TAG.storeId]: id.storeId };
}

/**
 * The identity's run in this folder, created when missing. Processes race here (the launcher's loop,
 * a worker's sync-on-exit, `mmrun sync`; on a cluster their file locks may not even share a host),
 * and a create whose answer was lost may still have happened. So: look up, create with a single
 * attempt, look up again. When twins exist anyway, every process keeps the same one (the oldest,
 * then the smallest run uuid) and deletes the others; a process still writing to a deleted twin
 * finds the survivor on its next call (withRetryIfGone).
 */
export async function findOrCreateRun(session: SyncSession, id: RunIdentity, create: () => Promise<MlflowRun>): Promise<{ run: MlflowRun; created: boolean }> {
  let tried = false;
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    const found = await storeRun(session, id);
    if (found) return { run: found, created: tried };
    if (attempt > 0) await sleep(250 * 2 ** attempt);
    let made: MlflowRun;
    try {
      tried = true;
      made = await create();
    } catch (err) {
      // A 4xx is an answer: nothing was created. Anything else may have been: look before retrying.
      if (err instanceof MlflowError && err.status < 500 && err.status !== 429) throw err;
      lastError = err;
      continue;
    }
    return { run: (await storeRun(session, id)) ?? made, created: true };
  }
  throw lastError;
}

/** This folder's run of the identity (twins deleted), else an adopted legacy run, else undefined. */
async function storeRun(session: SyncSession, id: RunIdentity): Promise<MlflowRun | undefined> {
  const runs = await searchByTags(session, id.experimentId, id.tags);
  const ours = runs.filter((r) => storeIdOfRun(r) === id.storeId);
  if (ours.length) return keepOne(session, ours);
  const legacy = runs.filter((r) => storeIdOfRun(r) === undefined);
  const mine = legacy.length ? await id.pickLegacy(legacy) : undefined;
  return mine ? adopt(session, mine, id.storeId) : undefined;
}

export function storeIdOfRun(run: MlflowRun): string | undefined {
  return run.data.tags?.find((t) => t.key === TAG.storeId)?.value;
}

export function tagOf(run: MlflowRun, key: string): string | undefined {
  return run.data.tags?.find((t) => t.key === key)?.value;
}

/** The run every process keeps among twins: the oldest, then the smallest uuid. */
export function firstRun(runs: MlflowRun[]): MlflowRun | undefined {
  return [...runs].sort((a, b) => Number(a.info.start_time ?? 0) - Number(b.info.start_time ?? 0) || (a.info.run_id < b.info.run_id ? -1 : a.info.run_id > b.info.run_id ? 1 : 0))[0];
}

async function keepOne(session: SyncSession, ours: MlflowRun[]): Promise<MlflowRun> {
  const keep = firstRun(ours)!;
  for (const twin of ours) {
    if (twin === keep) continue;
    try {
      await session.client.deleteRun(twin.info.run_id);
    } catch (err) {
      if (!isGone(err)) throw err; // deleted meanwhile by another process
    }
  }
  return keep;
}

/**
 * Tags a run an older mmrun synced with this folder's store id. Read back: when another folder
 * adopted it at the same moment, the last tag written wins and the loser leaves it alone.
 */
async function adopt(session: SyncSession, run: MlflowRun, storeId: string): Promise<MlflowRun | undefined> {
  await session.client.setTag(run.info.run_id, TAG.storeId, storeId);
  const now = await session.client.getRun(run.info.run_id);
  return now && storeIdOfRun(now) === storeId ? now : undefined;
}

function identityFilter(identity: Record<string, string>): string {
  return Object.entries(identity)
    .map(([k, v]) => `tags.\`${k}\` = '${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)
    .join(' AND ');
}

/** Runs of an experiment carrying all these tags. */
export function searchByTags(session: SyncSession, experimentId: string, tags: Record<string, string>): Promise<MlflowRun[]> {
  return session.client.searchRuns({ experimentIds: [experimentId], filter: identityFilter(tags) });
}

/** The run recorded in our state is gone from the server (database reset, run deleted). */
export function isGone(err: unknown): boolean {
  return err instanceof MlflowError && (err.errorCode === 'RESOURCE_DOES_NOT_EXIST' || /must be in the .active. state|is deleted/i.test(err.message));
}

/** Runs `fn`; if it failed because our recorded run vanished, forgets the state and runs it once more. */
export async function withRetryIfGone<T>(fn: () => Promise<T>, forget: () => void): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isGone(err)) throw err;
    forget();
    return fn();
  }
}

export function keyValues(tags: Record<string, string>): KeyValue[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

export function tagMap(tags: KeyValue[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).map((t) => [t.key, t.value]));
}

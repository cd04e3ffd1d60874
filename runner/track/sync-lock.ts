// Short exclusive locks so that two processes syncing the same run (the launcher's loop and a
// manual `mmrun sync`, or workers of a detached sweep) never create it twice in MLflow.
import { acquireLockFile } from '../lock-file.ts';

// A sync holds a lock for seconds; one this old from another host was left by a dead process.
const OPTIONS = { staleMs: 10 * 60_000 };

/**
 * Runs `fn` while holding `file`; waits up to `waitMs` for another holder.
 * Returns undefined without running `fn` when the lock stayed busy.
 */
export async function withSyncLock<T>(file: string, waitMs: number, fn: () => Promise<T>): Promise<T | undefined> {
  const got = await acquireLockFile(file, { ...OPTIONS, timeoutMs: waitMs, pollMs: 100 });
  if (!('lock' in got)) return undefined;
  const { lock } = got;
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

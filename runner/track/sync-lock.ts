// Short exclusive locks so that two processes syncing the same run (the launcher's loop and a
// manual `mmrun sync`, or workers of a detached sweep) never create it twice in MLflow.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

// A sync holds a lock for seconds; one this old from another host was left by a dead process.
const STALE_MS = 10 * 60_000;

function holderIsGone(file: string): boolean {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; host: string };
    if (h.host === hostname()) {
      try {
        process.kill(h.pid, 0);
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH';
      }
    }
    return Date.now() - statSync(file).mtimeMs > STALE_MS;
  } catch {
    // Unreadable: half-written by its creator, or removed meanwhile; old means abandoned.
    try {
      return Date.now() - statSync(file).mtimeMs > 5000;
    } catch {
      return true;
    }
  }
}

/**
 * Runs `fn` while holding `file`; waits up to `waitMs` for another holder.
 * Returns undefined without running `fn` when the lock stayed busy.
 */
export async function withSyncLock<T>(file: string, waitMs: number, fn: () => Promise<T>): Promise<T | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (holderIsGone(file)) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) return undefined;
    await sleep(100);
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

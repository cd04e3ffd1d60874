/**
 * One builder per dataset at a time: a lock file created exclusively, holding pid and host, its
 * mtime refreshed while the build runs. A lock is stale when its process is gone (same host) or
 * its mtime is older than STALE_MS (another host, e.g. on a cluster's shared storage).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

const STALE_MS = 60_000;
const HEARTBEAT_MS = 10_000;

export interface Lock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isStale(file: string): boolean {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; host: string };
    if (info.host === hostname()) return !alive(info.pid);
    return Date.now() - statSync(file).mtimeMs > STALE_MS;
  } catch {
    // Unreadable: a holder killed between create and write, or already released.
    try {
      return Date.now() - statSync(file).mtimeMs > 5_000;
    } catch {
      return true;
    }
  }
}

export function tryLock(file: string): Lock | undefined {
  mkdirSync(dirname(file), { recursive: true });
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }), { flag: 'wx' });
      const beat = setInterval(() => {
        const now = new Date();
        try {
          utimesSync(file, now, now);
        } catch {
          /* removed under us: nothing to refresh */
        }
      }, HEARTBEAT_MS);
      beat.unref();
      return {
        release() {
          clearInterval(beat);
          rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!isStale(file)) return undefined;
      rmSync(file, { force: true });
    }
  }
  return undefined;
}

/** Waits for the lock; `isDone()` lets a waiter stop when the holder finished the work. */
export async function acquireLock(file: string, opts: { isDone: () => boolean; onWait?: (holder: string) => void; pollMs?: number }): Promise<Lock | 'done'> {
  let told = false;
  for (;;) {
    if (opts.isDone()) return 'done';
    const lock = tryLock(file);
    if (lock) return lock;
    if (!told && existsSync(file)) {
      told = true;
      let holder = 'another process';
      try {
        const info = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; host: string };
        holder = `pid ${info.pid} on ${info.host}`;
      } catch {
        /* keep the generic name */
      }
      opts.onWait?.(holder);
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

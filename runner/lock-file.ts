// Lock files shared by processes that may run on several hosts (a cluster's shared storage): a file
// created exclusively, holding the holder's pid and host, optionally touched while held. A lock is
// stale when its holder is gone (same host: its pid no longer exists) or when it has not been
// touched for `staleMs` (another host, where the pid cannot be checked). Used by the dataset and
// augmented-set builders and by the MLflow sync.
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

export interface LockFileOptions {
  /** Untouched this long, a lock from another host is taken over. */
  staleMs: number;
  /** Touch the file this often while held (for holders that keep it longer than staleMs). */
  heartbeatMs?: number;
}

export interface HeldLock {
  release(): void;
}

interface Holder {
  pid: number;
  host: string;
}

function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ageMs(file: string): number | undefined {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

export function isStale(file: string, staleMs: number): boolean {
  const holder = readHolder(file);
  const age = ageMs(file);
  if (age === undefined) return true; // gone meanwhile
  // Unreadable: a holder killed between creating and writing it, or one writing right now.
  if (!holder) return age > 5_000;
  if (holder.host === hostname()) return !alive(holder.pid);
  return age > staleMs;
}

/** "pid 123 on node7", or undefined when there is no (readable) lock. */
export function describeHolder(file: string): string | undefined {
  const h = readHolder(file);
  return h ? `pid ${h.pid} on ${h.host}` : undefined;
}

/** Takes the lock if it is free or stale; undefined when someone else holds it. */
export function tryLockFile(file: string, opts: LockFileOptions): HeldLock | undefined {
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }), { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!isStale(file, opts.staleMs)) return undefined;
      rmSync(file, { force: true });
      continue;
    }
    const beat = opts.heartbeatMs
      ? setInterval(() => {
          const now = new Date();
          try {
            utimesSync(file, now, now);
          } catch {
            /* taken over or removed: nothing to refresh */
          }
        }, opts.heartbeatMs)
      : undefined;
    beat?.unref();
    return {
      release() {
        if (beat) clearInterval(beat);
        rmSync(file, { force: true });
      },
    };
  }
  return undefined;
}

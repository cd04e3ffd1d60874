/**
 * A lock file so that runs started together build a shared augmented set once: the first
 * takes the lock and builds, the others wait and then find it. The holder touches the file
 * every few seconds; a lock nobody touches any more (its process died) is taken over.
 */
import { closeSync, mkdirSync, openSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { MmrunError } from '../../errors.ts';

const TOUCH_EVERY_MS = 5_000;
const STALE_AFTER_MS = 60_000;

export interface HeldLock {
  release(): void;
}

export async function acquireLock(file: string, opts: { timeoutS: number; onWait?: () => void }): Promise<HeldLock> {
  const deadline = Date.now() + opts.timeoutS * 1000;
  mkdirSync(dirname(file), { recursive: true });
  let waited = false;
  for (;;) {
    const held = tryCreate(file);
    if (held) return held;
    if (isStale(file)) {
      try {
        unlinkSync(file);
      } catch {
        // another waiter removed it first
      }
      continue;
    }
    if (!waited) opts.onWait?.();
    waited = true;
    if (Date.now() > deadline) {
      throw new MmrunError(
        `timed out after ${opts.timeoutS}s waiting for another process building the same augmented set (lock ${file})`,
        'if no other mmrun process is running, delete the lock file',
      );
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

function tryCreate(file: string): HeldLock | null {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw err;
  }
  writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), at: new Date().toISOString() }));
  closeSync(fd);
  const timer = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(file, now, now);
    } catch {
      // the lock was taken over; the build will still finish with an atomic rename
    }
  }, TOUCH_EVERY_MS);
  timer.unref();
  return {
    release() {
      clearInterval(timer);
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    },
  };
}

function isStale(file: string): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs > STALE_AFTER_MS;
  } catch {
    return false; // gone: the next attempt creates it
  }
}

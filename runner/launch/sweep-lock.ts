/**
 * One launcher per sweep: `artifacts/sweeps/<sweepId>/lock` is created exclusively and holds the
 * holder's pid and host, its heartbeat refreshed while it runs. A lock whose holder is a dead pid
 * on this host (or, from another host, whose heartbeat is older than STALE_LOCK_MS) is taken over.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { MmrunError } from '../errors.ts';
import { pidAlive } from './liveness.ts';

const STALE_LOCK_MS = 60_000;
const HEARTBEAT_MS = 10_000;

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  heartbeatAt: string;
  command?: string;
}

export interface SweepLock {
  holder: LockHolder;
  release(): void;
}

export function readLock(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

export function isLockStale(holder: LockHolder | undefined, now = Date.now()): boolean {
  if (!holder) return true;
  if (holder.host === hostname()) return !pidAlive(holder.pid);
  const beat = Date.parse(holder.heartbeatAt);
  return !Number.isFinite(beat) || now - beat > STALE_LOCK_MS;
}

export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} on ${h.host} (since ${h.since}${h.command ? `, \`${h.command}\`` : ''})`;
}

/** Takes the lock or returns who holds it. */
export function tryAcquire(file: string, command?: string): SweepLock | LockHolder {
  mkdirSync(dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    const now = new Date().toISOString();
    const holder: LockHolder = { pid: process.pid, host: hostname(), since: now, heartbeatAt: now, command };
    try {
      writeFileSync(file, JSON.stringify(holder), { flag: 'wx' });
      return held(file, holder);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const current = readLock(file);
    if (!current && existsSync(file)) {
      // Being written right now by another launcher (create, then write): look again shortly.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
      const again = readLock(file);
      if (again && !isLockStale(again)) return again;
    } else if (current && !isLockStale(current)) {
      return current;
    }
    takeOver(file, current);
  }
  const last = readLock(file);
  if (last) return last;
  throw new MmrunError(`could not take the sweep lock ${file}`, 'Another launcher keeps taking it; try again.');
}

/** Moves a stale lock aside, checking that what was moved is the stale one (not a fresh lock created meanwhile). */
function takeOver(file: string, stale: LockHolder | undefined): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch {
    return; // someone else moved it first
  }
  const moved = readLock(aside);
  const same = (!moved && !stale) || (moved && stale && moved.pid === stale.pid && moved.since === stale.since && moved.host === stale.host);
  if (!same) {
    try {
      linkSync(aside, file); // put the fresh lock back, unless a newer one is already there
    } catch {
      /* a newer lock exists: fine */
    }
  }
  rmSync(aside, { force: true });
}

function held(file: string, holder: LockHolder): SweepLock {
  const beat = setInterval(() => {
    const mine = readLock(file);
    if (!mine || mine.pid !== holder.pid || mine.host !== holder.host) return;
    holder.heartbeatAt = new Date().toISOString();
    try {
      writeFileSync(file, JSON.stringify(holder));
    } catch {
      /* disk full or removed: the pid check still protects this host */
    }
  }, HEARTBEAT_MS);
  beat.unref();
  let released = false;
  return {
    holder,
    release() {
      if (released) return;
      released = true;
      clearInterval(beat);
      const mine = readLock(file);
      if (mine && mine.pid === holder.pid && mine.host === holder.host) rmSync(file, { force: true });
    },
  };
}

/** Takes the lock; when held: throws (saying who holds it) or, with `wait`, polls until it is free. */
export async function acquireSweepLock(
  file: string,
  opts: { wait?: boolean; pollMs?: number; command?: string; sweepId: string; onWait?: (h: LockHolder) => void },
): Promise<SweepLock> {
  let announced = false;
  for (;;) {
    const got = tryAcquire(file, opts.command);
    if ('release' in got) return got;
    if (!opts.wait) {
      throw new MmrunError(
        `sweep ${opts.sweepId} is already being launched by ${describeHolder(got)}: launching it twice would run the same runs twice.`,
        'Wait for it with `mmrun run <file> --wait`, follow it with `mmrun status <file>`, or stop it with `mmrun cancel <file>`.',
      );
    }
    if (!announced) opts.onWait?.(got);
    announced = true;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
}

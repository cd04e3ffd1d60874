// The one lock of mmrun, for processes that may run on several hosts sharing storage (a cluster):
// a file created exclusively, holding its holder's pid, host, start time and command. Every lock
// (sweep launcher, dataset and augmented-set builders, MLflow sync, shared joint phase) follows
// the same staleness rules:
//   - same host: stale as soon as the holder's pid is gone (a zombie counts as gone);
//   - another host (the pid cannot be checked): stale when the file was not touched for `staleMs`
//     (holders that keep a lock longer than that touch it every `heartbeatMs`, or call `refresh`);
//   - unreadable (a holder killed between creating and writing it): stale after UNREADABLE_STALE_MS.
// Only `staleMs` differs between users. A stale lock is taken over by moving it aside and checking
// that what moved is the stale one, so two processes taking over the same stale lock at once
// never both believe they hold it. `acquireLockFile` is the one wait loop: users wait through it
// rather than polling `tryLockFile` themselves.
import { existsSync, linkSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { mkdirLevels } from './files/mkdir.ts';

export const UNREADABLE_STALE_MS = 5_000;

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  /** What holds it, e.g. `mmrun run x.yaml`: said to whoever finds it busy. */
  command?: string;
}

export interface LockFileOptions {
  /** Untouched this long, a lock from another host is taken over. */
  staleMs: number;
  /** Touch the file this often while held (for holders that keep it longer than staleMs). */
  heartbeatMs?: number;
  /** Recorded in the lock (LockHolder.command). */
  command?: string;
}

export interface HeldLock {
  readonly file: string;
  readonly holder: LockHolder;
  /** Touches the lock now (for holders without a heartbeat timer that do long work in steps). */
  refresh(): void;
  /** Removes the lock if this process still holds it. Idempotent. */
  release(): void;
}

/** Whether `pid` is a live process on this host (a zombie, exited but not reaped, is not). */
export function pidAlive(pid: number | undefined): boolean {
  if (!pid || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

export function readLockHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return typeof h?.pid === 'number' && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

function touchedAt(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The staleness rule (see the top of this file), on a holder already read. */
export function isHolderStale(holder: LockHolder | undefined, touched: number, staleMs: number, now = Date.now()): boolean {
  if (!holder) return now - touched > UNREADABLE_STALE_MS;
  if (holder.host === hostname()) return !pidAlive(holder.pid);
  return now - touched > staleMs;
}

export function isStale(file: string, staleMs: number): boolean {
  const touched = touchedAt(file);
  if (touched === undefined) return true; // gone meanwhile
  return isHolderStale(readLockHolder(file), touched, staleMs);
}

/** The holder of a live (not stale) lock, or undefined when the lock is free or stale. */
export function liveHolder(file: string, staleMs: number): LockHolder | undefined {
  const holder = readLockHolder(file);
  return holder && !isStale(file, staleMs) ? holder : undefined;
}

/** "pid 123 on node7", or undefined when there is no (readable) lock. */
export function describeHolder(file: string): string | undefined {
  const h = readLockHolder(file);
  return h ? `pid ${h.pid} on ${h.host}` : undefined;
}

/** "pid 123 on node7 (since <ISO>, `mmrun run x.yaml`)". */
export function formatHolder(h: LockHolder): string {
  return `pid ${h.pid} on ${h.host} (since ${h.since}${h.command ? `, \`${h.command}\`` : ''})`;
}

const sameHolder = (a: LockHolder | undefined, b: LockHolder | undefined) =>
  (!a && !b) || (!!a && !!b && a.pid === b.pid && a.host === b.host && a.since === b.since);

/** Moves a stale lock aside, checking that what moved is the stale one (not a fresh lock created meanwhile). */
function takeOver(file: string, stale: LockHolder | undefined): void {
  const aside = `${file}.stale-${process.pid}`;
  try {
    renameSync(file, aside);
  } catch {
    return; // someone else moved it first
  }
  if (!sameHolder(readLockHolder(aside), stale)) {
    try {
      linkSync(aside, file); // put the fresh lock back, unless a newer one is already there
    } catch {
      /* a newer lock exists: fine */
    }
  }
  rmSync(aside, { force: true });
}

function held(file: string, holder: LockHolder, heartbeatMs: number | undefined): HeldLock {
  const mine = () => sameHolder(readLockHolder(file), holder);
  const refresh = () => {
    if (!mine()) return; // taken over: never keep someone else's lock fresh
    const now = new Date();
    try {
      utimesSync(file, now, now);
    } catch {
      /* removed meanwhile: the pid check still protects this host */
    }
  };
  const beat = heartbeatMs ? setInterval(refresh, heartbeatMs) : undefined;
  beat?.unref();
  let released = false;
  return {
    file,
    holder,
    refresh,
    release() {
      if (released) return;
      released = true;
      if (beat) clearInterval(beat);
      if (mine()) rmSync(file, { force: true });
    },
  };
}

/** Takes the lock if it is free or stale; undefined when someone else holds it. */
export function tryLockFile(file: string, opts: LockFileOptions): HeldLock | undefined {
  mkdirLevels(dirname(file));
  for (let attempt = 0; attempt < 3; attempt++) {
    const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), ...(opts.command ? { command: opts.command } : {}) };
    try {
      writeFileSync(file, JSON.stringify(holder), { flag: 'wx' });
      return held(file, holder, opts.heartbeatMs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const current = readLockHolder(file);
    if (!isStale(file, opts.staleMs)) return undefined;
    takeOver(file, current);
  }
  return undefined;
}

export interface AcquireOptions extends LockFileOptions {
  /** Give up after this long (default: wait for ever). */
  timeoutMs?: number;
  /** How often to look again (default 500 ms). */
  pollMs?: number;
  /** Stop waiting when this says the holder already did the work. */
  isDone?: () => boolean;
  /** Called once, the first time the lock is found busy (holder undefined: lock being written). */
  onWait?: (holder: LockHolder | undefined) => void;
}

export type AcquireResult = { lock: HeldLock } | { done: true } | { timedOut: true; holder: LockHolder | undefined };

/** Waits for the lock: returns it, or says the work is done (isDone) or the wait timed out. */
export async function acquireLockFile(file: string, opts: AcquireOptions): Promise<AcquireResult> {
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  let told = false;
  for (;;) {
    if (opts.isDone?.()) return { done: true };
    const lock = tryLockFile(file, opts);
    if (lock) return { lock };
    if (!told && existsSync(file)) {
      told = true;
      opts.onWait?.(readLockHolder(file));
    }
    if (Date.now() >= deadline) return { timedOut: true, holder: readLockHolder(file) };
    await new Promise((r) => setTimeout(r, Math.max(1, Math.min(opts.pollMs ?? 500, deadline - Date.now()))));
  }
}

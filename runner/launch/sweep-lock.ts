/**
 * One launcher per sweep: `artifacts/sweeps/<sweepId>/lock`, a runner/lock-file.ts lock (same
 * staleness rules as every other lock) touched every HEARTBEAT_MS while the launcher runs, taken
 * over from another host after SWEEP_LOCK_STALE_MS without a touch.
 */
import { MmrunError } from '../errors.ts';
import { acquireLockFile, formatHolder, liveHolder, type HeldLock, type LockHolder } from '../lock-file.ts';

export const SWEEP_LOCK_STALE_MS = 60_000;
const HEARTBEAT_MS = 10_000;

export type { LockHolder };
export type SweepLock = HeldLock;

/** Who is launching the sweep right now (undefined: nobody, or a holder that is gone). */
export function sweepLockHolder(file: string): LockHolder | undefined {
  return liveHolder(file, SWEEP_LOCK_STALE_MS);
}

export const describeHolder = formatHolder;

/** Takes the lock; when held: throws (saying who holds it) or, with `wait`, waits until it is free. */
export async function acquireSweepLock(
  file: string,
  opts: { wait?: boolean; pollMs?: number; command?: string; sweepId: string; onWait?: (h: LockHolder | undefined) => void },
): Promise<SweepLock> {
  const got = await acquireLockFile(file, {
    staleMs: SWEEP_LOCK_STALE_MS,
    heartbeatMs: HEARTBEAT_MS,
    command: opts.command,
    pollMs: opts.pollMs ?? 1000,
    timeoutMs: opts.wait ? undefined : 0,
    onWait: opts.wait ? opts.onWait : undefined,
  });
  if ('lock' in got) return got.lock;
  const holder = 'timedOut' in got ? got.holder : undefined;
  throw new MmrunError(
    `sweep ${opts.sweepId} is already being launched by ${holder ? formatHolder(holder) : 'another process (its lock is being written)'}: launching it twice would run the same runs twice.`,
    'Wait for it with `mmrun run <file> --wait`, follow it with `mmrun status <file>`, or stop it with `mmrun cancel <file>`.',
  );
}

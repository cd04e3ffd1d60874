/**
 * One builder per dataset at a time (see runner/lock-file.ts): the holder touches the lock while it
 * builds; a waiter stops waiting as soon as the work it waits for is done.
 */
import { existsSync } from 'node:fs';
import { describeHolder, tryLockFile, type HeldLock } from '../lock-file.ts';

const OPTIONS = { staleMs: 60_000, heartbeatMs: 10_000 };

export type Lock = HeldLock;

export function tryLock(file: string): Lock | undefined {
  return tryLockFile(file, OPTIONS);
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
      opts.onWait?.(describeHolder(file) ?? 'another process');
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

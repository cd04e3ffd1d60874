/**
 * So that runs started together build a shared augmented set once: the first takes the lock and
 * builds, the others wait and then find the set. The waiting and the staleness rule are
 * runner/lock-file.ts `acquireLockFile`'s; this module only gives up after `timeoutS` with a
 * message saying what to do.
 */
import { MmrunError } from '../../errors.ts';
import { acquireLockFile, formatHolder, type HeldLock } from '../../lock-file.ts';

/** Taken over from another host after a minute without a touch; the builder touches it every 5 s. */
const AUGMENT_LOCK = { staleMs: 60_000, heartbeatMs: 5_000, pollMs: 300 };

export type { HeldLock };

export async function acquireLock(file: string, opts: { timeoutS: number; onWait?: () => void }): Promise<HeldLock> {
  const got = await acquireLockFile(file, { ...AUGMENT_LOCK, timeoutMs: opts.timeoutS * 1000, onWait: () => opts.onWait?.() });
  if ('lock' in got) return got.lock;
  const holder = 'timedOut' in got && got.holder ? `, held by ${formatHolder(got.holder)}` : '';
  throw new MmrunError(
    `timed out after ${opts.timeoutS}s waiting for another process building the same augmented set (lock ${file}${holder})`,
    'if no other mmrun process is running, delete the lock file',
  );
}

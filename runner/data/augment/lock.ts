/**
 * So that runs started together build a shared augmented set once: the first takes the lock (see
 * runner/lock-file.ts) and builds, the others wait and then find the set.
 */
import { MmrunError } from '../../errors.ts';
import { tryLockFile, type HeldLock } from '../../lock-file.ts';

const OPTIONS = { staleMs: 60_000, heartbeatMs: 5_000 };

export type { HeldLock };

export async function acquireLock(file: string, opts: { timeoutS: number; onWait?: () => void }): Promise<HeldLock> {
  const deadline = Date.now() + opts.timeoutS * 1000;
  let waited = false;
  for (;;) {
    const held = tryLockFile(file, OPTIONS);
    if (held) return held;
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

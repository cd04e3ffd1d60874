// The augmented-set builder waits through runner/lock-file.ts (one wait loop, one staleness rule)
// and turns a timeout into an MmrunError that names the lock and who holds it.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { acquireLock } from '../../runner/data/augment/lock.ts';
import { MmrunError } from '../../runner/errors.ts';
import { tryLockFile } from '../../runner/lock-file.ts';
import { tempFiles } from '../helpers/tmp.ts';

describe('augmented-set lock', () => {
  it('a live holder: says it waits once, times out naming the lock and its holder; free: takes it', async () => {
    const file = tempFiles().path('augmented/set.lock');
    const held = tryLockFile(file, { staleMs: 60_000 })!;
    let waits = 0;
    const err = await acquireLock(file, { timeoutS: 0.4, onWait: () => waits++ }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MmrunError);
    expect((err as Error).message).toBe(
      `timed out after 0.4s waiting for another process building the same augmented set (lock ${file}, held by pid ${process.pid} on ${hostname()} (since ${held.holder.since}))`,
    );
    expect(waits).toBe(1);
    held.release();
    const mine = await acquireLock(file, { timeoutS: 5 });
    expect(mine.holder.pid).toBe(process.pid);
    mine.release();
    expect(existsSync(file)).toBe(false);
  });
});

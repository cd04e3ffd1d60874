// The sweep lock: one launcher per sweep, built on runner/lock-file.ts.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { readLockHolder } from '../../runner/lock-file.ts';
import { acquireSweepLock, sweepLockHolder } from '../../runner/launch/sweep-lock.ts';
import { tempFiles } from '../helpers/tmp.ts';

const deadPid = 2 ** 22 + 12345; // above Linux's default pid_max: never a live process

describe('sweep lock', () => {
  it('one holder at a time; the second is told who holds it and with which command', async () => {
    const t = tempFiles();
    const file = join(t.dir, 'sweeps/s/lock');
    const holder = spawn('sleep', ['120']); // a live holder until killed below, however slow the machine
    try {
      mkdirSync(join(t.dir, 'sweeps/s'), { recursive: true });
      writeFileSync(file, JSON.stringify({ pid: holder.pid, host: hostname(), since: '2026-01-01T00:00:00Z', command: 'mmrun run x.yaml' }));
      expect(sweepLockHolder(file)?.pid).toBe(holder.pid);
      await expect(acquireSweepLock(file, { sweepId: 's' })).rejects.toThrow(new RegExp(`sweep s is already being launched by pid ${holder.pid} on ${hostname()}.*mmrun run x.yaml`));
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over the lock of a dead process on this host, and removes it on release', async () => {
    const file = join(tempFiles().dir, 'lock');
    writeFileSync(file, JSON.stringify({ pid: deadPid, host: hostname(), since: 'x' }));
    expect(sweepLockHolder(file)).toBeUndefined();
    const lock = await acquireSweepLock(file, { sweepId: 's', command: 'mmrun run y.yaml' });
    expect(readLockHolder(file)).toMatchObject({ pid: process.pid, command: 'mmrun run y.yaml' });
    lock.release();
    expect(existsSync(file)).toBe(false);
  });

  it('a lock from another host is stale only once untouched for a minute', async () => {
    const file = join(tempFiles().dir, 'lock');
    writeFileSync(file, JSON.stringify({ pid: 1, host: 'elsewhere', since: 'x' }));
    await expect(acquireSweepLock(file, { sweepId: 's' })).rejects.toThrow(/pid 1 on elsewhere/);
    const old = new Date(Date.now() - 120_000);
    utimesSync(file, old, old);
    const lock = await acquireSweepLock(file, { sweepId: 's' });
    expect(readLockHolder(file)?.pid).toBe(process.pid);
    lock.release();
  });

  it('--wait waits for the holder to go', async () => {
    const file = join(tempFiles().dir, 'lock');
    const child = spawn('sleep', ['120']); // a live holder until killed below, however slow the machine
    writeFileSync(file, JSON.stringify({ pid: child.pid, host: hostname(), since: 'x' }));
    let waited = false;
    const second = acquireSweepLock(file, { sweepId: 's', wait: true, pollMs: 20, onWait: () => (waited = true) });
    await vi.waitFor(() => expect(waited).toBe(true), { timeout: 45_000, interval: 20 });
    child.kill('SIGKILL');
    const lock = await second;
    expect(readLockHolder(file)?.pid).toBe(process.pid);
    lock.release();
  });
});

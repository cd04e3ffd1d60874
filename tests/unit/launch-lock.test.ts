import { spawnSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireSweepLock, readLock, tryAcquire } from '../../runner/launch/sweep-lock.ts';
import { tempFiles } from '../helpers/tmp.ts';

describe('sweep lock', () => {
  it('one holder at a time; the second is told who holds it', async () => {
    const t = tempFiles();
    const file = join(t.dir, 'sweeps/s/lock');
    // Another live process on this host holds it.
    const holder = spawn('sleep', ['30']);
    try {
      mkdirSync(join(t.dir, 'sweeps/s'), { recursive: true });
      writeFileSync(file, JSON.stringify({ pid: holder.pid, host: hostname(), since: '2026-01-01T00:00:00Z', heartbeatAt: new Date().toISOString(), command: 'mmrun run x.yaml' }));
      const got = tryAcquire(file);
      expect('release' in got).toBe(false);
      await expect(acquireSweepLock(file, { sweepId: 's' })).rejects.toThrow(new RegExp(`pid ${holder.pid} on ${hostname()}.*mmrun run x.yaml`));
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over the lock of a dead process on this host', () => {
    const t = tempFiles();
    const file = join(t.dir, 'lock');
    const dead = spawnSync('true').pid; // exited and reaped
    writeFileSync(file, JSON.stringify({ pid: dead, host: hostname(), since: 'x', heartbeatAt: new Date().toISOString() }));
    const got = tryAcquire(file);
    if (!('release' in got)) throw new Error(`expected to take over, held by ${JSON.stringify(got)}`);
    expect(readLock(file)?.pid).toBe(process.pid);
    got.release();
    expect(existsSync(file)).toBe(false);
  });

  it('a lock from another host is stale only when its heartbeat is old', () => {
    const t = tempFiles();
    const file = join(t.dir, 'lock');
    writeFileSync(file, JSON.stringify({ pid: 1, host: 'elsewhere', since: 'x', heartbeatAt: new Date().toISOString() }));
    expect('release' in tryAcquire(file)).toBe(false);
    writeFileSync(file, JSON.stringify({ pid: 1, host: 'elsewhere', since: 'x', heartbeatAt: new Date(Date.now() - 120_000).toISOString() }));
    const got = tryAcquire(file);
    expect('release' in got).toBe(true);
    if ('release' in got) got.release();
  });

  it('--wait waits for the holder to go', async () => {
    const t = tempFiles();
    const file = join(t.dir, 'lock');
    const first = tryAcquire(file);
    if (!('release' in first)) throw new Error('expected the lock');
    // Same pid as the holder: simulate another holder by rewriting the pid to a live child.
    const child = spawn('sleep', ['30']);
    writeFileSync(file, JSON.stringify({ ...first.holder, pid: child.pid }));
    let waited = false;
    const second = acquireSweepLock(file, { sweepId: 's', wait: true, pollMs: 50, onWait: () => (waited = true) });
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGKILL');
    const lock = await second;
    expect(waited).toBe(true);
    expect(readLock(file)?.pid).toBe(process.pid);
    lock.release();
  });
});

// The one lock module (sweep launcher, dataset and augmented-set builders, MLflow sync, joint phase).
import { spawn } from 'node:child_process';
import { existsSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import { acquireLockFile, describeHolder, isStale, liveHolder, readLockHolder, tryLockFile } from '../../runner/lock-file.ts';
import { tempFiles } from '../helpers/tmp.ts';

const opts = { staleMs: 60_000 };
const deadPid = 2 ** 22 + 12345; // above Linux's default pid_max: never a live process
const age = (file: string, seconds: number) => {
  const t = new Date(Date.now() - seconds * 1000);
  utimesSync(file, t, t);
};

describe('lock files', () => {
  it('one holder at a time; released, it can be taken again', () => {
    const file = tempFiles().path('sub/dir/x.lock'); // folders are created
    const a = tryLockFile(file, opts);
    expect(a).toBeDefined();
    expect(tryLockFile(file, opts)).toBeUndefined();
    expect(describeHolder(file)).toBe(`pid ${process.pid} on ${hostname()}`);
    a!.release();
    expect(describeHolder(file)).toBeUndefined();
    const b = tryLockFile(file, opts);
    expect(b).toBeDefined();
    b!.release();
  });

  it('same host: a lock whose process is gone is taken over at once', () => {
    const file = tempFiles().path('x.lock');
    writeFileSync(file, JSON.stringify({ pid: deadPid, host: hostname() }));
    expect(isStale(file, opts.staleMs)).toBe(true);
    const lock = tryLockFile(file, opts);
    expect(lock).toBeDefined();
    expect(describeHolder(file)).toBe(`pid ${process.pid} on ${hostname()}`);
    lock!.release();
  });

  it('another host: taken over only once nobody has touched it for staleMs', () => {
    const file = tempFiles().path('x.lock');
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: 'some-other-node' }));
    expect(tryLockFile(file, opts)).toBeUndefined();
    age(file, 61);
    const lock = tryLockFile(file, opts);
    expect(lock).toBeDefined();
    lock!.release();
  });

  it('an unreadable lock (its holder died while writing it) is stale after a few seconds', () => {
    const file = tempFiles().path('x.lock');
    writeFileSync(file, '{"pid": 12');
    expect(isStale(file, opts.staleMs)).toBe(false);
    age(file, 6);
    expect(isStale(file, opts.staleMs)).toBe(true);
  });

  it('the holder touches the file while it holds it, so other hosts do not take it over', async () => {
    const file = tempFiles().path('x.lock');
    const lock = tryLockFile(file, { staleMs: 60_000, heartbeatMs: 20 });
    age(file, 30);
    const before = statSync(file).mtimeMs;
    await vi.waitFor(() => expect(statSync(file).mtimeMs).toBeGreaterThan(before + 20_000), { timeout: 45_000, interval: 20 });
    lock!.release();
  });

  it('refresh() touches the lock by hand; a holder never touches a lock taken over by someone else', () => {
    const file = tempFiles().path('x.lock');
    const lock = tryLockFile(file, opts)!;
    age(file, 30);
    lock.refresh();
    expect(Date.now() - statSync(file).mtimeMs).toBeLessThan(10_000);
    // Someone else's lock in its place: neither refreshed nor removed by the old holder.
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: 'other-node', since: 'later' }));
    age(file, 30);
    lock.refresh();
    expect(Date.now() - statSync(file).mtimeMs).toBeGreaterThan(20_000);
    lock.release();
    expect(readLockHolder(file)?.host).toBe('other-node');
  });

  it('records the command and start time; liveHolder names only a live holder', () => {
    const file = tempFiles().path('x.lock');
    const lock = tryLockFile(file, { ...opts, command: 'mmrun run x.yaml' })!;
    expect(readLockHolder(file)).toMatchObject({ pid: process.pid, host: hostname(), command: 'mmrun run x.yaml' });
    expect(liveHolder(file, opts.staleMs)?.pid).toBe(process.pid);
    lock.release();
    expect(existsSync(file)).toBe(false);
    writeFileSync(file, JSON.stringify({ pid: deadPid, host: hostname(), since: 'x' }));
    expect(liveHolder(file, opts.staleMs)).toBeUndefined();
  });
});

describe('waiting for a lock (acquireLockFile)', () => {
  it('returns the lock once its holder releases it', async () => {
    const file = tempFiles().path('x.lock');
    const child = spawn('sleep', ['120']); // a live holder until killed below, however slow the machine
    writeFileSync(file, JSON.stringify({ pid: child.pid, host: hostname(), since: 'x', command: 'other' }));
    let told: unknown;
    const waiting = acquireLockFile(file, { ...opts, pollMs: 20, onWait: (h) => (told = h) });
    await vi.waitFor(() => expect(told).toMatchObject({ pid: child.pid, command: 'other' }), { timeout: 45_000, interval: 20 });
    child.kill('SIGKILL');
    const got = await waiting;
    if (!('lock' in got)) throw new Error(`expected the lock, got ${JSON.stringify(got)}`);
    expect(readLockHolder(file)?.pid).toBe(process.pid);
    got.lock.release();
  });

  it('gives up after timeoutMs, naming the holder', async () => {
    const file = tempFiles().path('x.lock');
    writeFileSync(file, JSON.stringify({ pid: 1, host: 'other-node', since: 'x' }));
    const got = await acquireLockFile(file, { ...opts, timeoutMs: 50, pollMs: 10 });
    expect(got).toEqual({ timedOut: true, holder: { pid: 1, host: 'other-node', since: 'x' } });
  });

  it('stops waiting when the holder did the work (isDone)', async () => {
    const file = tempFiles().path('x.lock');
    writeFileSync(file, JSON.stringify({ pid: 1, host: 'other-node', since: 'x' }));
    let done = false;
    const waiting = acquireLockFile(file, { ...opts, pollMs: 10, onWait: () => (done = true), isDone: () => done });
    expect(await waiting).toEqual({ done: true });
  });
});

// The lock files shared by the dataset and augmented-set builders and the MLflow sync.
import { statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { describeHolder, isStale, tryLockFile } from '../../runner/lock-file.ts';
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
    await new Promise((r) => setTimeout(r, 120));
    expect(statSync(file).mtimeMs).toBeGreaterThan(before + 20_000);
    lock!.release();
  });
});

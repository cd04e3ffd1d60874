// Generated code (the tfjs gradient bundle, the native kernels) is cached only in a folder of the
// user's own, closed to others, and a cached file is used only when its bytes match the hash
// recorded beside it.
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { userCacheDir, userCacheRoots as cacheRoots } from '../../runner/files/cache-dir.ts';
import { codeCacheDir, readVerified, unsafeReason, writeVerified } from '../../runner/model/backend/code-cache.ts';
import { tempFiles } from '../helpers/tmp.ts';

describe('cache location', () => {
  it('MMRUN_CACHE_DIR, else $XDG_CACHE_HOME/mmrun, else ~/.cache/mmrun (then a per-user temp folder); never a shared name', () => {
    expect(cacheRoots({ MMRUN_CACHE_DIR: '/x/c', XDG_CACHE_HOME: '/x/xdg' })).toEqual(['/x/c']);
    const xdg = cacheRoots({ XDG_CACHE_HOME: '/x/xdg' });
    expect(xdg[0]).toBe('/x/xdg/mmrun');
    expect(cacheRoots({})[0]).toBe(path.join(os.homedir(), '.cache', 'mmrun'));
    for (const roots of [xdg, cacheRoots({})]) {
      expect(roots[1]).toBe(path.join(os.tmpdir(), `mmrun-${process.getuid!()}`));
      expect(roots).not.toContain(path.join(os.tmpdir(), 'mmrun-cache'));
    }
  });

  it('one root for every cache: the source fingerprints live in the first code-cache root', () => {
    for (const env of [{ MMRUN_CACHE_DIR: 'rel/c' }, { XDG_CACHE_HOME: '/x/xdg' }, {}]) expect(userCacheDir(env)).toBe(cacheRoots(env)[0]);
    expect(userCacheDir({ MMRUN_CACHE_DIR: 'rel/c' })).toBe(path.resolve('rel/c'));
  });

  it('creates missing folders with mode 0700', () => {
    const { dir } = tempFiles();
    const r = codeCacheDir('generated', 'x', { MMRUN_CACHE_DIR: `${dir}/new/cache` });
    expect(r).toEqual({ ok: true, dir: `${dir}/new/cache/generated` });
    for (const d of [`${dir}/new/cache`, `${dir}/new/cache/generated`]) expect(statSync(d).mode & 0o777).toBe(0o700);
  });

  it('refuses a folder others can write to, a symlink, or one owned by another user, and says which and why', () => {
    const { dir } = tempFiles();
    mkdirSync(`${dir}/open/generated`, { recursive: true });
    chmodSync(`${dir}/open/generated`, 0o775);
    expect(codeCacheDir('generated', 'the gradients', { MMRUN_CACHE_DIR: `${dir}/open` })).toEqual({
      ok: false,
      reason: `no safe cache folder for the gradients (${dir}/open/generated is writable by other users (mode 775)); set MMRUN_CACHE_DIR to a folder of your own`,
    });
    mkdirSync(`${dir}/real`, { mode: 0o700 });
    symlinkSync(`${dir}/real`, `${dir}/link`);
    expect(unsafeReason(`${dir}/link`)).toBe(`${dir}/link is a symbolic link`);
    if (process.getuid!() === 0) {
      // Another user's folder (root can make one): the planted-cache case on a shared node.
      mkdirSync(`${dir}/theirs`, { mode: 0o700 });
      chownSync(`${dir}/theirs`, 4242, 4242);
      expect(unsafeReason(`${dir}/theirs`)).toBe(`${dir}/theirs belongs to another user (uid 4242)`);
    }
    expect(unsafeReason(`${dir}/real`)).toBeUndefined();
  });
});

describe('verified files', () => {
  it('reads back what was written; an altered, truncated or unhashed file reads as missing', () => {
    const { dir } = tempFiles();
    const file = `${dir}/code.mjs`;
    writeVerified(file, 'export const x = 1;\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readVerified(file)?.toString()).toBe('export const x = 1;\n');
    writeFileSync(file, 'export const x = 2;\n');
    expect(readVerified(file)).toBeUndefined();
    writeVerified(file, 'export const x = 1;\n');
    writeFileSync(file, 'export const');
    expect(readVerified(file)).toBeUndefined();
    writeVerified(file, 'export const x = 1;\n');
    rmSync(`${file}.sha256`);
    expect(readVerified(file)).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe('export const x = 1;\n');
  });
});

describe('the tfjs gradient bundle', () => {
  it('is cached in the user cache and rebuilt, not run, when the cached bytes were altered', async () => {
    const { gradientsModuleSource } = await import('../../runner/model/gradients.ts');
    const { dir } = tempFiles();
    const saved = process.env.MMRUN_CACHE_DIR;
    process.env.MMRUN_CACHE_DIR = dir;
    try {
      const first = await gradientsModuleSource();
      expect(first.from).toBe('bundled');
      const file = `${dir}/generated/tfjs-core-${(await import('@tensorflow/tfjs-core')).version_core}-gradients.mjs`;
      expect(readFileSync(file, 'utf8')).toBe(first.code);
      expect(await gradientsModuleSource()).toEqual({ code: first.code, from: 'cache' });
      writeFileSync(file, `globalThis.planted = true;\n${first.code}`);
      const again = await gradientsModuleSource();
      expect(again).toEqual({ code: first.code, from: 'bundled' });
      expect(again.code).not.toContain('planted');
    } finally {
      if (saved === undefined) delete process.env.MMRUN_CACHE_DIR;
      else process.env.MMRUN_CACHE_DIR = saved;
    }
  }, 120_000);
});

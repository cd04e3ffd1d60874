// Building the native kernels: compiled once per (source, compiler, CPU) into the cache, and every
// way it can fail (no compiler, a compiler that errors) is a reason string, never an exception,
// so a run falls back to the WebAssembly kernels and records why.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { buildNativeLibrary, SOURCES } from '../../runner/model/backend/native/build.ts';
import { loadNativeKernels, selfCheck, type NativeKernels } from '../../runner/model/backend/native/index.ts';
import { tempFiles } from '../helpers/tmp.ts';

const saved = { cc: process.env.MMRUN_CC, cache: process.env.MMRUN_CACHE_DIR };
/** Time allowed per compile of the library: ~1 s on a quiet machine, 30+ s on a loaded 2-core one (the compiler's own limit is 120 s). */
const COMPILES = 150_000;
afterEach(() => {
  for (const [key, value] of [['MMRUN_CC', saved.cc], ['MMRUN_CACHE_DIR', saved.cache]] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe('buildNativeLibrary', () => {
  it('compiles into the cache once, then reuses the library', () => {
    const { dir } = tempFiles();
    process.env.MMRUN_CACHE_DIR = dir;
    const first = buildNativeLibrary();
    expect(first.ok, first.ok ? '' : first.reason).toBe(true);
    if (!first.ok) return;
    expect(first.cached).toBe(false);
    expect(existsSync(first.library)).toBe(true);
    expect(first.library.startsWith(dir)).toBe(true);
    const second = buildNativeLibrary();
    expect(second).toEqual({ ...first, cached: true });
    const name = first.library.split('/').pop()!;
    expect(readdirSync(`${dir}/native`).sort()).toEqual([name, `${name}.sha256`]); // no temporary file left
    expect(statSync(`${dir}/native`).mode & 0o777).toBe(0o700);
  }, COMPILES);

  it('rebuilds a cached library whose bytes do not match the hash recorded when it was built', () => {
    const { dir } = tempFiles();
    process.env.MMRUN_CACHE_DIR = dir;
    const first = buildNativeLibrary();
    if (!first.ok) throw new Error(first.reason);
    const good = readFileSync(first.library);
    writeFileSync(first.library, Buffer.concat([good, Buffer.from('planted')])); // altered in place
    const second = buildNativeLibrary();
    expect(second).toEqual({ ...first, cached: false });
    expect(readFileSync(first.library).equals(good)).toBe(true);
  }, 2 * COMPILES);

  it('refuses a cache folder other users can write to (they could plant a library)', () => {
    const { dir } = tempFiles();
    mkdirSync(`${dir}/shared`);
    chmodSync(`${dir}/shared`, 0o777);
    process.env.MMRUN_CACHE_DIR = `${dir}/shared`;
    const r = buildNativeLibrary();
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/^no safe cache folder for the native kernels \(.*shared is writable by other users \(mode 777\)/) });
  });

  it('without a compiler: says which were tried and how to name one', () => {
    process.env.MMRUN_CACHE_DIR = tempFiles().dir;
    process.env.MMRUN_CC = '/nonexistent/cc';
    const r = buildNativeLibrary();
    expect(r).toEqual({ ok: false, reason: 'no C compiler found (tried /nonexistent/cc; set MMRUN_CC)' });
  });

  it('no writable cache folder: says where it tried', () => {
    const { path } = tempFiles({ 'a-file': 'not a folder' });
    process.env.MMRUN_CACHE_DIR = path('a-file'); // mkdir below a file fails (permissions would not stop root)
    const r = buildNativeLibrary();
    expect(r).toEqual({ ok: false, reason: `no safe cache folder for the native kernels (${path('a-file')}/native: ENOTDIR); set MMRUN_CACHE_DIR to a folder of your own` });
  });

  it('a compiler that fails: the reason carries its message and leaves nothing in the cache', () => {
    const { dir, path } = tempFiles({ 'bad-cc': '#!/bin/sh\nif [ "$1" = --version ]; then echo "bad-cc 1.0"; exit 0; fi\necho "kernels.c:1: error: no space for the moon" >&2\nexit 1\n' });
    chmodSync(path('bad-cc'), 0o755);
    process.env.MMRUN_CACHE_DIR = `${dir}/cache`;
    process.env.MMRUN_CC = path('bad-cc');
    const r = buildNativeLibrary();
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toMatch(/^compiling the native kernels \(.+\/native\/\) with .+bad-cc failed/);
    expect(SOURCES.some((f) => f.endsWith('matmul.c'))).toBe(true);
    expect(r.reason).toContain('error: no space for the moon');
    expect(readdirSync(`${dir}/cache/native`)).toEqual([]);
  });
});

describe('selfCheck', () => {
  it('passes the real library', () => {
    const native = loadNativeKernels();
    expect(native.ok, native.ok ? '' : native.reason).toBe(true);
    if (native.ok) expect(selfCheck(native.kernels)).toBeUndefined();
  }, COMPILES);

  it('refuses a library whose product is off (the run then keeps the WebAssembly kernels)', () => {
    const native = loadNativeKernels();
    if (!native.ok) throw new Error(native.reason);
    const skewed: Pick<NativeKernels, 'matmul'> = {
      matmul: (heap, ...args) => {
        const status = native.kernels.matmul(heap, ...args);
        new Float32Array(heap.buffer)[(args[12] >> 2) + 40] += 0.01; // one wrong element of C
        return status;
      },
    };
    expect(selfCheck(skewed)).toMatch(/^the native kernels failed their self-check \(max error 1\.00e-2 on a 19×300·300×37 product\)$/);
    expect(selfCheck({ matmul: () => -1 })).toBe('the self-check product returned an error');
  });
});

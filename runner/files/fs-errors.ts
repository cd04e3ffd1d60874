// What an errno means to someone whose run just stopped: "the disk is full", not "ENOSPC: no space
// left on device, write" with a stack trace under it.
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { MmrunError } from '../errors.ts';

const MEANINGS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is exceeded',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted',
  EROFS: 'the file system is read-only',
  ENOENT: 'a folder on the path does not exist (deleted while mmrun was using it?)',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'the path is a folder, expected a file',
  EMFILE: 'too many open files',
  EIO: 'an input/output error from the device',
};

/**
 * A recursive mkdir on a read-only or forbidden folder reports ENOENT: the real cause is the
 * nearest existing folder above the path not being writable.
 */
function realCode(e: NodeJS.ErrnoException): string | undefined {
  if (e.code !== 'ENOENT' || e.syscall !== 'mkdir' || !e.path) return e.code;
  let dir = dirname(e.path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    accessSync(dir, constants.W_OK);
    return e.code;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? e.code;
  }
}

/** "the disk is full (ENOSPC)" for a file-system error; the plain message for anything else. */
export function errnoMeaning(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ? realCode(e) : undefined;
  if (code && MEANINGS[code]) return `${MEANINGS[code]} (${code})`;
  if (e?.code) return `${e.code}: ${e.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** True for an error thrown by a file-system call (it has an errno code). */
export function isFsError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * An MmrunError naming what could not be written and why, for a file-system error; other errors
 * (already clear, or bugs) are returned unchanged.
 */
export function writeFailure(err: unknown, path: string, what = 'write'): unknown {
  if (err instanceof MmrunError || !isFsError(err)) return err;
  return new MmrunError(`could not ${what} ${err.path ?? path}: ${errnoMeaning(err)}`, 'Free space or fix the permissions of the artifacts folder (artifacts_dir), then run the same command again: finished work is kept.');
}

/** Runs `fn`, turning a file-system error into writeFailure's MmrunError. */
export function withWriteErrors<T>(path: string, fn: () => T, what?: string): T {
  try {
    return fn();
  } catch (err) {
    throw writeFailure(err, path, what);
  }
}

// Where mmrun keeps code it generates and then runs (the bundled tfjs gradients, the compiled
// native kernels): a folder of the current user's, never a shared one such as /tmp/mmrun-cache
// where another user of a cluster node could plant code every worker would run.
//
// - The roots are runner/files/cache-dir.ts `userCacheRoots`: `MMRUN_CACHE_DIR`, else
//   `$XDG_CACHE_HOME/mmrun`, else `~/.cache/mmrun` (then, only when the home cannot be written, a
//   per-user folder in the temporary directory).
// - Folders are created with mode 0700; an existing folder is used only when it is a real
//   directory (not a symlink) owned by this user and not writable by group or others.
// - Every cached file has a `.sha256` beside it, written after the file, and is read back and
//   checked against it before use: a truncated or altered file is rebuilt, never run.
import { lstatSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../files/atomic.ts';
import { userCacheRoots } from '../../files/cache-dir.ts';
import { sha256Bytes } from '../../files/checksum.ts';
import { mkdirLevels } from '../../files/mkdir.ts';

export type CacheDir = { ok: true; dir: string } | { ok: false; reason: string };

/** Why `dir` must not hold code we run, or undefined when it is safe (ours, a directory, closed to others). */
export function unsafeReason(dir: string): string | undefined {
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    return `${dir} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  if (st.isSymbolicLink()) return `${dir} is a symbolic link`;
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return `${dir} belongs to another user (uid ${st.uid})`;
  if (process.platform !== 'win32' && (st.mode & 0o022) !== 0) return `${dir} is writable by other users (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

/** `root/sub` created (0700) or checked, or why it cannot hold code. Never throws. */
function safeFolder(root: string, sub: string): CacheDir {
  const dir = path.join(root, sub);
  try {
    mkdirLevels(dir, 0o700); // folders created here (a fresh ~/.cache included) get 0700; existing ones are checked below
  } catch (err) {
    return { ok: false, reason: `${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  const unsafe = unsafeReason(root) ?? unsafeReason(dir);
  return unsafe ? { ok: false, reason: unsafe } : { ok: true, dir };
}

/** Creates (0700) or checks `root/sub`; the first usable root wins. Never throws. */
export function codeCacheDir(sub: string, what = 'generated code', env: NodeJS.ProcessEnv = process.env): CacheDir {
  const problems: string[] = [];
  for (const root of userCacheRoots(env)) {
    const folder = safeFolder(root, sub);
    if (folder.ok) return folder;
    problems.push(folder.reason);
  }
  return { ok: false, reason: `no safe cache folder for ${what} (${problems.join('; ')}); set MMRUN_CACHE_DIR to a folder of your own` };
}

const hashFile = (file: string) => `${file}.sha256`;

/**
 * The cached file's bytes when they match the hash recorded beside them, else undefined
 * (missing, unreadable, truncated, altered, or no recorded hash).
 */
export function readVerified(file: string): Buffer | undefined {
  try {
    const want = readFileSync(hashFile(file), 'utf8').trim();
    const data = readFileSync(file);
    return sha256Bytes(data) === want ? data : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `file` and its hash, each atomically (temp + rename), file first. Mode 0600. */
export function writeVerified(file: string, data: Uint8Array | string): void {
  writeFileAtomic(file, data, { mode: 0o600 });
  writeFileAtomic(hashFile(file), `${sha256Bytes(data)}\n`, { mode: 0o600 });
}

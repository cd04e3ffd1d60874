// Where mmrun keeps code it generates and then runs (the bundled tfjs gradients, the compiled
// native kernels): a folder of the current user's, never a shared one such as /tmp/mmrun-cache
// where another user of a cluster node could plant code every worker would run.
//
// - `MMRUN_CACHE_DIR`, else `$XDG_CACHE_HOME/mmrun`, else `~/.cache/mmrun` (then, only when the
//   home cannot be written, a per-user folder in the temporary directory).
// - Folders are created with mode 0700; an existing folder is used only when it is a real
//   directory (not a symlink) owned by this user and not writable by group or others.
// - Every cached file has a `.sha256` beside it, written after the file, and is read back and
//   checked against it before use: a truncated or altered file is rebuilt, never run.
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type CacheDir = { ok: true; dir: string } | { ok: false; reason: string };

/** The cache roots to try, in order (`env` is a parameter for tests). */
export function cacheRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.MMRUN_CACHE_DIR) return [path.resolve(env.MMRUN_CACHE_DIR)];
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return [path.join(base, 'mmrun'), path.join(os.tmpdir(), `mmrun-${uid()}`)];
}

function uid(): number | string {
  return typeof process.getuid === 'function' ? process.getuid() : os.userInfo().username;
}

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

/** Creates (0700) or checks `root/sub`; the first usable root wins. Never throws. */
export function codeCacheDir(sub: string, what = 'generated code', env: NodeJS.ProcessEnv = process.env): CacheDir {
  const problems: string[] = [];
  for (const root of cacheRoots(env)) {
    const dir = path.join(root, sub);
    try {
      // Folders created here (a fresh ~/.cache included) get 0700; existing ones are checked below.
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      problems.push(`${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      continue;
    }
    const unsafe = unsafeReason(root) ?? unsafeReason(dir);
    if (unsafe) {
      problems.push(unsafe);
      continue;
    }
    return { ok: true, dir };
  }
  return { ok: false, reason: `no safe cache folder for ${what} (${problems.join('; ')}); set MMRUN_CACHE_DIR to a folder of your own` };
}

export const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/**
 * The cached file's bytes when they match the hash recorded beside them, else undefined
 * (missing, unreadable, truncated, altered, or no recorded hash).
 */
export function readVerified(file: string): Buffer | undefined {
  try {
    const want = readFileSync(`${file}.sha256`, 'utf8').trim();
    const data = readFileSync(file);
    return sha256(data) === want ? data : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `file` and its hash, each atomically (temp + rename), file first. Mode 0600. */
export function writeVerified(file: string, data: Uint8Array | string): void {
  const put = (target: string, content: Uint8Array | string) => {
    const tmp = `${target}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, content, { mode: 0o600 });
      chmodSync(tmp, 0o600);
      renameSync(tmp, target);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  };
  put(file, data);
  put(`${file}.sha256`, `${sha256(data)}\n`);
}

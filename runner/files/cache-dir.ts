// Where mmrun keeps the current user's caches (the source fingerprints, generated code): one
// resolution of the cache root for every cache, so they all honour the same variables.
import os from 'node:os';
import path from 'node:path';

/** `MMRUN_CACHE_DIR`, else `$XDG_CACHE_HOME/mmrun`, else `~/.cache/mmrun` (`env` is a parameter for tests). */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MMRUN_CACHE_DIR) return path.resolve(env.MMRUN_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'mmrun');
}

/**
 * The cache roots to try, in order: `userCacheDir`, then, for when the home cannot be written, a
 * per-user folder in the temporary directory (`$TMPDIR/mmrun-<uid>`; never a shared name such as
 * /tmp/mmrun-cache). An explicit MMRUN_CACHE_DIR is the only root.
 */
export function userCacheRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const first = userCacheDir(env);
  return env.MMRUN_CACHE_DIR ? [first] : [first, path.join(os.tmpdir(), `mmrun-${userId()}`)];
}

function userId(): number | string {
  return typeof process.getuid === 'function' ? process.getuid() : os.userInfo().username;
}

/**
 * Creating folders without Node's recursive mkdir: under /proc (and other kernel file systems)
 * `mkdirSync(dir, { recursive: true })` never returns (it retries ENOENT for ever), so an
 * artifacts_dir there hung `mmrun report` and workers. Creating one level at a time fails at once
 * with the ordinary errno instead.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Like `mkdirSync(dir, { recursive: true })`, one level at a time; an existing folder is fine. */
export function mkdirLevels(dir: string, mode?: number): void {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    try {
      if (statSync(p).isDirectory()) break;
      mkdirSync(p); // exists but is not a folder: throws EEXIST, as recursive mkdir does (ENOTDIR below it)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    missing.unshift(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const level of missing) {
    try {
      mkdirSync(level, mode === undefined ? undefined : { mode });
    } catch (err) {
      // another process made it in between: fine, as long as it is a folder
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(level).isDirectory()) throw err;
    }
  }
}

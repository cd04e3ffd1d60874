import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes a file so that readers see either the old or the new content, never a mix. `mode` (e.g.
 * 0o600) is set exactly, whatever the umask, before any content is written.
 */
export function writeFileAtomic(file: string, content: string | Uint8Array, opts: { mode?: number } = {}): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'w', opts.mode);
  try {
    if (opts.mode !== undefined) fchmodSync(fd, opts.mode);
    writeFileSync(fd, content); // loops until every byte is written (writeSync may write part)
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true }); // a full disk must not leave a partial temp file behind
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** The text of a file, or undefined when it does not exist. */
export function readTextIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The parsed JSON of a file, or undefined when it does not exist. Throws on invalid JSON. */
export function readJsonIfExists<T>(file: string): T | undefined {
  const text = readTextIfExists(file);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

// The identity of one result folder (artifacts_dir) on MLflow servers. Run ids are content hashes,
// so two folders holding the same experiment have the same run and sweep ids; this random id,
// created once and kept in `<artifacts_dir>/.store-id`, tells their MLflow runs apart
// (tag mmrun.store_id, docs/tracking.md "One result folder, one set of runs").
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MmrunError } from '../errors.ts';
import { readTextIfExists } from '../files/atomic.ts';
import { mkdirLevels } from '../files/mkdir.ts';

export const STORE_ID_FILE = '.store-id';
const STORE_ID = /^[0-9a-f]{16,64}$/;

// Filesystems without hard links (some network and FAT mounts) answer link() with one of these.
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/** This folder's store id, created on first use. Processes racing to create it all end with the same one. */
export function storeIdOf(artifactsDir: string, link: (from: string, to: string) => void = linkSync): string {
  const file = join(artifactsDir, STORE_ID_FILE);
  const existing = readStoreId(file);
  if (existing) return existing;
  mkdirLevels(artifactsDir);
  createOnce(file, randomBytes(8).toString('hex'), link);
  return readStoreId(file) ?? invalid(file, readTextIfExists(file) ?? '');
}

function readStoreId(file: string): string | undefined {
  let text = readTextIfExists(file);
  // Created without hard links (createExclusive), the file exists empty for the instant between
  // its exclusive creation and its one write: wait for the write rather than call it damaged.
  for (let waited = 0; text === '' && waited < 2000; waited += 50) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    text = readTextIfExists(file);
  }
  if (text === undefined) return undefined;
  const id = text.trim();
  return STORE_ID.test(id) ? id : invalid(file, id);
}

/**
 * Publishes the complete file under its name only if nothing is there yet: written aside, then
 * hard-linked (link fails when the name exists), so no process ever reads a half-written id and a
 * second creator keeps the first one's.
 */
function createOnce(file: string, id: string, link: (from: string, to: string) => void): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, id + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    link(tmp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return; // another process created it first
    if (!NO_HARD_LINKS.has(code)) throw err;
    createExclusive(file, id);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Without hard links: create the name exclusively (O_EXCL), then write the id in one write. */
function createExclusive(file: string, id: string): void {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw err;
  }
  try {
    writeFileSync(fd, id + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function invalid(file: string, found: string): never {
  throw new MmrunError(
    `${file} should hold this result folder's MLflow store id (16 to 64 lowercase hex characters), found '${found.slice(0, 40)}'. ` +
      'Restore it from a backup; delete it only if this folder was never synced (its runs on MLflow would no longer be found).',
  );
}

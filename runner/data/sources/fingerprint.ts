/**
 * The content hash of a dataset's source files (every file under dataset.path: IDX files, gzipped
 * or not, CIFAR-10 batches, an image folder; or the embedded MNIST package): what identifies the data, wherever it lives. Each
 * file's hash is cached by absolute path + size + mtime + ctime + inode in the user cache dir, so the files are
 * read once; later calls only stat them.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Dataset as DatasetConfig } from '../../config/types.gen.ts';
import { MmrunError } from '../../errors.ts';
import { readJsonIfExists, writeJsonAtomic } from '../../files/atomic.ts';
import { userCacheDir } from '../../files/cache-dir.ts';
import { sha256Bytes, sha256File } from '../../files/checksum.ts';
import { mnistDataDir } from './index.ts';
import { mkdirLevels } from '../../files/mkdir.ts';

interface CacheEntry {
  size: number;
  mtimeMs: number;
  /** With ctime and inode, a file replaced by one of the same size and mtime (cp -p, rsync -t) is hashed again. */
  ctimeMs: number;
  ino: number;
  sha256: string;
}
type Cache = Record<string, CacheEntry>;

const cacheFile = (env: NodeJS.ProcessEnv) => join(userCacheDir(env), 'source-fingerprints.json');

function readCache(file: string): Cache {
  try {
    const cache = readJsonIfExists<Cache>(file);
    return cache && typeof cache === 'object' ? cache : {};
  } catch {
    return {}; // a broken cache is only a cache: rebuild it
  }
}

/** Every regular file under `dir` (hidden names skipped), sorted. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() || (e.isSymbolicLink() && statSync(p, { throwIfNoEntry: false })?.isFile())) out.push(p); // a dangling link is no data
    }
  };
  walk(dir);
  return out;
}

/**
 * The files that identify a source: every file under dataset.path (hidden names skipped), or the
 * embedded MNIST package's files. Throws MmrunError when the folder is missing, not a folder or empty.
 */
export function sourceFiles(dataset: Pick<DatasetConfig, 'source' | 'path'>): { root: string; files: string[] } {
  if (!dataset.path) {
    if (dataset.source !== 'mnist') throw new MmrunError(`dataset.path is required for dataset.source '${dataset.source}' (the folder holding its files)`);
    const root = mnistDataDir();
    return { root, files: filesUnder(root) };
  }
  const root = dataset.path;
  let stat;
  try {
    stat = statSync(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new MmrunError(`dataset.path ${root}: a symbolic link loop (a link that leads back to itself), not a folder`);
    throw new MmrunError(`dataset.path ${root}: folder not found`);
  }
  if (!stat.isDirectory()) throw new MmrunError(`dataset.path ${root}: not a folder (expected the folder holding the ${dataset.source} files)`);
  const files = filesUnder(root);
  if (files.length === 0) throw new MmrunError(`dataset.path ${root}: the folder is empty`);
  return { root, files };
}

/**
 * sha256 (hex) over the relative names and contents of a source's files. `opts.env` chooses the
 * cache dir (MMRUN_CACHE_DIR); a cache that cannot be written only costs a re-read next time.
 */
export function sourceFingerprint(dataset: Pick<DatasetConfig, 'source' | 'path'>, opts: { env?: NodeJS.ProcessEnv } = {}): string {
  const env = opts.env ?? process.env;
  const { root, files } = sourceFiles(dataset);
  const file = cacheFile(env);
  const cache = readCache(file);
  let changed = false;
  const lines = files.map((f) => {
    const abs = resolve(f);
    const st = statSync(abs);
    let entry = cache[abs];
    if (!entry || entry.size !== st.size || entry.mtimeMs !== st.mtimeMs || entry.ctimeMs !== st.ctimeMs || entry.ino !== st.ino) {
      entry = { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, sha256: sha256File(abs).sha256 };
      cache[abs] = entry;
      changed = true;
    }
    return `${relative(root, abs)}\u0000${entry.sha256}`;
  });
  if (changed) {
    try {
      mkdirLevels(userCacheDir(env), 0o700);
      writeJsonAtomic(file, cache);
    } catch {
      // read-only home or cache dir: the hash is still right, it is just not remembered
    }
  }
  return sha256Bytes(lines.join('\n')).slice(0, 16);
}

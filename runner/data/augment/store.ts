/**
 * An augmented set on disk: artifacts/augmented/<key>/ holds layer files of variants and a
 * manifest listing them. The folder appears by renaming a complete temporary one; extending
 * adds a layer file, then replaces the manifest atomically. So the set is complete iff its
 * manifest exists, and whatever the manifest lists is there.
 *
 * checksums.json (runner/files/verified.ts) lists the size and SHA-256 of the manifest and every
 * layer; it is written last (inside the temp folder before the rename, after the manifest when
 * extending). checkSet verifies a set before it is trusted, and readVariants checks the bytes it
 * reads, so a damaged layer is never served.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { MmrunError } from '../../errors.ts';
import { writeFailure } from '../../files/fs-errors.ts';
import { CHECKSUMS_FILE, CorruptFileError, readDirectoryChecksums, verifyDirectory, writeDirectoryChecksums } from '../../files/verified.ts';
import type { AugmentManifest } from './types.ts';
import { mkdirLevels } from '../../files/mkdir.ts';

export const MANIFEST = 'manifest.json';

export function readManifest(dir: string): AugmentManifest | null {
  const file = join(dir, MANIFEST);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as AugmentManifest;
  } catch (err) {
    throw new MmrunError(`augmented set manifest ${file} is not valid JSON (${(err as Error).message})`, `delete ${dir} to rebuild it`);
  }
}

/**
 * A set folder as found: absent, intact (its manifest), or damaged (the first problem, naming
 * the file). A set without checksums.json (built by an older mmrun) counts as damaged: sets are
 * cheap to rebuild (llm answers come back from the cache).
 */
export type SetState = { state: 'absent' } | { state: 'intact'; manifest: AugmentManifest } | { state: 'damaged'; problem: string };

export function checkSet(dir: string): SetState {
  if (!existsSync(join(dir, MANIFEST))) return { state: 'absent' };
  if (!existsSync(join(dir, CHECKSUMS_FILE))) return { state: 'damaged', problem: `${join(dir, CHECKSUMS_FILE)} is missing (a set built by an older mmrun is not trusted)` };
  const problems = verifyDirectory(dir);
  if (problems.length > 0) return { state: 'damaged', problem: problems[0] + (problems.length > 1 ? ` (and ${problems.length - 1} more)` : '') };
  try {
    return { state: 'intact', manifest: readManifest(dir)! };
  } catch (err) {
    return { state: 'damaged', problem: (err as Error).message };
  }
}

/** variants[i]: every stored variant of original i, in stream order; every byte read is checked against checksums.json. */
export function readVariants(dir: string, manifest: AugmentManifest): string[][] {
  const list = readDirectoryChecksums(dir);
  if ('problem' in list) throw new CorruptFileError(dir, list.problem);
  const rows: string[][] = Array.from({ length: manifest.originals }, () => []);
  for (const layer of manifest.layers) {
    const file = join(dir, layer.file);
    const want = list.files[layer.file];
    if (!want) throw new CorruptFileError(file, `not listed in ${join(dir, CHECKSUMS_FILE)}`);
    const damaged = (what: string) => new CorruptFileError(file, what);
    const hash = createHash('sha256');
    let size = 0;
    let i = 0;
    const pending: string[][] = [];
    for (const line of readLines(file, (chunk) => {
      hash.update(chunk);
      size += chunk.length;
    })) {
      if (i >= manifest.originals) throw damaged(`has more than ${manifest.originals} lines`);
      let row: string[];
      try {
        row = JSON.parse(line) as string[];
      } catch {
        throw damaged(`line ${i + 1} is not valid JSON`);
      }
      if (!Array.isArray(row) || row.length !== layer.to - layer.from) throw damaged(`line ${i + 1} holds ${Array.isArray(row) ? row.length : 'no'} variants, expected ${layer.to - layer.from}`);
      pending.push(row);
      i++;
    }
    if (size !== want.size || hash.digest('hex') !== want.sha256) throw damaged(size !== want.size ? `${size} bytes, expected ${want.size}` : 'does not match its checksum');
    if (i !== manifest.originals) throw damaged(`has ${i} lines, expected ${manifest.originals}`);
    pending.forEach((row, k) => rows[k].push(...row));
  }
  return rows;
}

/** Lines of a file read in chunks: a layer of a large set can exceed the longest string V8 allows. */
function* readLines(file: string, onChunk?: (chunk: Buffer) => void): Generator<string> {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 22);
    const decoder = new StringDecoder('utf8'); // keeps a character cut by a chunk boundary whole
    let rest = '';
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      onChunk?.(buf.subarray(0, n));
      const parts = (rest + decoder.write(buf.subarray(0, n))).split('\n');
      rest = parts.pop()!;
      for (const p of parts) if (p !== '') yield p;
    }
    if (rest !== '') yield rest;
  } finally {
    closeSync(fd);
  }
}

export const layerFile = (from: number, to: number): string => `variants-${from}-${to}.jsonl`;

/** The layer file's text in chunks of lines (one JSON array of variants per original). */
function* layerChunks(rows: string[][]): Generator<string> {
  for (let i = 0; i < rows.length; i += 2000) yield rows.slice(i, i + 2000).map((r) => JSON.stringify(r) + '\n').join('');
}

/**
 * Creates the set folder from its first layer: built aside, then renamed into place. Returns
 * false when another process put a complete set there first (its set is as good as ours).
 */
export function createSet(dir: string, manifest: AugmentManifest, rows: string[][]): boolean {
  mkdirLevels(dirname(dir));
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(tmp);
  try {
    const layer = manifest.layers[0];
    writeDurable(join(tmp, layer.file), layerChunks(rows));
    writeDurable(join(tmp, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    writeDirectoryChecksums(tmp, [layer.file, MANIFEST]);
    if (existsSync(join(dir, MANIFEST))) {
      rmSync(tmp, { recursive: true, force: true });
      return false;
    }
    rmSync(dir, { recursive: true, force: true }); // a folder without manifest is a leftover, never a set
    renameSync(tmp, dir);
    return true;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(join(dir, MANIFEST))) return false;
    throw writeFailure(err, tmp);
  }
}

/** Adds a layer to a complete set: its file first, then the manifest that lists it. */
export function extendSet(dir: string, manifest: AugmentManifest, rows: string[][]): void {
  const layer = manifest.layers[manifest.layers.length - 1];
  try {
    writeAtomic(join(dir, layer.file), layerChunks(rows));
    writeAtomic(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    // Killed between the manifest and this line, the set no longer verifies and is rebuilt.
    writeDirectoryChecksums(dir, [...manifest.layers.map((l) => l.file), MANIFEST]);
  } catch (err) {
    throw writeFailure(err, dir);
  }
}

/** Removes a damaged set folder (the caller holds the set's lock). */
export function removeSet(dir: string): void {
  const aside = `${dir}.damaged-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(dir, aside);
    rmSync(aside, { recursive: true, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw writeFailure(err, dir, 'remove the damaged augmented set');
  }
}

function writeAtomic(file: string, content: string | Iterable<string>): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeDurable(tmp, content);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function writeDurable(file: string, content: string | Iterable<string>): void {
  const fd = openSync(file, 'w');
  try {
    for (const chunk of typeof content === 'string' ? [content] : content) writeSync(fd, chunk);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

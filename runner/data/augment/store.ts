/**
 * An augmented set on disk: artifacts/augmented/<key>/ holds layer files of variants and a
 * manifest listing them. The folder appears by renaming a complete temporary one; extending
 * adds a layer file, then replaces the manifest atomically. So the set is complete iff its
 * manifest exists, and whatever the manifest lists is there.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { MmrunError } from '../../errors.ts';
import type { AugmentManifest } from './types.ts';

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

/** variants[i]: every stored variant of original i, in stream order. */
export function readVariants(dir: string, manifest: AugmentManifest): string[][] {
  const rows: string[][] = Array.from({ length: manifest.originals }, () => []);
  for (const layer of manifest.layers) {
    const damaged = (what: string) => new MmrunError(`augmented set ${dir}: ${layer.file} ${what}`, `delete ${dir} to rebuild it`);
    let i = 0;
    for (const line of readLines(join(dir, layer.file))) {
      if (i >= manifest.originals) throw damaged(`has more than ${manifest.originals} lines`);
      const row = JSON.parse(line) as string[];
      if (row.length !== layer.to - layer.from) throw damaged(`line ${i + 1} holds ${row.length} variants, expected ${layer.to - layer.from}`);
      rows[i++].push(...row);
    }
    if (i !== manifest.originals) throw damaged(`has ${i} lines, expected ${manifest.originals}`);
  }
  return rows;
}

/** Lines of a file read in chunks: a layer of a large set can exceed the longest string V8 allows. */
function* readLines(file: string): Generator<string> {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 22);
    const decoder = new StringDecoder('utf8'); // keeps a character cut by a chunk boundary whole
    let rest = '';
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
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
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  mkdirSync(tmp);
  try {
    const layer = manifest.layers[0];
    writeDurable(join(tmp, layer.file), layerChunks(rows));
    writeDurable(join(tmp, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
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
    throw err;
  }
}

/** Adds a layer to a complete set: its file first, then the manifest that lists it. */
export function extendSet(dir: string, manifest: AugmentManifest, rows: string[][]): void {
  const layer = manifest.layers[manifest.layers.length - 1];
  writeAtomic(join(dir, layer.file), layerChunks(rows));
  writeAtomic(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
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

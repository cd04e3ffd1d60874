/**
 * An augmented set on disk: artifacts/augmented/<key>/ holds layer files of variants and a
 * manifest listing them. The folder appears by renaming a complete temporary one; extending
 * adds a layer file, then replaces the manifest atomically. So the set is complete iff its
 * manifest exists, and whatever the manifest lists is there.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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
    const lines = readFileSync(join(dir, layer.file), 'utf8').split('\n');
    for (let i = 0; i < manifest.originals; i++) {
      const row = JSON.parse(lines[i]) as string[];
      if (row.length !== layer.to - layer.from) {
        throw new MmrunError(`augmented set ${dir}: ${layer.file} line ${i + 1} holds ${row.length} variants, expected ${layer.to - layer.from}`, `delete ${dir} to rebuild it`);
      }
      rows[i].push(...row);
    }
  }
  return rows;
}

export const layerFile = (from: number, to: number): string => `variants-${from}-${to}.jsonl`;

const layerText = (rows: string[][]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

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
    writeDurable(join(tmp, layer.file), layerText(rows));
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
  writeAtomic(join(dir, layer.file), layerText(rows));
  writeAtomic(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
}

function writeAtomic(file: string, content: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeDurable(tmp, content);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function writeDurable(file: string, content: string): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

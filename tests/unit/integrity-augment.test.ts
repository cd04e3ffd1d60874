/**
 * Augmented sets at rest: a damaged layer, manifest or checksum list (zero-fill, truncate, one
 * flipped bit) is rebuilt with a warning naming the file; a set read while damaged is refused
 * naming the file; a set without checksums.json (older mmrun) is rebuilt.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { validateAndFill } from '../../runner/config/schema.ts';
import { ensureAugmentedSet } from '../../runner/data/augment/index.ts';
import type { Dataset } from '../../runner/data/types.ts';
import { CorruptFileError } from '../../runner/files/verified.ts';
import { tempFiles } from '../helpers/tmp.ts';
import { CORRUPTIONS, corrupt } from '../helpers/corrupt.ts';

function dataset(n = 30): Dataset {
  const words = ['thin', 'bold', 'round', 'slanted', 'tall', 'wide'];
  const texts = Array.from({ length: n }, (_, i) => `A ${words[i % 6]} stroke with a ${words[(i + 2) % 6]} curve near sample ${i}.`);
  const split = (k: number) => ({ images: new Uint8Array(0), labels: Int32Array.from({ length: k }, (_, i) => i % 3), texts: texts.slice(0, k) });
  return { dir: '/nowhere', hash: `ds-${n}`, classNames: ['ring', 'bar', 'cross'], shape: [8, 8, 1], train: split(n), val: split(0), test: split(0), extraTrainTexts: [] };
}

function edaConfig(ratio: number): Experiment {
  const data: Record<string, unknown> = { name: 'aug-integrity', augmentation: { method: 'eda', ratio, seed: 3 }, training: { retrain: { enabled: true } } };
  const errors = validateAndFill(data);
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return data as unknown as Experiment;
}

async function builtSet(ratio = 2) {
  const { dir: artifactsDir } = tempFiles();
  const lines: string[] = [];
  const opts = { artifactsDir, onProgress: () => {}, log: (l: string) => lines.push(l) };
  const set = await ensureAugmentedSet(edaConfig(ratio), dataset(), opts);
  return { set, opts, lines, dir: set.dir!, texts: set.textsFor(ratio) };
}

describe('a damaged augmented set', () => {
  for (const how of CORRUPTIONS) {
    for (const file of ['variants-0-2.jsonl', 'manifest.json', 'checksums.json']) {
      it(`${file}, ${how}: rebuilt with one warning naming the file, same texts as before`, async () => {
        const { opts, lines, dir, texts } = await builtSet();
        corrupt(join(dir, file), how);
        const again = await ensureAugmentedSet(edaConfig(2), dataset(), opts);
        expect(again.status).toBe('built');
        const warnings = lines.filter((l) => l.startsWith('warning:'));
        expect(warnings).toEqual([expect.stringMatching(/^warning: augmented set damaged, rebuilding it: /)]);
        expect(warnings[0]).toContain(join(dir, file));
        expect(again.textsFor(2)).toEqual(texts);
        expect((await ensureAugmentedSet(edaConfig(2), dataset(), opts)).status).toBe('found');
      });
    }
  }

  it('a layer damaged after the set was found is refused when its texts are read, naming the file', async () => {
    const { opts, dir } = await builtSet();
    const found = await ensureAugmentedSet(edaConfig(2), dataset(), opts);
    expect(found.status).toBe('found');
    corrupt(join(dir, 'variants-0-2.jsonl'), 'flip');
    expect(() => found.textsFor(2)).toThrow(CorruptFileError);
    expect(() => found.textsFor(2)).toThrow(join(dir, 'variants-0-2.jsonl'));
  });

  it('an extended set lists every layer; damage to the new layer is caught', async () => {
    const { opts, dir } = await builtSet(1);
    const bigger = await ensureAugmentedSet(edaConfig(3), dataset(), opts);
    expect(bigger.status).toBe('built');
    const listed = Object.keys((JSON.parse(readFileSync(join(dir, 'checksums.json'), 'utf8')) as { files: object }).files);
    expect(listed.sort()).toEqual(['manifest.json', 'variants-0-1.jsonl', 'variants-1-3.jsonl']);
    const texts = bigger.textsFor(3);
    corrupt(join(dir, 'variants-1-3.jsonl'), 'zero-fill');
    const rebuilt = await ensureAugmentedSet(edaConfig(3), dataset(), opts);
    expect(rebuilt.status).toBe('built');
    expect(rebuilt.textsFor(3)).toEqual(texts);
  });

  it('a set built by an older mmrun (no checksums.json) is rebuilt, not trusted', async () => {
    const { opts, lines, dir, texts } = await builtSet();
    rmSync(join(dir, 'checksums.json'));
    const again = await ensureAugmentedSet(edaConfig(2), dataset(), opts);
    expect(again.status).toBe('built');
    expect(lines.filter((l) => l.startsWith('warning:'))).toEqual([expect.stringMatching(/checksums\.json is missing \(a set built by an older mmrun is not trusted\)/)]);
    expect(again.textsFor(2)).toEqual(texts);
    expect(readdirSync(join(dir, '..')).filter((n) => n.includes('.damaged-'))).toEqual([]);
  });
});

/**
 * Dataset folders at rest: every kind of damage (zero-fill, truncate, one flipped bit) to every
 * kind of file is refused by loadDataset with an error naming the file, and ensureDataset
 * rebuilds the folder with a one-line warning naming it — never loads it as if intact.
 */
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { ensureDataset, loadAttributes, loadDataset } from '../../runner/data/index.ts';
import { CorruptFileError } from '../../runner/files/verified.ts';
import { experiment, tempDir } from '../helpers/data-config.ts';
import { CORRUPTIONS, corrupt, type Corruption } from '../helpers/corrupt.ts';

const small = { source: 'mnist', image_fraction: 0.005, val_fraction: 0.05, max_test: 40 };
const FILES = ['train.labels.i32', 'train.images.u8', 'test.texts.jsonl', 'val.attributes.jsonl', 'manifest.json', 'checksums.json'];

let config: Experiment;
let dir: string;
let pristine: string;

beforeAll(async () => {
  const root = tempDir('mmrun-integrity-');
  config = experiment(root, small);
  dir = (await ensureDataset(config, { log: () => {}, warn: () => {} })).dir;
  pristine = join(root, 'pristine');
  cpSync(dir, pristine, { recursive: true });
});

beforeEach(() => {
  rmSync(dir, { recursive: true, force: true });
  cpSync(pristine, dir, { recursive: true });
});

function loadError(file: string): Error {
  try {
    if (file.endsWith('.attributes.jsonl')) loadAttributes(dir);
    else loadDataset(dir);
  } catch (err) {
    return err as Error;
  }
  throw new Error(`loading ${dir} with a damaged ${file} succeeded`);
}

async function rebuildsAfter(file: string, how: Corruption) {
  corrupt(join(dir, file), how);
  const warnings: string[] = [];
  const ref = await ensureDataset(config, { log: () => {}, warn: (l) => warnings.push(l) });
  expect(ref.status).toBe('built');
  expect(warnings).toEqual([expect.stringMatching(/^warning: dataset damaged, rebuilding it: /)]);
  expect(warnings[0]).toContain(join(dir, file));
  for (const name of FILES.filter((f) => f !== 'manifest.json' && f !== 'checksums.json')) {
    expect(readFileSync(join(dir, name)).equals(readFileSync(join(pristine, name))), name).toBe(true);
  }
  expect(loadDataset(dir).train.labels).toEqual(loadDataset(pristine).train.labels);
  // Rebuilt means intact again: found, without a warning.
  expect((await ensureDataset(config, { log: () => {}, warn: (l) => warnings.push(l) })).status).toBe('found');
  expect(warnings).toHaveLength(1);
}

describe('a damaged dataset folder', () => {
  for (const file of FILES) {
    for (const how of CORRUPTIONS) {
      it(`${file}, ${how}: loading refuses it, naming the file`, () => {
        corrupt(join(dir, file), how);
        const error = loadError(file);
        if (file === 'checksums.json') expect(error.message).toMatch(/cannot verify the dataset: .*checksums\.json (is unreadable|does not match its own checksum)/);
        else expect(error).toBeInstanceOf(CorruptFileError);
        expect(error.message).toContain(join(dir, file));
      });
    }
  }

  it('labels zero-filled: ensureDataset rebuilds it with one warning naming the file', () => rebuildsAfter('train.labels.i32', 'zero-fill'));
  it('texts with one flipped bit: rebuilt', () => rebuildsAfter('test.texts.jsonl', 'flip'));
  it('manifest truncated: rebuilt', () => rebuildsAfter('manifest.json', 'truncate'));
  it('checksums.json truncated: rebuilt (an unverifiable folder is not trusted)', () => rebuildsAfter('checksums.json', 'truncate'));
});

describe('a dataset folder built before checksums existed (no checksums.json)', () => {
  it('intact: verified against its manifest contentHash, upgraded in place, not rebuilt', async () => {
    rmSync(join(dir, 'checksums.json'));
    expect(() => loadDataset(dir)).toThrow(/cannot verify the dataset: .*checksums\.json is missing/);
    const logs: string[] = [];
    const warnings: string[] = [];
    const ref = await ensureDataset(config, { log: (l) => logs.push(l), warn: (l) => warnings.push(l) });
    expect(ref.status).toBe('found');
    expect(warnings).toEqual([]);
    expect(logs.join('\n')).toMatch(/built by an older mmrun; verified against its manifest's contentHash, checksums.json added/);
    expect(existsSync(join(dir, 'checksums.json'))).toBe(true);
    expect(loadDataset(dir).train.labels).toEqual(loadDataset(pristine).train.labels);
  });

  it('damaged: rebuilt with a warning', async () => {
    rmSync(join(dir, 'checksums.json'));
    corrupt(join(dir, 'train.labels.i32'), 'flip');
    const warnings: string[] = [];
    const ref = await ensureDataset(config, { log: () => {}, warn: (l) => warnings.push(l) });
    expect(ref.status).toBe('built');
    expect(warnings).toEqual([expect.stringMatching(/dataset damaged, rebuilding it: .*built without checksums.json.*does not match the contentHash/)]);
    expect(readFileSync(join(dir, 'train.labels.i32')).equals(readFileSync(join(pristine, 'train.labels.i32')))).toBe(true);
  });
});

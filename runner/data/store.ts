/**
 * The dataset directory: per split `<split>.images.u8` (N·H·W·C bytes), `<split>.labels.i32`
 * (little-endian int32), `<split>.texts.jsonl` ({"label","text"} per line) and, for the
 * attributes describer, `<split>.attributes.jsonl`; `extra-train.*` for keep_all_texts; and
 * manifest.json, then checksums.json (size and SHA-256 of every file, manifest included). The
 * folder is built aside and renamed into place: a directory is complete iff it has a manifest.
 *
 * Everything read back is verified: loadDataset checks the bytes it reads against checksums.json
 * (CorruptFileError naming the file), and checkDatasetFiles verifies a whole folder before
 * ensureDataset trusts it. A folder built before checksums existed (no checksums.json) is
 * checked against its manifest's contentHash, which covers every data file: when it matches,
 * checksums.json is added; when not, the folder is damaged.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MmrunError } from '../errors.ts';
import { CHECKSUMS_FILE, readDirectoryChecksums, readVerifiedFile, verifyDirectory, writeDirectoryChecksums } from '../files/verified.ts';
import { writeFailure } from '../files/fs-errors.ts';
import type { ImageAttributes } from './describe/attributes.ts';
import type { Dataset, DatasetManifest, Split, SplitName, TextStats } from './types.ts';

export const SPLITS: SplitName[] = ['train', 'val', 'test'];
export const EXTRA = 'extra-train';

export interface SplitToWrite {
  images?: Uint8Array;
  labels: Int32Array;
  texts: string[];
  attributes?: ImageAttributes[];
}

const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');

/** Writes one split; returns the files written (for the content hash). */
export function writeSplit(dir: string, name: string, s: SplitToWrite): string[] {
  const files: string[] = [];
  const write = (file: string, data: string | Uint8Array) => {
    try {
      writeFileSync(join(dir, file), data);
    } catch (err) {
      throw writeFailure(err, join(dir, file));
    }
    files.push(file);
  };
  if (s.images) write(`${name}.images.u8`, s.images);
  write(`${name}.labels.i32`, new Uint8Array(s.labels.buffer, s.labels.byteOffset, s.labels.byteLength));
  write(`${name}.texts.jsonl`, jsonl(s.texts.map((text, i) => ({ label: s.labels[i], text }))));
  if (s.attributes) write(`${name}.attributes.jsonl`, jsonl(s.attributes));
  return files;
}

export function contentHash(dir: string, files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(f).update('\0').update(readFileSync(join(dir, f)));
  return h.digest('hex');
}

export function textStats(texts: string[]): TextStats {
  if (texts.length === 0) return { count: 0, meanWords: 0, minWords: 0, maxWords: 0, vocabulary: 0, distinct: 0 };
  const vocab = new Set<string>();
  let sum = 0, min = Infinity, max = 0;
  for (const t of texts) {
    const words = t.toLowerCase().match(/[a-z0-9']+/g) ?? [];
    for (const w of words) vocab.add(w);
    sum += words.length;
    min = Math.min(min, words.length);
    max = Math.max(max, words.length);
  }
  return { count: texts.length, meanWords: Math.round((sum / texts.length) * 10) / 10, minWords: min, maxWords: max, vocabulary: vocab.size, distinct: new Set(texts).size };
}

export const MANIFEST = 'manifest.json';

/** Writes manifest.json, then checksums.json over `files` and the manifest: the last two files of a build. */
export function writeManifestAndChecksums(dir: string, files: string[], manifest: DatasetManifest): void {
  try {
    writeFileSync(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    writeDirectoryChecksums(dir, [...files, MANIFEST]);
  } catch (err) {
    throw writeFailure(err, dir);
  }
}

export type DatasetCheck = { ok: true; upgraded: boolean } | { ok: false; problem: string };

/**
 * Verifies every file of a complete dataset folder against checksums.json. A folder from an
 * older mmrun (no checksums.json) is verified by its manifest's contentHash and, when intact,
 * gets a checksums.json (`upgraded`).
 */
export function checkDatasetFiles(dir: string): DatasetCheck {
  if (!existsSync(join(dir, CHECKSUMS_FILE))) return checkLegacy(dir);
  const problems = verifyDirectory(dir);
  return problems.length === 0 ? { ok: true, upgraded: false } : { ok: false, problem: problems[0] + (problems.length > 1 ? ` (and ${problems.length - 1} more)` : '') };
}

/** The data files in the order the builder hashed them into contentHash. */
function legacyDataFiles(dir: string): string[] {
  const out: string[] = [];
  for (const part of [...SPLITS, EXTRA]) {
    for (const kind of ['images.u8', 'labels.i32', 'texts.jsonl', 'attributes.jsonl']) {
      if (existsSync(join(dir, `${part}.${kind}`))) out.push(`${part}.${kind}`);
    }
  }
  return out;
}

function checkLegacy(dir: string): DatasetCheck {
  let manifest: DatasetManifest;
  try {
    manifest = readManifest(dir);
  } catch (err) {
    return { ok: false, problem: (err as Error).message };
  }
  const files = legacyDataFiles(dir);
  if (typeof manifest.contentHash !== 'string' || contentHash(dir, files) !== manifest.contentHash) {
    return { ok: false, problem: `${dir} (built without checksums.json) does not match the contentHash in its manifest.json` };
  }
  writeDirectoryChecksums(dir, [...files, MANIFEST]);
  return { ok: true, upgraded: true };
}

type Checksums = { files: Record<string, { size: number; sha256: string }> };

/** checksums.json of a dataset folder; a clear error when it has none (built by an older mmrun). */
function checksumsOf(dir: string): Checksums {
  const list = readDirectoryChecksums(dir);
  if ('problem' in list) {
    throw new MmrunError(
      `${dir}: cannot verify the dataset: ${list.problem}`,
      existsSync(join(dir, CHECKSUMS_FILE)) ? 'delete the folder; the next `mmrun run` or `mmrun dataset build` rebuilds it' : 'it was built by an older mmrun: `mmrun dataset build` (or the next `mmrun run`) verifies it and adds checksums.json',
    );
  }
  return list;
}

/** The texts of one split of a built dataset, without loading its images. */
export function readTexts(dir: string, split: 'train' | 'val' | 'test'): string[] {
  const list = checksumsOf(dir);
  return readJsonl<{ text: string }>(dir, `${split}.texts.jsonl`, list).map((r) => r.text);
}

/** manifest.json of a complete dataset folder, checked against checksums.json when the folder has one. */
export function readManifest(dir: string): DatasetManifest {
  const file = join(dir, MANIFEST);
  if (!existsSync(file)) {
    throw new MmrunError(`${dir}: not a complete mmrun dataset (no manifest.json); expected a folder built by \`mmrun dataset build\` under artifacts/datasets/`);
  }
  const list = readDirectoryChecksums(dir);
  const bytes = 'files' in list ? readVerifiedFile(dir, MANIFEST, list) : readFileSync(file);
  try {
    return JSON.parse(bytes.toString('utf8')) as DatasetManifest;
  } catch (err) {
    throw new MmrunError(`${file}: not valid JSON (${(err as Error).message}); delete the dataset folder and rebuild it`);
  }
}

function readJsonl<T>(dir: string, name: string, list: Checksums): T[] {
  const file = join(dir, need(dir, name));
  const text = readVerifiedFile(dir, name, list).toString('utf8');
  const out: T[] = [];
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      throw new MmrunError(`${file}:${i + 1}: not valid JSON; the dataset is damaged, delete its folder and rebuild it`);
    }
  });
  return out;
}

function need(dir: string, name: string): string {
  if (!existsSync(join(dir, name))) throw new MmrunError(`${dir}: missing ${name}; the dataset is damaged, delete its folder and rebuild it`);
  return name;
}

function readSplit(dir: string, name: SplitName, m: DatasetManifest, list: Checksums): Split {
  const count = m.splits[name].count;
  const [h, w, c] = m.shape;
  const images = new Uint8Array(readVerifiedFile(dir, need(dir, `${name}.images.u8`), list));
  const labelBuf = readVerifiedFile(dir, need(dir, `${name}.labels.i32`), list);
  const labels = new Int32Array(labelBuf.buffer.slice(labelBuf.byteOffset, labelBuf.byteOffset + labelBuf.byteLength));
  const texts = readJsonl<{ text: string }>(dir, `${name}.texts.jsonl`, list).map((r) => r.text);
  if (images.length !== count * h * w * c || labels.length !== count || texts.length !== count) {
    throw new MmrunError(`${dir}: ${name} split has ${images.length / (h * w * c)} images, ${labels.length} labels and ${texts.length} texts, but the manifest says ${count}; delete the folder and rebuild it`);
  }
  return { images, labels, texts };
}

/**
 * Loads a built dataset (see docs/contracts.md), verifying every byte it reads against
 * checksums.json: CorruptFileError names the first file that does not match.
 */
export function loadDataset(dir: string): Dataset {
  const list = checksumsOf(dir);
  const m = readManifest(dir);
  const extra = `${EXTRA}.texts.jsonl`;
  return {
    dir,
    hash: m.hash,
    classNames: m.classNames,
    shape: m.shape,
    train: readSplit(dir, 'train', m, list),
    val: readSplit(dir, 'val', m, list),
    test: readSplit(dir, 'test', m, list),
    extraTrainTexts: existsSync(join(dir, extra)) ? readJsonl<{ label: number; text: string }>(dir, extra, list) : [],
  };
}

/**
 * The structured attributes behind each text (attributes describer only), aligned with the
 * splits of loadDataset: `train[i]` belongs to `train.texts[i]`.
 */
export function loadAttributes(dir: string): Record<SplitName, ImageAttributes[]> & { extraTrain: ImageAttributes[] } {
  const list = checksumsOf(dir);
  const m = readManifest(dir);
  if (m.descriptions.describer !== 'attributes') {
    throw new MmrunError(`${dir}: descriptions were made by the '${m.descriptions.describer}' describer, which records no attributes; expected dataset.descriptions.describer: attributes`);
  }
  const extra = `${EXTRA}.attributes.jsonl`;
  return {
    train: readJsonl(dir, 'train.attributes.jsonl', list),
    val: readJsonl(dir, 'val.attributes.jsonl', list),
    test: readJsonl(dir, 'test.attributes.jsonl', list),
    extraTrain: existsSync(join(dir, extra)) ? readJsonl(dir, extra, list) : [],
  };
}

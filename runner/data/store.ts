/**
 * The dataset directory: per split `<split>.images.u8` (N·H·W·C bytes), `<split>.labels.i32`
 * (little-endian int32), `<split>.texts.jsonl` ({"label","text"} per line) and, for the
 * attributes describer, `<split>.attributes.jsonl`; `extra-train.*` for keep_all_texts; and
 * manifest.json, written last: a directory is complete iff it has a manifest.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MmrunError } from '../errors.ts';
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
    writeFileSync(join(dir, file), data);
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

/** The texts of one split of a built dataset, without loading its images. */
export function readTexts(dir: string, split: 'train' | 'val' | 'test'): string[] {
  return readJsonl<{ text: string }>(need(dir, `${split}.texts.jsonl`)).map((r) => r.text);
}

export function readManifest(dir: string): DatasetManifest {
  const file = join(dir, 'manifest.json');
  if (!existsSync(file)) {
    throw new MmrunError(`${dir}: not a complete mmrun dataset (no manifest.json); expected a folder built by \`mmrun dataset build\` under artifacts/datasets/`);
  }
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DatasetManifest;
  } catch (err) {
    throw new MmrunError(`${file}: not valid JSON (${(err as Error).message}); delete the dataset folder and rebuild it`);
  }
}

function readJsonl<T>(file: string): T[] {
  const text = readFileSync(file, 'utf8');
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

function need(dir: string, file: string): string {
  const path = join(dir, file);
  if (!existsSync(path)) throw new MmrunError(`${dir}: missing ${file}; the dataset is damaged, delete its folder and rebuild it`);
  return path;
}

function readSplit(dir: string, name: SplitName, m: DatasetManifest): Split {
  const count = m.splits[name].count;
  const [h, w, c] = m.shape;
  const imgFile = need(dir, `${name}.images.u8`);
  const images = new Uint8Array(readFileSync(imgFile));
  const labelBuf = readFileSync(need(dir, `${name}.labels.i32`));
  const labels = new Int32Array(labelBuf.buffer.slice(labelBuf.byteOffset, labelBuf.byteOffset + labelBuf.byteLength));
  const texts = readJsonl<{ text: string }>(need(dir, `${name}.texts.jsonl`)).map((r) => r.text);
  if (images.length !== count * h * w * c || labels.length !== count || texts.length !== count) {
    throw new MmrunError(`${dir}: ${name} split has ${images.length / (h * w * c)} images, ${labels.length} labels and ${texts.length} texts, but the manifest says ${count}; delete the folder and rebuild it`);
  }
  return { images, labels, texts };
}

/** Loads a built dataset (see docs/contracts.md). */
export function loadDataset(dir: string): Dataset {
  const m = readManifest(dir);
  const extraFile = join(dir, `${EXTRA}.texts.jsonl`);
  return {
    dir,
    hash: m.hash,
    classNames: m.classNames,
    shape: m.shape,
    train: readSplit(dir, 'train', m),
    val: readSplit(dir, 'val', m),
    test: readSplit(dir, 'test', m),
    extraTrainTexts: existsSync(extraFile) ? readJsonl<{ label: number; text: string }>(extraFile) : [],
  };
}

/**
 * The structured attributes behind each text (attributes describer only), aligned with the
 * splits of loadDataset: `train[i]` belongs to `train.texts[i]`.
 */
export function loadAttributes(dir: string): Record<SplitName, ImageAttributes[]> & { extraTrain: ImageAttributes[] } {
  const m = readManifest(dir);
  if (m.descriptions.describer !== 'attributes') {
    throw new MmrunError(`${dir}: descriptions were made by the '${m.descriptions.describer}' describer, which records no attributes; expected dataset.descriptions.describer: attributes`);
  }
  const extraFile = join(dir, `${EXTRA}.attributes.jsonl`);
  return {
    train: readJsonl(need(dir, 'train.attributes.jsonl')),
    val: readJsonl(need(dir, 'val.attributes.jsonl')),
    test: readJsonl(need(dir, 'test.attributes.jsonl')),
    extraTrain: existsSync(extraFile) ? readJsonl(extraFile) : [],
  };
}

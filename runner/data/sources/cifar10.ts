/**
 * CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes (1024 red, then green,
 * then blue, each 32×32 row-major). Converted to channels-last.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MmrunError } from '../../errors.ts';
import type { RawImages } from '../types.ts';

const RECORD = 1 + 3072;
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

export function parseCifarBatch(buf: Uint8Array, file: string): RawImages {
  if (buf.length === 0 || buf.length % RECORD !== 0) {
    throw new MmrunError(`${file}: ${buf.length} bytes is not a whole number of CIFAR-10 records (${RECORD} bytes each: 1 label + 3072 pixels); the file is truncated or not a CIFAR-10 binary batch`);
  }
  const count = buf.length / RECORD;
  const images = new Uint8Array(count * 3072);
  const labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const rec = n * RECORD;
    const label = buf[rec];
    if (label > 9) throw new MmrunError(`${file}: record ${n} has label ${label}: expected 0..9 (CIFAR-10 binary format)`);
    labels[n] = label;
    const out = n * 3072;
    for (let p = 0; p < 1024; p++) {
      images[out + p * 3] = buf[rec + 1 + p];
      images[out + p * 3 + 1] = buf[rec + 1 + 1024 + p];
      images[out + p * 3 + 2] = buf[rec + 1 + 2048 + p];
    }
  }
  return { images, labels, count };
}

function concat(parts: RawImages[]): RawImages {
  const count = parts.reduce((a, p) => a + p.count, 0);
  const images = new Uint8Array(count * 3072);
  const labels = new Int32Array(count);
  let at = 0;
  for (const p of parts) {
    images.set(p.images, at * 3072);
    labels.set(p.labels, at);
    at += p.count;
  }
  return { images, labels, count };
}

/** Reads data_batch_1..5.bin and test_batch.bin from `dir` (or its cifar-10-batches-bin sub-folder). */
export function readCifar10(dir: string): { train: RawImages; test: RawImages; files: string[]; classNames: string[] } {
  if (!existsSync(dir)) throw new MmrunError(`dataset.path ${dir}: folder not found (expected CIFAR-10 binary batches data_batch_1.bin … data_batch_5.bin, test_batch.bin)`);
  const base = existsSync(join(dir, 'cifar-10-batches-bin')) ? join(dir, 'cifar-10-batches-bin') : dir;
  const trainFiles = [1, 2, 3, 4, 5].map((i) => join(base, `data_batch_${i}.bin`));
  const testFile = join(base, 'test_batch.bin');
  const missing = [...trainFiles, testFile].filter((f) => !existsSync(f) || !statSync(f).isFile());
  if (missing.length) throw new MmrunError(`dataset.path ${dir}: missing CIFAR-10 batch file(s): ${missing.join(', ')}`);
  const train = concat(trainFiles.map((f) => parseCifarBatch(readFileSync(f), f)));
  const test = parseCifarBatch(readFileSync(testFile), testFile);
  let classNames = CIFAR10_CLASSES;
  const meta = join(base, 'batches.meta.txt');
  if (existsSync(meta)) {
    const names = readFileSync(meta, 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
    if (names.length === 10) classNames = names;
  }
  return { train, test, files: [...trainFiles, testFile], classNames };
}

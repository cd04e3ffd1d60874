/**
 * One sub-folder per class of JPEG/PNG/WebP images, decoded and resized (cover crop) to
 * image_size × image_size RGB with sharp. With train/ and test/ sub-folders those are the splits;
 * otherwise a stratified TEST_FRACTION of each class is held out by split_seed.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { MmrunError } from '../../errors.ts';
import { createRng, seedFrom, shuffleInPlace } from '../../random.ts';
import type { RawImages } from '../types.ts';

export const TEST_FRACTION = 0.2;
const IMAGE_EXT = /\.(jpe?g|png|webp)$/i;

interface FileEntry {
  file: string;
  label: number;
}

function listClassFolders(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

function listFiles(dir: string, classes: string[], root: string): FileEntry[] {
  const entries: FileEntry[] = [];
  const empty: string[] = [];
  classes.forEach((cls, label) => {
    const folder = join(dir, cls);
    const files = existsSync(folder)
      ? readdirSync(folder, { withFileTypes: true })
          .filter((e) => e.isFile() && !e.name.startsWith('.'))
          .map((e) => e.name)
          .sort()
      : [];
    if (files.length === 0) empty.push(relative(root, folder) || folder);
    for (const f of files) entries.push({ file: join(folder, f), label });
  });
  if (empty.length) throw new MmrunError(`dataset.path ${root}: empty class folder(s): ${empty.join(', ')}; expected JPEG/PNG/WebP images in every class folder`);
  return entries;
}

async function decodeAll(
  entries: FileEntry[],
  size: number,
  skipUnreadable: boolean,
  root: string,
  onDecoded: (n: number) => void,
): Promise<{ raw: RawImages; skipped: { file: string; reason: string }[] }> {
  const { default: sharp } = await import('sharp'); // loaded here, not at start-up: commands such as validate never decode an image
  const pixels = size * size * 3;
  const decoded: (Buffer | null)[] = new Array(entries.length).fill(null);
  const failures: { file: string; reason: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const i = next++;
      const { file } = entries[i];
      try {
        if (!IMAGE_EXT.test(file)) throw new Error('not a .jpg/.jpeg/.png/.webp file');
        decoded[i] = await sharp(file, { failOn: 'error' }).rotate().resize(size, size, { fit: 'cover' }).removeAlpha().toColourspace('srgb').raw().toBuffer();
        if (decoded[i]!.length !== pixels) throw new Error(`decoded to ${decoded[i]!.length} bytes, expected ${pixels}`);
      } catch (err) {
        decoded[i] = null;
        failures.push({ file: relative(root, file), reason: (err as Error).message.split('\n')[0] });
      }
      onDecoded(1);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  failures.sort((a, b) => (a.file < b.file ? -1 : 1));
  if (failures.length && !skipUnreadable) {
    const list = failures.slice(0, 20).map((f) => `  ${f.file}: ${f.reason}`).join('\n');
    const more = failures.length > 20 ? `\n  … and ${failures.length - 20} more` : '';
    throw new MmrunError(
      `dataset.path ${root}: ${failures.length} file(s) could not be read as images:\n${list}${more}`,
      'Remove them, or set dataset.skip_unreadable: true to skip them (they are listed in the manifest).',
    );
  }
  const kept = entries.map((e, i) => ({ e, buf: decoded[i] })).filter((x) => x.buf !== null);
  const images = new Uint8Array(kept.length * pixels);
  const labels = new Int32Array(kept.length);
  kept.forEach(({ e, buf }, k) => {
    images.set(buf!, k * pixels);
    labels[k] = e.label;
  });
  return { raw: { images, labels, count: kept.length }, skipped: failures };
}

function holdOutTest(entries: FileEntry[], numClasses: number, splitSeed: number): { train: FileEntry[]; test: FileEntry[] } {
  const train: FileEntry[] = [];
  const test: FileEntry[] = [];
  for (let c = 0; c < numClasses; c++) {
    const members = entries.filter((e) => e.label === c);
    const order = members.slice();
    shuffleInPlace(order, createRng(seedFrom('image-folder-test', splitSeed, c)));
    const nTest = members.length >= 2 ? Math.max(1, Math.round(members.length * TEST_FRACTION)) : 0;
    const testSet = new Set(order.slice(0, nTest));
    for (const m of members) (testSet.has(m) ? test : train).push(m);
  }
  return { train, test };
}

export async function readImageFolder(
  root: string,
  opts: { imageSize: number; skipUnreadable: boolean; splitSeed: number; onProgress?: (done: number, total: number) => void },
): Promise<{ train: RawImages; test: RawImages; classNames: string[]; skipped: { file: string; reason: string }[]; testOrigin: string }> {
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new MmrunError(`dataset.path ${root}: folder not found (expected one sub-folder per class of JPEG/PNG/WebP images)`);
  }
  const hasSplits = existsSync(join(root, 'train')) && existsSync(join(root, 'test')) && listClassFolders(join(root, 'train')).length > 0;
  const classNames = listClassFolders(hasSplits ? join(root, 'train') : root);
  if (classNames.length < 2) {
    throw new MmrunError(`dataset.path ${root}: found ${classNames.length} class folder(s): expected at least 2 sub-folders, one per class`);
  }
  let trainEntries: FileEntry[];
  let testEntries: FileEntry[];
  let testOrigin: string;
  if (hasSplits) {
    const testClasses = listClassFolders(join(root, 'test'));
    const extra = testClasses.filter((c) => !classNames.includes(c));
    if (extra.length) throw new MmrunError(`dataset.path ${root}/test: class folder(s) ${extra.join(', ')} do not exist in ${root}/train`);
    trainEntries = listFiles(join(root, 'train'), classNames, root);
    testEntries = listFiles(join(root, 'test'), classNames, root);
    testOrigin = 'test/ folder';
  } else {
    ({ train: trainEntries, test: testEntries } = holdOutTest(listFiles(root, classNames, root), classNames.length, opts.splitSeed));
    testOrigin = `${TEST_FRACTION * 100}% of each class held out by split_seed`;
  }
  const total = trainEntries.length + testEntries.length;
  let done = 0;
  const tick = (n: number) => {
    done += n;
    opts.onProgress?.(done, total);
  };
  const train = await decodeAll(trainEntries, opts.imageSize, opts.skipUnreadable, root, tick);
  const test = await decodeAll(testEntries, opts.imageSize, opts.skipUnreadable, root, tick);
  return { train: train.raw, test: test.raw, classNames, skipped: [...train.skipped, ...test.skipped], testOrigin };
}

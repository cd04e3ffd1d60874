import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MmrunError } from '../../runner/errors.ts';
import { parseIdx, readClassNamesFile, readIdxFile, readIdxFileStream, readIdxPair, readIdxPairStream, locateIdxFiles } from '../../runner/data/sources/idx.ts';
import { parseCifarBatch } from '../../runner/data/sources/cifar10.ts';
import { mnistDataDir } from '../../runner/data/sources/index.ts';
import { tempDir } from '../helpers/data-config.ts';

function idx(dims: number[], data: number[] | Uint8Array, magic = [0, 0, 8, dims.length]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.set(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

describe('IDX parser on the real MNIST files', () => {
  const dir = mnistDataDir();
  it('reads 60,000 training and 10,000 test images with known pixel and label sums', () => {
    const train = readIdxPair(join(dir, 'train-images-idx3-ubyte'), join(dir, 'train-labels-idx1-ubyte'));
    const test = readIdxPair(join(dir, 't10k-images-idx3-ubyte'), join(dir, 't10k-labels-idx1-ubyte'));
    expect([train.raw.count, train.height, train.width]).toEqual([60000, 28, 28]);
    expect(test.raw.count).toBe(10000);
    let pixels = 0;
    for (const v of train.raw.images) pixels += v;
    expect(pixels).toBe(1567298545);
    let testPixels = 0;
    for (const v of test.raw.images) testPixels += v;
    expect(testPixels).toBe(264923200);
    expect(Array.from(train.raw.labels.slice(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(train.raw.labels.reduce((a, b) => a + b, 0)).toBe(267236);
  });

  it('finds the four files by their standard names', () => {
    const f = locateIdxFiles(dir);
    expect(f.trainImages).toMatch(/train-images-idx3-ubyte$/);
    expect(f.testLabels).toMatch(/t10k-labels-idx1-ubyte$/);
  });
});

describe('IDX parser on bad input', () => {
  it('parses a small valid file, gzipped or not', () => {
    const d = tempDir();
    const buf = idx([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    writeFileSync(join(d, 'a-idx3-ubyte'), buf);
    writeFileSync(join(d, 'a-idx3-ubyte.gz'), gzipSync(buf));
    expect(readIdxFile(join(d, 'a-idx3-ubyte')).dims).toEqual([2, 2, 2]);
    expect(Array.from(readIdxFile(join(d, 'a-idx3-ubyte.gz')).data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('rejects a wrong magic number, naming the file and the expected magic', () => {
    expect(() => parseIdx(idx([1], [0], [0x1f, 0x8b, 8, 1]), 'x.idx')).toThrow(/x\.idx: wrong magic number 0x1f8b0801: expected 0x0000080N/);
    expect(() => parseIdx(idx([1], [0], [0, 0, 0x0d, 1]), 'f.idx')).toThrow(/element type 0x0d is not supported/);
  });

  it('rejects truncated data and trailing bytes', () => {
    const full = idx([3, 2, 2], new Uint8Array(12));
    expect(() => parseIdx(full.subarray(0, full.length - 1), 'img')).toThrow(/img: truncated: 27 bytes, but its header \(dims 3×2×2\) needs 28/);
    expect(() => parseIdx(full.subarray(0, 10), 'img')).toThrow(/truncated IDX header/);
    expect(() => parseIdx(Buffer.concat([full, Buffer.from([1])]), 'img')).toThrow(/1 unexpected bytes after the data/);
  });

  it('rejects an image/label count mismatch and a bad gzip', () => {
    const d = tempDir();
    writeFileSync(join(d, 'i'), idx([3, 2, 2], new Uint8Array(12)));
    writeFileSync(join(d, 'l'), idx([2], [0, 1]));
    expect(() => readIdxPair(join(d, 'i'), join(d, 'l'))).toThrow(/2 labels, but .* has 3 images: expected one label per image/);
    writeFileSync(join(d, 'bad.gz'), Buffer.from('not gzip at all'));
    expect(() => readIdxFile(join(d, 'bad.gz'))).toThrow(/bad\.gz: not a valid gzip file/);
  });

  it('names missing files', () => {
    const d = tempDir();
    mkdirSync(join(d, 'fashion'));
    writeFileSync(join(d, 'fashion', 'train-images-idx3-ubyte.gz'), '');
    expect(() => locateIdxFiles(join(d, 'fashion'))).toThrow(/missing IDX file\(s\): train-labels-idx1-ubyte\[\.gz\], .*t10k-images/);
    expect(() => readIdxFile(join(d, 'nope'))).toThrow(MmrunError);
  });
});

describe('CIFAR-10 batches', () => {
  it('converts planar records to channels-last and rejects partial records', () => {
    const rec = new Uint8Array(3073);
    rec[0] = 7;
    rec[1] = 10; // R of pixel 0
    rec[1 + 1024] = 20; // G of pixel 0
    rec[1 + 2048 + 1] = 30; // B of pixel 1
    const parsed = parseCifarBatch(rec, 'b.bin');
    expect(parsed.labels[0]).toBe(7);
    expect(Array.from(parsed.images.slice(0, 6))).toEqual([10, 20, 0, 0, 0, 30]);
    expect(() => parseCifarBatch(rec.subarray(0, 3000), 'b.bin')).toThrow(/b\.bin: 3000 bytes is not a whole number of CIFAR-10 records/);
    const bad = rec.slice();
    bad[0] = 12;
    expect(() => parseCifarBatch(bad, 'b.bin')).toThrow(/label 12: expected 0\.\.9/);
  });
});

describe('IDX streamed reads (what sources use)', () => {
  it('streams plain and gzipped files to the same bytes as the whole-file reader', async () => {
    const d = tempDir();
    const data = Uint8Array.from({ length: 5 * 40 * 40 }, (_, i) => (i * 7) % 256);
    const buf = idx([5, 40, 40], data);
    writeFileSync(join(d, 'a-idx3-ubyte'), buf);
    writeFileSync(join(d, 'a-idx3-ubyte.gz'), gzipSync(buf));
    writeFileSync(join(d, 'l-idx1-ubyte.gz'), gzipSync(idx([5], [0, 1, 2, 1, 0])));
    const plain = await readIdxFileStream(join(d, 'a-idx3-ubyte'));
    const gz = await readIdxFileStream(join(d, 'a-idx3-ubyte.gz'));
    expect(gz.dims).toEqual([5, 40, 40]);
    expect(Buffer.from(gz.data).equals(Buffer.from(data))).toBe(true);
    expect(Buffer.from(plain.data).equals(Buffer.from(data))).toBe(true);
    const pair = await readIdxPairStream(join(d, 'a-idx3-ubyte.gz'), join(d, 'l-idx1-ubyte.gz'));
    expect([pair.raw.count, pair.height, pair.width]).toEqual([5, 40, 40]);
    expect(Array.from(pair.raw.labels)).toEqual([0, 1, 2, 1, 0]);
  });

  it('names the file on truncation, trailing bytes, bad gzip, bad magic', async () => {
    const d = tempDir();
    const full = idx([3, 2, 2], new Uint8Array(12));
    writeFileSync(join(d, 't.gz'), gzipSync(full.subarray(0, full.length - 1)));
    writeFileSync(join(d, 'x.gz'), gzipSync(Buffer.concat([full, Buffer.from([1, 2])])));
    writeFileSync(join(d, 'h.gz'), gzipSync(full.subarray(0, 9)));
    writeFileSync(join(d, 'bad.gz'), Buffer.from('not gzip at all'));
    writeFileSync(join(d, 'm'), idx([1], [0], [0x1f, 0x8b, 8, 1]));
    await expect(readIdxFileStream(join(d, 't.gz'))).rejects.toThrow(/t\.gz: truncated: 27 bytes, but its header \(dims 3×2×2\) needs 28/);
    await expect(readIdxFileStream(join(d, 'x.gz'))).rejects.toThrow(/x\.gz: 2 unexpected bytes after the data/);
    await expect(readIdxFileStream(join(d, 'h.gz'))).rejects.toThrow(/h\.gz: truncated IDX header: 9 bytes, expected 16/);
    await expect(readIdxFileStream(join(d, 'bad.gz'))).rejects.toThrow(/bad\.gz: not a valid gzip file/);
    await expect(readIdxFileStream(join(d, 'm'))).rejects.toThrow(/m: wrong magic number 0x1f8b0801/);
    await expect(readIdxFileStream(join(d, 'nope'))).rejects.toThrow(/nope: file not found/);
  });

  it('reads class names from a labels file beside the IDX files, with file:line on an empty line', () => {
    const d = tempDir();
    expect(readClassNamesFile(d)).toBeUndefined();
    writeFileSync(join(d, 'class-names.txt'), 'shoe\nbag\n\n');
    expect(readClassNamesFile(d)).toEqual({ file: join(d, 'class-names.txt'), names: ['shoe', 'bag'] });
    writeFileSync(join(d, 'class-names.txt'), 'shoe\n\nbag\n');
    expect(() => readClassNamesFile(d)).toThrow(/class-names\.txt:2:1: empty class name/);
  });
});

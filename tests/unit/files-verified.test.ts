import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

import { tempFiles } from '../helpers/tmp.ts';
import { sha256File } from '../../runner/files/checksum.ts';
import {
  CorruptFileError,
  assertDirectoryIntact,
  readVerifiedJson,
  verifyDirectory,
  writeDirectoryChecksums,
  writeVerifiedJson,
} from '../../runner/files/verified.ts';

function artifactDir(): string {
  const dir = join(tempFiles().dir, 'set');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a.bin'), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
  writeFileSync(join(dir, 'b.json'), '{"x":1}\n');
  writeDirectoryChecksums(dir, ['a.bin', 'b.json']);
  return dir;
}

describe('sha256File', () => {
  it('matches a one-shot hash, across chunk boundaries', () => {
    const dir = tempFiles().dir;
    const data = Buffer.alloc((1 << 20) * 2 + 123);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 255;
    writeFileSync(join(dir, 'f'), data);
    const got = sha256File(join(dir, 'f'));
    expect(got.size).toBe(data.length);
    expect(got.sha256).toBe(createHash('sha256').update(data).digest('hex'));
  });
});

describe('directory checksums', () => {
  it('an intact directory verifies', () => {
    const dir = artifactDir();
    expect(verifyDirectory(dir)).toEqual([]);
    expect(() => assertDirectoryIntact(dir)).not.toThrow();
  });

  it('a flipped byte, a zero-fill, a truncation and a missing file are each named', () => {
    const flipped = artifactDir();
    const bytes = readFileSync(join(flipped, 'a.bin'));
    bytes[3] ^= 0x40;
    writeFileSync(join(flipped, 'a.bin'), bytes);
    expect(verifyDirectory(flipped)).toEqual([`${join(flipped, 'a.bin')} does not match its checksum`]);

    const zeroed = artifactDir();
    writeFileSync(join(zeroed, 'a.bin'), Buffer.alloc(8));
    expect(verifyDirectory(zeroed)[0]).toContain('a.bin does not match its checksum');

    const truncated = artifactDir();
    truncateSync(join(truncated, 'b.json'), 3);
    expect(verifyDirectory(truncated)).toEqual([`${join(truncated, 'b.json')} has 3 bytes, expected 8`]);

    const missing = artifactDir();
    writeFileSync(join(missing, 'checksums.json'), '{"algorithm":"sha256","files":{"gone.bin":{"size":1,"sha256":"00"}}}');
    expect(verifyDirectory(missing)).toEqual([`${join(missing, 'gone.bin')} is missing`]);
  });

  it('no checksum list, or a corrupt one, is never trusted', () => {
    const dir = artifactDir();
    writeFileSync(join(dir, 'checksums.json'), '\0\0\0\0');
    expect(verifyDirectory(dir)[0]).toMatch(/checksums\.json is unreadable/);
    const bare = join(tempFiles().dir, 'x');
    mkdirSync(bare, { recursive: true });
    expect(verifyDirectory(bare)).toEqual([`${join(bare, 'checksums.json')} is missing`]);
    expect(() => assertDirectoryIntact(bare)).toThrow(CorruptFileError);
  });
});

describe('verified JSON', () => {
  it('round-trips and is undefined when absent', () => {
    const file = join(tempFiles().dir, 'r.json');
    expect(readVerifiedJson(file)).toBeUndefined();
    writeVerifiedJson(file, { a: [1, 2.5, 'x'], b: null });
    expect(readVerifiedJson(file)).toEqual({ a: [1, 2.5, 'x'], b: null });
  });

  it('an edited value, a truncation or a zero-fill throws CorruptFileError naming the file', () => {
    const file = join(tempFiles().dir, 'r.json');
    writeVerifiedJson(file, { acc: 0.91 });
    writeFileSync(file, readFileSync(file, 'utf8').replace('0.91', '0.19'));
    expect(() => readVerifiedJson(file)).toThrow(`${file} is corrupt: content does not match its checksum`);
    writeVerifiedJson(file, { acc: 0.91 });
    truncateSync(file, 10);
    expect(() => readVerifiedJson(file)).toThrow(CorruptFileError);
    writeFileSync(file, Buffer.alloc(40));
    expect(() => readVerifiedJson(file)).toThrow(/not valid JSON/);
    writeFileSync(file, '{"acc":0.91}');
    expect(() => readVerifiedJson(file)).toThrow(/no checksum envelope/);
  });
});

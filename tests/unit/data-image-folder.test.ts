import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readImageFolder } from '../../runner/data/sources/image-folder.ts';
import { makeImageFolder as makeFixture, tempDir } from '../helpers/data-config.ts';

describe('image-folder source', () => {
  let root: string;
  beforeAll(async () => {
    root = join(tempDir(), 'pets');
    await makeFixture(root);
  });

  it('decodes PNG/JPEG/WebP, resizes to image_size, takes class names from folders and holds out a test split', async () => {
    const r = await readImageFolder(root, { imageSize: 16, skipUnreadable: false, splitSeed: 0 });
    expect(r.classNames).toEqual(['cat', 'dog', 'fox']);
    expect(r.train.count + r.test.count).toBe(15);
    expect(r.test.count).toBe(3); // 20% of 5 per class
    expect(r.train.images.length).toBe(r.train.count * 16 * 16 * 3);
    const first = Array.from(r.train.images.slice(0, 3));
    expect(Math.abs(first[0] - 220)).toBeLessThan(6); // a cat (red)
    expect(r.testOrigin).toMatch(/held out/);
    const again = await readImageFolder(root, { imageSize: 16, skipUnreadable: false, splitSeed: 0 });
    expect(again.test.labels).toEqual(r.test.labels);
  });

  it('lists unreadable and non-image files and fails, or skips them when asked', async () => {
    const dir = join(tempDir(), 'broken');
    await makeFixture(dir, 3);
    writeFileSync(join(dir, 'dog', 'corrupt.png'), 'this is not a png');
    writeFileSync(join(dir, 'fox', 'notes.txt'), 'hello');
    await expect(readImageFolder(dir, { imageSize: 8, skipUnreadable: false, splitSeed: 0 })).rejects.toThrow(/2 file\(s\) could not be read as images:\n {2}dog\/corrupt\.png: .*\n {2}fox\/notes\.txt: not a \.jpg/);
    const r = await readImageFolder(dir, { imageSize: 8, skipUnreadable: true, splitSeed: 0 });
    expect(r.skipped.map((s) => s.file)).toEqual(['dog/corrupt.png', 'fox/notes.txt']);
    expect(r.train.count + r.test.count).toBe(9);
  });

  it('rejects empty class folders and a missing folder, naming them', async () => {
    const dir = join(tempDir(), 'empty');
    await makeFixture(dir, 2);
    mkdirSync(join(dir, 'owl'));
    await expect(readImageFolder(dir, { imageSize: 8, skipUnreadable: false, splitSeed: 0 })).rejects.toThrow(/empty class folder\(s\): owl/);
    await expect(readImageFolder(join(dir, 'nope'), { imageSize: 8, skipUnreadable: false, splitSeed: 0 })).rejects.toThrow(/nope: folder not found/);
  });

  it('uses train/ and test/ sub-folders when present', async () => {
    const dir = join(tempDir(), 'split');
    await makeFixture(join(dir, 'train'), 3);
    await makeFixture(join(dir, 'test'), 2);
    const r = await readImageFolder(dir, { imageSize: 8, skipUnreadable: false, splitSeed: 0 });
    expect([r.train.count, r.test.count]).toEqual([9, 6]);
    expect(r.testOrigin).toBe('test/ folder');
  });
});

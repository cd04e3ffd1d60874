/** Tokenizer files: checksummed on save, verified on load; damage is an error naming the file. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorruptFileError } from '../../runner/files/verified.ts';
import { loadTokenizer, saveTokenizer, Tokenizer } from '../../runner/model/tokenizer.ts';
import { tempFiles } from '../helpers/tmp.ts';
import { CORRUPTIONS, corrupt } from '../helpers/corrupt.ts';

const texts = ['A thin loop leans to the left.', 'A bold bar stands upright.', 'Two strokes cross in the middle, the left one curving.'];
const build = () => Tokenizer.build(texts, { kind: 'subword', vocabSize: 60, maxLen: 12, addCls: true });

describe('saveTokenizer / loadTokenizer', () => {
  it('round-trips: the loaded tokenizer encodes exactly like the saved one; a missing file is undefined', () => {
    const file = join(tempFiles().dir, 'tokenizer.json');
    expect(loadTokenizer(file)).toBeUndefined();
    const t = build();
    saveTokenizer(file, t);
    expect(loadTokenizer(file)!.encodeAll(texts)).toEqual(t.encodeAll(texts));
  });

  for (const how of CORRUPTIONS) {
    it(`${how}: CorruptFileError naming the file`, () => {
      const file = join(tempFiles().dir, 'tokenizer.json');
      saveTokenizer(file, build());
      corrupt(file, how);
      expect(() => loadTokenizer(file)).toThrow(CorruptFileError);
      expect(() => loadTokenizer(file)).toThrow(file);
    });
  }

  it('a plain tokenizer.json from an older mmrun loads when sound, and is refused when its structure is not', () => {
    const file = join(tempFiles().dir, 'tokenizer.json');
    const t = build();
    writeFileSync(file, JSON.stringify(t.toJSON()));
    expect(loadTokenizer(file)!.encodeAll(texts)).toEqual(t.encodeAll(texts));
    const broken = JSON.parse(readFileSync(file, 'utf8'));
    broken.vocab = [broken.vocab[1], broken.vocab[0], ...broken.vocab.slice(2)];
    writeFileSync(file, JSON.stringify(broken));
    expect(() => loadTokenizer(file)).toThrow(/tokenizer\.json is corrupt: vocab must start with \[PAD\], \[UNK\], \[CLS\]/);
    writeFileSync(file, JSON.stringify({ ...t.toJSON(), maxLen: -3 }));
    expect(() => loadTokenizer(file)).toThrow(/maxLen must be a positive integer/);
  });
});

import { describe, expect, it } from 'vitest';
import { CLS, PAD, Tokenizer, UNK, splitWords } from '../../runner/model/tokenizer.ts';

const corpus = ['A thin seven, slanted left.', 'a thick loop at the top', 'thin strokes and a loop'];

describe('Tokenizer', () => {
  it('splits lower-cased words and punctuation', () => {
    expect(splitWords('A thin Seven, slanted!')).toEqual(['a', 'thin', 'seven', ',', 'slanted', '!']);
  });

  it('word level: most frequent first, unknown words map to [UNK], padding to max_len', () => {
    const tok = Tokenizer.build(corpus, { kind: 'word', vocabSize: 6, maxLen: 5, addCls: false });
    expect(tok.json.vocab.slice(0, 3)).toEqual(['[PAD]', '[UNK]', '[CLS]']);
    expect(tok.json.vocab[3]).toBe('a'); // 3 occurrences
    expect(tok.vocabSize).toBe(6);
    const ids = tok.encodeAll(['a zebra']);
    expect(Array.from(ids)).toEqual([3, UNK, PAD, PAD, PAD]);
  });

  it('puts [CLS] first when asked and cuts long texts', () => {
    const tok = Tokenizer.build(corpus, { kind: 'word', vocabSize: 100, maxLen: 3, addCls: true });
    const ids = tok.tokens('a thin loop at the top');
    expect(ids).toHaveLength(3);
    expect(ids[0]).toBe(CLS);
  });

  it('subword level: unseen words are built from learnt pieces instead of [UNK]', () => {
    const tok = Tokenizer.build(corpus, { kind: 'subword', vocabSize: 200, maxLen: 16, addCls: false });
    const ids = tok.tokens('thinloop');
    expect(ids.length).toBeGreaterThan(1);
    expect(ids).not.toContain(UNK);
    const pieces = ids.map((i) => tok.json.vocab[i]);
    expect(pieces.join('').replace(/##/g, '')).toBe('thinloop');
  });

  it('round-trips through JSON', () => {
    const tok = Tokenizer.build(corpus, { kind: 'subword', vocabSize: 50, maxLen: 8, addCls: true });
    const again = Tokenizer.fromJson(JSON.parse(JSON.stringify(tok.toJSON())));
    expect(Array.from(again.encodeAll(corpus))).toEqual(Array.from(tok.encodeAll(corpus)));
  });
});

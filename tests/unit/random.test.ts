// One generator type (runner/random.ts Rng) behind every seeded result: datasets and texts
// (runner/data), initialisation and shuffles (runner/model, runner/train; its state goes into
// checkpoints) and bootstrap intervals (report/stats).
import { describe, expect, it } from 'vitest';
import { createRng, mulberry32, pick, Rng, seedFrom, shuffleInPlace } from '../../runner/random.ts';
import { seededRandom } from '../../runner/report/stats.ts';

const take = (next: () => number, n: number) => Array.from({ length: n }, next);

describe('mulberry32', () => {
  it('the same seed gives the same stream through every wrapper', () => {
    for (const seed of [0, 1, 42, 2 ** 32 - 1]) {
      const expected = take(mulberry32(seed), 50);
      const data = createRng(seed);
      expect(take(() => data.next(), 50)).toEqual(expected);
      expect(take(seededRandom(seed), 50)).toEqual(expected);
      const rng = new Rng(seed);
      expect(take(() => rng.next(), 50)).toEqual(expected);
    }
  });

  it('the stream is the one earlier versions produced (datasets, texts and checkpoints stay reproducible)', () => {
    expect(take(mulberry32(42), 3).map((x) => x.toFixed(10))).toEqual(['0.6011037519', '0.4482905590', '0.8524657935']);
  });

  it('a model Rng resumes from its saved state', () => {
    const a = new Rng(9);
    take(() => a.next(), 7);
    const b = new Rng(a.getState());
    expect(take(() => b.next(), 5)).toEqual(take(() => a.next(), 5));
  });

  it('the seeded helpers draw from the same stream (shuffles, picks and derived seeds are pinned)', () => {
    const items = [0, 1, 2, 3, 4, 5, 6, 7];
    shuffleInPlace(items, createRng(7));
    const again = [0, 1, 2, 3, 4, 5, 6, 7];
    shuffleInPlace(again, createRng(7));
    expect(items).toEqual(again);
    expect([...items].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(items).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const u = mulberry32(3)();
    expect(pick(['a', 'b', 'c', 'd'], createRng(3))).toBe(['a', 'b', 'c', 'd'][Math.floor(u * 4)]);
    expect(seedFrom('split', 'val', 1, 2)).toBe(seedFrom('split', 'val', 1, 2));
    expect(seedFrom('split', 'val', 1, 2)).not.toBe(seedFrom('split', 'val', 1, 3));
  });
});

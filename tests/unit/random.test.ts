// One generator behind every seeded result: datasets and texts (data/rng), initialisation and
// shuffles (model/rng, whose state goes into checkpoints) and bootstrap intervals (report/stats).
import { describe, expect, it } from 'vitest';
import { createRng } from '../../runner/data/rng.ts';
import { Rng } from '../../runner/model/rng.ts';
import { mulberry32 } from '../../runner/random.ts';
import { seededRandom } from '../../runner/report/stats.ts';

const take = (next: () => number, n: number) => Array.from({ length: n }, next);

describe('mulberry32', () => {
  it('the same seed gives the same stream through every wrapper', () => {
    for (const seed of [0, 1, 42, 2 ** 32 - 1]) {
      const expected = take(mulberry32(seed), 50);
      expect(take(createRng(seed), 50)).toEqual(expected);
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
});

/**
 * Checks of the merged file the schema cannot word plainly: seeds the random generator cannot
 * tell apart, and repeated seeds. Run before the schema so the user reads one plain sentence.
 * Pure.
 */
import { SEED_MAX } from '../random.ts';
import { isPlainObject } from './merge.ts';
import { getPath, splitPath } from './paths.ts';
import type { Located } from './validate.ts';

/** Seed fields other than `seeds` (each run's seed is checked through the `seeds` list). */
const SEED_FIELDS = ['dataset.split_seed', 'augmentation.seed'];

function seedProblem(value: unknown, what: string): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return undefined; // the schema says what is expected
  if (value >= 0 && value <= SEED_MAX) return undefined;
  const same = Number.isSafeInteger(value) ? ` (${value} would train exactly like seed ${value >>> 0})` : '';
  return `${what} ${value} is outside 0…${SEED_MAX}: the random generator uses seeds as 32-bit unsigned integers${same}`;
}

export function checkLanguage(data: unknown): Located[] {
  const out: Located[] = [];
  if (!isPlainObject(data)) return out;
  const seeds = data.seeds;
  if (Array.isArray(seeds)) {
    const firstAt = new Map<unknown, number>();
    seeds.forEach((seed, i) => {
      const fraction = typeof seed === 'number' && !Number.isInteger(seed) ? `seed ${seed} is not a whole number: seeds are integers from 0 to ${SEED_MAX}` : undefined;
      const bad = fraction ?? seedProblem(seed, 'seed');
      if (bad) out.push({ path: ['seeds', i], at: 'value', message: bad });
      const first = firstAt.get(seed);
      if (first !== undefined && typeof seed === 'number') {
        out.push({ path: ['seeds', i], at: 'value', message: `seed ${seed} is listed twice (items ${first + 1} and ${i + 1}): each seed is one run, so remove the repeat` });
      } else firstAt.set(seed, i);
    });
  }
  for (const dotted of SEED_FIELDS) {
    const path = splitPath(dotted);
    const bad = seedProblem(getPath(data, path), dotted);
    if (bad) out.push({ path, at: 'value', message: bad });
    const grid = isPlainObject(data.grid) ? data.grid[dotted] : undefined;
    if (Array.isArray(grid)) grid.forEach((v, i) => {
      const b = seedProblem(v, `grid value for ${dotted}:`);
      if (b) out.push({ path: ['grid', dotted, i], at: 'value', message: b });
    });
    if (isPlainObject(data.ablations)) {
      for (const [name, o] of Object.entries(data.ablations)) {
        const b = isPlainObject(o) ? seedProblem(o[dotted], `ablation '${name}' sets ${dotted} to`) : undefined;
        if (b) out.push({ path: ['ablations', name, dotted], at: 'value', message: b });
      }
    }
  }
  return out;
}

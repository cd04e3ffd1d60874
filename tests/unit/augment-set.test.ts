import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { validateAndFill } from '../../runner/config/schema.ts';
import { Eda } from '../../runner/data/augment/eda.ts';
import { ensureAugmentedSet, planAugmentedSet, variantCounts } from '../../runner/data/augment/index.ts';
import type { Dataset } from '../../runner/data/types.ts';
import { MmrunError } from '../../runner/errors.ts';
import { tempFiles } from '../helpers/tmp.ts';

const PHRASES = [
  'A small digit drawn with thick strokes leans slightly to the right.',
  'This tall figure has one closed loop in its upper part and crisp edges.',
  'A wide, heavy shape sits low in the frame with soft edges.',
  'The thin stroke curves gently and is heavier on the left.',
];

function dataset(n = 24, extra = 0): Dataset {
  const texts = Array.from({ length: n }, (_, i) => `${PHRASES[i % PHRASES.length]} Sample ${i}.`);
  const split = (k: number) => ({ images: new Uint8Array(0), labels: Int32Array.from({ length: k }, (_, i) => i % 3), texts: texts.slice(0, k) });
  return {
    dir: '/nowhere',
    hash: `ds-${n}-${extra}`,
    classNames: ['ring', 'bar', 'cross'],
    shape: [8, 8, 1],
    train: split(n),
    val: split(0),
    test: split(0),
    extraTrainTexts: Array.from({ length: extra }, (_, k) => ({ label: k % 3, text: `An extra description number ${k} with a bold curve.` })),
  };
}

function config(augmentation: Record<string, unknown>): Experiment {
  const data: Record<string, unknown> = { name: 'aug-test', augmentation, training: { retrain: { enabled: true } } };
  const errors = validateAndFill(data);
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return data as unknown as Experiment;
}

const quiet = { onProgress: () => {} };
const edaConfig = (extra: Record<string, unknown> = {}) => config({ method: 'eda', ratio: 4, seed: 1, ...extra });

afterEach(() => vi.restoreAllMocks());

describe('ensureAugmentedSet (eda)', () => {
  it('builds once under artifacts/augmented/<key>/ and a second call does no generation work', async () => {
    const { dir } = tempFiles();
    const apply = vi.spyOn(Eda.prototype, 'apply');
    const first = await ensureAugmentedSet(edaConfig(), dataset(), { artifactsDir: dir, ...quiet });
    expect(first.status).toBe('built');
    expect(apply.mock.calls.length).toBeGreaterThanOrEqual(24 * 4);
    expect(existsSync(join(dir, 'augmented', first.key!, 'manifest.json'))).toBe(true);
    expect(readdirSync(join(dir, 'augmented')).filter((f) => f.includes('tmp') || f.endsWith('.lock'))).toEqual([]);

    apply.mockClear();
    const second = await ensureAugmentedSet(edaConfig({ ratio: 2 }), dataset(), { artifactsDir: dir, ...quiet });
    expect(second.status).toBe('found');
    expect(second.key).toBe(first.key);
    expect(apply).not.toHaveBeenCalled();
    expect(second.textsFor(4)).toEqual(first.textsFor(4));
  });

  it('is deterministic by seed and differs across seeds', async () => {
    const a = await ensureAugmentedSet(edaConfig(), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    const b = await ensureAugmentedSet(edaConfig(), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    const c = await ensureAugmentedSet(edaConfig({ seed: 2 }), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    expect(b.textsFor(4)).toEqual(a.textsFor(4));
    expect(c.key).not.toBe(a.key);
    const differing = c.textsFor(4).filter((t, i) => t.text !== a.textsFor(4)[i].text).length;
    expect(differing).toBeGreaterThan(48);
  });

  it('serves every ratio from one set: a smaller ratio uses a prefix of a larger one', async () => {
    const set = await ensureAugmentedSet(edaConfig({ ratio: 8 }), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    expect(set.textsFor(0)).toEqual([]);
    const bySource = (ratio: number) => {
      const m = new Map<number, string[]>();
      for (const t of set.textsFor(ratio)) m.set(t.source, [...(m.get(t.source) ?? []), t.text]);
      return m;
    };
    const r8 = bySource(8);
    expect(set.textsFor(8)).toHaveLength(24 * 8);
    for (const ratio of [1, 2, 4]) {
      expect(set.textsFor(ratio)).toHaveLength(24 * ratio);
      for (const [source, texts] of bySource(ratio)) expect(texts).toEqual(r8.get(source)!.slice(0, ratio));
    }
    for (const t of set.textsFor(2)) expect(t.label).toBe(t.source % 3);
  });

  it('fractional ratios pick a fixed, growing subset of originals for the extra variant', async () => {
    const set = await ensureAugmentedSet(edaConfig({ ratio: 2 }), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    const half = set.textsFor(0.5);
    expect(half).toHaveLength(12);
    expect(new Set(half.map((t) => t.source)).size).toBe(12);
    const threeQuarters = set.textsFor(0.75);
    expect(threeQuarters).toHaveLength(18);
    const inLarger = new Set(threeQuarters.map((t) => t.text));
    for (const t of half) expect(inLarger.has(t.text)).toBe(true);
    expect(set.textsFor(1.5)).toHaveLength(36);
    expect(set.textsFor(0.5)).toEqual(half);
    const counts = variantCounts(1000, 2.25, 0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2250);
  });

  it('extends a set for a larger ratio without regenerating what exists', async () => {
    const { dir } = tempFiles();
    const small = await ensureAugmentedSet(edaConfig({ ratio: 2 }), dataset(), { artifactsDir: dir, ...quiet });
    const before = small.textsFor(2);
    expect(() => small.textsFor(3)).toThrow(MmrunError);

    const apply = vi.spyOn(Eda.prototype, 'apply');
    const large = await ensureAugmentedSet(edaConfig({ ratio: 4 }), dataset(), { artifactsDir: dir, ...quiet });
    expect(large.status).toBe('built');
    expect(large.key).toBe(small.key);
    expect(large.variantsPerText).toBe(4);
    // only variants 2 and 3 of each original were made (an unchanged edit retries, hence ≥)
    expect(apply.mock.calls.length).toBeGreaterThanOrEqual(24 * 2);
    expect(apply.mock.calls.length).toBeLessThan(24 * 4);
    expect(large.textsFor(2)).toEqual(before);

    const manifest = JSON.parse(readFileSync(join(dir, 'augmented', large.key!, 'manifest.json'), 'utf8'));
    expect(manifest.layers.map((l: { from: number; to: number }) => [l.from, l.to])).toEqual([[0, 2], [2, 4]]);
    // built in one go, the same set holds the same texts
    const direct = await ensureAugmentedSet(edaConfig({ ratio: 4 }), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    expect(direct.textsFor(4)).toEqual(large.textsFor(4));
  });

  it('plans without doing: build, then found, then extend', async () => {
    const { dir } = tempFiles();
    const apply = vi.spyOn(Eda.prototype, 'apply');
    expect(planAugmentedSet(edaConfig({ ratio: 2 }), dataset(), { artifactsDir: dir })).toMatchObject({ action: 'build', from: 0, to: 2, texts: 48 });
    expect(apply).not.toHaveBeenCalled();
    expect(existsSync(join(dir, 'augmented'))).toBe(false);
    await ensureAugmentedSet(edaConfig({ ratio: 2 }), dataset(), { artifactsDir: dir, ...quiet });
    expect(planAugmentedSet(edaConfig({ ratio: 1.5 }), dataset(), { artifactsDir: dir })).toMatchObject({ action: 'found', texts: 0 });
    expect(planAugmentedSet(edaConfig({ ratio: 3 }), dataset(), { artifactsDir: dir })).toMatchObject({ action: 'extend', from: 2, to: 3, texts: 24 });
    expect(planAugmentedSet(config({ method: 'none' }), dataset(), { artifactsDir: dir })).toMatchObject({ action: 'none' });
  });

  it('augments keep_all_texts extras too, with sources after the training texts', async () => {
    const set = await ensureAugmentedSet(edaConfig({ ratio: 1 }), dataset(24, 6), { artifactsDir: tempFiles().dir, ...quiet });
    const texts = set.textsFor(1);
    expect(texts).toHaveLength(30);
    expect(texts.filter((t) => t.source >= 24).map((t) => t.label)).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('runs started together build the set once (a lock file, not once per run)', async () => {
    const { dir } = tempFiles();
    const apply = vi.spyOn(Eda.prototype, 'apply');
    const sets = await Promise.all([1, 2, 3].map(() => ensureAugmentedSet(edaConfig(), dataset(), { artifactsDir: dir, ...quiet })));
    expect(sets.map((s) => s.status).sort()).toEqual(['built', 'found', 'found']);
    expect(apply.mock.calls.length).toBeLessThan(24 * 4 * 2);
    expect(sets[1].textsFor(4)).toEqual(sets[0].textsFor(4));
  });

  it('waits for a live lock and takes over a stale one (its holder died)', async () => {
    const { dir } = tempFiles();
    const probe = await ensureAugmentedSet(edaConfig({ ratio: 0 }), dataset(), { artifactsDir: dir, ...quiet });
    const lock = join(dir, 'augmented', `${probe.key}.lock`);
    mkdirSync(join(dir, 'augmented'), { recursive: true });
    writeFileSync(lock, '{"pid": 1}');
    const waited = await ensureAugmentedSet(edaConfig(), dataset(), { artifactsDir: dir, ...quiet, lockTimeoutS: 0.5 }).catch((e: unknown) => e);
    expect(waited).toBeInstanceOf(MmrunError);
    expect((waited as Error).message).toMatch(/waiting for another process building the same augmented set/);
    const old = new Date(Date.now() - 120_000);
    utimesSync(lock, old, old);
    const set = await ensureAugmentedSet(edaConfig(), dataset(), { artifactsDir: dir, ...quiet, lockTimeoutS: 5 });
    expect(set.status).toBe('built');
    expect(existsSync(lock)).toBe(false);
  });

  it('a leftover folder without manifest is rebuilt, never used', async () => {
    const { dir } = tempFiles();
    const set = await ensureAugmentedSet(edaConfig({ ratio: 1 }), dataset(), { artifactsDir: dir, ...quiet });
    rmSync(join(dir, 'augmented', set.key!, 'manifest.json'));
    const again = await ensureAugmentedSet(edaConfig({ ratio: 1 }), dataset(), { artifactsDir: dir, ...quiet });
    expect(again.status).toBe('built');
    expect(again.textsFor(1)).toEqual(set.textsFor(1));
  });

  it('reports progress through onProgress', async () => {
    const events: { done: number; total: number }[] = [];
    await ensureAugmentedSet(edaConfig({ ratio: 2 }), dataset(), { artifactsDir: tempFiles().dir, onProgress: (e) => events.push(e) });
    expect(events.at(-1)).toMatchObject({ done: 48, total: 48 });
  });
});

describe('method none and bad input', () => {
  it('none: the control arm has no augmented texts, and nothing is written', async () => {
    const { dir } = tempFiles();
    const set = await ensureAugmentedSet(config({ method: 'none', ratio: 0 }), dataset(), { artifactsDir: dir, ...quiet });
    expect(set.textsFor(0)).toEqual([]);
    expect(() => set.textsFor(1)).toThrow(/method is 'none'/);
    expect(existsSync(join(dir, 'augmented'))).toBe(false);
  });

  it('ratio 0 with a method needs nothing built', async () => {
    const { dir } = tempFiles();
    const set = await ensureAugmentedSet(edaConfig({ ratio: 0 }), dataset(), { artifactsDir: dir, ...quiet });
    expect(set.textsFor(0)).toEqual([]);
    expect(existsSync(join(dir, 'augmented'))).toBe(false);
  });

  // Configs the schema would reject too: ensureAugmentedSet also guards configs built in code.
  const edit = (base: Experiment, change: (a: Experiment['augmentation']) => void): Experiment => {
    const copy = structuredClone(base);
    change(copy.augmentation);
    return copy;
  };
  const bad: [string, Experiment, RegExp][] = [
    ['negative ratio', edit(edaConfig(), (a) => (a.ratio = -1)), /augmentation\.ratio must be a number from 0 to 1000.*-1/],
    ['huge ratio', edit(edaConfig(), (a) => (a.ratio = 5000)), /augmentation\.ratio.*5000/],
    ['NaN ratio', edit(edaConfig(), (a) => (a.ratio = NaN)), /augmentation\.ratio.*NaN/],
    ['eda rate above 1', edit(edaConfig(), (a) => (a.eda.synonym = 1.5)), /augmentation\.eda\.synonym must be a rate from 0 to 1.*1\.5/],
    ['eda rates all zero', edaConfig({ eda: { synonym: 0, insert: 0, swap: 0, delete: 0 } }), /every rate is 0/],
    ['ratio with method none', config({ method: 'none', ratio: 2 }), /needs an augmentation\.method/],
  ];
  for (const [name, cfg, message] of bad) {
    it(`rejects ${name} with a clear MmrunError before any work`, async () => {
      const { dir } = tempFiles();
      const apply = vi.spyOn(Eda.prototype, 'apply');
      const err = await ensureAugmentedSet(cfg, dataset(), { artifactsDir: dir, ...quiet }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MmrunError);
      expect((err as Error).message).toMatch(message);
      expect(apply).not.toHaveBeenCalled();
      expect(existsSync(join(dir, 'augmented'))).toBe(false);
    });
  }

  it('textsFor rejects a ratio out of range', async () => {
    const set = await ensureAugmentedSet(edaConfig({ ratio: 1 }), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    expect(() => set.textsFor(-0.5)).toThrow(/from 0 to 1000/);
  });
});

describe('store', () => {
  it('round-trips large layers with non-ASCII text and newlines across read chunks', async () => {
    const { createSet, readVariants } = await import('../../runner/data/augment/store.ts');
    const dir = join(tempFiles().dir, 'set');
    const rows = Array.from({ length: 30000 }, (_, i) => [`é “quoted” ünïcödé ${i} ${'x'.repeat(i % 300)}`, `second\nline ${i} ✓`]);
    const manifest = { format: 1, key: 'k', originals: rows.length, variantsPerText: 2, layers: [{ file: 'variants-0-2.jsonl', from: 0, to: 2, seconds: 0 }] };
    expect(createSet(dir, manifest as never, rows)).toBe(true);
    expect(readVariants(dir, manifest as never)).toEqual(rows);
  });
});

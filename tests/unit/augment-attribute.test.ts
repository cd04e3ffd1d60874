import { describe, expect, it } from 'vitest';
import { validateAndFill } from '../../runner/config/schema.ts';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { sampleAttributes } from '../../runner/data/augment/attribute-resample.ts';
import { ensureAugmentedSet } from '../../runner/data/augment/index.ts';
import { extractAttributes, type StrokeAttributes } from '../../runner/data/describe/attributes.ts';
import { createRng } from '../../runner/random.ts';
import type { Dataset } from '../../runner/data/types.ts';
import { MmrunError } from '../../runner/errors.ts';
import { tempFiles } from '../helpers/tmp.ts';

const S = 28;

/** Class 0 ('ring'): hollow squares (one closed loop). Class 1 ('bar'): solid vertical bars (none). */
function image(label: number, v: number): Uint8Array {
  const px = new Uint8Array(S * S);
  const set = (x: number, y: number) => (px[y * S + x] = 255);
  const o = 4 + (v % 4);
  if (label === 0) {
    for (let k = 0; k < 14; k++)
      for (let t = 0; t < 3; t++) {
        set(o + k, o + t);
        set(o + k, o + 13 - t);
        set(o + t, o + k);
        set(o + 13 - t, o + k);
      }
  } else {
    for (let y = o; y < o + 16; y++) for (let x = 12; x < 15 + (v % 3); x++) set(x, y);
  }
  return px;
}

function dataset(perClass = 8): Dataset {
  const n = perClass * 2;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
  const images = new Uint8Array(n * S * S);
  for (let i = 0; i < n; i++) images.set(image(labels[i], i >> 1), i * S * S);
  const texts = Array.from(labels, (l, i) => `original text ${i} of class ${l}`);
  const empty = { images: new Uint8Array(0), labels: new Int32Array(0), texts: [] };
  return { dir: '/nowhere', hash: `attr-${perClass}`, classNames: ['ring', 'bar'], shape: [S, S, 1], train: { images, labels, texts }, val: empty, test: empty, extraTrainTexts: [] };
}

function config(extra: Record<string, unknown> = {}): Experiment {
  const data: Record<string, unknown> = { name: 'attr', augmentation: { method: 'attribute-resample', ratio: 3, seed: 5 }, training: { retrain: { enabled: true } }, ...extra };
  const errors = validateAndFill(data);
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return data as unknown as Experiment;
}

const quiet = { onProgress: () => {} };
const LOOP = /one closed loop|single closed loop|encloses one loop/;
const NO_LOOP = /no closed loops|enclose no space|forms a closed loop/;

describe('attribute-resample', () => {
  it('the fixture images really differ in loops', () => {
    expect((extractAttributes(image(0, 1), S, S, 1) as StrokeAttributes).loops).toHaveLength(1);
    expect((extractAttributes(image(1, 1), S, S, 1) as StrokeAttributes).loops).toHaveLength(0);
  });

  it('writes new texts drawn from the attributes of their own class', async () => {
    const set = await ensureAugmentedSet(config(), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    const texts = set.textsFor(3);
    expect(texts).toHaveLength(48);
    for (const t of texts) {
      expect(t.label).toBe(t.source % 2);
      if (t.label === 0) expect(t.text).toMatch(LOOP);
      else expect(t.text).toMatch(NO_LOOP);
      expect(t.text).not.toMatch(/original text/);
    }
    expect(new Set(texts.map((t) => t.text)).size).toBeGreaterThan(40); // varied, not copies
  });

  it('is deterministic by seed, and the seed matters', async () => {
    const a = await ensureAugmentedSet(config(), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    const b = await ensureAugmentedSet(config(), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    const c = await ensureAugmentedSet(config({ augmentation: { method: 'attribute-resample', ratio: 3, seed: 6 } }), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    expect(b.textsFor(3)).toEqual(a.textsFor(3));
    expect(c.textsFor(3)).not.toEqual(a.textsFor(3));
  });

  it('names the class only when the dataset texts do', async () => {
    const named = await ensureAugmentedSet(config({ dataset: { descriptions: { mention_class: true } } }), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    const unnamed = await ensureAugmentedSet(config(), dataset(), { artifactsDir: tempFiles().dir, ...quiet });
    expect(named.textsFor(1).filter((t) => t.label === 0).every((t) => /\bring\b/.test(t.text))).toBe(true);
    expect(unnamed.textsFor(1).some((t) => /\bring\b|\bbar\b/.test(t.text))).toBe(false);
  });

  it('draws each attribute from the class, so combinations no image had appear', () => {
    const observed: StrokeAttributes[] = [
      { ...(extractAttributes(image(0, 0), S, S, 1) as StrokeAttributes), thickness: 'thin', slant: 'left' },
      { ...(extractAttributes(image(0, 1), S, S, 1) as StrokeAttributes), thickness: 'heavy', slant: 'right' },
    ];
    const combos = new Set<string>();
    const rng = createRng(1);
    for (let k = 0; k < 200; k++) {
      const a = sampleAttributes(observed, rng) as StrokeAttributes;
      expect(['thin', 'heavy']).toContain(a.thickness);
      expect(['left', 'right']).toContain(a.slant);
      combos.add(`${a.thickness}/${a.slant}`);
    }
    expect(combos).toEqual(new Set(['thin/left', 'thin/right', 'heavy/left', 'heavy/right']));
  });

  it('needs descriptions from the attributes describer, and says so before any work', async () => {
    const cfg = config({ dataset: { descriptions: { describer: 'openai' } } });
    const err = await ensureAugmentedSet(cfg, dataset(), { artifactsDir: tempFiles().dir, ...quiet }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MmrunError);
    expect((err as Error).message).toMatch(/dataset\.descriptions\.describer is 'openai'/);
  });
});

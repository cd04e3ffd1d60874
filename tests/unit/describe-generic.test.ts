// The generic style of the attributes describer, and the informativeness probes.
import { describe, expect, it } from 'vitest';
import { describeImage, extractAttributes, renderDescription, type ShapeAttributes } from '../../runner/data/describe/attributes.ts';
import { extractShapeAttributes, measureShape } from '../../runner/data/describe/generic.ts';
import { attributeTokens, linearProbe, measureInformativeness, textTokens } from '../../runner/data/describe/informativeness.ts';
import { createRng } from '../../runner/random.ts';

const S = 28;
type Painter = (set: (x: number, y: number, v?: number) => void) => void;
function draw(paint: Painter, c = 1, rgb: [number, number, number] = [200, 200, 200]): Uint8Array {
  const px = new Uint8Array(S * S * c);
  paint((x, y, v = 220) => {
    for (let k = 0; k < c; k++) px[(y * S + x) * c + k] = c === 1 ? v : rgb[k];
  });
  return px;
}
const rect = (set: (x: number, y: number) => void, x0: number, y0: number, x1: number, y1: number) => {
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) set(x, y);
};
// Trousers: a waistband and two separate legs (bottom splits in two).
const trousers: Painter = (set) => {
  rect(set, 8, 2, 19, 8);
  rect(set, 8, 9, 12, 25);
  rect(set, 15, 9, 19, 25);
};
// A bag: a wide solid body with a handle that encloses an opening on top.
const bag: Painter = (set) => {
  rect(set, 3, 12, 24, 25);
  rect(set, 8, 4, 19, 5);
  rect(set, 8, 4, 9, 11);
  rect(set, 18, 4, 19, 11);
};
// A flat shoe: wide, low, asymmetric (toe on the right).
const shoe: Painter = (set) => {
  rect(set, 2, 16, 25, 21);
  rect(set, 2, 11, 9, 15);
};

describe('generic describer attributes', () => {
  it('reads the silhouette: splits, holes, aspect, symmetry', () => {
    const t = extractShapeAttributes(draw(trousers), S, S, 1);
    expect(t.splitBottom).toBe(true);
    expect(t.aspect).toBe('tall');
    expect(t.symmetry === 'left-right' || t.symmetry === 'both').toBe(true);
    const b = extractShapeAttributes(draw(bag), S, S, 1);
    expect(b.holes).toBe('one');
    expect(b.splitTop).toBe(true);
    expect(b.widthBottom).toBe('wide');
    const s = extractShapeAttributes(draw(shoe), S, S, 1);
    expect(s.aspect).toBe('flat');
    expect(s.symmetry).toBe('none');
    expect(s.holes).toBe('none');
  });

  it('measures width per third of the box, tone and colour for RGB', () => {
    const m = measureShape(draw(bag), S, S, 1);
    expect(m.widths[2]).toBeGreaterThan(m.widths[0] * 0.99);
    expect(m.empty).toBe(false);
    expect(measureShape(new Uint8Array(S * S), S, S, 1).empty).toBe(true);
    const red = extractShapeAttributes(draw(bag, 3, [220, 30, 30]), S, S, 3);
    expect(red.colour).toBe('red');
    expect(extractShapeAttributes(draw(bag), S, S, 1).colour).toBeNull();
    const dark = extractShapeAttributes(draw((set) => rect((x, y) => set(x, y, 60), 4, 4, 22, 22)), S, S, 1);
    expect(dark.tone).toBe('dark');
  });

  it('is chosen by style; digits stays the default', () => {
    expect(extractAttributes(draw(bag), S, S, 1).kind).toBe('stroke');
    expect(extractAttributes(draw(bag), S, S, 1, 'figure', 'generic').kind).toBe('shape');
    expect(extractAttributes(draw(bag, 3), S, S, 3, 'picture', 'digits').kind).toBe('colour');
  });

  it('writes varied sentences that never name the class unless asked', () => {
    const a = extractShapeAttributes(draw(trousers), S, S, 1) as ShapeAttributes;
    const texts = new Set<string>();
    for (let k = 0; k < 20; k++) texts.add(renderDescription(a, createRng(k), { mentionClass: false, className: 'trouser' }));
    expect(texts.size).toBeGreaterThan(10);
    for (const t of texts) {
      expect(t).not.toMatch(/trouser/i);
      expect(t).toMatch(/bottom/); // the split and/or the width profile are mentioned
    }
    expect(renderDescription(a, createRng(1), { mentionClass: true, className: 'trouser' })).toMatch(/trouser/);
    const d = describeImage(draw(bag), [S, S, 1], { mentionClass: false, style: 'generic' });
    expect(d.attributes.kind).toBe('shape');
    expect(d.text).toBe(describeImage(draw(bag), [S, S, 1], { mentionClass: false, style: 'generic' }).text); // deterministic
  });
});

describe('informativeness probes', () => {
  it('a linear probe finds a class-revealing token and stays near chance on noise', () => {
    const rng = createRng(3);
    const make = (n: number, informative: boolean) =>
      Array.from({ length: n }, (_, i) => {
        const label = i % 4;
        const tokens = [`noise=${rng.int(5)}`, `other=${rng.int(3)}`];
        if (informative) tokens.push(`cue=${label}`);
        return { tokens, label };
      });
    expect(linearProbe(make(400, true), make(200, true), 4).accuracy).toBeGreaterThan(0.95);
    const noise = linearProbe(make(400, false), make(400, false), 4);
    expect(noise.accuracy).toBeLessThan(0.4);
    expect(noise.majority).toBeCloseTo(0.25, 1);
  });

  it('encodes attributes and words as features and probes both', () => {
    expect(attributeTokens({ kind: 'stroke', subject: 'digit', loops: ['upper', 'lower'], pieces: 1 })).toEqual(['loops#2', 'loops=upper', 'loops=lower', 'pieces=1']);
    expect(textTokens('It has two loops.')).toEqual(['it', 'has', 'two', 'loops', 'it has', 'has two', 'two loops']);
    const shapes = [trousers, bag, shoe];
    const split = (n: number) => {
      const texts: string[] = [];
      const labels: number[] = [];
      const attributes: object[] = [];
      for (let i = 0; i < n; i++) {
        const label = i % 3;
        const d = describeImage(draw((set) => { shapes[label](set); set(i % S, 27, 255); }), [S, S, 1], { mentionClass: false, style: 'generic' });
        texts.push(d.text);
        labels.push(label);
        attributes.push(d.attributes);
      }
      return { texts, labels, attributes };
    };
    const inf = measureInformativeness(split(60), split(30), 3);
    expect(inf.attributes!.accuracy).toBeGreaterThan(0.9);
    expect(inf.text.accuracy).toBeGreaterThan(0.9);
    expect(inf.text.test).toBe(30);
  });
});

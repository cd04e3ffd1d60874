import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeImage, extractAttributes, renderDescription, type StrokeAttributes, type ColourAttributes } from '../../runner/data/describe/attributes.ts';
import { createRng } from '../../runner/random.ts';
import { readIdxPair } from '../../runner/data/sources/idx.ts';
import { mnistDataDir } from '../../runner/data/sources/index.ts';

const S = 28;
const blank = () => new Uint8Array(S * S);

/** A vertical bar of the given width, optionally sheared (x shift per row going up). */
function bar(width: number, shear = 0): Uint8Array {
  const img = blank();
  for (let y = 4; y < 24; y++) {
    const x0 = Math.round(14 - width / 2 + shear * (14 - y));
    for (let x = x0; x < x0 + width; x++) img[y * S + x] = 255;
  }
  return img;
}

function ring(img: Uint8Array, cx: number, cy: number, r: number, t: number): Uint8Array {
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
    const d = Math.hypot(x - cx, y - cy);
    if (d >= r - t && d <= r) img[y * S + x] = 255;
  }
  return img;
}

function dilate(img: Uint8Array): Uint8Array {
  const out = new Uint8Array(img.length);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
    let m = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      const yy = y + dy, xx = x + dx;
      if (yy >= 0 && yy < S && xx >= 0 && xx < S) m = Math.max(m, img[yy * S + xx]);
    }
    out[y * S + x] = m;
  }
  return out;
}

const strokes = (img: Uint8Array) => extractAttributes(img, S, S, 1, 'digit') as StrokeAttributes;
const opts = { mentionClass: false, subject: 'digit' };

describe('attributes describer on strokes', () => {
  it('is deterministic: the same pixels give the same text, even from another buffer', () => {
    const img = bar(3, 0.3);
    const a = describeImage(img, [S, S, 1], opts).text;
    expect(describeImage(img.slice(), [S, S, 1], opts).text).toBe(a);
    expect(a.split(/\s+/).length).toBeGreaterThan(15);
  });

  it('tells thin from thick strokes, in the attributes and in the text', () => {
    expect(strokes(bar(1)).thickness).toBe('hairline');
    expect(strokes(bar(5)).thickness).toBe('heavy');
    const thin = describeImage(bar(1), [S, S, 1], opts).text;
    const thick = describeImage(bar(5), [S, S, 1], opts).text;
    expect(thin).not.toBe(thick);
    expect(thin).toMatch(/hairline|very thin|wispy/);
    expect(thick).toMatch(/very thick|heavy, broad|chunky/);
  });

  it('sees thicker strokes on a real MNIST digit after dilation', () => {
    const dir = mnistDataDir();
    const { raw } = readIdxPair(join(dir, 't10k-images-idx3-ubyte'), join(dir, 't10k-labels-idx1-ubyte'));
    const order = ['hairline', 'thin', 'medium', 'thick', 'heavy'];
    let thicker = 0;
    for (let i = 0; i < 20; i++) {
      const img = raw.images.slice(i * 784, (i + 1) * 784);
      const before = order.indexOf(strokes(img).thickness);
      const after = order.indexOf(strokes(dilate(img)).thickness);
      expect(after).toBeGreaterThanOrEqual(before);
      if (after > before) thicker++;
      expect(describeImage(dilate(img), [S, S, 1], opts).text).not.toBe(describeImage(img, [S, S, 1], opts).text);
    }
    expect(thicker).toBeGreaterThanOrEqual(15);
  });

  it('measures slant, loops and their places', () => {
    expect(strokes(bar(3)).slant).toBe('upright');
    expect(strokes(bar(3, 0.4)).slant).toBe('strong-right');
    expect(strokes(bar(3, -0.4)).slant).toBe('strong-left');
    expect(strokes(ring(blank(), 14, 14, 9, 3)).loops).toEqual(['middle']);
    const eight = ring(ring(blank(), 14, 8, 6, 2), 14, 19, 6, 2);
    expect(strokes(eight).loops).toEqual(['upper', 'lower']);
    expect(describeImage(eight, [S, S, 1], opts).text).toMatch(/two (closed|separate) loops/);
    expect(strokes(bar(3)).loops).toEqual([]);
  });

  it('names the class only when asked', () => {
    const img = bar(3);
    expect(describeImage(img, [S, S, 1], { ...opts, mentionClass: true, className: '1' }).text).toMatch(/digit 1\b/);
    expect(describeImage(img, [S, S, 1], { ...opts, className: '1' }).text).not.toMatch(/\b1\b/);
  });

  it('renders resampled attributes with varied wording (for attribute-resample)', () => {
    const a = strokes(bar(2, 0.2));
    const texts = new Set(Array.from({ length: 10 }, (_, k) => renderDescription(a, createRng(k), { mentionClass: false })));
    expect(texts.size).toBeGreaterThan(5);
    expect(renderDescription({ ...a, loops: ['upper'] }, createRng(1), { mentionClass: false })).toMatch(/loop/);
  });
});

describe('attributes describer on colour images', () => {
  function picture(bg: [number, number, number], fg: [number, number, number]): Uint8Array {
    const img = new Uint8Array(32 * 32 * 3);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
      const c = x >= 10 && x < 22 && y >= 10 && y < 22 ? fg : bg;
      img.set(c, (y * 32 + x) * 3);
    }
    return img;
  }
  const colour = (img: Uint8Array) => extractAttributes(img, 32, 32, 3) as ColourAttributes;

  it('names dominant colours, brightness and a subject that stands out', () => {
    const a = colour(picture([30, 60, 200], [230, 30, 30]));
    expect(a.colours[0]).toBe('blue');
    expect(a.colours).toContain('red');
    expect(a.centre).toBe('red');
    expect(a.border).toBe('blue');
    expect(a.subjectStandsOut).toBe(true);
    expect(colour(picture([250, 250, 250], [240, 240, 240])).brightness).toBe('very bright');
    expect(colour(picture([10, 10, 10], [20, 20, 20])).colours).toEqual(['black']);
  });

  it('gives different texts to different pictures, the same text to the same one', () => {
    const a = describeImage(picture([30, 60, 200], [230, 30, 30]), [32, 32, 3], { mentionClass: false }).text;
    const b = describeImage(picture([40, 160, 40], [250, 220, 30]), [32, 32, 3], { mentionClass: false }).text;
    expect(a).not.toBe(b);
    expect(a).toMatch(/blue/);
    expect(b).toMatch(/green/);
    expect(describeImage(picture([30, 60, 200], [230, 30, 30]), [32, 32, 3], { mentionClass: false }).text).toBe(a);
    expect(describeImage(picture([30, 60, 200], [230, 30, 30]), [32, 32, 3], { mentionClass: true, className: 'ship' }).text).toMatch(/picture of a ship/);
  });
});

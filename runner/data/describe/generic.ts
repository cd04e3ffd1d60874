/**
 * The `generic` style of the attributes describer, for any image dataset (clothing, objects,
 * photos), not only handwriting: the silhouette of the foreground (its width at the top, middle
 * and bottom, aspect, fill, symmetry, holes, splits), its brightness and texture, and colour for
 * RGB. Everything is discrete so attribute-resample can recombine it; nothing names the class.
 */
import { pick, shuffled, type Rng } from '../../random.ts';
import { nameColour, type ColourName } from './colour-features.ts';

export type Width = 'narrow' | 'medium' | 'wide' | 'absent';
export type Aspect = 'tall' | 'square' | 'flat';
export type Fill = 'hollow' | 'partial' | 'solid';
export type Extent = 'small' | 'medium' | 'large';
export type Tone = 'dark' | 'mid-grey' | 'light';
export type Detail = 'plain' | 'textured' | 'busy';
export type Mirror = 'left-right' | 'top-bottom' | 'both' | 'none';

export interface ShapeAttributes {
  kind: 'shape';
  subject: string; // "item", "object", "picture"
  widthTop: Width;
  widthMiddle: Width;
  widthBottom: Width;
  aspect: Aspect;
  extent: Extent;
  fill: Fill;
  symmetry: Mirror;
  holes: 'none' | 'one' | 'several';
  splitTop: boolean; // the top rows hold two separate parts (handles, straps, two sides)
  splitBottom: boolean; // the bottom rows hold two separate parts (legs, heel and toe)
  tone: Tone;
  detail: Detail;
  colour: ColourName | null; // RGB sources only: the dominant foreground colour
}

/** Raw, continuous measurements (exported for tests and cut-point tuning). */
export interface ShapeMeasures {
  widths: [number, number, number]; // mean silhouette row width / image width, per third of the box
  aspect: number; // box height / box width
  extent: number; // box area / image area
  fill: number; // foreground pixels / box area
  mirrorLR: number; // IoU of the mask and its left-right mirror (within the box)
  mirrorTB: number;
  holes: number; // enclosed background regions of at least 3 pixels
  splitTop: number; // share of the top-quarter rows with two or more runs
  splitBottom: number;
  tone: number; // mean foreground intensity in [0, 1]
  detail: number; // mean absolute gradient inside the foreground, in [0, 1]
  empty: boolean;
}

const band = <T>(v: number, cuts: number[], names: T[]): T => {
  for (let i = 0; i < cuts.length; i++) if (v < cuts[i]) return names[i];
  return names[names.length - 1];
};

/** Grey level per pixel and a foreground mask (pixels that differ from the border's typical grey). */
function greyAndMask(pixels: Uint8Array, h: number, w: number, c: number): { grey: Float32Array; mask: Uint8Array } {
  const n = h * w;
  const grey = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += pixels[i * c + k];
    grey[i] = s / c / 255;
  }
  const border: number[] = [];
  for (let x = 0; x < w; x++) border.push(grey[x], grey[(h - 1) * w + x]);
  for (let y = 1; y < h - 1; y++) border.push(grey[y * w], grey[y * w + w - 1]);
  border.sort((a, b) => a - b);
  const bg = border[Math.floor(border.length / 2)];
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = Math.abs(grey[i] - bg) > 0.1 ? 1 : 0;
  return { grey, mask };
}

export function measureShape(pixels: Uint8Array, h: number, w: number, c: number): ShapeMeasures {
  const { grey, mask } = greyAndMask(pixels, h, w, c);
  let y0 = h, y1 = -1, x0 = w, x1 = -1, count = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      count++;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
    }
  }
  if (count === 0) {
    return { widths: [0, 0, 0], aspect: 1, extent: 0, fill: 0, mirrorLR: 0, mirrorTB: 0, holes: 0, splitTop: 0, splitBottom: 0, tone: 0, detail: 0, empty: true };
  }
  const bh = y1 - y0 + 1;
  const bw = x1 - x0 + 1;
  // Silhouette width of a row: from its first to its last foreground pixel; runs: separate parts.
  const rowWidth = new Float32Array(bh);
  const rowRuns = new Uint8Array(bh);
  for (let y = y0; y <= y1; y++) {
    let first = -1, last = -1, runs = 0, prev = 0;
    for (let x = x0; x <= x1; x++) {
      const m = mask[y * w + x];
      if (m) {
        if (first < 0) first = x;
        last = x;
        if (!prev) runs++;
      }
      prev = m;
    }
    rowWidth[y - y0] = first < 0 ? 0 : (last - first + 1) / w;
    rowRuns[y - y0] = runs;
  }
  const widths = [0, 1, 2].map((t) => {
    const from = Math.floor((t * bh) / 3);
    const to = Math.max(from + 1, Math.floor(((t + 1) * bh) / 3));
    let s = 0;
    for (let r = from; r < to; r++) s += rowWidth[r];
    return s / (to - from);
  }) as [number, number, number];
  const quarter = Math.max(1, Math.floor(bh / 4));
  let topSplit = 0, bottomSplit = 0;
  for (let r = 0; r < quarter; r++) {
    if (rowRuns[r] >= 2) topSplit++;
    if (rowRuns[bh - 1 - r] >= 2) bottomSplit++;
  }
  let both = 0, eitherLR = 0, bothTB = 0, eitherTB = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const a = mask[y * w + x];
      const lr = mask[y * w + (x1 - (x - x0))];
      const tb = mask[(y1 - (y - y0)) * w + x];
      if (a && lr) both++;
      if (a || lr) eitherLR++;
      if (a && tb) bothTB++;
      if (a || tb) eitherTB++;
    }
  }
  let toneSum = 0, gradSum = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (!mask[i]) continue;
      toneSum += grey[i];
      const gx = x + 1 < w ? grey[i + 1] - grey[i] : 0;
      const gy = y + 1 < h ? grey[i + w] - grey[i] : 0;
      gradSum += Math.abs(gx) + Math.abs(gy);
    }
  }
  return {
    widths,
    aspect: bh / bw,
    extent: (bh * bw) / (h * w),
    fill: count / (bh * bw),
    mirrorLR: both / Math.max(eitherLR, 1),
    mirrorTB: bothTB / Math.max(eitherTB, 1),
    holes: countHoles(mask, h, w),
    splitTop: topSplit / quarter,
    splitBottom: bottomSplit / quarter,
    tone: toneSum / count,
    detail: gradSum / count,
    empty: false,
  };
}

/** Background regions not connected to the image border, of at least 3 pixels. */
function countHoles(mask: Uint8Array, h: number, w: number): number {
  const seen = new Uint8Array(h * w);
  const stack: number[] = [];
  const flood = (start: number): number => {
    let size = 0;
    stack.push(start);
    seen[start] = 1;
    while (stack.length) {
      const i = stack.pop()!;
      size++;
      const y = Math.floor(i / w), x = i % w;
      const next = [y > 0 ? i - w : -1, y < h - 1 ? i + w : -1, x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1];
      for (const j of next) if (j >= 0 && !seen[j] && !mask[j]) (seen[j] = 1), stack.push(j);
    }
    return size;
  };
  for (let x = 0; x < w; x++) for (const i of [x, (h - 1) * w + x]) if (!mask[i] && !seen[i]) flood(i);
  for (let y = 0; y < h; y++) for (const i of [y * w, y * w + w - 1]) if (!mask[i] && !seen[i]) flood(i);
  let holes = 0;
  for (let i = 0; i < h * w; i++) if (!mask[i] && !seen[i] && flood(i) >= 3) holes++;
  return holes;
}

/** The most common named colour among foreground pixels (the background does not count). */
function foregroundColour(pixels: Uint8Array, h: number, w: number, c: number): ColourName | null {
  const { mask } = greyAndMask(pixels, h, w, c);
  const counts = new Map<ColourName, number>();
  for (let i = 0; i < h * w; i++) {
    if (!mask[i]) continue;
    const name = nameColour(pixels[i * c], pixels[i * c + 1], pixels[i * c + 2]);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  let best: ColourName | null = null;
  for (const [name, n] of counts) if (best === null || n > counts.get(best)!) best = name;
  return best;
}

/** Discrete shape attributes of one image (`pixels`: h*w*c bytes). */
export function extractShapeAttributes(pixels: Uint8Array, h: number, w: number, c: number, subject = 'item'): ShapeAttributes {
  const m = measureShape(pixels, h, w, c);
  const width = (v: number): Width => (v <= 0 ? 'absent' : band(v, [0.33, 0.6], ['narrow', 'medium', 'wide']));
  const symLR = m.mirrorLR >= 0.8;
  const symTB = m.mirrorTB >= 0.7;
  const colour = c >= 3 ? foregroundColour(pixels, h, w, c) : null;
  return {
    kind: 'shape',
    subject,
    widthTop: width(m.widths[0]),
    widthMiddle: width(m.widths[1]),
    widthBottom: width(m.widths[2]),
    aspect: band(m.aspect, [0.8, 1.25], ['flat', 'square', 'tall']),
    extent: band(m.extent, [0.35, 0.6], ['small', 'medium', 'large']),
    fill: band(m.fill, [0.45, 0.75], ['hollow', 'partial', 'solid']),
    symmetry: symLR && symTB ? 'both' : symLR ? 'left-right' : symTB ? 'top-bottom' : 'none',
    holes: m.holes === 0 ? 'none' : m.holes === 1 ? 'one' : 'several',
    splitTop: m.splitTop >= 0.5,
    splitBottom: m.splitBottom >= 0.5,
    tone: band(m.tone, [0.35, 0.6], ['dark', 'mid-grey', 'light']),
    detail: band(m.detail, [0.2, 0.32], ['plain', 'textured', 'busy']),
    colour,
  };
}

// ---------- rendering ----------

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const article = (word: string) => (/^[aeiou]/i.test(word) ? 'an' : 'a');

const WIDTH_WORD: Record<Width, string[]> = {
  narrow: ['narrow', 'slim', 'thin'],
  medium: ['of medium width', 'moderately wide', 'middling in width'],
  wide: ['wide', 'broad', 'full-width'],
  absent: ['empty', 'bare', 'empty'],
};
const ASPECT: Record<Aspect, string[]> = {
  tall: ['taller than it is wide', 'upright and elongated', 'tall in outline'],
  square: ['about as tall as it is wide', 'roughly square in outline', 'compact and squarish'],
  flat: ['wider than it is tall', 'low and wide', 'flat and elongated sideways'],
};
const EXTENT: Record<Extent, string[]> = { small: ['small', 'compact', 'modest'], medium: ['medium-sized', 'mid-sized', 'average-sized'], large: ['large', 'big', 'frame-filling'] };
const FILL: Record<Fill, string[]> = {
  hollow: ['Much of its outline is empty space.', 'It is open and airy inside its outline.'],
  partial: ['It fills part of its outline, with some open areas.', 'Its outline is partly filled in.'],
  solid: ['It is a solid, filled-in shape.', 'Its outline is almost completely filled.'],
};
const MIRROR: Record<Mirror, string[]> = {
  'left-right': ['Its left and right halves mirror each other.', 'It is symmetric from side to side.'],
  'top-bottom': ['Its top and bottom look alike.', 'It is roughly symmetric between top and bottom.'],
  both: ['It is symmetric both side to side and top to bottom.', 'It looks the same when flipped either way.'],
  none: ['It is not symmetric.', 'Its two sides differ noticeably.'],
};
const TONE: Record<Tone, string[]> = {
  dark: ['dark', 'deep-toned', 'shadowy'],
  'mid-grey': ['mid-toned', 'greyish', 'medium-toned'],
  light: ['light', 'pale', 'bright'],
};
const DETAIL: Record<Detail, string[]> = {
  plain: ['Its surface is plain and even.', 'It shows little surface detail.'],
  textured: ['Its surface shows some texture or pattern.', 'There is a moderate amount of detail on it.'],
  busy: ['Its surface is busy with edges and pattern.', 'It is covered in fine detail and contrast.'],
};

function profileText(a: ShapeAttributes, rng: Rng): string {
  const [t, m, b] = [a.widthTop, a.widthMiddle, a.widthBottom].map((x) => pick(WIDTH_WORD[x], rng));
  if (a.widthTop === a.widthMiddle && a.widthMiddle === a.widthBottom) {
    return pick([`Its silhouette keeps the same ${t} width from top to bottom.`, `It is ${t} all the way down.`], rng);
  }
  return pick(
    [
      `Its silhouette is ${t} at the top, ${m} in the middle and ${b} at the bottom.`,
      `From top to bottom it goes from ${t} to ${m} to ${b}.`,
      `The top part is ${t}, the middle ${m}, and the bottom ${b}.`,
    ],
    rng,
  );
}

function holesText(a: ShapeAttributes, rng: Rng): string {
  if (a.holes === 'none') return pick(['It has no enclosed openings.', 'No gap is enclosed inside it.'], rng);
  if (a.holes === 'one') return pick(['It encloses a single opening.', 'There is one enclosed gap inside it.'], rng);
  return pick(['It encloses several separate openings.', 'Several enclosed gaps show through it.'], rng);
}

function splitText(a: ShapeAttributes, rng: Rng): string | null {
  if (a.splitTop && a.splitBottom) return pick(['It divides into two separate parts both at the top and at the bottom.', 'Both its top and its bottom split into two parts.'], rng);
  if (a.splitTop) return pick(['Its top divides into two separate parts.', 'At the top it splits in two, with a gap between.'], rng);
  if (a.splitBottom) return pick(['Its bottom divides into two separate parts.', 'At the bottom it splits in two, with a gap between.'], rng);
  return null;
}

export function renderShape(a: ShapeAttributes, rng: Rng, opts: { mentionClass: boolean; className?: string }): string {
  const who = opts.mentionClass && opts.className ? opts.className : a.subject;
  const size = pick(EXTENT[a.extent], rng);
  const tone = pick(TONE[a.tone], rng);
  const colour = a.colour ? ` ${a.colour}` : '';
  const opening = pick(
    [
      `${cap(article(size))} ${size}, ${tone}${colour} ${who}, ${pick(ASPECT[a.aspect], rng)}.`,
      `The image shows ${article(size)} ${size} ${who} in ${tone}${colour} tones; it is ${pick(ASPECT[a.aspect], rng)}.`,
      `This ${who} is ${size} and ${tone}${colour}, ${pick(ASPECT[a.aspect], rng)}.`,
    ],
    rng,
  );
  const core = [profileText(a, rng), holesText(a, rng)];
  const split = splitText(a, rng);
  if (split) core.push(split);
  const extras = shuffled([pick(FILL[a.fill], rng), pick(MIRROR[a.symmetry], rng), pick(DETAIL[a.detail], rng)], rng).slice(0, 2 + Math.floor(rng.next() * 2));
  return [opening, ...shuffled([...core, ...extras], rng)].join(' ');
}

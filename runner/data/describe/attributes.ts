/**
 * The offline `attributes` describer: pixel measurements → discrete attributes → varied natural
 * sentences. Attributes are discrete on purpose: the `attribute-resample` augmentation
 * (runner/data/augment) draws new attribute combinations from their class-conditional
 * distribution and renders them with `renderDescription`, so texts it makes read like these.
 */
import { createRng, fnv1a, pick, shuffled, type Rng } from '../../random.ts';
import { measureColours, type ColourName } from './colour-features.ts';
import { extractShapeAttributes, renderShape, type ShapeAttributes } from './generic.ts';
import { measureStrokes } from './stroke-features.ts';

/** Bump when extraction or wording changes: datasets record it, and a mismatch is warned about. */
export const ATTRIBUTES_DESCRIBER_VERSION = 1;

export type Thickness = 'hairline' | 'thin' | 'medium' | 'thick' | 'heavy';
export type Slant = 'strong-left' | 'left' | 'upright' | 'right' | 'strong-right';
export type Size = 'small' | 'medium' | 'large';
export type Proportion = 'narrow' | 'slim' | 'regular' | 'wide';
export type HPos = 'left' | 'centre' | 'right';
export type VPos = 'high' | 'middle' | 'low';
export type Density = 'sparse' | 'moderate' | 'dense';
export type Balance = 'top-heavy' | 'balanced' | 'bottom-heavy';
export type SideBalance = 'left-heavy' | 'even' | 'right-heavy';
export type Symmetry = 'left-right' | 'top-bottom' | 'both' | 'none';
export type LoopPlace = 'upper' | 'middle' | 'lower';
export type Edges = 'crisp' | 'ordinary' | 'soft';

/** Attributes of a single-channel drawn figure (MNIST digits, Fashion-MNIST items, …). */
export interface StrokeAttributes {
  kind: 'stroke';
  subject: string; // noun for the figure: "digit", "figure"
  thickness: Thickness;
  slant: Slant;
  size: Size;
  proportion: Proportion;
  hpos: HPos;
  vpos: VPos;
  density: Density;
  balance: Balance;
  sideBalance: SideBalance;
  symmetry: Symmetry;
  loops: LoopPlace[]; // one entry per closed loop, top to bottom
  pieces: number; // separate ink pieces (1 = one connected stroke)
  edges: Edges;
}

export type Brightness = 'dark' | 'dim' | 'medium' | 'bright' | 'very bright';
export type Saturation = 'greyish' | 'muted' | 'colourful' | 'vivid';
export type Contrast = 'low' | 'medium' | 'high';
export type Texture = 'smooth' | 'moderate' | 'busy';

/** Attributes of a colour picture (CIFAR-10, image folders). */
export interface ColourAttributes {
  kind: 'colour';
  subject: string; // "picture", "photo"
  colours: ColourName[]; // dominant named colours, most frequent first (1–3)
  brightness: Brightness;
  saturation: Saturation;
  contrast: Contrast;
  texture: Texture;
  top: ColourName;
  bottom: ColourName;
  centre: ColourName;
  border: ColourName;
  subjectStandsOut: boolean; // centre colour clearly differs from the border
  brightest: 'top' | 'bottom' | 'left' | 'right' | 'centre';
}

export type { ShapeAttributes } from './generic.ts';
export type ImageAttributes = StrokeAttributes | ColourAttributes | ShapeAttributes;

/** dataset.descriptions.style: digits (stroke / colour attributes) or generic (silhouette, any dataset). */
export type DescriberStyle = 'digits' | 'generic';

export interface RenderOptions {
  /** Name the class in the text (dataset.descriptions.mention_class). */
  mentionClass: boolean;
  className?: string;
}

const band = <T>(v: number, cuts: number[], names: T[]): T => {
  for (let i = 0; i < cuts.length; i++) if (v < cuts[i]) return names[i];
  return names[names.length - 1];
};

/** Discrete attributes of one image (`pixels`: h*w*c bytes). Cut points were set on MNIST quantiles. */
export function extractAttributes(pixels: Uint8Array, h: number, w: number, c: number, subject?: string, style: DescriberStyle = 'digits'): ImageAttributes {
  if (style === 'generic') return extractShapeAttributes(pixels, h, w, c, subject === 'figure' || subject === undefined ? 'item' : subject);
  if (c === 1) {
    const m = measureStrokes(pixels, h, w);
    const t28 = (m.thickness * 28) / Math.max(h, w);
    const symLR = m.mirrorLR >= 0.55;
    const symTB = m.mirrorTB >= 0.5;
    return {
      kind: 'stroke',
      subject: subject ?? 'figure',
      thickness: band(t28, [1.5, 1.75, 2.15, 2.6], ['hairline', 'thin', 'medium', 'thick', 'heavy']),
      slant: band(m.slant, [-0.2, -0.07, 0.1, 0.3], ['strong-left', 'left', 'upright', 'right', 'strong-right']),
      size: band(m.boxW * m.boxH, [0.3, 0.45], ['small', 'medium', 'large']),
      proportion: band(m.boxH > 0 ? m.boxW / m.boxH : 1, [0.55, 0.75, 0.95], ['narrow', 'slim', 'regular', 'wide']),
      hpos: band(m.boxCx, [-0.03, 0.031], ['left', 'centre', 'right']),
      vpos: band(m.boxCy, [-0.03, 0.05], ['high', 'middle', 'low']),
      density: band(m.coverage, [0.29, 0.42], ['sparse', 'moderate', 'dense']),
      balance: band(m.topShare, [0.42, 0.58], ['bottom-heavy', 'balanced', 'top-heavy']),
      sideBalance: band(m.leftShare, [0.4, 0.56], ['right-heavy', 'even', 'left-heavy']),
      symmetry: symLR && symTB ? 'both' : symLR ? 'left-right' : symTB ? 'top-bottom' : 'none',
      loops: m.holes.map((hole) => band(hole.y, [0.4, 0.6], ['upper', 'middle', 'lower'] as LoopPlace[])),
      pieces: Math.max(1, m.pieces),
      edges: band(m.softness, [0.42, 0.55], ['crisp', 'ordinary', 'soft']),
    };
  }
  const rgb = c === 3 ? pixels : toRgb(pixels, h * w, c);
  const m = measureColours(rgb, h, w);
  const ranked = (Object.entries(m.shares) as [ColourName, number][]).sort((a, b) => b[1] - a[1]);
  const colours = ranked.filter(([, s], i) => i === 0 || s >= 0.1).slice(0, 3).map(([name]) => name);
  return {
    kind: 'colour',
    subject: subject ?? 'picture',
    colours,
    brightness: band(m.brightness, [0.25, 0.4, 0.55, 0.7], ['dark', 'dim', 'medium', 'bright', 'very bright']),
    saturation: band(m.saturation, [0.12, 0.25, 0.45], ['greyish', 'muted', 'colourful', 'vivid']),
    contrast: band(m.contrast, [0.14, 0.24], ['low', 'medium', 'high']),
    texture: band(m.texture, [0.05, 0.1], ['smooth', 'moderate', 'busy']),
    top: m.regions.top,
    bottom: m.regions.bottom,
    centre: m.regions.centre,
    border: m.regions.border,
    subjectStandsOut: m.centreBorderDistance >= 0.15 && m.regions.centre !== m.regions.border,
    brightest: m.brightestRegion,
  };
}

function toRgb(pixels: Uint8Array, n: number, c: number): Uint8Array {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) out[3 * i + k] = pixels[i * c + Math.min(k, c - 1)];
  return out;
}

// ---------- rendering ----------

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const article = (word: string) => (/^[aeiou]/i.test(word) ? 'an' : 'a');
const withArticle = (phrase: string) => `${article(phrase)} ${phrase}`;
const list = (items: string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`);
const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const count = (n: number) => NUMBER_WORDS[n] ?? String(n);

/** What the figure is called: "digit" or, when the class may be named, "digit 7" / "sandal". */
function noun(subject: string, opts: RenderOptions): string {
  if (!opts.mentionClass || !opts.className) return subject;
  if (subject === 'digit') return `${subject} ${opts.className}`;
  if (/^\d+$/.test(opts.className)) return `${subject} of class ${opts.className}`;
  return opts.className;
}

const THICK: Record<Thickness, string[]> = {
  hairline: ['hairline', 'very thin', 'wispy'],
  thin: ['thin', 'light', 'slender'],
  medium: ['medium-width', 'even', 'moderate'],
  thick: ['thick', 'bold', 'heavy'],
  heavy: ['very thick', 'heavy, broad', 'chunky'],
};
const SLANT: Record<Slant, string[]> = {
  'strong-left': ['leans strongly to the left', 'is sharply slanted toward the left', 'tilts far over to the left'],
  left: ['leans slightly to the left', 'tilts a little leftward', 'has a gentle backward slant'],
  upright: ['stands upright', 'is drawn straight up', 'has almost no slant'],
  right: ['leans slightly to the right', 'tilts a little rightward', 'has a gentle forward slant'],
  'strong-right': ['leans strongly to the right', 'is sharply slanted toward the right', 'tilts far over to the right'],
};
const SIZE: Record<Size, string[]> = { small: ['small', 'compact', 'modest-sized'], medium: ['medium-sized', 'average-sized', 'mid-sized'], large: ['large', 'big', 'sizeable'] };
const PROPORTION: Record<Proportion, string[]> = {
  narrow: ['It is tall and very narrow.', 'Its shape is thin and narrow, much taller than wide.'],
  slim: ['It is somewhat slim, taller than it is wide.', 'Its proportions are slender.'],
  regular: ['Its width and height are fairly balanced.', 'It has ordinary, roughly square-ish proportions.'],
  wide: ['It is broad, about as wide as it is tall or wider.', 'Its shape is wide and squat.'],
};
const DENSITY: Record<Density, string[]> = {
  sparse: ['The ink is sparse, leaving much of its outline empty.', 'It looks airy, with lots of open space inside its outline.'],
  moderate: ['The ink fills a moderate part of its outline.', 'Its ink coverage is moderate.'],
  dense: ['The ink is dense and fills most of its outline.', 'It looks compact and ink-heavy.'],
};
const BALANCE: Record<Balance, string[]> = {
  'top-heavy': ['Most of the ink sits in the upper half.', 'It is top-heavy.'],
  balanced: ['The ink is spread evenly between top and bottom.', 'Its weight is balanced vertically.'],
  'bottom-heavy': ['Most of the ink sits in the lower half.', 'It is bottom-heavy.'],
};
const SIDE: Record<SideBalance, string[]> = {
  'left-heavy': ['More ink lies on its left side.', 'It is heavier on the left.'],
  even: ['Left and right sides carry similar amounts of ink.', 'It is evenly weighted from side to side.'],
  'right-heavy': ['More ink lies on its right side.', 'It is heavier on the right.'],
};
const SYMMETRY: Record<Symmetry, string[]> = {
  'left-right': ['It is roughly mirror-symmetric from left to right.', 'Its left and right halves nearly mirror each other.'],
  'top-bottom': ['Its top and bottom halves look alike.', 'It is roughly symmetric between top and bottom.'],
  both: ['It is symmetric both left to right and top to bottom.', 'It looks balanced under both horizontal and vertical flips.'],
  none: ['It is clearly asymmetric.', 'Neither half mirrors the other.'],
};
const EDGES: Record<Edges, string[]> = {
  crisp: ['The edges are crisp and sharp.', 'Its outline is crisp.'],
  ordinary: ['The edges are slightly soft.', 'Its outline is lightly smoothed.'],
  soft: ['The edges are soft and blurry.', 'Its outline fades gently into the background.'],
};

function positionText(h: HPos, v: VPos, rng: Rng): string {
  if (h === 'centre' && v === 'middle') return pick(['It sits in the centre of the frame.', 'It is centred in the image.'], rng);
  const where = [v === 'high' ? 'upper' : v === 'low' ? 'lower' : '', h === 'centre' ? (v === 'middle' ? 'centre' : 'part') : h].filter(Boolean).join(' ');
  return pick([`It sits toward the ${where} of the frame.`, `It is placed a little toward the ${where}.`], rng);
}

function loopsText(loops: LoopPlace[], rng: Rng): string {
  if (loops.length === 0) return pick(['It has no closed loops.', 'It is made of open strokes that enclose no space.', 'No part of it forms a closed loop.'], rng);
  if (loops.length === 1) {
    const where = { upper: 'in its upper part', middle: 'in its middle', lower: 'in its lower part' }[loops[0]];
    return pick([`It has one closed loop ${where}.`, `A single closed loop appears ${where}.`, `It encloses one loop ${where}.`], rng);
  }
  const places = [...new Set(loops)];
  const detail = places.length > 1 ? `, ${list(places.map((p) => ({ upper: 'one near the top', middle: 'one in the middle', lower: 'one near the bottom' })[p]))}` : '';
  return pick([`It has ${count(loops.length)} closed loops${detail}.`, `It encloses ${count(loops.length)} separate loops${detail}.`], rng);
}

function renderStroke(a: StrokeAttributes, rng: Rng, opts: RenderOptions): string {
  const thick = pick(THICK[a.thickness], rng);
  const size = pick(SIZE[a.size], rng);
  const slant = pick(SLANT[a.slant], rng);
  const who = noun(a.subject, opts);
  const handwritten = a.subject === 'digit' ? 'handwritten ' : '';
  const opening = pick(
    [
      `${cap(withArticle(`${size} ${handwritten}${who}`))} drawn with ${thick} strokes; it ${slant}.`,
      `This ${handwritten}${who} is ${size}, written in ${thick} strokes, and ${slant}.`,
      `${cap(withArticle(`${thick}-stroked ${who}`))} that is ${size} and ${slant}.`,
      `The image shows ${withArticle(`${size} ${handwritten}${who}`)} in ${thick} strokes; it ${slant}.`,
    ],
    rng,
  );
  const core = [loopsText(a.loops, rng), pick(PROPORTION[a.proportion], rng)];
  if (a.pieces > 1) core.push(pick([`It is drawn in ${count(a.pieces)} separate pieces with a gap between them.`, `Its stroke is broken into ${count(a.pieces)} pieces.`], rng));
  const extras = shuffled(
    [
      pick(DENSITY[a.density], rng),
      pick(BALANCE[a.balance], rng),
      pick(SIDE[a.sideBalance], rng),
      pick(SYMMETRY[a.symmetry], rng),
      positionText(a.hpos, a.vpos, rng),
      pick(EDGES[a.edges], rng),
    ],
    rng,
  ).slice(0, 2 + Math.floor(rng.next() * 2));
  return [opening, ...shuffled([...core, ...extras], rng)].join(' ');
}

const BRIGHT: Record<Brightness, string[]> = {
  dark: ['dark', 'shadowy', 'dimly lit'],
  dim: ['rather dim', 'muted, low-light', 'somewhat dark'],
  medium: ['moderately lit', 'evenly lit', 'medium-bright'],
  bright: ['bright', 'well-lit', 'light'],
  'very bright': ['very bright', 'washed-out bright', 'brilliantly lit'],
};
const SAT: Record<Saturation, string[]> = {
  greyish: ['almost colourless, greyish tones', 'washed-out, nearly grey colours'],
  muted: ['muted, soft colours', 'subdued colours'],
  colourful: ['fairly colourful tones', 'clear, lively colours'],
  vivid: ['vivid, saturated colours', 'strong, saturated colours'],
};
const CONTRAST: Record<Contrast, string[]> = { low: ['low contrast', 'little contrast'], medium: ['moderate contrast', 'medium contrast'], high: ['high contrast', 'strong contrast'] };
const TEXTURE: Record<Texture, string[]> = {
  smooth: ['Surfaces look smooth, with few fine details.', 'The texture is smooth and plain.'],
  moderate: ['There is a moderate amount of fine detail.', 'The texture is moderately detailed.'],
  busy: ['The scene is busy, full of fine detail and edges.', 'The texture is rich and cluttered.'],
};

function renderColour(a: ColourAttributes, rng: Rng, opts: RenderOptions): string {
  const who = opts.mentionClass && opts.className ? `${a.subject} of ${withArticle(opts.className)}` : a.subject;
  const colours = list(a.colours);
  const opening = pick(
    [
      `${cap(withArticle(`${pick(BRIGHT[a.brightness], rng)} ${who}`))} dominated by ${colours}.`,
      `This ${who} is ${pick(BRIGHT[a.brightness], rng)}, mostly ${colours}.`,
      `${cap(withArticle(who))} in ${colours} tones, ${pick(BRIGHT[a.brightness], rng)} overall.`,
    ],
    rng,
  );
  const layout =
    a.top === a.bottom
      ? pick([`Both the top and the bottom are mainly ${a.top}.`, `The upper and lower parts share the same ${a.top} tone.`], rng)
      : pick([`The top is mostly ${a.top} while the bottom is ${a.bottom}.`, `${cap(a.top)} fills the upper part and ${a.bottom} the lower part.`], rng);
  const centre = a.subjectStandsOut
    ? pick([`A ${a.centre} shape in the centre stands out against a ${a.border} background.`, `The centre is ${a.centre}, set against ${a.border} surroundings.`], rng)
    : pick([`The centre blends into the ${a.border} surroundings.`, `The middle and the edges have similar ${a.border} tones.`], rng);
  const extras = shuffled(
    [
      `It has ${pick(SAT[a.saturation], rng)} and ${pick(CONTRAST[a.contrast], rng)}.`,
      pick(TEXTURE[a.texture], rng),
      pick([`The brightest area is the ${a.brightest === 'centre' ? 'centre' : `${a.brightest} side`}.`, `Light is strongest toward the ${a.brightest}.`], rng),
    ],
    rng,
  ).slice(0, 2 + Math.floor(rng.next() * 2));
  return [opening, ...shuffled([layout, centre, ...extras], rng)].join(' ');
}

/** Natural sentences for given attributes; the wording varies with `rng`. */
export function renderDescription(attrs: ImageAttributes, rng: Rng, opts: RenderOptions): string {
  if (attrs.kind === 'shape') return renderShape(attrs, rng, opts);
  return attrs.kind === 'stroke' ? renderStroke(attrs, rng, opts) : renderColour(attrs, rng, opts);
}

/**
 * Describes one image: deterministic, the wording seeded by the image's content so the same
 * pixels always get the same text wherever they appear.
 */
export function describeImage(pixels: Uint8Array, shape: [number, number, number], opts: RenderOptions & { subject?: string; style?: DescriberStyle }): { text: string; attributes: ImageAttributes } {
  const attributes = extractAttributes(pixels, shape[0], shape[1], shape[2], opts.subject, opts.style);
  const rng = createRng(fnv1a(pixels, opts.mentionClass ? 1 : 0));
  return { text: renderDescription(attributes, rng, opts), attributes };
}

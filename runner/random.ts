// The one seeded pseudo-random generator of mmrun (mulberry32: 32-bit state, fast, good enough for
// shuffles, initialisation, phrasing choices and bootstrap resampling), so that every seeded result
// is reproducible: datasets and texts (runner/data), initialisation and shuffles (runner/model,
// runner/train, whose state goes into checkpoints), bootstrap intervals (runner/report). Pure.

const STEP = 0x6d2b79f5;

/**
 * The largest seed: the generator keeps a 32-bit unsigned state (`seed >>> 0`), so seeds outside
 * 0 … 2³²−1 would silently alias others; runner/config refuses them.
 */
export const SEED_MAX = 2 ** 32 - 1;

/** The state after `state`. */
export function nextState(state: number): number {
  return (state + STEP) >>> 0;
}

/** The value in [0, 1) that a state gives. */
export function valueOf(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

export class Rng {
  private state: number;

  /** A seed, or a state saved with getState() (a checkpoint) to resume the same stream. */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Derives an independent stream from a seed and labels, e.g. (seed, 'shuffle', epoch). */
  static derive(seed: number, ...labels: (string | number)[]): Rng {
    let h = (seed ^ 0x9e3779b9) >>> 0;
    for (const label of labels) {
      const s = String(label);
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x85ebca6b) >>> 0;
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
      h = (h ^ (h >>> 16)) >>> 0;
    }
    return new Rng(h);
  }

  getState(): number {
    return this.state;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = nextState(this.state);
    return valueOf(this.state);
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** 32-bit unsigned integer, e.g. to seed a tfjs random op. */
  uint32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    let u = this.next();
    while (u <= 1e-12) u = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** A random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

export function createRng(seed: number): Rng {
  return new Rng(seed);
}

/** The generator as a plain function of values in [0, 1) (for code that takes `() => number`). */
export function mulberry32(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** FNV-1a over bytes, then mixed with `salt`: a seed derived from content. */
export function fnv1a(bytes: Uint8Array, salt = 0): number {
  let h = (0x811c9dc5 ^ salt) >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A seed from labels, e.g. seedFrom('split', 'val', seed, classIndex). */
export function seedFrom(...parts: (string | number)[]): number {
  return fnv1a(new TextEncoder().encode(parts.join('\u0001')));
}

export function shuffleInPlace<T>(items: T[] | Int32Array, rng: Rng): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
}

/** A shuffled copy (the same draws as shuffleInPlace). */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  shuffleInPlace(out, rng);
  return out;
}

export function pick<T>(items: readonly T[], rng: Rng): T {
  return items[Math.floor(rng.next() * items.length)];
}

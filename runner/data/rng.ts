/** Small deterministic random numbers: the same seed always gives the same data and texts. */
import { mulberry32 } from '../random.ts';

export type Rng = () => number; // uniform in [0, 1)

/** mulberry32 (runner/random.ts): fast, 32-bit state, good enough for shuffles and phrasing choices. */
export function createRng(seed: number): Rng {
  return mulberry32(seed);
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

export function seedFrom(...parts: (string | number)[]): number {
  return fnv1a(new TextEncoder().encode(parts.join('\u0001')));
}

export function shuffleInPlace<T>(items: T[] | Int32Array, rng: Rng): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = items[i];
    items[i] = items[j];
    items[j] = t;
  }
}

export function pick<T>(items: readonly T[], rng: Rng): T {
  return items[Math.floor(rng() * items.length)];
}

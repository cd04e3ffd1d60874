// The one pseudo-random generator of mmrun (mulberry32: 32-bit state, fast, good enough for
// shuffles, initialisation, phrasing choices and bootstrap resampling), so that every seeded
// result is reproducible. Pure. runner/data/rng.ts and runner/model/rng.ts wrap it.

const STEP = 0x6d2b79f5;

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

/** A generator of values in [0, 1) from a seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = nextState(state);
    return valueOf(state);
  };
}

/**
 * Statistics for comparing runs over seeds. Pure: no I/O, no global randomness.
 *
 * Intervals are undefined (not a fake interval) when they cannot be estimated, e.g. n < 2.
 */

import { mulberry32 } from '../random.ts';

export type Interval = [lo: number, hi: number];

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n - 1 in the denominator); NaN when n < 2. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  let ss = 0;
  for (const x of xs) ss += (x - m) * (x - m);
  return Math.sqrt(ss / (xs.length - 1));
}

// ---------------------------------------------------------------------------------------------
// Special functions

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos approximation, ~15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz), valid for x < (a+1)/(a+b+2). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  const EPS = 1e-15;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    // even step
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + num / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    // odd step
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + num / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return h;
}

/** Regularised incomplete beta function I_x(a, b), for 0 ≤ x ≤ 1 and a, b > 0. */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new RangeError(`incomplete beta: a and b must be > 0 (got ${a}, ${b})`);
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  // The continued fraction converges fast only on one side of the mean; use the symmetry
  // I_x(a, b) = 1 - I_{1-x}(b, a) on the other.
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(logFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(logFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

// ---------------------------------------------------------------------------------------------
// Student's t distribution

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`Student t: degrees of freedom must be > 0 (got ${df})`);
  if (Number.isNaN(t)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5); // P(T > |t|)
  return t > 0 ? 1 - tail : tail;
}

/** Two-sided p-value P(|T| ≥ |t|). */
export function studentTTwoSidedP(t: number, df: number): number {
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  return regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The p-quantile of Student's t (inverse CDF), by bisection on the CDF: exact to ~1e-12. */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`Student t quantile: p must be in (0, 1) (got ${p})`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) {
    lo = hi;
    hi *= 2;
    if (hi > 1e12) return Infinity;
  }
  for (let i = 0; i < 200 && hi - lo > 1e-13 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// ---------------------------------------------------------------------------------------------
// Summaries, intervals and tests

export interface Summary {
  n: number;
  mean: number;
  std: number; // NaN when n < 2
  /** Student-t confidence interval of the mean; undefined when n < 2. */
  ci?: Interval;
}

/** Mean, sample std and Student-t confidence interval of the mean (level 0.95 by default). */
export function summarize(xs: readonly number[], level = 0.95): Summary {
  const n = xs.length;
  const m = mean(xs);
  const sd = sampleStd(xs);
  if (n < 2) return { n, mean: m, std: sd };
  const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean: m, std: sd, ci: [m - half, m + half] };
}

export interface PairedTest {
  n: number; // pairs
  meanDiff: number; // mean of (a - b)
  stdDiff: number;
  t: number;
  df: number;
  p: number; // two-sided
  ci?: Interval; // Student-t CI of the mean difference
}

/**
 * Paired t-test of a against b (a[i] paired with b[i]); undefined when fewer than 2 pairs.
 * Identical non-zero differences give t = ±∞ and p = 0; all-zero differences give p = 1.
 */
export function pairedTTest(a: readonly number[], b: readonly number[], level = 0.95): PairedTest | undefined {
  if (a.length !== b.length) throw new RangeError(`paired t-test: ${a.length} values against ${b.length}`);
  const d = a.map((x, i) => x - b[i]);
  const n = d.length;
  if (n < 2) return undefined;
  const s = summarize(d, level);
  const df = n - 1;
  const se = s.std / Math.sqrt(n);
  let t: number;
  if (se === 0) t = s.mean === 0 ? 0 : s.mean > 0 ? Infinity : -Infinity;
  else t = s.mean / se;
  const p = se === 0 && s.mean === 0 ? 1 : studentTTwoSidedP(t, df);
  return { n, meanDiff: s.mean, stdDiff: s.std, t, df, p, ci: s.ci };
}

/** A seeded generator of floats in [0, 1) (mulberry32, runner/random.ts). */
export function seededRandom(seed: number): () => number {
  return mulberry32(seed);
}

/** Linear-interpolation quantile of sorted values (the "type 7" definition of R and NumPy). */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface BootstrapOptions {
  resamples?: number; // default 10 000
  seed?: number; // default 0
  level?: number; // default 0.95
}

/** Percentile bootstrap confidence interval of the mean; undefined when n < 2. */
export function bootstrapMeanCI(xs: readonly number[], opts: BootstrapOptions = {}): Interval | undefined {
  const n = xs.length;
  if (n < 2) return undefined;
  const resamples = opts.resamples ?? 10_000;
  const level = opts.level ?? 0.95;
  const random = seededRandom(opts.seed ?? 0);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[Math.floor(random() * n)];
    means[r] = s / n;
  }
  means.sort();
  const sorted = Array.from(means);
  return [quantileSorted(sorted, (1 - level) / 2), quantileSorted(sorted, 1 - (1 - level) / 2)];
}

/** Bootstrap CI of the mean paired difference a[i] - b[i]. */
export function bootstrapPairedDiffCI(a: readonly number[], b: readonly number[], opts: BootstrapOptions = {}): Interval | undefined {
  if (a.length !== b.length) throw new RangeError(`paired bootstrap: ${a.length} values against ${b.length}`);
  return bootstrapMeanCI(
    a.map((x, i) => x - b[i]),
    opts,
  );
}

/**
 * Holm–Bonferroni adjusted p-values (same order as given): controls the family-wise error
 * when many arms are each tested against their control.
 */
export function holmAdjust(ps: readonly number[]): number[] {
  const m = ps.length;
  const order = ps.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

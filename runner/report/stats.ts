/**
 * Statistics for comparing runs over seeds. Pure: no I/O, no global randomness.
 *
 * Intervals and p values are undefined (never a fake value) when they cannot be estimated: fewer
 * than two values, zero variance, too few values for a bootstrap. Every function is tested
 * against closed forms or published values (tests/unit/stats-*.test.ts).
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

/**
 * Spread below this share of the values' magnitude is floating-point rounding, not variation:
 * 0.9735 − 0.9730 and 0.9617 − 0.9612 differ by ~1e-16 although both are 5 of 10,000 items.
 * A real difference between accuracies is at least 1/N, many orders of magnitude above it.
 */
export const ROUNDING_TOLERANCE = 1e-9;

/** True when a standard deviation is real variation, not zero or rounding noise of values of size `scale`. */
export function hasSpread(std: number, scale: number): boolean {
  return std > ROUNDING_TOLERANCE * scale;
}

function maxAbs(...lists: (readonly number[])[]): number {
  let m = 0;
  for (const xs of lists) for (const x of xs) if (Math.abs(x) > m) m = Math.abs(x);
  return m;
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
  /** Student-t confidence interval of the mean; undefined when n < 2 or every value is the same. */
  ci?: Interval;
}

/** Mean, sample std and Student-t confidence interval of the mean (level 0.95 by default). */
export function summarize(xs: readonly number[], level = 0.95): Summary {
  const n = xs.length;
  const m = mean(xs);
  const sd = sampleStd(xs);
  // Zero spread says nothing about the spread of the mean: no interval rather than [m, m].
  if (n < 2 || !hasSpread(sd, maxAbs(xs))) return { n, mean: m, std: sd };
  const half = studentTQuantile(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean: m, std: sd, ci: [m - half, m + half] };
}


// ---------------------------------------------------------------------------------------------
// Normal and chi-square distributions

/** Regularised lower incomplete gamma P(a, x) (series below a + 1, continued fraction above). */
export function regularizedGammaP(a: number, x: number): number {
  if (!(a > 0)) throw new RangeError(`incomplete gamma: a must be > 0 (got ${a})`);
  if (x <= 0) return 0;
  if (x === Infinity) return 1;
  const logFront = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let k = 1; k < 10_000; k++) {
      term *= x / (a + k);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return Math.exp(logFront) * sum;
  }
  return 1 - regularizedGammaQ(a, x);
}

/** Regularised upper incomplete gamma Q(a, x) = 1 - P(a, x), accurate in the far tail. */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0)) throw new RangeError(`incomplete gamma: a must be > 0 (got ${a})`);
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  if (x < a + 1) return 1 - regularizedGammaP(a, x);
  // Continued fraction (modified Lentz).
  const TINY = 1e-300;
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(a * Math.log(x) - x - logGamma(a)) * h;
}

/** Standard normal CDF Φ(z), through erfc = Q(1/2, z²/2) so both tails keep their precision. */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  const tail = 0.5 * regularizedGammaQ(0.5, (z * z) / 2); // P(Z > |z|)
  return z >= 0 ? 1 - tail : tail;
}

/** Standard normal quantile Φ⁻¹(p), by bisection on Φ (exact to ~1e-13). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normal quantile: p must be in (0, 1) (got ${p})`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -normalQuantile(1 - p);
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 200 && hi - lo > 1e-14; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** P(X ≥ x) for a chi-square variable with `df` degrees of freedom. */
export function chiSquareSf(x: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`chi-square: degrees of freedom must be > 0 (got ${df})`);
  return regularizedGammaQ(df / 2, Math.max(0, x) / 2);
}

// ---------------------------------------------------------------------------------------------
// Seed-level tests

export interface PairedTest {
  n: number; // pairs
  meanDiff: number; // mean of (a - b)
  stdDiff: number;
  t: number;
  df: number;
  /** Two-sided p; undefined when the differences have zero variance (the t statistic is 0/0 or ±∞). */
  p?: number;
  ci?: Interval; // Student-t CI of the mean difference; undefined with zero variance
}

/**
 * Paired t-test of a against b (a[i] paired with b[i]); undefined when fewer than 2 pairs.
 * When every difference is the same the test is undefined (t = ±∞ or 0/0): `p` and `ci` are left
 * out rather than reported as p = 0 — two seeds that both moved by exactly +0.05 points are
 * not certainty, they are too few to tell.
 */
export function pairedTTest(a: readonly number[], b: readonly number[], level = 0.95): PairedTest | undefined {
  if (a.length !== b.length) throw new RangeError(`paired t-test: ${a.length} values against ${b.length}`);
  const d = a.map((x, i) => x - b[i]);
  const n = d.length;
  if (n < 2) return undefined;
  const s = summarize(d, level);
  const df = n - 1;
  const se = s.std / Math.sqrt(n);
  if (!hasSpread(s.std, maxAbs(a, b))) return { n, meanDiff: s.mean, stdDiff: s.std, t: s.mean === 0 ? NaN : s.mean > 0 ? Infinity : -Infinity, df };
  const t = s.mean / se;
  return { n, meanDiff: s.mean, stdDiff: s.std, t, df, p: studentTTwoSidedP(t, df), ci: s.ci };
}

/** A seeded generator of floats in [0, 1) (mulberry32, runner/random.ts). */
export function seededRandom(seed: number): () => number {
  return mulberry32(seed);
}

/** Linear-interpolation quantile of sorted values (the "type 7" definition of R and NumPy). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
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

/**
 * Fewest values for a bootstrap interval. Below it a bootstrap under-covers badly (the
 * percentile interval at n = 5 covers about 83% for a nominal 95%): the t interval is used alone.
 */
export const MIN_BOOTSTRAP_N = 10;

/**
 * Jackknife acceleration of the mean, a = Σd³ / (6 (Σd²)^{3/2}) with d = θ̄₍.₎ − θ₍ᵢ₎ (Efron 1987).
 * For the mean θ₍ᵢ₎ = (S − xᵢ)/(n − 1), so d ∝ (xᵢ − x̄): the skewness of the sample.
 */
export function meanAcceleration(xs: readonly number[]): number {
  const n = xs.length;
  const total = xs.reduce((s, x) => s + x, 0);
  const jack = xs.map((x) => (total - x) / (n - 1));
  const jm = mean(jack);
  let s2 = 0;
  let s3 = 0;
  for (const t of jack) {
    const d = jm - t;
    s2 += d * d;
    s3 += d * d * d;
  }
  return s2 === 0 ? 0 : s3 / (6 * Math.pow(s2, 1.5));
}

/**
 * Bias-corrected and accelerated (BCa) bootstrap interval of the mean (Efron 1987; the same
 * definition as scipy.stats.bootstrap(method='BCa')). Undefined below MIN_BOOTSTRAP_N values or
 * when the values do not vary. Seeded: the same input gives the same interval.
 */
export function bcaMeanCI(xs: readonly number[], opts: BootstrapOptions = {}): Interval | undefined {
  const n = xs.length;
  if (n < MIN_BOOTSTRAP_N || !hasSpread(sampleStd(xs), maxAbs(xs))) return undefined;
  const resamples = opts.resamples ?? 10_000;
  const level = opts.level ?? 0.95;
  const random = seededRandom(opts.seed ?? 0);
  const theta = mean(xs);
  // A resampled mean equal to the estimate (frequent with tied values) counts half below, half
  // above, as scipy does; "equal" allows for the rounding of a different summation order.
  const tie = ROUNDING_TOLERANCE * maxAbs(xs);
  const means = new Float64Array(resamples);
  let below = 0;
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += xs[Math.floor(random() * n)];
    means[r] = s / n;
    if (Math.abs(means[r] - theta) <= tie) below += 0.5;
    else if (means[r] < theta) below++;
  }
  means.sort();
  if (below === 0 || below === resamples) return undefined;
  const z0 = normalQuantile(below / resamples);
  const a = meanAcceleration(xs);
  const adjusted = (alpha: number) => {
    const z = normalQuantile(alpha);
    return normalCdf(z0 + (z0 + z) / (1 - a * (z0 + z)));
  };
  const tail = (1 - level) / 2;
  return [quantileSorted(means, adjusted(tail)), quantileSorted(means, adjusted(1 - tail))];
}

/** BCa interval of the mean paired difference a[i] - b[i]. */
export function bcaPairedDiffCI(a: readonly number[], b: readonly number[], opts: BootstrapOptions = {}): Interval | undefined {
  if (a.length !== b.length) throw new RangeError(`paired bootstrap: ${a.length} values against ${b.length}`);
  return bcaMeanCI(
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

// ---------------------------------------------------------------------------------------------
// Item-level tests (the same test items scored by two models)

/** ln of Σ exp(xs), without overflow. */
function logSumExp(xs: number[]): number {
  let m = -Infinity; // not Math.max(...xs): that overflows the stack past ~10⁵ terms
  for (const x of xs) if (x > m) m = x;
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2), summed in log space (exact to rounding for any n). */
export function binomialHalfCdf(k: number, n: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  const terms: number[] = [];
  let logTerm = -n * Math.LN2; // C(n, 0) / 2^n
  for (let i = 0; i <= k; i++) {
    terms.push(logTerm);
    logTerm += Math.log((n - i) / (i + 1));
  }
  return Math.min(1, Math.exp(logSumExp(terms)));
}

/**
 * Exact (binomial) McNemar test on the discordant pairs of two models scored on the same items:
 * `b` items only the first gets right, `c` only the second. Two-sided p = min(1, 2 P(X ≤ min(b, c)))
 * with X ~ Binomial(b + c, 1/2); p = 1 when there is no discordant item.
 */
export function mcnemarExact(b: number, c: number): number {
  if (!(Number.isInteger(b) && Number.isInteger(c) && b >= 0 && c >= 0)) throw new RangeError(`McNemar: counts must be non-negative integers (got ${b}, ${c})`);
  const n = b + c;
  if (n === 0) return 1;
  return Math.min(1, 2 * binomialHalfCdf(Math.min(b, c), n));
}

/** Above this total of |net| the sign-flip test uses its χ² form (the exact sum would be slow, and is then normal). */
export const ITEM_TEST_EXACT_MAX = 4000;

/**
 * Two-sided test that per-item net differences are symmetric about 0, items as the unit: `net[i]`
 * = Σ over seed pairs of (treated right − control right) on test item i. The same test items are
 * scored in every seed pair, so an item's results across seeds are not independent; this test
 * keeps each item as one observation (the clustered McNemar test of Durkalski et al. 2003).
 * Exact sign-flip distribution conditional on |net| up to ITEM_TEST_EXACT_MAX (with one seed pair
 * it is exactly mcnemarExact), else its χ² form (Σ net)² / Σ net², 1 df. p = 1 without a non-zero net.
 */
export function itemNetTest(net: ArrayLike<number>): number {
  const counts = new Map<number, number>(); // |net| → items
  let total = 0;
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < net.length; i++) {
    const v = Math.abs(net[i]);
    if (v === 0) continue;
    counts.set(v, (counts.get(v) ?? 0) + 1);
    total += v;
    sum += net[i];
    squares += v * v;
  }
  if (total === 0) return 1;
  if (counts.size === 1 && counts.has(1)) return mcnemarExact((total + sum) / 2, (total - sum) / 2);
  if (total > ITEM_TEST_EXACT_MAX) return chiSquareSf((sum * sum) / squares, 1);
  // S = Σ |net_i| over the items with a positive sign, each sign ½: T = 2S − total, symmetric about 0.
  let pmf = new Float64Array(1);
  pmf[0] = 1;
  for (const [v, k] of counts) {
    const next = new Float64Array(pmf.length + v * k);
    for (let j = 0; j <= k; j++) {
      const w = Math.exp(logGamma(k + 1) - logGamma(j + 1) - logGamma(k - j + 1) - k * Math.LN2);
      if (w === 0) continue;
      for (let s = 0; s < pmf.length; s++) next[s + v * j] += pmf[s] * w;
    }
    pmf = next;
  }
  const limit = (total - Math.abs(sum)) / 2; // P(S ≤ limit) is one tail
  let tail = 0;
  for (let s = 0; s <= limit + 1e-9; s++) tail += pmf[s];
  return Math.min(1, 2 * tail);
}

/** A 2×2 table [[a, b], [c, d]] given as [a, b, c, d]. */
export type Table2x2 = readonly [a: number, b: number, c: number, d: number];

export interface CmhTest {
  statistic: number; // chi-square, 1 df
  p: number;
  /** Mantel–Haenszel common odds ratio Σ(ad/N) / Σ(bc/N); NaN when undefined. */
  oddsRatio: number;
}

/**
 * Cochran–Mantel–Haenszel test of conditional independence over K 2×2 tables, with the
 * continuity correction R's mantelhaen.test uses (|ΣA − ΣE| − min(1/2, |ΣA − ΣE|))² / ΣVar.
 * Strata with fewer than 2 observations carry no information and are skipped. Undefined when
 * no stratum has variance.
 */
export function cmhTest(tables: readonly Table2x2[], correct = true): CmhTest | undefined {
  let sumA = 0;
  let sumE = 0;
  let sumVar = 0;
  let num = 0;
  let den = 0;
  for (const [a, b, c, d] of tables) {
    const N = a + b + c + d;
    if (N < 2) continue;
    const row1 = a + b;
    const row2 = c + d;
    const col1 = a + c;
    const col2 = b + d;
    sumA += a;
    sumE += (row1 * col1) / N;
    sumVar += (row1 * row2 * col1 * col2) / (N * N * (N - 1));
    num += (a * d) / N;
    den += (b * c) / N;
  }
  if (!(sumVar > 0)) return undefined;
  const delta = Math.abs(sumA - sumE);
  const yates = correct ? Math.min(0.5, delta) : 0;
  const statistic = (delta - yates) ** 2 / sumVar;
  return { statistic, p: chiSquareSf(statistic, 1), oddsRatio: den > 0 ? num / den : NaN };
}

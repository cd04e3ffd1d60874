import { describe, expect, it } from 'vitest';
import {
  holmAdjust,
  logGamma,
  mean,
  pairedTTest,
  quantileSorted,
  regularizedIncompleteBeta,
  sampleStd,
  seededRandom,
  studentTCdf,
  studentTQuantile,
  studentTTwoSidedP,
  summarize,
} from '../../runner/report/stats.ts';

describe('mean and sample standard deviation', () => {
  it('match hand-computed values', () => {
    expect(mean([1, 2, 3, 4, 5])).toBe(3);
    // deviations -2..2: squares sum to 10, /(5-1) = 2.5
    expect(sampleStd([1, 2, 3, 4, 5])).toBeCloseTo(Math.sqrt(2.5), 14);
    // 0.8, 0.9: mean 0.85, squares 0.0025*2 / 1
    expect(sampleStd([0.8, 0.9])).toBeCloseTo(Math.sqrt(0.005), 14);
  });

  it('give NaN instead of a fake value when undefined', () => {
    expect(mean([])).toBeNaN();
    expect(sampleStd([0.7])).toBeNaN();
  });
});

describe('special functions', () => {
  it('logGamma matches factorials and Γ(1/2) = √π', () => {
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 12);
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
    expect(logGamma(0.1)).toBeCloseTo(2.252712651734206, 12); // ln Γ(0.1), Γ(0.1) = 9.51350769866873
  });

  it('regularised incomplete beta matches its closed forms', () => {
    // I_x(a, 1) = x^a and I_x(1, b) = 1 - (1 - x)^b
    for (const x of [0.01, 0.3, 0.5, 0.77, 0.99]) {
      expect(regularizedIncompleteBeta(x, 2.5, 1)).toBeCloseTo(x ** 2.5, 13);
      expect(regularizedIncompleteBeta(x, 1, 3.5)).toBeCloseTo(1 - (1 - x) ** 3.5, 13);
      // symmetry I_x(a, b) = 1 - I_{1-x}(b, a)
      expect(regularizedIncompleteBeta(x, 4, 7) + regularizedIncompleteBeta(1 - x, 7, 4)).toBeCloseTo(1, 13);
    }
    // I_x(2, 2) = 3x² - 2x³
    expect(regularizedIncompleteBeta(0.3, 2, 2)).toBeCloseTo(3 * 0.09 - 2 * 0.027, 13);
    expect(regularizedIncompleteBeta(0, 2, 3)).toBe(0);
    expect(regularizedIncompleteBeta(1, 2, 3)).toBe(1);
  });
});

describe("Student's t distribution", () => {
  it('CDF matches the closed forms for 1, 2 and 3 degrees of freedom', () => {
    for (const t of [-6, -1.7, -0.3, 0, 0.4, 1.2, 2.5, 9]) {
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 13); // Cauchy
      expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(2 + t * t)), 13);
      const u = t / Math.sqrt(3);
      expect(studentTCdf(t, 3)).toBeCloseTo(0.5 + (u / (1 + u * u) + Math.atan(u)) / Math.PI, 13);
    }
  });

  it('quantiles match the printed t table (two-sided 95% and 99%)', () => {
    const table: [number, number, number][] = [
      // df, t_0.975, t_0.995
      [1, 12.706, 63.657],
      [2, 4.303, 9.925],
      [3, 3.182, 5.841],
      [4, 2.776, 4.604],
      [9, 2.262, 3.25],
      [29, 2.045, 2.756],
      [120, 1.98, 2.617],
    ];
    for (const [df, t975, t995] of table) {
      expect(studentTQuantile(0.975, df)).toBeCloseTo(t975, 2);
      expect(studentTQuantile(0.995, df)).toBeCloseTo(t995, 2);
    }
    expect(studentTQuantile(0.975, 4)).toBeCloseTo(2.7764451051977987, 9);
    expect(studentTQuantile(0.025, 4)).toBeCloseTo(-2.7764451051977987, 9);
    expect(studentTQuantile(0.5, 7)).toBe(0);
    // large df tends to the normal quantile 1.959964
    expect(studentTQuantile(0.975, 1e6)).toBeCloseTo(1.959966, 5);
  });

  it('two-sided p-values invert the table', () => {
    expect(studentTTwoSidedP(2.7764451051977987, 4)).toBeCloseTo(0.05, 10);
    expect(studentTTwoSidedP(4.604094871415897, 4)).toBeCloseTo(0.01, 10);
    expect(studentTTwoSidedP(2.2621571627409915, 9)).toBeCloseTo(0.05, 10);
    expect(studentTTwoSidedP(1, 1)).toBeCloseTo(0.5, 13); // Cauchy: P(|T| > 1) = 1/2
    expect(studentTTwoSidedP(0, 5)).toBe(1);
    expect(studentTTwoSidedP(Infinity, 5)).toBe(0);
  });
});

describe('summaries and confidence intervals', () => {
  it('gives the Student-t CI of the mean', () => {
    const s = summarize([1, 2, 3, 4, 5]);
    // 3 ± t(0.975, 4) · √2.5 / √5 = 3 ± 2.7764451 · 0.7071068 = 3 ± 1.9632432
    expect(s.n).toBe(5);
    expect(s.mean).toBe(3);
    expect(s.ci![0]).toBeCloseTo(1.0367568385, 9);
    expect(s.ci![1]).toBeCloseTo(4.9632431615, 9);
  });

  it('gives no interval for a single value', () => {
    const s = summarize([0.91]);
    expect(s).toEqual({ n: 1, mean: 0.91, std: NaN });
    expect(s.ci).toBeUndefined();
  });

  it('gives no interval, rather than [m, m], when every value is the same (e.g. all at 100%)', () => {
    const s = summarize([1, 1, 1]);
    expect(s.std).toBe(0);
    expect(s.ci).toBeUndefined();
  });
});

describe('paired t-test', () => {
  it('matches a hand-computed example', () => {
    // differences 1, 2, 3, 5: mean 2.75, sd √(8.75/3) = 1.7078251, t = 2.75 / (1.7078251 / 2) = 3.2204702, df = 3
    const r = pairedTTest([2, 4, 6, 9], [1, 2, 3, 4])!;
    expect(r.n).toBe(4);
    expect(r.df).toBe(3);
    expect(r.meanDiff).toBeCloseTo(2.75, 14);
    expect(r.stdDiff).toBeCloseTo(Math.sqrt(8.75 / 3), 14);
    expect(r.t).toBeCloseTo(3.2204702407, 9);
    // exact df=3 CDF: F(t) = 1/2 + (u/(1+u²) + atan u)/π, u = t/√3
    const u = r.t / Math.sqrt(3);
    const p = 2 * (1 - (0.5 + (u / (1 + u * u) + Math.atan(u)) / Math.PI));
    expect(r.p).toBeCloseTo(p, 12);
    expect(r.p).toBeCloseTo(0.0485669, 6);
    expect(r.p).toBeLessThan(0.05); // t above the df=3 critical value 3.182
    // CI: 2.75 ± 3.1824463 · 0.8539126
    expect(r.ci![0]).toBeCloseTo(2.75 - 3.182446305284263 * (Math.sqrt(8.75 / 3) / 2), 9);
  });

  it('is undefined with fewer than two pairs, and gives no p and no interval with zero variance', () => {
    expect(pairedTTest([0.8], [0.7])).toBeUndefined();
    // identical runs: no difference, and no test (0/0), not p = 1
    const same = pairedTTest([1, 2, 3], [1, 2, 3])!;
    expect(same.p).toBeUndefined();
    expect(same.ci).toBeUndefined();
    expect(same.meanDiff).toBe(0);
    // every pair differs by exactly +0.5: t = +∞ but that is not certainty — no p (was p = 0)
    const constant = pairedTTest([1.5, 2.5, 3.5], [1, 2, 3])!;
    expect(constant.t).toBe(Infinity);
    expect(constant.p).toBeUndefined();
    expect(constant.ci).toBeUndefined();
    expect(() => pairedTTest([1, 2], [1])).toThrow(RangeError);
  });
});

describe('seeded generator and quantiles', () => {
  it('the generator is deterministic per seed and uniform-looking', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(Array.from({ length: 10_000 }, () => b())).toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(mean(xs)).toBeCloseTo(0.5, 1);
    expect(seededRandom(43)()).not.toBe(seededRandom(42)());
  });

  it('type-7 quantiles interpolate', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0)).toBe(1);
    expect(quantileSorted([10, 20], 0.25)).toBe(12.5);
  });
});

describe('Holm correction', () => {
  it('matches a hand-computed example and keeps the input order', () => {
    // sorted 0.01, 0.03, 0.04 → ×3, ×2, ×1 = 0.03, 0.06, 0.04 → monotone: 0.03, 0.06, 0.06
    const adj = holmAdjust([0.01, 0.04, 0.03]);
    expect(adj[0]).toBeCloseTo(0.03, 14);
    expect(adj[1]).toBeCloseTo(0.06, 14);
    expect(adj[2]).toBeCloseTo(0.06, 14);
    expect(holmAdjust([0.5, 0.9])).toEqual([1, 1]);
    expect(holmAdjust([0.02])).toEqual([0.02]);
    expect(holmAdjust([])).toEqual([]);
  });
});

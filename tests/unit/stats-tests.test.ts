// Distributions, multiplicity, bootstrap and item-level tests against closed forms and
// published reference values (R, scipy, textbook examples).
import { describe, expect, it } from 'vitest';
import {
  bcaMeanCI,
  bcaPairedDiffCI,
  binomialHalfCdf,
  chiSquareSf,
  cmhTest,
  holmAdjust,
  mcnemarExact,
  meanAcceleration,
  MIN_BOOTSTRAP_N,
  normalCdf,
  normalQuantile,
  regularizedGammaP,
  summarize,
  type Table2x2,
} from '../../runner/report/stats.ts';

describe('normal and chi-square distributions', () => {
  it('match closed forms and scipy values, in both tails', () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 14);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316300933, 15); // scipy.stats.norm.cdf(-3)
    expect(normalCdf(-8) / 6.22096057427174e-16).toBeCloseTo(1, 10); // the far tail keeps its precision
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12);
    expect(normalQuantile(0.025)).toBeCloseTo(-1.959963984540054, 12);
    // P(1, x) = 1 - e^-x; chi-square with 2 df: sf(x) = e^{-x/2}
    expect(regularizedGammaP(1, 0.7)).toBeCloseTo(1 - Math.exp(-0.7), 14);
    expect(chiSquareSf(5, 2)).toBeCloseTo(Math.exp(-2.5), 14);
    expect(chiSquareSf(3.841458820694124, 1)).toBeCloseTo(0.05, 12);
    expect(chiSquareSf(17.36, 1)).toBeCloseTo(3.092666921021278e-5, 15); // scipy.stats.chi2.sf
    expect(chiSquareSf(10, 3)).toBeCloseTo(0.01856613546304325, 14);
  });
});

describe('Holm correction', () => {
  it('reproduces the textbook example (p = 0.01, 0.04, 0.03, 0.005 at α = 0.05: only H1 and H4 rejected)', () => {
    // sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → monotone 0.02, 0.03, 0.06, 0.06
    const adj = holmAdjust([0.01, 0.04, 0.03, 0.005]);
    expect(adj.map((p) => +p.toFixed(12))).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect(adj.map((p) => p < 0.05)).toEqual([true, false, false, true]);
  });

  it('turns "10 of 12 arms p < 0.05" into fewer once the family is counted', () => {
    const ps = [0.001, 0.002, 0.004, 0.005, 0.006, 0.008, 0.01, 0.02, 0.03, 0.04, 0.2, 0.5];
    expect(ps.filter((p) => p < 0.05)).toHaveLength(10);
    // 0.001·12 = 0.012, 0.002·11 = 0.022, 0.004·10 = 0.04, 0.005·9 = 0.045, 0.006·8 = 0.048, 0.008·7 = 0.056 ✗
    expect(holmAdjust(ps).filter((p) => p < 0.05)).toHaveLength(5);
  });
});

describe('bootstrap: BCa only, only from 10 values', () => {
  const xs = [0.012, 0.018, 0.009, 0.015, 0.011, 0.02, 0.014, 0.016, 0.031, 0.004, 0.01, 0.013];

  it('computes the jackknife acceleration of the mean in closed form', () => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const s2 = xs.reduce((a, x) => a + (x - m) ** 2, 0);
    const s3 = xs.reduce((a, x) => a + (x - m) ** 3, 0);
    expect(meanAcceleration(xs)).toBeCloseTo(s3 / (6 * s2 ** 1.5), 14);
    expect(meanAcceleration([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toBeCloseTo(0, 14); // symmetric sample
  });

  it("matches scipy.stats.bootstrap(method='BCa') on a known sample", () => {
    // scipy 1.17, 10⁶ resamples, three seeds: [0.011417–0.0115, 0.019083]; resampled means of 12
    // values lie on a grid of 1/12 000, so the two implementations agree to about one grid step.
    const ci = bcaMeanCI(xs, { resamples: 200_000, seed: 1 })!;
    expect(ci[0]).toBeCloseTo(0.01146, 3);
    expect(Math.abs(ci[0] - 0.011458)).toBeLessThan(1.5e-4);
    expect(Math.abs(ci[1] - 0.019083)).toBeLessThan(1.5e-4);
    // skewed right (one large value): BCa moves the interval right of the symmetric t interval
    const t = summarize(xs).ci!;
    expect(ci[1]).toBeGreaterThan(t[1] - 1e-4);
    expect(ci[0]).toBeGreaterThan(t[0]);
  });

  it('is reproducible with a fixed seed, and absent below 10 values or with no spread', () => {
    expect(bcaMeanCI(xs, { seed: 7 })).toEqual(bcaMeanCI(xs, { seed: 7 }));
    expect(MIN_BOOTSTRAP_N).toBe(10);
    expect(bcaMeanCI(xs.slice(0, 9))).toBeUndefined();
    expect(bcaMeanCI(xs.slice(0, 10))).toBeDefined();
    expect(bcaMeanCI(new Array(12).fill(0.05))).toBeUndefined();
    expect(bcaPairedDiffCI(xs.map((x) => 2 * x), xs, { seed: 3 })).toEqual(bcaMeanCI(xs, { seed: 3 })); // 2x - x = x exactly
  });
});

describe('exact McNemar test', () => {
  it('matches the binomial closed form on small tables', () => {
    // b = 1, c = 8: 2·P(X ≤ 1), X ~ Bin(9, 1/2) = 2·(1 + 9)/512
    expect(mcnemarExact(1, 8)).toBeCloseTo(20 / 512, 15);
    expect(mcnemarExact(8, 1)).toBeCloseTo(20 / 512, 15);
    // b = 0, c = 5: 2/32
    expect(mcnemarExact(0, 5)).toBeCloseTo(0.0625, 15);
    expect(mcnemarExact(5, 5)).toBe(1);
    expect(mcnemarExact(0, 0)).toBe(1); // no discordant item: no evidence either way
    expect(binomialHalfCdf(2, 4)).toBeCloseTo(11 / 16, 15);
  });

  it('matches scipy.stats.binomtest on larger tables (log-space sums, no underflow)', () => {
    expect(mcnemarExact(12, 30)).toBeCloseTo(0.007915897334896727, 14);
    expect(mcnemarExact(70, 110)).toBeCloseTo(0.0035332037055875874, 14);
    expect(mcnemarExact(150, 86) / 3.7159361395713866e-5).toBeCloseTo(1, 9);
    expect(mcnemarExact(7000, 7100)).toBeGreaterThan(0.3);
    expect(() => mcnemarExact(-1, 2)).toThrow(RangeError);
  });
});

describe('Cochran–Mantel–Haenszel test', () => {
  it("reproduces R's mantelhaen.test on the penicillin/rabbits data (X² = 3.9286, p = 0.04747)", () => {
    // R: Rabbits <- array(c(0,0,6,5, 3,0,3,6, 6,2,0,4, 5,6,1,0, 2,5,0,0), dim = c(2, 2, 5)), filled
    // column-major: each stratum is (a, c, b, d) in that order.
    const strata = [
      [0, 0, 6, 5],
      [3, 0, 3, 6],
      [6, 2, 0, 4],
      [5, 6, 1, 0],
      [2, 5, 0, 0],
    ].map(([a, c, b, d]) => [a, b, c, d] as Table2x2);
    const r = cmhTest(strata)!;
    expect(r.statistic).toBeCloseTo(3.9286, 4);
    expect(r.p).toBeCloseTo(0.04747, 5);
    // Mantel–Haenszel odds ratio by hand: Σad/N = 0 + 18/12 + 24/12 = 3.5, Σbc/N = 6/12 → 7
    expect(r.oddsRatio).toBeCloseTo(7, 12);
  });

  it('over matched item pairs (one stratum per item) is McNemar with continuity correction', () => {
    // Each item scored by two models is a stratum [[treated right?],[control right?]] of N = 2.
    const b = 23;
    const c = 9;
    const pair = (t: boolean, k: boolean): Table2x2 => [t ? 1 : 0, t ? 0 : 1, k ? 1 : 0, k ? 0 : 1];
    const strata = [...Array.from({ length: b }, () => pair(true, false)), ...Array.from({ length: c }, () => pair(false, true)), ...Array.from({ length: 400 }, () => pair(true, true)), ...Array.from({ length: 50 }, () => pair(false, false))];
    const r = cmhTest(strata)!;
    expect(r.statistic).toBeCloseTo((Math.abs(b - c) - 1) ** 2 / (b + c), 12);
    expect(r.p).toBeCloseTo(chiSquareSf((Math.abs(b - c) - 1) ** 2 / (b + c), 1), 14);
    // and the exact form (what the report uses) is close to it at these counts
    expect(Math.abs(mcnemarExact(b, c) - r.p)).toBeLessThan(0.01);
  });

  it('is undefined when no stratum has variance', () => {
    expect(cmhTest([[3, 0, 2, 0]])).toBeUndefined();
    expect(cmhTest([])).toBeUndefined();
  });
});

// Review of the issue-14 statistics: each block is a bug found in review, with reference values
// computed independently (scipy 1.17 / exhaustive enumeration, noted beside each value).
import { describe, expect, it } from 'vitest';
import { compareRuns, type RunResult } from '../../runner/report/aggregate.ts';
import { fmtP, formatComparison } from '../../runner/report/format.ts';
import { itemResults } from '../../runner/report/items.ts';
import { bcaMeanCI, itemNetTest, mcnemarExact, pairedTTest, summarize } from '../../runner/report/stats.ts';

function run(o: { ratio: number; seed: number; final: Record<string, number>; correct?: number[]; testSet?: string }): RunResult {
  const labels = o.correct?.map(() => 1);
  return {
    id: `r${o.ratio}-s${o.seed}`,
    name: `ratio=${o.ratio} seed=${o.seed}`,
    coords: { 'augmentation.ratio': o.ratio },
    ablation: 'baseline',
    seed: o.seed,
    state: 'finished',
    config: {},
    final: o.final,
    items: o.correct ? itemResults(labels!, { image_acc: o.correct }, o.testSet ?? 'split-a') : undefined,
  };
}

describe('zero variance hidden by floating-point rounding (the quickstart "Δ 0.0 p<0.001" again)', () => {
  // Both seeds move by exactly 5 of 10,000 items, but 0.9735 − 0.9730 ≠ 0.9617 − 0.9612 in doubles.
  const runs = [
    run({ ratio: 0, seed: 0, final: { image_acc: 0.973 } }),
    run({ ratio: 0, seed: 1, final: { image_acc: 0.9612 } }),
    run({ ratio: 4, seed: 0, final: { image_acc: 0.9735 } }),
    run({ ratio: 4, seed: 1, final: { image_acc: 0.9617 } }),
  ];

  it('the t-test gives no p and no interval', () => {
    const t = pairedTTest([0.9735, 0.9617], [0.973, 0.9612])!;
    expect(t.p).toBeUndefined(); // was 7e-14
    expect(t.ci).toBeUndefined();
    expect(summarize([0.9735 - 0.973, 0.9617 - 0.9612]).ci).toBeUndefined();
  });

  it('is not significant, not in the Holm family, and says why', () => {
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    const d = c.rows.find((r) => r.role === 'treated')!.deltas.image_acc;
    expect(d.pHolm).toBeUndefined();
    expect(d.verdict).toBe('none');
    expect(c.family.image_acc).toBe(0);
    expect(d.note).toMatch(/zero variance/);
    expect(formatComparison('table', c)).not.toMatch(/<0\.001/);
  });

  it('real spread of one item in 10,000 is still tested', () => {
    expect(pairedTTest([0.9736, 0.9617, 0.95], [0.973, 0.9612, 0.9496])!.p).toBeGreaterThan(0);
  });
});

describe('BCa with tied values', () => {
  it("counts resampled means equal to the estimate half below, as scipy.stats.bootstrap(method='BCa')", () => {
    // scipy 1.17, 200 000 resamples, seeds 1, 2, 3: [0.0, 0.5] every time (was [0, 0.3] here)
    expect(bcaMeanCI([0, 0, 0, 0, 0, 0, 0, 0, 0, 1], { resamples: 200_000, seed: 1 })).toEqual([0, 0.5]);
    // paired differences on a grid of accuracies: scipy [0.015, 0.023] (was [0.014, 0.022] here)
    const ci = bcaMeanCI([0.01, 0.01, 0.02, 0.02, 0.02, 0.03, 0.01, 0.02, 0.03, 0.02], { resamples: 200_000, seed: 1 })!;
    expect(ci[0]).toBeCloseTo(0.015, 12);
    expect(ci[1]).toBeCloseTo(0.023, 12);
  });
});

describe('exact McNemar on large tables', () => {
  it('matches scipy.stats.binomtest without overflowing the stack', () => {
    expect(mcnemarExact(4000, 4100)).toBeCloseTo(0.2713310871439323, 10);
    expect(mcnemarExact(150_000, 160_000) / 3.9874159039753744e-72).toBeCloseTo(1, 6); // threw RangeError
  });
});

describe('the pooled per-item test keeps each test item as one unit', () => {
  it('is exact McNemar with one seed pair, and the exact sign-flip test with several', () => {
    expect(itemNetTest([...new Array(30).fill(1), ...new Array(12).fill(-1), 0, 0])).toBe(mcnemarExact(30, 12));
    // all 2^16 sign assignments enumerated in Python: 2728 of 65536 reach |Σ| ≥ 15
    expect(itemNetTest([2, 2, 2, 1, 1, 1, 1, -1, -1, 2, -2, 3, 1, 1, 0, 0, -1, 2])).toBeCloseTo(0.0416259765625, 12);
    expect(itemNetTest([0, 0])).toBe(1);
  });

  it('uses the χ² form (Σ net)² / Σ net² for large totals', () => {
    const net = [...new Array(1500).fill(2), ...new Array(1200).fill(-2), ...new Array(1000).fill(1), ...new Array(900).fill(-1)];
    expect(itemNetTest(net) / 5.248267228117227e-10).toBeCloseTo(1, 8); // scipy.stats.chi2.sf(700**2/12700, 1)
  });

  it('does not count an item once per seed as if the seeds scored new items', () => {
    // 14 items, the same in 3 seeds: the arm gets items 0–9 right and the control items 10–13.
    const arm = [...new Array(10).fill(1), ...new Array(4).fill(0)];
    const ctl = arm.map((x) => 1 - x);
    const runs = [0, 1, 2].flatMap((seed) => [
      run({ ratio: 0, seed, final: { image_acc: 4 / 14 + seed * 0.01 }, correct: ctl }),
      run({ ratio: 4, seed, final: { image_acc: 10 / 14 + seed * 0.011 }, correct: arm }),
    ]);
    const pooled = compareRuns(runs, { metrics: ['image_acc'] }).rows.find((r) => r.role === 'treated')!.deltas.image_acc.items!.pooled!;
    expect([pooled.b, pooled.c, pooled.items]).toEqual([30, 12, 42]);
    // 10 items for the arm, 4 against: binomtest(10, 14) = 0.1796 — not McNemar(30, 12) = 0.0079
    expect(pooled.pRaw).toBeCloseTo(0.1795654296875, 12);
  });
});

describe('seeds without a control run of the same seed', () => {
  it('are left out of Δ and the table says which', () => {
    const runs = [
      run({ ratio: 0, seed: 0, final: { image_acc: 0.9 } }),
      run({ ratio: 0, seed: 1, final: { image_acc: 0.91 } }),
      run({ ratio: 4, seed: 0, final: { image_acc: 0.92 } }),
      run({ ratio: 4, seed: 1, final: { image_acc: 0.925 } }),
      run({ ratio: 4, seed: 2, final: { image_acc: 0.95 } }),
      run({ ratio: 4, seed: 3, final: { image_acc: 0.94 } }),
    ];
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    const d = c.rows.find((r) => r.role === 'treated')!.deltas.image_acc;
    expect(d.n).toBe(2);
    expect(d.meanDiff).toBeCloseTo(0.0175, 12);
    expect(d.note).toBe('2 runs (seeds 2, 3) have no finished control run with image_acc for the same seed: left out of Δ');
    expect(formatComparison('table', c)).toMatch(/ratio=4: 2 runs \(seeds 2, 3\) have no finished control run with image_acc for the same seed: left out of Δ\./);
  });

  it('a control run without the metric counts as unmatched too', () => {
    const runs = [
      run({ ratio: 0, seed: 0, final: { image_acc: 0.9 } }),
      run({ ratio: 0, seed: 1, final: {} }),
      run({ ratio: 0, seed: 2, final: { image_acc: 0.92 } }),
      run({ ratio: 4, seed: 0, final: { image_acc: 0.92 } }),
      run({ ratio: 4, seed: 1, final: { image_acc: 0.925 } }),
      run({ ratio: 4, seed: 2, final: { image_acc: 0.93 } }),
    ];
    const d = compareRuns(runs, { metrics: ['image_acc'] }).rows.find((r) => r.role === 'treated')!.deltas.image_acc;
    expect(d.n).toBe(2);
    expect(d.note).toMatch(/^1 run \(seed 1\) has no finished control run/);
  });
});

describe('p value display', () => {
  it('never rounds a p below 0.05 up to "0.05"', () => {
    expect(fmtP(0.0496)).toBe('0.049');
    expect(fmtP(0.04999)).toBe('0.049');
    expect(fmtP(0.045)).not.toBe('0.05');
    expect(fmtP(0.05)).toBe('0.05');
    expect(fmtP(0.051)).toBe('0.05');
    expect(fmtP(0.0123)).toBe('0.01');
    expect(fmtP(0.0049)).toBe('0.005');
  });

  it('JSON shows no unadjusted p (not even per seed pair) unless asked', () => {
    const correct = [1, 1, 0, 1, 0, 1, 1, 1, 1, 1];
    const runs = [0, 1].flatMap((seed) => [
      run({ ratio: 0, seed, final: { image_acc: 0.8 + seed * 0.01 }, correct }),
      run({ ratio: 4, seed, final: { image_acc: 0.9 + seed * 0.012 }, correct: correct.map((x, i) => (i === 2 ? 1 : x)) }),
    ]);
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    expect(c.rows[1].deltas.image_acc.items!.pairs).toHaveLength(2);
    const plain = formatComparison('json', c);
    expect(plain).not.toMatch(/"pRaw"|"p":/);
    expect(plain).toMatch(/"pHolm"/);
    expect(formatComparison('json', c, [], {}, { rawP: true })).toMatch(/"pRaw"/);
  });
});

describe('--by that pools cells keeps the seed as the unit of replication', () => {
  it('averages the pooled cells within each seed before the paired t-test', () => {
    // ratio 0 vs 4 at three image fractions, two seeds; the effect moves with the seed (+1.0 points in
    // seed 0, +0.2 in seed 1) at every fraction. Six pairs are two independent replicates, not six.
    const runs: RunResult[] = [];
    for (const [seed, shift] of [[0, 0.01], [1, 0.002]] as const) {
      [0.01, 0.1, 1].forEach((frac, j) => {
        const base = 0.8 + frac * 0.1 + seed * 0.003;
        for (const ratio of [0, 4]) {
          const acc = ratio === 0 ? base : base + shift + (j - 1) * 0.0001;
          runs.push({ ...run({ ratio, seed, final: { image_acc: acc } }), id: `r${ratio}-f${frac}-s${seed}`, coords: { 'augmentation.ratio': ratio, 'dataset.image_fraction': frac } });
        }
      });
    }
    const d = compareRuns(runs, { metrics: ['image_acc'], by: ['augmentation.ratio'] }).rows.find((r) => r.role === 'treated')!.deltas.image_acc;
    expect(d.n).toBe(2);
    expect(d.meanDiff).toBeCloseTo(0.006, 12);
    expect(d.pRaw).toBeCloseTo(0.3743340836219977, 9); // scipy ttest_1samp([0.01, 0.002], 0); six pairs gave 0.020
  });
});

describe('a level that does not vary, up to rounding', () => {
  it('shows "no spread", not [10.0, 10.0] (three equal values have a mean 1 ulp off)', () => {
    expect(summarize([0.1, 0.1, 0.1]).ci).toBeUndefined();
    const runs = [0, 1, 2].flatMap((seed) => [run({ ratio: 0, seed, final: { image_acc: 0.1 } }), run({ ratio: 4, seed, final: { image_acc: 0.1 + seed * 0.01 } })]);
    const table = formatComparison('table', compareRuns(runs, { metrics: ['image_acc'] }));
    expect(table).toMatch(/^ratio=0 +3\/3 +10\.0 ± 0\.0 +no spread/m);
  });
});

describe('an items.json that does not belong to the run', () => {
  it('is not used when its count of correct items disagrees with summary.json', () => {
    const correct = [1, 1, 0, 1, 0, 1, 1, 1, 1, 1]; // 8 of 10
    const runs = [0, 1].flatMap((seed) => [
      run({ ratio: 0, seed, final: { image_acc: 0.8 }, correct }),
      run({ ratio: 4, seed, final: { image_acc: seed === 1 ? 0.6 : 0.9 + seed * 0.01 }, correct: correct.map((x, i) => (i === 2 ? 1 : x)) }), // seed 1: stale file (9 of 10, summary 60%)
    ]);
    const ev = compareRuns(runs, { metrics: ['image_acc'] }).rows[1].deltas.image_acc.items!;
    expect(ev.pairs.map((p) => p.seed)).toEqual([0]);
    expect(ev.missing).toEqual([{ seed: 1, reason: 'ratio=4 seed=1: items.json does not match summary.json (9 of 10 items correct, image_acc = 0.6)' }]);
  });
});

import { describe, expect, it } from 'vitest';
import { compareRuns, defaultBy, MIN_BOOTSTRAP_PAIRS, type ReportRunState, type RunResult } from '../../runner/report/aggregate.ts';
import { bcaMeanCI, pairedTTest, summarize } from '../../runner/report/stats.ts';

function run(o: { ratio?: number; frac?: number; ablation?: string; seed: number; acc?: number; state?: ReportRunState }): RunResult {
  const coords: Record<string, unknown> = {};
  if (o.ratio !== undefined) coords['augmentation.ratio'] = o.ratio;
  if (o.frac !== undefined) coords['dataset.image_fraction'] = o.frac;
  const ablation = o.ablation ?? 'baseline';
  const state = o.state ?? 'finished';
  return {
    id: `r${o.ratio}-f${o.frac}-${ablation}-s${o.seed}`,
    name: `ratio=${o.ratio} frac=${o.frac} ${ablation} seed=${o.seed}`,
    coords,
    ablation,
    seed: o.seed,
    state,
    config: { augmentation: { ratio: o.ratio ?? 0 }, dataset: { image_fraction: o.frac ?? 1 }, model: { head: ablation === 'separate' ? 'separate' : 'shared' } },
    final: state === 'finished' && o.acc !== undefined ? { image_acc: o.acc, text_acc: 0.9 } : undefined,
  };
}

// Seed effects shared by both arms make pairing matter: unpaired, the gain is lost in the noise.
const control = [0.6, 0.7, 0.65, 0.55];
const gain = [0.02, 0.03, 0.025, 0.015];

describe('grouping over seeds', () => {
  it('makes one row per grid cell and ablation with mean, sd and CI over seeds', () => {
    const runs = [0, 4].flatMap((ratio) => [0, 1, 2, 3].map((seed) => run({ ratio, frac: 0.1, seed, acc: control[seed] + (ratio ? gain[seed] : 0) })));
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    expect(c.by).toEqual(['augmentation.ratio', 'dataset.image_fraction']);
    expect(c.rows.map((r) => r.label)).toEqual(['ratio=0 frac=0.1', 'ratio=4 frac=0.1']);
    const [ctrl, treated] = c.rows;
    expect(ctrl.role).toBe('control');
    expect(ctrl.stats.image_acc).toEqual(summarize(control));
    expect(treated.role).toBe('treated');
    expect(treated.controlLabel).toBe('ratio=0 frac=0.1');
    expect(treated.seeds).toEqual([0, 1, 2, 3]);
    const d = treated.deltas.image_acc;
    const expected = pairedTTest(
      control.map((x, i) => x + gain[i]),
      control,
    )!;
    expect(d.n).toBe(4);
    expect(d.meanDiff).toBeCloseTo(0.0225, 12);
    expect(d.pRaw).toBeCloseTo(expected.p!, 12);
    expect(d.pHolm).toBeCloseTo(expected.p!, 12); // a family of one arm: Holm changes nothing
    expect(d.pHolm!).toBeLessThan(0.01); // paired: significant although the arms' CIs overlap
    expect(d.verdict).toBe('better');
    expect(d.controlMean).toBeCloseTo(summarize(control).mean, 12);
    expect(d.bootstrapCi).toBeUndefined(); // 4 pairs: below MIN_BOOTSTRAP_PAIRS
  });

  it('adds the seeded BCa bootstrap CI of the mean paired difference from 10 pairs on, never below', () => {
    const gains = [0.02, 0.03, 0.025, 0.015, 0.01, 0.022, 0.018, 0.027, 0.012, 0.035];
    const runsOf = (k: number) => [0, 4].flatMap((ratio) => gains.slice(0, k).map((g, seed) => run({ ratio, seed, acc: 0.5 + seed * 0.03 + (ratio ? g : 0) })));
    const c9 = compareRuns(runsOf(9), { metrics: ['image_acc'] });
    expect(c9.rows[1].deltas.image_acc.bootstrapCi).toBeUndefined();
    expect(c9.maxPairs).toBe(9);
    const d = compareRuns(runsOf(10), { metrics: ['image_acc'], bootstrap: { seed: 11 } }).rows[1].deltas.image_acc;
    expect(d.n).toBe(MIN_BOOTSTRAP_PAIRS);
    expect(MIN_BOOTSTRAP_PAIRS).toBe(10);
    const expected = bcaMeanCI(d.n ? gains : [], { seed: 11 })!;
    expect(d.bootstrapCi![0]).toBeCloseTo(expected[0], 3);
    expect(d.bootstrapCi![1]).toBeCloseTo(expected[1], 3);
    expect(d.bootstrapCi![0]).toBeGreaterThanOrEqual(0.01);
    expect(d.bootstrapCi![1]).toBeLessThanOrEqual(0.035);
  });

  it('pairs by seed whatever the order of the runs, and only pairs that exist', () => {
    const runs = [
      run({ ratio: 8, seed: 2, acc: 0.7 }),
      run({ ratio: 0, seed: 1, acc: 0.5 }),
      run({ ratio: 8, seed: 1, acc: 0.55 }),
      run({ ratio: 0, seed: 2, acc: 0.6 }),
      run({ ratio: 8, seed: 3, acc: 0.9 }), // its control (seed 3) is missing
    ];
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    const d = c.rows.find((r) => r.values['augmentation.ratio'] === 8)!.deltas.image_acc;
    expect(d.n).toBe(2);
    expect(d.meanDiff).toBeCloseTo((0.05 + 0.1) / 2, 12);
  });

  it('matches the control within the same cell and ablation', () => {
    const runs = [0.01, 0.1].flatMap((frac) =>
      ['baseline', 'no_align'].flatMap((ablation) => [0, 1].flatMap((seed) => [0, 2].map((ratio) => run({ ratio, frac, ablation, seed, acc: frac + (ablation === 'no_align' ? 0.001 : 0) + ratio * 0.01 + seed * 0.1 })))),
    );
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    expect(c.by).toEqual(['augmentation.ratio', 'dataset.image_fraction', 'ablation']);
    expect(c.rows).toHaveLength(8);
    for (const r of c.rows.filter((row) => row.role === 'treated')) {
      expect(r.controlLabel).toBe(r.label.replace('ratio=2', 'ratio=0'));
      expect(r.deltas.image_acc.meanDiff).toBeCloseTo(0.02, 12);
    }
    // grouped by cell (numbers ascending, baseline first), the ratio varying fastest
    expect(c.rows.map((r) => r.label).slice(0, 5)).toEqual([
      'ratio=0 frac=0.01 baseline',
      'ratio=2 frac=0.01 baseline',
      'ratio=0 frac=0.01 no_align',
      'ratio=2 frac=0.01 no_align',
      'ratio=0 frac=0.1 baseline',
    ]);
  });

  it('never averages in running or failed runs, and counts them per row', () => {
    const runs = [
      run({ ratio: 0, seed: 0, acc: 0.6 }),
      run({ ratio: 0, seed: 1, acc: 0.62 }),
      run({ ratio: 4, seed: 0, acc: 0.7 }),
      run({ ratio: 4, seed: 1, state: 'running' }),
      run({ ratio: 4, seed: 2, state: 'failed' }),
      run({ ratio: 4, seed: 3, state: 'missing' }),
      { ...run({ ratio: 4, seed: 4 }), state: 'finished' as const, final: undefined, problem: 'summary.json has no final metrics' },
    ];
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    const treated = c.rows.find((r) => r.values['augmentation.ratio'] === 4)!;
    expect(treated.stats.image_acc.n).toBe(1);
    expect(treated.stats.image_acc.mean).toBe(0.7);
    expect(treated.stats.image_acc.ci).toBeUndefined(); // n = 1: no interval
    expect(treated.counts).toEqual({ finished: 1, running: 1, queued: 0, failed: 2, killed: 0, missing: 1 });
    expect(treated.deltas.image_acc.n).toBe(1);
    expect(treated.deltas.image_acc.ci).toBeUndefined();
    expect(treated.deltas.image_acc.pRaw).toBeUndefined();
    expect(treated.deltas.image_acc.pHolm).toBeUndefined();
    expect(treated.deltas.image_acc.note).toMatch(/one seed pair/);
    expect(c.unfinished.map((r) => r.state)).toEqual(['running', 'failed', 'missing']);
    expect(c.problems).toHaveLength(1);
    expect(c.problems[0]).toMatch(/no final metrics/);
  });

  it("compares ablations with the 'baseline' of the same cell when there is no ratio-0 arm", () => {
    const runs = ['baseline', 'separate'].flatMap((ablation) => [0, 1, 2].map((seed) => run({ frac: 0.1, ablation, seed, acc: 0.8 + seed * 0.01 - (ablation === 'separate' ? 0.03 : 0) })));
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    expect(c.control).toEqual({ key: 'ablation', value: 'baseline', origin: 'default' });
    const sep = c.rows.find((r) => r.values.ablation === 'separate')!;
    expect(sep.role).toBe('treated');
    expect(sep.deltas.image_acc.meanDiff).toBeCloseTo(-0.03, 12);
    expect(c.rows.find((r) => r.values.ablation === 'baseline')!.role).toBe('control');
  });

  it('has no control and no deltas without a ratio-0 arm or ablations', () => {
    const runs = [0.1, 0.5].flatMap((frac) => [0, 1].map((seed) => run({ frac, seed, acc: frac })));
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    expect(c.control).toBeUndefined();
    expect(c.rows.every((r) => r.role === 'none' && Object.keys(r.deltas).length === 0)).toBe(true);
  });
});

describe('bounded metrics', () => {
  it('clips the CI of the mean to the range the metric can take', () => {
    // n = 2: sd 0.02/√2, se 0.01: 0.98 ± 12.706 · 0.01 = [0.853, 1.107] → [0.853, 1]
    const runs = [0, 1].map((seed) => ({ ...run({ seed, acc: 0.97 + seed * 0.02 }), final: { image_acc: 0.97 + seed * 0.02, modality_gap: 0.05 + seed * 0.1, loss: 1 + seed } }));
    const c = compareRuns(runs, { metrics: ['image_acc', 'modality_gap', 'loss'] });
    const s = c.rows[0].stats;
    expect(s.image_acc.ci![0]).toBeCloseTo(0.98 - 12.706204736174707 * 0.01, 9);
    expect(s.image_acc.ci![1]).toBe(1);
    expect(s.modality_gap.ci![0]).toBe(0);
    expect(s.loss.ci![0]).toBeLessThan(0); // unbounded metrics are left alone
  });
});

describe('--by and --sort', () => {
  const runs = [0.01, 0.1].flatMap((frac) => [0, 4].flatMap((ratio) => [0, 1].map((seed) => run({ ratio, frac, seed, acc: 0.5 + frac + ratio * 0.01 + seed * 0.001 }))));

  it('defaults to every grid axis (and ablation only when there are several)', () => {
    expect(defaultBy(runs)).toEqual(['augmentation.ratio', 'dataset.image_fraction']);
  });

  it('marginalises the axes left out of --by, still pairing each run with its own control', () => {
    const c = compareRuns(runs, { metrics: ['image_acc'], by: ['augmentation.ratio'] });
    expect(c.rows.map((r) => r.label)).toEqual(['ratio=0', 'ratio=4']);
    expect(c.rows[1].stats.image_acc.n).toBe(4);
    expect(c.rows[1].deltas.image_acc.n).toBe(2); // the two fractions of a seed are averaged: the seed is the unit
    expect(c.rows[1].deltas.image_acc.meanDiff).toBeCloseTo(0.04, 12);
  });

  it('groups by any config path', () => {
    const c = compareRuns(runs, { metrics: ['image_acc'], by: ['model.head'] });
    expect(c.rows).toHaveLength(1);
    expect(c.rows[0].label).toBe('head=shared');
  });

  it('sorts best first (lowest first for the modality gap)', () => {
    const c = compareRuns(runs, { metrics: ['image_acc'], sort: 'image_acc' });
    expect(c.rows.map((r) => r.label)).toEqual(['ratio=4 frac=0.1', 'ratio=0 frac=0.1', 'ratio=4 frac=0.01', 'ratio=0 frac=0.01']);
    const gapRuns = runs.map((r) => ({ ...r, final: { ...r.final!, modality_gap: r.final!.image_acc } }));
    const g = compareRuns(gapRuns, { metrics: ['modality_gap'], sort: 'modality_gap' });
    expect(g.rows[0].label).toBe('ratio=0 frac=0.01');
  });
});

// Degenerate comparisons must never read as evidence: zero-variance paired differences, a
// single pair, identical runs, metrics at their bounds, differences that round to 0 — and the
// quickstart's bold "Δ 0.0, p < 0.001" in particular.
import { describe, expect, it } from 'vitest';
import { compareRuns, type RunResult } from '../../runner/report/aggregate.ts';
import { formatComparison } from '../../runner/report/format.ts';
import { renderPage } from '../../runner/report/html.ts';
import { writeNarrative } from '../../runner/report/narrative.ts';

function run(o: { ratio: number; seed: number; final: Record<string, number>; ablation?: string }): RunResult {
  const ablation = o.ablation ?? 'baseline';
  return { id: `r${o.ratio}-${ablation}-s${o.seed}`, name: `ratio=${o.ratio} ${ablation} seed=${o.seed}`, coords: { 'augmentation.ratio': o.ratio }, ablation, seed: o.seed, state: 'finished', config: {}, final: o.final };
}

function page(c: ReturnType<typeof compareRuns>): string {
  return renderPage({
    experiment: 'x',
    file: 'x.yaml',
    sweepId: 'x-1',
    generatedAt: '2026-01-01T00:00:00Z',
    reproduce: [],
    design: '',
    narrative: writeNarrative(c, { unfinished: [], orphans: [] }),
    comparison: c,
    figures: [],
    skippedFigures: [],
    orphans: [],
  });
}

describe('the quickstart case: both seed pairs differ by exactly +0.05 points', () => {
  // retrieval text→image, ratio 4 vs 0, no_align: 0.3120 → 0.3125 in both seeds
  const runs = [0, 1].flatMap((seed) => [
    run({ ratio: 0, seed, ablation: 'no_align', final: { retrieval_t2i_r1: 0.312 + seed * 0.01, image_acc: 0.8 + seed * 0.01 } }),
    run({ ratio: 4, seed, ablation: 'no_align', final: { retrieval_t2i_r1: 0.3125 + seed * 0.01, image_acc: 0.81 + seed * 0.012 } }),
  ]);
  const c = compareRuns(runs, { metrics: ['retrieval_t2i_r1', 'image_acc'] });
  const d = c.rows.find((r) => r.role === 'treated')!.deltas.retrieval_t2i_r1;

  it('has no p value and no interval, and is not an effect', () => {
    expect(d.n).toBe(2);
    expect(d.meanDiff).toBeCloseTo(0.0005, 12);
    expect(d.pRaw).toBeUndefined();
    expect(d.pHolm).toBeUndefined();
    expect(d.ci).toBeUndefined();
    expect(d.verdict).toBe('none');
    expect(d.note).toMatch(/all 2 pairs differ by exactly \+0\.1 \(zero variance\)/);
    expect(c.family.retrieval_t2i_r1).toBe(0); // not in the Holm family: there is no test
  });

  it('prints n/a and a plain note in the table, never "<0.001"', () => {
    const table = formatComparison('table', c);
    const section = table.slice(table.indexOf('retrieval_t2i_r1'), table.indexOf('image_acc ('));
    const row = section.split('\n').find((l) => l.startsWith('ratio=4'))!;
    expect(row).not.toMatch(/<0\.001/);
    expect(row).toMatch(/\+0\.1 \(n=2\) +n\/a +n\/a/);
    expect(section).toMatch(/ratio=4: all 2 pairs differ by exactly \+0\.1 \(zero variance\): too few distinct values for a test\./);
  });

  it('shows no bold green Δ in the HTML report', () => {
    const html = page(c);
    const table = html.slice(html.indexOf('data-metric="retrieval_t2i_r1"'));
    const cell = /<tr><td>ratio=4<\/td>.*?<\/tr>/.exec(table)![0];
    expect(cell).not.toContain('class="sig"');
    expect(cell).toContain('class="ns"');
    expect(cell).not.toContain('&lt;0.001');
  });
});

describe('other degenerate cases', () => {
  it('identical runs: no difference, no test, and a note on the row', () => {
    const same = { image_acc: 0.9, text_acc: 0.8 };
    const runs = [0, 1].flatMap((seed) => [run({ ratio: 0, seed, final: same }), run({ ratio: 2, seed, final: same })]);
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    const treated = c.rows.find((r) => r.role === 'treated')!;
    expect(treated.deltas.image_acc.pRaw).toBeUndefined();
    expect(treated.deltas.image_acc.note).toBe('identical in all 2 pairs: no difference, no test');
    expect(treated.notes[0]).toMatch(/seeds 0, 1 gave identical results \(the same run twice\?\)/);
    expect(treated.stats.image_acc.ci).toBeUndefined();
    expect(formatComparison('table', c)).toMatch(/ratio=2: seeds 0, 1 gave identical results/);
  });

  it('a metric at its bound in every seed: no interval ("no spread"), not [100.0, 100.0]', () => {
    const runs = [0, 1, 2].flatMap((seed) => [run({ ratio: 0, seed, final: { image_acc: 1 } }), run({ ratio: 2, seed, final: { image_acc: 1 } })]);
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    const out = formatComparison('table', c);
    expect(out).toMatch(/^ratio=0 +3\/3 +100\.0 ± 0\.0 +no spread +control/m);
    expect(c.rows[1].deltas.image_acc.note).toMatch(/identical in all 3 pairs/);
  });

  it('a consistent difference that rounds to 0.0 points is never called significant', () => {
    const tiny = [0.0001, 0.0002, 0.00015, 0.00012, 0.00013];
    const runs = tiny.flatMap((g, seed) => [run({ ratio: 0, seed, final: { image_acc: 0.7 + seed * 0.01 } }), run({ ratio: 2, seed, final: { image_acc: 0.7 + seed * 0.01 + g } })]);
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    const d = c.rows[1].deltas.image_acc;
    expect(d.pHolm!).toBeLessThan(0.01); // the test alone would call it
    expect(d.roundsToZero).toBe(true);
    expect(d.verdict).toBe('none');
    expect(d.note).toMatch(/rounds to 0/);
    expect(writeNarrative(c, { unfinished: [], orphans: [] }).headline.join(' ')).toMatch(/0 of 1 arm improves image accuracy significantly/);
  });

  it('a single pair: the difference is shown as an observation, with no interval and no p', () => {
    const runs = [run({ ratio: 0, seed: 0, final: { image_acc: 0.7 } }), run({ ratio: 2, seed: 0, final: { image_acc: 0.75 } })];
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    const n = writeNarrative(c, { unfinished: [], orphans: [] });
    expect(n.headline.join(' ')).toMatch(/No arm can be tested against the control \(augmentation\.ratio = 0\): no arm has two seed pairs/);
    expect(n.effects[0]).toMatch(/^ratio 2: \+5\.0 points image accuracy, n = 1 \(one seed pair: no interval, no test\); per-item test n\/a \(.*has no items\.json/);
  });
});

describe('multiplicity', () => {
  it('adjusts p over the arms with Holm, and counts "k of n arms improve" after the correction', () => {
    // four arms against one control, 3 seeds each; raw p ≈ 0.0003, 0.004, 0.03 and 0.84: three
    // below 0.05 uncorrected, two after Holm (0.03 × 2 = 0.06)
    const control = [0.6, 0.7, 0.65];
    const gains: Record<number, number[]> = { 1: [0.02, 0.021, 0.0205], 2: [0.02, 0.025, 0.022], 4: [0.0138, 0.02, 0.0262], 8: [0.01, -0.01, 0.004] };
    const runs = [0, 1, 2].flatMap((seed) => [run({ ratio: 0, seed, final: { image_acc: control[seed] } }), ...Object.entries(gains).map(([ratio, g]) => run({ ratio: Number(ratio), seed, final: { image_acc: control[seed] + g[seed] } }))]);
    const c = compareRuns(runs, { metrics: ['image_acc'] });
    const treated = c.rows.filter((r) => r.role === 'treated');
    expect(c.family.image_acc).toBe(4);
    const raw = treated.map((r) => r.deltas.image_acc.pRaw!);
    const sorted = [...raw].sort((a, b) => a - b);
    for (const r of treated) {
      const rank = sorted.indexOf(r.deltas.image_acc.pRaw!);
      expect(r.deltas.image_acc.pHolm!).toBeGreaterThanOrEqual(Math.min(1, r.deltas.image_acc.pRaw! * (4 - rank)) - 1e-12);
    }
    const rawWins = treated.filter((r) => r.deltas.image_acc.pRaw! < 0.05).length;
    const holmWins = treated.filter((r) => r.deltas.image_acc.verdict === 'better').length;
    expect(rawWins).toBe(3);
    expect(holmWins).toBe(2);
    const headline = writeNarrative(c, { unfinished: [], orphans: [] }).headline.join(' ');
    expect(headline).toContain(`${holmWins} of 4 arms improve image accuracy significantly (paired t-test over seeds, Holm-adjusted over the 4 arms, p < 0.05, 95% CI excluding 0; ${rawWins} before the correction)`);
    // raw p only on request, in every format
    const table = formatComparison('table', c);
    expect(table).toMatch(/p \(Holm\)/);
    expect(table).not.toMatch(/p \(raw\)/);
    expect(formatComparison('table', c, [], {}, { rawP: true })).toMatch(/p \(Holm\) +p \(raw\)/);
    expect(formatComparison('markdown', c)).toMatch(/\| p \(Holm\) \|/);
    expect(formatComparison('csv', c).split('\n')[0]).toContain('image_acc_p_holm');
    expect(formatComparison('csv', c).split('\n')[0]).not.toContain('image_acc_p_raw');
    expect(formatComparison('csv', c, [], {}, { rawP: true }).split('\n')[0]).toContain('image_acc_p_raw');
    expect(formatComparison('json', c)).not.toContain('"pRaw"');
    const json = JSON.parse(formatComparison('json', c, [], {}, { rawP: true }));
    expect(json.rows.find((r: { role: string }) => r.role === 'treated').deltas.image_acc.pRaw).toBeGreaterThan(0);
    expect(json.legend.join(' ')).toMatch(/Holm-adjusted over the 4 arms tested against the control/);
    expect(table).toMatch(/No bootstrap interval: a bootstrap needs at least 10 seed pairs .* this study has at most 3\./);
  });
});

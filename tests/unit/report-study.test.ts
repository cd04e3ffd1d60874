// Reading synthetic run directories: states, orphans, errors users can cause, and the
// `mmrun compare` output formats.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../runner/cli.ts';
import { MmrunError } from '../../runner/errors.ts';
import { compareStudy, loadStudy } from '../../runner/report/study.ts';
import { effectSentence, writeNarrative } from '../../runner/report/narrative.ts';
import { experimentYaml, trueImageGain, writeRun, writeSyntheticStudy } from '../fixtures/runs-synthetic.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mmrun-report-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  try {
    const code = await main(args).catch((e: unknown) => {
      if (e instanceof MmrunError) {
        err.push(e.message + (e.hint ? `\n${e.hint}` : ''));
        return 1;
      }
      throw e;
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe('a study read from its run directories', () => {
  it('finds every run of the plan with its state and recovers the true effects', () => {
    const s = writeSyntheticStudy(dir, {
      seeds: 5,
      details: false,
      stateOf: (r) => (r.seed === 4 && r.coords['augmentation.ratio'] === 8 ? 'failed' : r.seed === 4 && r.coords['augmentation.ratio'] === 2 ? 'skip' : 'finished'),
    });
    const study = loadStudy(s.file);
    expect(study.artifactsDir).toBe(s.artifactsDir);
    expect(study.runs).toHaveLength(3 * 2 * 5);
    expect(study.orphans).toEqual([]);
    const c = compareStudy(study, {});
    expect(c.metrics).toEqual(['image_acc', 'text_acc', 'modality_gap', 'transfer_text_to_image_acc']);
    expect(c.rows).toHaveLength(6);
    for (const row of c.rows) {
      const ratio = row.values['augmentation.ratio'] as number;
      const frac = row.values['dataset.image_fraction'] as number;
      const total = Object.values(row.counts).reduce((a, b) => a + b, 0);
      expect(total).toBe(5);
      if (ratio === 8) expect(row.counts).toMatchObject({ finished: 4, failed: 1 });
      if (ratio === 2) expect(row.counts).toMatchObject({ finished: 4, missing: 1 });
      if (ratio === 0) {
        expect(row.role).toBe('control');
        continue;
      }
      const d = row.deltas.image_acc;
      expect(d.n).toBe(4);
      // seed effects cancel in the pairs: the estimate is within its CI of the true gain
      expect(d.ci![0]).toBeLessThan(trueImageGain(ratio, frac, 'baseline'));
      expect(d.ci![1]).toBeGreaterThan(trueImageGain(ratio, frac, 'baseline'));
      expect(d.pHolm!).toBeLessThan(0.01);
      expect(d.pHolm!).toBeGreaterThanOrEqual(d.pRaw!); // Holm over the 4 treated arms
    }
    const failed = c.unfinished.find((r) => r.state === 'failed')!;
    expect(failed.problem).toBe('oom: out of memory');
  });

  it('lists runs from an older version of the file apart, never mixed in', () => {
    const s = writeSyntheticStudy(dir, { ratios: [0, 4], fractions: [], seeds: 2, details: false });
    // The user edits the file: every run id changes.
    writeFileSync(s.file, experimentYaml({ ratios: [0, 4], fractions: [], seeds: 2 }, s.artifactsDir).replace('  max_test: 200', '  max_test: 100'));
    const edited = loadStudy(s.file);
    expect(edited.orphans).toHaveLength(4);
    expect(edited.runs.every((r) => r.state === 'missing')).toBe(true);
    expect(() => compareStudy(edited, {})).toThrow(/No finished run yet for experiment 'synth'.*4 not started.*4 run directories .* older version/s);

    writeRun(edited.artifactsDir, edited.plan, edited.plan.runs[0], 'finished');
    const again = loadStudy(s.file);
    const c = compareStudy(again, {});
    expect(c.rows.reduce((n, r) => n + r.counts.finished, 0)).toBe(1);
    expect(again.orphans.map((r) => r.id).sort()).toEqual(s.plan.runs.map((r) => r.id).sort());
  });

  it('ignores run directories of other experiments in the same artifacts folder', () => {
    const s = writeSyntheticStudy(dir, { ratios: [0, 4], fractions: [], seeds: 1, details: false });
    writeSyntheticStudy(dir, { name: 'other', ratios: [0, 1], fractions: [], seeds: 1, details: false });
    expect(loadStudy(s.file).orphans).toEqual([]);
  });

  it('says clearly when no run has finished', () => {
    const s = writeSyntheticStudy(dir, { ratios: [0, 4], fractions: [], seeds: 2, stateOf: (r) => (r.seed === 0 ? 'running' : 'skip') });
    expect(() => compareStudy(loadStudy(s.file), {})).toThrow(/No finished run yet for experiment 'synth' \(4 runs in the plan: 2 running, 2 not started/);
  });

  it('rejects an unknown metric, listing the available ones', () => {
    const s = writeSyntheticStudy(dir, { ratios: [0, 4], fractions: [], seeds: 2, details: false });
    const study = loadStudy(s.file);
    expect(() => compareStudy(study, { metrics: ['image_accuracy'] })).toThrow(/Unknown metric 'image_accuracy'\. Metrics in the finished runs: image_acc, modality_gap, retrieval_i2t_r1/);
    expect(() => compareStudy(study, { sort: 'f1' })).toThrow(/Unknown metric 'f1'/);
    expect(() => compareStudy(study, { by: ['dataset.nope'] })).toThrow(/--by 'dataset.nope'.*Grid axes: augmentation.ratio/);
  });

  it('writes the summary sentence from the numbers', () => {
    const s = writeSyntheticStudy(dir, { ratios: [0, 8], fractions: [0.01], seeds: 5, details: false });
    const c = compareStudy(loadStudy(s.file), {});
    const row = c.rows.find((r) => r.role === 'treated')!;
    const d = row.deltas.image_acc;
    const pts = (x: number) => (x * 100).toFixed(1);
    expect(effectSentence(c, row, 'image_acc')).toContain(
      `ratio 8: +${pts(d.meanDiff)} points image accuracy at 1% images, 95% CI [+${pts(d.ci![0])}, +${pts(d.ci![1])}], p (Holm) ${d.pHolm! < 0.001 ? '< 0.001' : `= ${d.pHolm!.toFixed(3)}`}, n = 5; per-item test n/a (`,
    );
    const n = writeNarrative(c, { unfinished: [], orphans: [] });
    expect(n.headline.join(' ')).toMatch(/Against the control \(augmentation\.ratio = 0\), 1 of 1 arm improves image accuracy significantly \(paired t-test over seeds, Holm-adjusted over the 1 arm, p < 0\.05, 95% CI excluding 0\)\./);
  });
});

describe('mmrun compare', () => {
  it('prints one section per metric with the delta against the control', async () => {
    const s = writeSyntheticStudy(dir, { seeds: 3, details: false, stateOf: (r) => (r.seed === 2 && r.coords['augmentation.ratio'] === 2 ? 'running' : 'finished') });
    const { code, out } = await cli(['compare', s.file]);
    expect(code).toBe(0);
    expect(out).toMatch(/^image_acc \(%, differences in points\)$/m);
    expect(out).toMatch(/^ratio=0 frac=0\.01 +3\/3 .*control/m);
    expect(out).toMatch(/^ratio=2 frac=0\.01 +2\/3 .*\+\d\.\d \(n=2\).*1 running$/m);
    // the synthetic heartbeat is from 2026-01-01: flagged as stale
    expect(out).toMatch(/Not in the statistics \(not finished\):\n {2}ratio=2 image_fraction=0\.01 seed=2 \(\w{12}\): running — no heartbeat for \d+ days: the worker may be dead/);
  });

  it('shows n/a, not a fake interval, with a single seed', async () => {
    const s = writeSyntheticStudy(dir, { ratios: [0, 4], fractions: [], seeds: 1, details: false });
    const { code, out } = await cli(['compare', s.file, '--metric', 'image_acc']);
    expect(code).toBe(0);
    const row = out.split('\n').find((l) => l.startsWith('ratio=4'))!;
    expect(row).toMatch(/^ratio=4 +1\/1 +\d+\.\d +n\/a +[+-]?\d+\.\d \(n=1\) +n\/a +n\/a +n\/a +n\/a$/);
    expect(out).toMatch(/ratio=4: one seed pair: no interval, no test\./);
  });

  it('writes CSV, JSON and Markdown with the same numbers', async () => {
    const s = writeSyntheticStudy(dir, { ratios: [0, 4], fractions: [0.1], seeds: 3, details: false });
    const json = JSON.parse((await cli(['compare', s.file, '--format', 'json', '--metric', 'image_acc,modality_gap'])).out);
    expect(json.experiment).toBe('synth');
    expect(json.metrics).toEqual(['image_acc', 'modality_gap']);
    const treated = json.rows.find((r: { role: string }) => r.role === 'treated');
    expect(treated.deltas.image_acc.n).toBe(3);

    const csv = (await cli(['compare', s.file, '--format', 'csv', '--metric', 'image_acc'])).out.split('\n');
    const header = csv[0].split(',');
    expect(header.slice(0, 4)).toEqual(['augmentation.ratio', 'dataset.image_fraction', 'label', 'role']);
    const line = csv.find((l) => l.startsWith('4,'))!.split(',');
    expect(Number(line[header.indexOf('image_acc_mean')])).toBeCloseTo(treated.stats.image_acc.mean, 12);
    expect(Number(line[header.indexOf('image_acc_p_holm')])).toBeCloseTo(treated.deltas.image_acc.pHolm, 12);

    const md = (await cli(['compare', s.file, '--format', 'markdown', '--metric', 'image_acc', '--sort', 'image_acc'])).out;
    expect(md).toMatch(/^\| cell \| runs \| mean ± sd \| 95% CI \| Δ vs control/m);
    expect(md.indexOf('| ratio=4')).toBeLessThan(md.indexOf('| ratio=0')); // sorted best first
  });

  it('exits 1 with a message on bad input', async () => {
    const s = writeSyntheticStudy(dir, { ratios: [0, 4], fractions: [], seeds: 1, details: false });
    const bad = await cli(['compare', s.file, '--metric', 'acc']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/Unknown metric 'acc'\. Metrics in the finished runs: image_acc, /);
    const fmt = await cli(['compare', s.file, '--format', 'xml']);
    expect(fmt.code).toBe(1);
    expect(fmt.err).toMatch(/--format 'xml': expected one of table, csv, json, markdown/);
  });
});

describe('mmrun report', () => {
  it('writes the HTML file and its plots, and says which plots it could not draw', async () => {
    // A known +3-point effect for ratio 4 (the synthetic gain is 0 at the default image_fraction of 1).
    const s = writeSyntheticStudy(dir, { ratios: [0, 4], fractions: [], seeds: 2, details: false, imageEffect: (run) => (run.config.augmentation.ratio === 4 ? 0.03 : 0) });
    const out = join(dir, 'r', 'report.html');
    const { code, out: printed } = await cli(['report', s.file, '--out', out, '--no-png']);
    expect(code).toBe(0);
    expect(printed).toMatch(/^Report: .*report\.html \(2 plots, [\d.]+ s\)/);
    expect(printed).toMatch(/Note: Learning curves: not drawn/);
    expect(existsSync(join(dir, 'r', 'plots', 'image-accuracy.svg'))).toBe(true);
    expect(existsSync(join(dir, 'r', 'plots', 'image-accuracy.png'))).toBe(false);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<h1>synth</h1>');
    expect(html).toMatch(/ratio 4: \+[23]\.\d points image accuracy, 95% CI \[/);
  });

  it('writes to <artifacts>/reports/<experiment>/ by default, and refuses a study with no finished run', async () => {
    const s = writeSyntheticStudy(dir, { ratios: [0, 4], fractions: [], seeds: 1, details: false });
    expect((await cli(['report', s.file, '--no-png'])).code).toBe(0);
    expect(existsSync(join(s.artifactsDir, 'reports', 'synth', 'report.html'))).toBe(true);
    const empty = writeSyntheticStudy(join(dir, 'empty'), { ratios: [0, 4], fractions: [], seeds: 1, stateOf: () => 'skip' });
    const r = await cli(['report', empty.file]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/No finished run yet for experiment 'synth' \(2 runs in the plan: 2 not started/);
    expect(r.err).toMatch(/mmrun run /);
  });
});

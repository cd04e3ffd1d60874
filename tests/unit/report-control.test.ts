// Any arm as the control: --control <path>=<value> / ablation=<name>, report.control in the
// experiment file, pairing by seed, validation, and --by that pools the control with others.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../runner/cli.ts';
import { ConfigError, MmrunError } from '../../runner/errors.ts';
import { compareRuns, parseControl, type RunResult } from '../../runner/report/aggregate.ts';
import { compareStudy, loadStudy } from '../../runner/report/study.ts';
import { writeSyntheticStudy } from '../fixtures/runs-synthetic.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mmrun-control-'));
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

const DIM = 'model.projection.dim';
// dim 32 loses 2 points of image accuracy against dim 128, in every seed
const dimStudy = (o: { reportControl?: string } = {}) =>
  writeSyntheticStudy(dir, { ratios: [], fractions: [], grid: { [DIM]: [32, 128] }, ablation: true, seeds: 3, details: false, imageEffect: (r) => (r.config.model.projection.dim === 32 ? -0.02 : 0), ...o });

describe('parsing a control', () => {
  it('reads <path>=<value> with JSON values, or a plain string', () => {
    expect(parseControl('model.projection.dim=128', 'option')).toEqual({ key: DIM, value: 128, origin: 'option' });
    expect(parseControl('ablation=no_align', 'file')).toEqual({ key: 'ablation', value: 'no_align', origin: 'file' });
    expect(parseControl('dataset.image_fraction=0.10', 'option')!.value).toBe(0.1);
    expect(parseControl('model.projection.dim', 'option')).toBeUndefined();
    expect(parseControl('=3', 'option')).toBeUndefined();
  });
});

describe('any arm as the control', () => {
  it('--control model.projection.dim=128: Δ of dim 32 against dim 128, paired by seed and ablation', () => {
    const s = dimStudy();
    const c = compareStudy(loadStudy(s.file), { control: `${DIM}=128` });
    expect(c.control).toEqual({ key: DIM, value: 128, origin: 'option' });
    expect(c.by).toEqual([DIM, 'ablation']);
    // control value first within each ablation
    expect(c.rows.map((r) => `${r.label}:${r.role}`)).toEqual(['dim=128 baseline:control', 'dim=32 baseline:treated', 'dim=128 no_align:control', 'dim=32 no_align:treated']);
    for (const r of c.rows.filter((row) => row.role === 'treated')) {
      const d = r.deltas.image_acc;
      expect(d.n).toBe(3);
      expect(r.controlLabel).toBe(r.label.replace('dim=32', 'dim=128'));
      expect(d.meanDiff).toBeGreaterThan(-0.03); // -2 points plus per-run noise
      expect(d.meanDiff).toBeLessThan(-0.01);
      expect(d.verdict).toBe('worse');
    }
  });

  it('--control ablation=no_align makes the ablation the control', () => {
    const s = dimStudy();
    const c = compareStudy(loadStudy(s.file), { control: 'ablation=no_align' });
    const treated = c.rows.filter((r) => r.role === 'treated');
    expect(treated.map((r) => r.label)).toEqual(['dim=32 baseline', 'dim=128 baseline']);
    expect(treated.every((r) => r.deltas.image_acc.n === 3 && r.deltas.image_acc.meanDiff > 0)).toBe(true);
  });

  it('report.control in the experiment file is the default; --control overrides it', async () => {
    const s = dimStudy({ reportControl: `${DIM}=128` });
    const study = loadStudy(s.file);
    expect(compareStudy(study, {}).control).toEqual({ key: DIM, value: 128, origin: 'file' });
    expect(compareStudy(study, { control: 'ablation=baseline' }).control!.key).toBe('ablation');
    const { code, out } = await cli(['compare', s.file, '--metric', 'image_acc']);
    expect(code).toBe(0);
    expect(out).toMatch(/Δ: difference from the control arm, model\.projection\.dim = 128 \(report\.control\), same other coordinates and ablation, paired by seed\./);
    expect(out).toMatch(/^dim=32 baseline +3\/3 .* -\d\.\d \(n=3\)/m);
  });

  it('report.control does not change run ids (it does not shape a run)', () => {
    const plain = loadStudy(dimStudy().file).plan.runs.map((r) => r.id);
    rmSync(dir, { recursive: true, force: true });
    const withControl = loadStudy(dimStudy({ reportControl: `${DIM}=32` }).file).plan.runs.map((r) => r.id);
    expect(withControl).toEqual(plain);
  });

  it('report cannot be swept (it does not shape a run)', () => {
    const s = dimStudy();
    writeFileSync(s.file, readFileSync(s.file, 'utf8').replace('grid:\n', 'grid:\n  report.control: [auto, ablation=baseline]\n'));
    expect(() => loadStudy(s.file)).toThrow(/'report' does not shape a run and cannot be overridden per run/);
  });

  it('names a control value that no run has, with the values that exist', async () => {
    const s = dimStudy();
    const bad = await cli(['compare', s.file, '--control', `${DIM}=64`]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--control model\.projection\.dim=64: no run has model\.projection\.dim = 64; the values in this study are 32, 128/);
    expect((await cli(['compare', s.file, '--control', 'ablation=nope'])).err).toMatch(/no run has ablation = nope; the values in this study are baseline, no_align/);
    expect((await cli(['compare', s.file, '--control', 'dim128'])).err).toMatch(/--control 'dim128': expected <path>=<value>/);
    expect((await cli(['compare', s.file, '--control', 'model.nope=1'])).err).toMatch(/no run has a value at 'model\.nope'/);
  });

  it('locates a bad report.control at file:line:col', () => {
    const s = dimStudy({ reportControl: `${DIM}=64` });
    const study = loadStudy(s.file);
    let error: unknown;
    try {
      compareStudy(study, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const line = readFileSync(s.file, 'utf8').split('\n').findIndex((l) => l.includes('control:')) + 1;
    expect((error as Error).message).toMatch(new RegExp(`synth\\.yaml:${line}:\\d+: report\\.control 'model\\.projection\\.dim=64': no run has model\\.projection\\.dim = 64`));
  });

  it('rejects a malformed report.control when the file is loaded (schema pattern)', () => {
    const s = dimStudy();
    writeFileSync(s.file, readFileSync(s.file, 'utf8').replace('seeds: 3', 'report:\n  control: dim128\nseeds: 3'));
    expect(() => loadStudy(s.file)).toThrow(/synth\.yaml:\d+:\d+: must match .*got "dim128"/);
  });
});

describe('--by that leaves the control key out', () => {
  it('never fills "Δ vs control" with an ablation difference when rows pool the control arm', async () => {
    const s = dimStudy();
    const c = compareStudy(loadStudy(s.file), { by: [DIM] });
    expect(c.control).toEqual({ key: 'ablation', value: 'baseline', origin: 'default' });
    expect(c.rows.every((r) => r.role === 'mixed' && Object.keys(r.deltas).length === 0)).toBe(true);
    expect(c.controlNote).toMatch(/Rows pool the control arm \(the 'baseline' ablation\) with other arms because 'ablation' is not one of the grouping keys \(model\.projection\.dim\): no Δ is shown/);
    const { out } = await cli(['compare', s.file, '--by', DIM, '--metric', 'image_acc']);
    expect(out).not.toMatch(/Δ vs control/);
    expect(out).toMatch(/Rows pool the control arm/);
  });

  it('compares the dims when the control is the dim, pooling the ablations (each run paired with its own control)', () => {
    const s = dimStudy();
    const c = compareStudy(loadStudy(s.file), { by: [DIM], control: `${DIM}=128` });
    const treated = c.rows.find((r) => r.role === 'treated')!;
    expect(treated.label).toBe('dim=32');
    expect(treated.deltas.image_acc.n).toBe(3); // 3 seeds × 2 ablations: the ablations are averaged within each seed
  });
});

describe('ambiguous controls', () => {
  it('says so when one control value matches two arms of the same cell', () => {
    const r = (ablation: string, seed: number, head: string): RunResult => ({ id: `${ablation}${seed}`, name: `${ablation} seed=${seed}`, coords: {}, ablation, seed, state: 'finished', config: { model: { head } }, final: { image_acc: 0.5 } });
    const runs = [0, 1].flatMap((seed) => [r('baseline', seed, 'shared'), r('frozen', seed, 'shared'), r('separate', seed, 'separate')]);
    expect(() => compareRuns(runs, { metrics: ['image_acc'], control: { key: 'model.head', value: 'shared', origin: 'option' } })).toThrow(/The control model\.head = shared is ambiguous/);
  });
});

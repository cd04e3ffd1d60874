// Run files read back are verified (docs/contracts.md, "Run directory"): spec.json, summary.json
// and embeddings.json carry a "sha256" over their other fields; a damaged or edited file is a
// CorruptFileError naming it, and the readers (report/compare, status, predict) show the run
// with that reason instead of its numbers. Runs of an older mmrun (spec.json without runFormat)
// are read unverified and labelled so.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CorruptFileError } from '../../runner/files/verified.ts';
import { RunStore, RUN_FORMAT, type RunSummary } from '../../runner/track/run-store.ts';
import { migrateRunDir } from '../../runner/track/legacy-runs.ts';
import { loadPlanRuns, loadRunDetails } from '../../runner/report/load.ts';
import { compareRuns } from '../../runner/report/aggregate.ts';
import { compareStudy, loadStudy } from '../../runner/report/study.ts';
import { statusRows } from '../../runner/launch/sweep-status.ts';
import { main } from '../../runner/cli.ts';
import { quickstartPlan } from '../helpers/track-fixtures.ts';
import { writeSyntheticStudy } from '../fixtures/runs-synthetic.ts';
import { CORRUPTIONS, corrupt } from '../helpers/corrupt.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mmrun-runfiles-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const plan = quickstartPlan();
const summary: RunSummary = {
  runId: 'r',
  backend: 'cpu',
  durationS: 1.5,
  phases: { joint: { steps: 3, epochs: 1, metrics: { image_acc: 0.5 } } },
  final: { image_acc: 0.5, text_acc: 0.25 },
};

function newRun(): RunStore {
  return RunStore.create(join(dir, 'artifacts'), plan.runs[0], { sweepId: plan.sweepId, experimentFile: plan.file });
}

/** A run directory as an mmrun before checksums left it: plain spec.json and summary.json. */
function oldRun(): RunStore {
  const store = newRun();
  const { sha256: _a, runFormat: _b, ...spec } = JSON.parse(readFileSync(store.path('spec'), 'utf8'));
  writeFileSync(store.path('spec'), JSON.stringify(spec, null, 2));
  writeFileSync(store.path('summary'), JSON.stringify(summary, null, 2));
  return store;
}

const editJson = (file: string, edit: (o: Record<string, any>) => void) => {
  const o = JSON.parse(readFileSync(file, 'utf8'));
  edit(o);
  writeFileSync(file, JSON.stringify(o, null, 2) + '\n');
};

describe('summary.json is verified on read and stays plain JSON', () => {
  it('is written as the summary plus its "sha256", and read back equal', () => {
    const store = newRun();
    store.writeSummary(summary);
    const onDisk = JSON.parse(readFileSync(store.path('summary'), 'utf8'));
    expect(onDisk.final.image_acc).toBe(0.5); // users and MLflow see the same fields as before
    expect(onDisk.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(store.readSummaryChecked()).toEqual({ value: summary, verified: true, file: store.path('summary') });
    expect(store.readSpec().runFormat).toBe(RUN_FORMAT);
  });

  it('a number edited by hand: CorruptFileError naming the file, never the edited number', () => {
    const store = newRun();
    store.writeSummary(summary);
    editJson(store.path('summary'), (o) => (o.final.image_acc = 0.99));
    expect(() => store.readSummary()).toThrow(CorruptFileError);
    expect(() => store.readSummary()).toThrow(`${store.path('summary')} is corrupt: content does not match its "sha256" checksum`);
  });

  it('reformatting (other whitespace, same content) still verifies', () => {
    const store = newRun();
    store.writeSummary(summary);
    const o = JSON.parse(readFileSync(store.path('summary'), 'utf8'));
    writeFileSync(store.path('summary'), JSON.stringify(o));
    expect(store.readSummary()).toEqual(summary);
  });

  it('its checksum removed, in a run that always records one: corrupt, not "old format"', () => {
    const store = newRun();
    store.writeSummary(summary);
    editJson(store.path('summary'), (o) => {
      delete o.sha256;
      o.final.image_acc = 0.99;
    });
    expect(() => store.readSummary()).toThrow(/summary\.json is corrupt: no "sha256" checksum, though this run was written by an mmrun that always records one/);
  });

  for (const how of CORRUPTIONS) {
    it(`${how}: CorruptFileError naming summary.json`, () => {
      const store = newRun();
      store.writeSummary(summary);
      corrupt(store.path('summary'), how);
      expect(() => store.readSummary()).toThrow(CorruptFileError);
      expect(() => store.readSummary()).toThrow(store.path('summary'));
    });
  }

  it('an older run (no runFormat in spec.json, no checksum) is read unverified, and labelled so', () => {
    const store = oldRun();
    expect(store.readSummaryChecked()).toEqual({ value: summary, verified: false, file: store.path('summary') });
    expect(store.readSpecChecked().verified).toBe(false);
  });

  it('an older run launched again keeps its old summary readable (unverified) until the worker rewrites it', () => {
    const store = oldRun();
    const again = newRun(); // the launcher writes spec.json again
    expect(again.readSpecChecked().verified).toBe(true);
    expect(again.readSpec().runFormat).toBeUndefined();
    expect(again.readSummaryChecked()).toMatchObject({ verified: false, value: summary });
    again.writeSummary(summary);
    expect(store.readSummaryChecked()).toMatchObject({ verified: true });
    // a run with nothing unchecked in it is marked, so a checksum dropped later is caught
    rmSync(store.path('summary'));
    expect(newRun().readSpec().runFormat).toBe(RUN_FORMAT);
  });

  it('an older run whose summary has a checksum that does not match is still corrupt', () => {
    const store = oldRun();
    store.writeSummary(summary); // a newer worker resumed it
    editJson(store.path('summary'), (o) => (o.durationS = 2));
    expect(() => store.readSummary()).toThrow(CorruptFileError);
  });

  it('a summary whose "final" holds something else than numbers is refused', () => {
    const store = newRun();
    store.writeSummary({ ...summary, final: { image_acc: '0.5' as unknown as number } });
    expect(() => store.readSummary()).toThrow(/summary\.json is corrupt: 'final' must map metric names to numbers/);
  });
});

describe('spec.json and embeddings.json follow the same rule', () => {
  it('spec.json edited by hand (another seed): CorruptFileError naming it', () => {
    const store = newRun();
    editJson(store.path('spec'), (o) => (o.seed = 7));
    expect(() => store.readSpec()).toThrow(`${store.path('spec')} is corrupt: content does not match its "sha256" checksum`);
  });

  it('embeddings.json: verified round trip; a flipped byte is corrupt; the report then has no embeddings and says why', () => {
    const store = newRun();
    const emb = { classes: ['a', 'b'], image: [{ label: 0, v: [1, 2] }], text: [{ label: 1, v: [3, 4] }] };
    store.writeEmbeddings(emb);
    expect(store.readEmbeddingsChecked()?.value).toEqual(emb);
    editJson(store.path('embeddings'), (o) => (o.image[0].label = 1));
    expect(() => store.readEmbeddingsChecked()).toThrow(CorruptFileError);
    const details = loadRunDetails(join(dir, 'artifacts'), plan.runs[0].id, { embeddings: true, metrics: false });
    expect(details.embeddings).toBeUndefined();
    expect(details.problems).toEqual([expect.stringContaining(`${store.path('embeddings')} is corrupt`)]);
  });
});

describe('moving an old run directory to its new id keeps what was unverified unverified', () => {
  it('no checksum is made up for an older run; a checked summary is re-checked with its new id', () => {
    const old = oldRun();
    const from = old.dir.split('/').pop()!;
    expect(migrateRunDir(join(dir, 'artifacts'), from, 'aaaaaaaaaaaa')).toBe(true);
    const moved = new RunStore(join(dir, 'artifacts', 'runs', 'aaaaaaaaaaaa'));
    expect(moved.readSummaryChecked()).toMatchObject({ verified: false, value: { ...summary, runId: 'aaaaaaaaaaaa' } });
    expect(JSON.parse(readFileSync(moved.path('summary'), 'utf8')).sha256).toBeUndefined();

    const fresh = newRun();
    fresh.writeSummary(summary);
    expect(migrateRunDir(join(dir, 'artifacts'), plan.runs[0].id, 'bbbbbbbbbbbb')).toBe(true);
    const moved2 = new RunStore(join(dir, 'artifacts', 'runs', 'bbbbbbbbbbbb'));
    expect(moved2.readSummaryChecked()).toMatchObject({ verified: true, value: { ...summary, runId: 'bbbbbbbbbbbb' } });
    expect(moved2.readSpecChecked()).toMatchObject({ verified: true, value: { id: 'bbbbbbbbbbbb', legacyId: plan.runs[0].id } });
  });
});

describe('readers: a damaged summary leaves the run out, with the reason', () => {
  it('report/compare: the run stays finished, is left out of the statistics, and the problem names the file', () => {
    const s = writeSyntheticStudy(dir, { seeds: 2, details: false, ratios: [0, 2], fractions: [0.1] });
    const victim = s.plan.runs[0];
    const file = join(s.artifactsDir, 'runs', victim.id, 'summary.json');
    editJson(file, (o) => (o.final.image_acc = 1));
    const loaded = loadPlanRuns(s.plan, s.artifactsDir);
    const run = loaded.runs.find((r) => r.id === victim.id)!;
    expect(run.state).toBe('finished');
    expect(run.final).toBeUndefined();
    expect(run.problem).toBe(`${file} is corrupt: content does not match its "sha256" checksum (damaged or edited by hand?)`);
    expect(loaded.warnings).toEqual([]);
    const c = compareRuns(loaded.runs, { metrics: ['image_acc'] });
    expect(c.problems).toEqual([`${victim.name} (${victim.id}): finished but ${run.problem}; left out`]);
    // the edited 1.0 is nowhere in the statistics: its row averages the other seed only
    const row = c.rows.find((r) => r.runIds.includes(victim.id))!;
    expect(row.seeds).not.toContain(victim.seed);
    expect(row.stats.image_acc.n).toBe(1);
    expect(row.stats.image_acc.mean).toBeLessThan(1);
  });

  it('report/compare: an older run\'s summary is used and labelled unverified', () => {
    const s = writeSyntheticStudy(dir, { seeds: 2, details: false, ratios: [0, 2], fractions: [0.1] });
    const victim = s.plan.runs[0];
    const store = new RunStore(join(s.artifactsDir, 'runs', victim.id));
    const { sha256: _a, runFormat: _b, ...spec } = JSON.parse(readFileSync(store.path('spec'), 'utf8'));
    writeFileSync(store.path('spec'), JSON.stringify(spec));
    editJson(store.path('summary'), (o) => delete o.sha256);
    const study = loadStudy(s.file);
    expect(study.runs.find((r) => r.id === victim.id)!.final?.image_acc).toBeTypeOf('number');
    expect(study.warnings).toEqual([`${victim.name} (${victim.id}): ${store.path('summary')} has no checksum (written by an mmrun before summaries were checked): its numbers are used unverified`]);
    expect(compareStudy(study, {}).problems).toEqual([]);
  });

  it('mmrun compare prints the left-out run and why', async () => {
    const s = writeSyntheticStudy(dir, { seeds: 2, details: false, ratios: [0, 2], fractions: [0.1] });
    const victim = s.plan.runs[1];
    const file = join(s.artifactsDir, 'runs', victim.id, 'summary.json');
    corrupt(file, 'truncate');
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
    const err = vi.spyOn(console, 'error').mockImplementation((...a) => void out.push(a.join(' ')));
    try {
      expect(await main(['compare', s.file])).toBe(0);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    expect(out.join('\n')).toContain(`${victim.name} (${victim.id}): finished but ${file} is corrupt: not valid JSON (truncated or overwritten?); left out`);
  });

  it('mmrun report prints the run left out and the damaged embeddings left out of the plots', async () => {
    const s = writeSyntheticStudy(dir, { seeds: 2, ratios: [0, 2], fractions: [0.1] });
    const [a] = s.plan.runs;
    const summaryFile = join(s.artifactsDir, 'runs', a.id, 'summary.json');
    corrupt(summaryFile, 'flip');
    for (const r of s.plan.runs) corrupt(join(s.artifactsDir, 'runs', r.id, 'embeddings.json'), 'truncate');
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...x) => void out.push(x.join(' ')));
    const err = vi.spyOn(console, 'error').mockImplementation((...x) => void out.push(x.join(' ')));
    try {
      expect(await main(['report', s.file, '--out', join(dir, 'out', 'report.html'), '--no-png'])).toBe(0);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    const printed = out.join('\n');
    expect(printed).toMatch(new RegExp(`warning: .*\\(${a.id}\\): finished but ${summaryFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is corrupt`));
    expect(printed).toMatch(/Note: Embeddings PCA: not drawn/);
    expect(printed).toMatch(/Note: Left out of the plots: \S+\/embeddings\.json is corrupt: not valid JSON \(truncated or overwritten\?\)\./);
  });

  it('mmrun status shows no metric for a damaged summary, and the reason instead', () => {
    const s = writeSyntheticStudy(dir, { seeds: 1, details: false, ratios: [0], fractions: [0.1] });
    const victim = s.plan.runs[0];
    const file = join(s.artifactsDir, 'runs', victim.id, 'summary.json');
    editJson(file, (o) => (o.final.image_acc = 1));
    const [row] = statusRows(s.plan, s.artifactsDir);
    expect(row.state).toBe('finished');
    expect(row.metric).toBeNull();
    expect(row.error).toContain(`${file} is corrupt`);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listRunDirs, RunStore, type MetricLine, type RunSummary } from '../../runner/track/run-store.ts';
import { quickstartPlan } from '../helpers/track-fixtures.ts';

const plan = quickstartPlan();
const sampleSpec = (o: { seed?: number } = {}) => plan.runs.find((r) => r.seed === (o.seed ?? 0))!;

let artifacts: string;
beforeEach(() => {
  artifacts = mkdtempSync(join(tmpdir(), 'mmrun-runstore-'));
});
afterEach(() => rmSync(artifacts, { recursive: true, force: true }));

const line = (step: number): MetricLine => ({ t: new Date(0).toISOString(), phase: 'joint', kind: 'step', step, epoch: 0, metrics: { loss: 1 / (step + 1) } });

describe('RunStore', () => {
  it('creates a run dir with spec.json holding the RunSpec and its origin', () => {
    const spec = sampleSpec({ seed: 1 });
    const store = RunStore.create(artifacts, spec, { sweepId: 'demo-0011aabb', experimentFile: '/x/demo.yaml' });
    expect(store.dir).toBe(join(artifacts, 'runs', spec.id));
    const back = store.readSpec();
    expect(back.id).toBe(spec.id);
    expect(back.sweepId).toBe('demo-0011aabb');
    expect(back.experimentFile).toBe('/x/demo.yaml');
    expect(back.config.name).toBe(spec.config.name);
    expect(listRunDirs(artifacts)).toEqual([store.dir]);
  });

  it('replaces status.json atomically and leaves no temp files', () => {
    const store = RunStore.create(artifacts, sampleSpec(), { sweepId: 's', experimentFile: 'f' });
    expect(store.readStatus()).toBeUndefined();
    store.writeStatus({ state: 'queued', runId: store.readSpec().id, attempt: 1 });
    const s = store.updateStatus({ state: 'running', pid: 42, heartbeatAt: 'now' });
    expect(s).toMatchObject({ state: 'running', pid: 42, attempt: 1, runId: store.readSpec().id });
    expect(store.readStatus()).toEqual(s);
    expect(readdirSync(store.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('appends metrics and reads them back', () => {
    const store = RunStore.create(artifacts, sampleSpec(), { sweepId: 's', experimentFile: 'f' });
    store.appendMetrics(line(0), line(1));
    store.appendMetrics(line(2));
    const read = store.readMetrics();
    expect(read.problems).toEqual([]);
    expect(read.lines.map((l) => l.step)).toEqual([0, 1, 2]);
  });

  it('keeps the valid prefix of a truncated metrics file and reports the problem', () => {
    const store = RunStore.create(artifacts, sampleSpec(), { sweepId: 's', experimentFile: 'f' });
    store.appendMetrics(line(0), line(1));
    appendFileSync(store.path('metrics'), '{"t":"x","phase":"joint","kind":"st');
    const read = store.readMetrics();
    expect(read.lines.map((l) => l.step)).toEqual([0, 1]);
    expect(read.problems).toEqual(['metrics.jsonl:3: truncated last line (skipped)']);
    // A resumed worker appends on a fresh line: the broken line stays isolated.
    store.appendMetrics(line(2));
    const after = store.readMetrics();
    expect(after.lines.map((l) => l.step)).toEqual([0, 1, 2]);
    expect(after.problems).toEqual(['metrics.jsonl:3: not valid JSON (skipped)']);
  });

  it('reports lines of the wrong shape', () => {
    const store = RunStore.create(artifacts, sampleSpec(), { sweepId: 's', experimentFile: 'f' });
    writeFileSync(store.path('metrics'), JSON.stringify(line(0)) + '\n[1,2]\n{"phase":"joint","kind":"bogus","step":1,"metrics":{}}\n');
    const read = store.readMetrics();
    expect(read.lines).toHaveLength(1);
    expect(read.problems).toEqual([
      'metrics.jsonl:2: expected a JSON object (skipped)',
      'metrics.jsonl:3: \'kind\' must be step, epoch or eval (skipped)',
    ]);
  });

  it('writes and reads summary.json', () => {
    const store = RunStore.create(artifacts, sampleSpec(), { sweepId: 's', experimentFile: 'f' });
    const summary: RunSummary = { runId: 'r', backend: 'cpu', durationS: 1.5, phases: { joint: { steps: 3, epochs: 1, metrics: { image_acc: 0.5 } } }, final: { image_acc: 0.5 } };
    store.writeSummary(summary);
    expect(store.readSummary()).toEqual(summary);
    // Plain JSON for users and MLflow: the summary's own fields, plus its checksum.
    expect(JSON.parse(readFileSync(store.path('summary'), 'utf8'))).toEqual({ ...summary, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('refuses to open a folder that is not a run directory', () => {
    expect(() => RunStore.open(artifacts)).toThrow(/not a run directory/);
    expect(listRunDirs(join(artifacts, 'nope'))).toEqual([]);
  });
});

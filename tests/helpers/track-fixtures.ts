// Run directories as a worker would leave them, for the track/ tests: the real quickstart
// plan (runner/config + runner/sweep), and runs written through RunStore with plausible curves.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadExperiment } from '../../runner/config/index.ts';
import { planSweep, type Plan, type RunSpec } from '../../runner/sweep/index.ts';
import { writeJsonAtomic } from '../../runner/files/atomic.ts';
import { RunStore, sweepDirOf, type MetricLine, type RunState } from '../../runner/track/run-store.ts';

export const QUICKSTART = resolve(import.meta.dirname, '../../experiments/quickstart.yaml');

/** The quickstart plan; with `dir`, its experiment file is copied there (renamed `name`) so a test owns its sweep. */
export function quickstartPlan(dir?: string, name = 'quickstart'): Plan {
  let file = QUICKSTART;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    file = join(dir, `${name}.yaml`);
    writeFileSync(file, readFileSync(QUICKSTART, 'utf8').replace(/^name: quickstart$/m, `name: ${name}`));
  }
  return planSweep(loadExperiment(file));
}

/** What the launcher writes before starting workers: sweeps/<id>/plan.json. */
export function writePlan(artifactsDir: string, plan: Plan): void {
  const dir = sweepDirOf(artifactsDir, plan.sweepId);
  mkdirSync(dir, { recursive: true });
  writeJsonAtomic(join(dir, 'plan.json'), plan);
}

export interface FakeRun {
  store: RunStore;
  /** Metric lines written so far. */
  lines: MetricLine[];
}

/** Starts a run as a worker would: spec.json + status running. */
export function startRun(artifactsDir: string, plan: Plan, spec: RunSpec): FakeRun {
  const store = RunStore.create(artifactsDir, spec, { sweepId: plan.sweepId, experimentFile: plan.file });
  store.writeStatus({ state: 'running', runId: spec.id, attempt: 1, pid: process.pid, host: 'testhost', startedAt: new Date(Date.UTC(2026, 0, 1)).toISOString(), heartbeatAt: new Date().toISOString(), backend: 'cpu', phase: 'joint', epoch: 0 });
  return { store, lines: [] };
}

/** Appends `steps` step lines and one epoch line for `phase`, with a decreasing loss. */
export function trainEpoch(run: FakeRun, phase: string, epoch: number, steps: number): void {
  const spec = run.store.readSpec();
  const base = run.lines.filter((l) => l.phase === phase && l.kind === 'step').length;
  const t0 = Date.UTC(2026, 0, 1) + run.lines.length * 1000;
  const lines: MetricLine[] = [];
  for (let i = 0; i < steps; i++) {
    const step = base + i;
    const loss = 2.3 * Math.exp(-step / 40) + 0.1 + 0.02 * spec.seed;
    lines.push({ t: new Date(t0 + i * 1000).toISOString(), phase, kind: 'step', step, epoch, metrics: { loss, loss_image: loss * 0.6, samples_per_s: 1400 + i } });
  }
  lines.push({ t: new Date(t0 + steps * 1000).toISOString(), phase, kind: 'epoch', step: base + steps - 1, epoch, metrics: { val_image_acc: Math.min(0.99, 0.5 + 0.1 * epoch), val_text_acc: 0.4 + 0.1 * epoch } });
  run.store.appendMetrics(...lines);
  run.lines.push(...lines);
}

export function endRun(run: FakeRun, state: Exclude<RunState, 'queued' | 'running'>, error?: string): void {
  const spec = run.store.readSpec();
  run.store.writeSummary({
    runId: spec.id,
    backend: 'cpu',
    durationS: 12.5,
    phases: { joint: { steps: 10, epochs: 1, metrics: { image_acc: 0.8 } } },
    final: { image_acc: 0.8 + 0.01 * spec.seed, text_acc: 0.7, modality_gap: 0.3 },
  });
  run.store.updateStatus({
    state,
    endedAt: new Date(Date.UTC(2026, 0, 1, 1)).toISOString(),
    ...(error ? { error: { message: error, exitCode: 1, signal: null, cause: 'exception' as const } } : {}),
  });
}

/** A whole finished run: `epochs` epochs of `steps` steps in the joint phase. */
export function writeFinishedRun(artifactsDir: string, plan: Plan, spec: RunSpec, opts: { epochs?: number; steps?: number; state?: 'finished' | 'failed' | 'killed'; error?: string } = {}): FakeRun {
  const run = startRun(artifactsDir, plan, spec);
  for (let e = 0; e < (opts.epochs ?? 2); e++) trainEpoch(run, 'joint', e, opts.steps ?? 5);
  endRun(run, opts.state ?? 'finished', opts.error);
  return run;
}

/** Expected MLflow metric counts per key for a run directory's metric lines. */
export function expectedCounts(lines: MetricLine[]): Record<string, number> {
  const counts: Record<string, number> = {};
  // Batch values under train/, epoch means under epoch/ (plus an `epoch` point), evaluations
  // under the phase; machine figures (samples_per_s, rss_mb) stay in the run directory.
  const add = (key: string) => (counts[key] = (counts[key] ?? 0) + 1);
  for (const l of lines) {
    for (const name of Object.keys(l.metrics)) {
      if (l.kind === 'step' && (name === 'samples_per_s' || name === 'rss_mb')) continue;
      add(`${l.kind === 'step' ? 'train' : l.kind === 'epoch' ? 'epoch' : l.phase}/${name}`);
    }
    if (l.kind === 'epoch') add('epoch');
  }
  return counts;
}

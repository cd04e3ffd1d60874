// The sweep's analysis on its MLflow parent run: mmrun's report (HTML and plots), the comparison
// tables (CSV, JSON) and summary metrics per arm, built with runner/report's public functions.
// runner/track's sync calls it (as a SweepAnalyzer passed by commands and launch) once every
// planned run has ended, and again whenever the set of finished runs changes.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KeyValue, Metric } from '../track/mlflow-limits.ts';
import { fileSource, type ArtifactSource } from '../track/sync-artifacts.ts';
import type { SweepAnalysis } from '../track/sweep-analysis.ts';
import { leadingArm } from './leading-arm.ts';

/** MLflow metric keys allow letters, digits, `_ - . / :` and spaces. */
function keyPart(label: string): string {
  return label.replace(/=/g, '_').replace(/[^\w\-./: ]/g, '_');
}

/**
 * Builds the report (written where `mmrun report` writes it) and the summary of the arms: the
 * SweepAnalyzer that runner/track's sync is given by its callers.
 * Throws MmrunError when there is nothing to analyse (no finished run).
 * `step`: the version of the analysis (metrics of a later version are new points, never a second value at the same step).
 */
export async function buildSweepAnalysis(planFile: string, artifactsDir: string, step: number, now = Date.now()): Promise<SweepAnalysis> {
  // Loaded on first use: syncing runs of a sweep still in progress never needs the report.
  const report = await import('./index.ts');
  const study = report.loadStudy(planFile, { artifactsDir });
  const built = await report.buildReport(study, {});
  const comparison = report.compareStudy(study, {});
  const csv = report.formatComparison('csv', comparison, study.orphans);
  const json = report.formatComparison('json', comparison, study.orphans);

  const files: ArtifactSource[] = [fileSource('report/report.html', built.html)];
  const plotsDir = join(dirname(built.html), 'plots');
  if (existsSync(plotsDir)) {
    for (const f of readdirSync(plotsDir).sort()) {
      if (/\.(png|svg)$/.test(f) && statSync(join(plotsDir, f)).isFile()) files.push(fileSource(`report/plots/${f}`, join(plotsDir, f)));
    }
  }
  files.push({ path: 'report/comparison.csv', read: () => Buffer.from(csv) }, { path: 'report/comparison.json', read: () => Buffer.from(json) });

  const metrics: Metric[] = [];
  const tags: KeyValue[] = [];
  for (const m of comparison.metrics) {
    for (const row of comparison.rows) {
      const s = row.stats[m];
      if (!s || !Number.isFinite(s.mean)) continue;
      metrics.push({ key: `arm/${keyPart(row.label)}/${m}_mean`, value: s.mean, timestamp: now, step });
      if (Number.isFinite(s.std)) metrics.push({ key: `arm/${keyPart(row.label)}/${m}_std`, value: s.std, timestamp: now, step });
    }
    const best = leadingArm(comparison.rows, m);
    if (best) {
      metrics.push({ key: `best/${m}`, value: best.mean, timestamp: now, step });
      tags.push({ key: `mmrun.best_arm.${m}`, value: best.label });
    }
  }
  const finished = study.runs.filter((r) => r.state === 'finished').length;
  metrics.push({ key: 'runs_finished', value: finished, timestamp: now, step }, { key: 'runs_planned', value: study.plan.runs.length, timestamp: now, step });
  const params: KeyValue[] = [
    { key: 'seeds', value: String(study.plan.factors.seeds) },
    { key: 'ablations', value: String(study.plan.factors.ablations) },
    ...Object.keys(study.plan.factors.grid).map((path) => ({ key: `swept.${path}`, value: JSON.stringify([...new Set(study.plan.runs.map((r) => JSON.stringify(r.coords[path])))].map((v) => JSON.parse(v) as unknown)) })),
  ];
  if (comparison.control) tags.push({ key: 'mmrun.control', value: JSON.stringify(comparison.control) });
  return { files, metrics, params, tags };
}

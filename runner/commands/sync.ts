import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MmrunError } from '../errors.ts';
import type { Command } from './types.ts';
import {
  listRunDirs,
  localOnlyMessage,
  MlflowUnreachableError,
  resolveTrackingUri,
  RUN_FILES,
  RunStore,
  runDirOf,
  syncRuns,
  sweepUrl,
  type SyncReport,
} from '../track/index.ts';
import type { Plan } from '../track/plan-types.ts';
import { buildSweepAnalysis } from '../report/sweep-analysis.ts';
import type { Experiment } from '../config/types.gen.ts';

interface Target {
  runDirs: string[];
  plan?: Plan;
  config?: Pick<Experiment, 'tracking'>;
  artifactsDir: string;
  notes: string[];
}

async function targetOf(positionals: string[], artifactsDirOpt: string | undefined): Promise<Target> {
  if (positionals.length === 1 && /\.ya?ml$/i.test(positionals[0])) {
    const { planExperiment } = await import('../plan-experiment.ts');
    const { loaded, plan } = planExperiment(positionals[0], { adoptLegacyRunsIn: artifactsDirOpt ?? true });
    const artifactsDir = resolve(artifactsDirOpt ?? loaded.config.artifacts_dir);
    const runDirs = plan.runs.map((r) => runDirOf(artifactsDir, r.id)).filter((d) => existsSync(join(d, RUN_FILES.spec)));
    const notes = runDirs.length < plan.runs.length ? [`${plan.runs.length - runDirs.length} of the plan's ${plan.runs.length} runs have no run directory yet (not launched).`] : [];
    return { runDirs, plan, config: loaded.config, artifactsDir, notes };
  }
  if (positionals.length === 0) {
    const artifactsDir = resolve(artifactsDirOpt ?? 'artifacts');
    return { runDirs: listRunDirs(artifactsDir), artifactsDir, notes: [] };
  }
  const runDirs: string[] = [];
  for (const p of positionals) {
    if (existsSync(join(p, RUN_FILES.spec))) runDirs.push(resolve(p));
    else if (existsSync(join(p, 'runs')) && statSync(join(p, 'runs')).isDirectory()) runDirs.push(...listRunDirs(p));
    else throw new MmrunError(`mmrun sync: ${p} is neither an experiment file (.yaml), a run directory (with ${RUN_FILES.spec}) nor an artifacts folder (with runs/).`);
  }
  const config = runDirs.length ? RunStore.open(runDirs[0]).readSpec().config : undefined;
  return { runDirs, config, artifactsDir: resolve(artifactsDirOpt ?? join(runDirs[0] ?? 'artifacts', '..', '..')), notes: [] };
}

export function describeReport(r: SyncReport): string[] {
  const created = r.runs.filter((x) => x.created).length;
  const waiting = r.runs.filter((x) => x.skipped).length;
  const unchanged = r.runs.filter((x) => !x.skipped && !x.updated && x.artifactsSent.length === 0).length;
  const metrics = r.runs.reduce((a, x) => a + x.metricsSent, 0);
  const lines = [
    `Synced ${r.runs.length} run${r.runs.length === 1 ? '' : 's'} to ${r.uri}: ${created} created, ${r.runs.length - created - unchanged - waiting} updated, ${unchanged} already up to date${waiting ? `, ${waiting} not started yet` : ''}; ${metrics} metric values sent.`,
  ];
  for (const s of r.sweeps) lines.push(`  sweep ${s.sweepId} (${s.status}): ${sweepUrl(r.uri, s.experimentId, s.parentRunUuid)}`);
  return lines;
}

export const command: Command = {
  name: 'sync',
  summary: 'Send run directories to MLflow (idempotent: only what MLflow lacks)',
  usage: 'mmrun sync [experiment.yaml | run-dir...]',
  options: {
    uri: { type: 'string', description: 'MLflow server URL (default: tracking.uri, then MLFLOW_TRACKING_URI)' },
    'artifacts-dir': { type: 'string', description: "Artifacts folder (default: the experiment file's artifacts_dir, else ./artifacts)" },
  },
  async run({ positionals, values }) {
    const target = await targetOf(positionals, values['artifacts-dir'] as string | undefined);
    const uri = values.uri ? resolveTrackingUri({ tracking: { uri: values.uri as string, experiment: null, log_checkpoints: false, log_model: true } }) : resolveTrackingUri(target.config);
    if (!uri) {
      console.log(localOnlyMessage(target.artifactsDir));
      return 0;
    }
    for (const n of target.notes) console.log(n);
    if (target.runDirs.length === 0) {
      console.log(`No run directories to sync under ${target.artifactsDir}/runs.`);
      return 0;
    }
    let report: SyncReport;
    try {
      report = await syncRuns({ uri, runDirs: target.runDirs, plan: target.plan, analyzeSweep: buildSweepAnalysis });
    } catch (err) {
      if (err instanceof MlflowUnreachableError) {
        throw new MmrunError(`${err.message}. Nothing is lost: the run directories are kept; run \`mmrun sync\` again once the server is up.`);
      }
      throw err;
    }
    for (const line of describeReport(report)) console.log(line);
    for (const p of report.problems) console.error(`warning: ${p}`);
    return report.problems.length ? 1 : 0;
  },
};

/**
 * Run efficiency (issue 19): `npx tsx bench/efficiency.ts [--epochs N]`, or `npm run bench -- --efficiency`.
 * Samples/s of a real worker training the quickstart model (experiments/quickstart.yaml, one
 * run, joint phase: data batching, tokenised texts, validation every epoch, checkpoints and
 * progress included) against the bench's pure training step on the same model
 * (bench/worker.ts --preset quickstart), measured right before and right after the run.
 *
 * The real throughput is taken over the joint phase from its first logged step to its last
 * epoch line (so process start-up, dataset loading and the final test evaluation are outside
 * it); the time between an epoch's last training step and its epoch line (validation and the
 * checkpoint) is reported apart, as the part of the gap the loop itself does not explain.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface EfficiencyResult {
  /** Real worker samples/s over the joint phase (steps, validation, checkpoints). */
  run_samples_per_s: number;
  /** Samples/s while training only (step lines' own windows), inside the same run. */
  run_step_samples_per_s: number;
  /** bench/worker.ts's pure training step on the same model, mean of before and after. */
  bench_samples_per_s: number;
  /** run_samples_per_s ÷ bench_samples_per_s (target ≥ 0.9). */
  efficiency: number;
  /** Share of the phase spent between an epoch's last step and its epoch line (validation + checkpoint). */
  epoch_end_share: number;
  epochs: number;
  steps: number;
  /** Validation pairs scored at each epoch end (evaluation.val_items, or the whole split's size). */
  val_items: number;
}

interface MetricLine {
  t: string;
  phase: string;
  kind: string;
  step: number;
  epoch: number;
  metrics: Record<string, number>;
}

/** valItems: evaluation.val_items for the run (undefined: the quickstart's own setting; null: the whole validation split). */
function experiment(dir: string, epochs: number, valItems?: number | null): string {
  const source = readFileSync(path.join(ROOT, 'experiments', 'quickstart.yaml'), 'utf8');
  // One run of the quickstart study: its dataset and model, its joint phase, no sweep.
  const head = source.slice(0, source.indexOf('\nseeds:'));
  const text = head
    .replace(/^name: quickstart$/m, `name: efficiency\nartifacts_dir: ${path.join(dir, 'artifacts')}`)
    .replace(/^(\s+retrain:\n\s+enabled:) true/m, '$1 false')
    .replace(/^(\s+joint:\n\s+epochs:) \d+/m, `$1 ${epochs}`);
  if (!/enabled: false/.test(text) || !/^name: efficiency$/m.test(text)) throw new Error('experiments/quickstart.yaml changed shape: update bench/efficiency.ts');
  const evaluation = valItems === undefined ? '' : `\nevaluation: { val_items: ${valItems === null ? 'null' : valItems} }\n`;
  const file = path.join(dir, 'efficiency.yaml');
  writeFileSync(file, `${valItems === undefined ? text : text.replace(/^evaluation:.*(\n[ #].*)*/m, '')}${evaluation}\nseeds: [0]\n`);
  return file;
}

function mmrun(args: string[]): void {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'mmrun.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MMRUN_THREADS: '1' } });
  if (r.status !== 0) throw new Error(`mmrun ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(-1500)}`);
}

function benchStep(steps: number): number {
  const args = ['--import', 'tsx', 'bench/worker.ts', '--model', 'multimodal', '--preset', 'quickstart', '--steps', String(steps), '--warmup', String(steps)];
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MMRUN_THREADS: '1' } });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) throw new Error(`bench/worker.ts failed: ${r.stderr.slice(-800)}`);
  return (JSON.parse(line) as { train_samples_per_s: number }).train_samples_per_s;
}

/** Phase throughput and the epoch-end share from a run's metrics.jsonl. */
export function phaseThroughput(lines: MetricLine[], batch: number, phase = 'joint'): { samplesPerS: number; stepSamplesPerS: number; epochEndShare: number; steps: number; epochs: number } {
  const own = lines.filter((l) => l.phase === phase);
  const steps = own.filter((l) => l.kind === 'step');
  const epochs = own.filter((l) => l.kind === 'epoch');
  if (steps.length < 2 || epochs.length < 1) throw new Error(`too few ${phase} metric lines to measure (${steps.length} step, ${epochs.length} epoch lines)`);
  const t = (l: MetricLine) => Date.parse(l.t);
  const first = steps[0];
  const last = epochs[epochs.length - 1];
  const wall = (t(last) - t(first)) / 1000;
  const samples = (last.step - first.step) * batch;
  // Training-only rate: consecutive step lines within one epoch.
  let stepTime = 0;
  let stepCount = 0;
  for (let i = 1; i < steps.length; i++) {
    if (steps[i].epoch !== steps[i - 1].epoch) continue;
    stepTime += (t(steps[i]) - t(steps[i - 1])) / 1000;
    stepCount += steps[i].step - steps[i - 1].step;
  }
  const perStep = stepTime / Math.max(1, stepCount);
  // Epoch end: from the epoch's last step line to its epoch line, minus the steps still trained in between.
  let epochEnd = 0;
  for (const e of epochs) {
    const before = steps.filter((s) => t(s) <= t(e) && s.epoch === e.epoch).pop();
    if (!before || before === first) continue;
    epochEnd += Math.max(0, (t(e) - t(before)) / 1000 - (e.step - before.step) * perStep);
  }
  return { samplesPerS: samples / wall, stepSamplesPerS: batch / perStep, epochEndShare: epochEnd / wall, steps: last.step, epochs: epochs.length };
}

export function benchEfficiency(opts: { epochs?: number; benchSteps?: number; valItems?: number | null } = {}): EfficiencyResult {
  const dir = mkdtempSync(path.join(tmpdir(), 'mmrun-efficiency-'));
  try {
    const file = experiment(dir, opts.epochs ?? 3, opts.valItems);
    mmrun(['dataset', 'build', file]); // not timed: built once per machine in real use
    const before = benchStep(opts.benchSteps ?? 50);
    mmrun(['run', file, '--no-report']);
    const after = benchStep(opts.benchSteps ?? 50);
    const runs = path.join(dir, 'artifacts', 'runs');
    const runDir = path.join(runs, readdirSync(runs)[0]);
    const lines = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as MetricLine);
    const batch = 64; // training.joint.batch_size of the quickstart
    const p = phaseThroughput(lines, batch);
    const spec = JSON.parse(readFileSync(path.join(runDir, 'spec.json'), 'utf8')) as { config: { evaluation: { val_items: number | null } } };
    // The worker's log names the split sizes: "dataset <hash>: N train / M val / K test images".
    const valSplit = Number(/ (\d+) val \//.exec(readFileSync(path.join(runDir, 'log.txt'), 'utf8'))?.[1] ?? NaN);
    const valItems = Math.min(spec.config.evaluation.val_items ?? Infinity, valSplit);
    const bench = (before + after) / 2;
    const r2 = (x: number) => Number(x.toFixed(2));
    return {
      run_samples_per_s: Math.round(p.samplesPerS),
      run_step_samples_per_s: Math.round(p.stepSamplesPerS),
      bench_samples_per_s: Math.round(bench),
      efficiency: r2(p.samplesPerS / bench),
      epoch_end_share: r2(p.epochEndShare),
      epochs: p.epochs,
      steps: p.steps,
      val_items: valItems,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatEfficiency(e: EfficiencyResult): string {
  return (
    `run efficiency (quickstart model, joint phase, ${e.epochs} epochs / ${e.steps} steps): real worker ${e.run_samples_per_s} samples/s ` +
    `vs the bench's training step ${e.bench_samples_per_s} samples/s = ${(e.efficiency * 100).toFixed(0)}% (target ≥ 90%). ` +
    `Inside the run: training steps alone ${e.run_step_samples_per_s} samples/s (${((e.run_step_samples_per_s / e.bench_samples_per_s) * 100).toFixed(0)}% of the bench step); ` +
    `validation (${e.val_items} pairs) + checkpoint at epoch ends ${(e.epoch_end_share * 100).toFixed(0)}% of the phase.`
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const epochs = Number(process.argv[process.argv.indexOf('--epochs') + 1]) || 3;
  // --val-items N|all: override the quickstart's evaluation.val_items (e.g. `all` to measure validation on the whole split).
  const v = process.argv.includes('--val-items') ? process.argv[process.argv.indexOf('--val-items') + 1] : undefined;
  const e = benchEfficiency({ epochs, valItems: v === undefined ? undefined : v === 'all' ? null : Number(v) });
  console.log(process.argv.includes('--json') ? JSON.stringify(e, null, 2) : formatEfficiency(e));
}

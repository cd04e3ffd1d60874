// Exact resume on the default backend (wasm + mmrun's kernels): a run stopped mid-epoch in the
// joint phase, resumed, stopped mid-epoch in the retrain phase and resumed again (in a new
// process, as after a kill) ends with the final weights (and Adam moments), summary.json and
// metrics.jsonl of an uninterrupted run, bit for bit. Run twice, like the kernel suite: with the native kernels (train-resume-backends.test.ts)
// and with the WebAssembly ones only (train-resume-backends-wasm.test.ts); each file is its own
// process, so MMRUN_NATIVE_KERNELS is set before the backend loads.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { RunStore } from '../../runner/track/run-store.ts';
import { latestCheckpoint } from '../../runner/train/checkpoint.ts';
import type { DatasetLike } from '../../runner/train/data.ts';
import { stableLine } from '../../runner/train/history.ts';
import { JointStore } from '../../runner/train/joint-store.ts';
import { runWorker } from '../../runner/train/worker.ts';
import { syntheticDataset } from '../helpers/synthetic-dataset.ts';
import { makeRuns } from '../helpers/train-run.ts';

const ROOT = resolve(import.meta.dirname, '../..');

// 96 images in batches of 12: 8 steps per epoch, 2 epochs per phase. Dropout in both branches,
// warm-up, cosine and linear schedules, early stopping that never fires: every piece of state.
const PER_EPOCH = 8;
const OVERRIDES = {
  model: { backend: 'wasm', image: { dropout: 0.1 }, text: { dropout: 0.1 } },
  augmentation: { method: 'eda', ratio: 1 },
  training: {
    joint: { epochs: 2, batch_size: 12, schedule: 'cosine', warmup_steps: 3, early_stopping: { metric: 'loss', patience: 20, min_delta: 0 } },
    retrain: { enabled: true, epochs: 2, batch_size: 12, schedule: 'linear' },
  },
};
// Mid-epoch in each phase by default: the joint phase's second epoch, the retrain phase's first.
const STOPS = { joint: PER_EPOCH + 3, retrain: 5 };

const TRAIN = 96;
const dataset = syntheticDataset({ train: TRAIN }); // as tests/helpers/synthetic-worker.ts builds it
const retrainTexts = async (config: Experiment, d: DatasetLike) =>
  d.train.texts.flatMap((t, i) => Array.from({ length: config.augmentation.ratio }, (_, k) => ({ label: d.train.labels[i], text: `${t} variant ${k}`, source: i })));
const tmp = (label: string) => mkdtempSync(join(tmpdir(), `mmrun-resume-backend-${label}-`));

async function work(runDir: string, env: NodeJS.ProcessEnv = {}) {
  const lines: string[] = [];
  const code = await runWorker(runDir, { env, loadDataset: async () => dataset, retrainTexts, stepLogEvery: 1, log: (l) => lines.push(l), progressBar: false });
  return { code, log: lines.join('\n') };
}

/** The same worker in a fresh process (a fresh wasm heap, the native library loaded anew), as after a kill. */
async function workInChild(runDir: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/synthetic-worker.ts', runDir], {
    cwd: ROOT,
    env: { ...process.env, SYNTH_TRAIN: String(TRAIN) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return { code, log };
}

/**
 * Runs the worker and stops it right after `phase` step `step`: the step's metric line is written
 * before the worker yields to the event loop, where this timer sees it and creates the stop file,
 * which the worker checks before its next step.
 */
async function stopAfter(runDir: string, artifactsDir: string, phase: string, step: number) {
  const stopFile = join(artifactsDir, 'STOP');
  const run = work(runDir, { MMRUN_STOP_FILE: stopFile });
  const poll = setInterval(() => {
    if (!existsSync(stopFile) && RunStore.open(runDir).readMetrics().lines.some((l) => l.kind === 'step' && l.phase === phase && l.step >= step)) writeFileSync(stopFile, '');
  }, 1);
  try {
    return await run;
  } finally {
    clearInterval(poll);
    rmSync(stopFile, { force: true });
  }
}

function summaryOf(dir: string) {
  const s = RunStore.open(dir).readSummary() as unknown as Record<string, unknown> | undefined;
  expect(s, `${dir}: no summary.json`).toBeDefined();
  const { durationS: _d, jointReused: _j, ...rest } = s!;
  return rest;
}

function historyOf(dir: string) {
  const read = RunStore.open(dir).readMetrics();
  expect(read.problems, `${dir}/metrics.jsonl`).toEqual([]);
  return read.lines.map(stableLine);
}

/** The bytes of a phase's final checkpoint: every weight and Adam moment. */
function finalWeights(checkpointDir: string): Buffer {
  const latest = latestCheckpoint(checkpointDir);
  expect(latest, `${checkpointDir}: no checkpoint`).toBeDefined();
  return readFileSync(join(checkpointDir, latest!.name, 'weights.bin'));
}

/** The run's shared joint phase's checkpoints (its key is in summary.json). */
const jointCheckpoints = (run: { artifactsDir: string; runDir: string }) =>
  new JointStore(run.artifactsDir, summaryOf(run.runDir).jointKey as string).checkpointDir;

function newRun(label: string) {
  const { artifactsDir, runDirs } = makeRuns(tmp(label), OVERRIDES);
  expect(runDirs).toHaveLength(1);
  return { artifactsDir, runDir: runDirs[0] };
}

export function resumeSuite(mode: 'native' | 'wasm', stops = STOPS): void {
  const { joint: JOINT_STOP, retrain: RETRAIN_STOP } = stops;
  let ref: { artifactsDir: string; runDir: string };

  beforeAll(async () => {
    process.env.MMRUN_NATIVE_KERNELS = mode === 'native' ? '1' : '0';
    ref = newRun('ref');
    const r = await work(ref.runDir);
    expect(r.code, r.log).toBe(0);
  }, 600_000);

  describe(`exact resume on wasm (${mode === 'native' ? 'native kernels' : 'WebAssembly kernels only'})`, () => {
    it(mode === 'native' ? 'trains with the native kernels (this machine has a C compiler)' : 'trains with the WebAssembly kernels only', async () => {
      const { nativeActive } = await import('../../runner/model/backend/simd/module.ts');
      expect(nativeActive()).toBe(mode === 'native');
      expect(summaryOf(ref.runDir).backend).toMatch(mode === 'native' ? /^wasm\+native \(/ : /^wasm \(/);
      const steps = RunStore.open(ref.runDir).readMetrics().lines.filter((l) => l.kind === 'step');
      expect(steps.filter((l) => l.phase === 'joint')).toHaveLength(2 * PER_EPOCH);
      expect(steps.filter((l) => l.phase === 'retrain')).toHaveLength(2 * PER_EPOCH);
    });

    it(`stopped after joint step ${JOINT_STOP} and retrain step ${RETRAIN_STOP} (mid-epoch), resumed each time (the last time in a new process): weights, summary and history of the uninterrupted run, bit for bit`, async () => {
      const run = newRun('stopped');
      const first = await stopAfter(run.runDir, run.artifactsDir, 'joint', JOINT_STOP);
      expect(first.code, first.log).toBe(143);
      const second = await stopAfter(run.runDir, run.artifactsDir, 'retrain', RETRAIN_STOP);
      expect(second.code, second.log).toBe(143);
      expect(second.log).toContain(`joint: resumed from checkpoint joint-epoch${Math.floor(JOINT_STOP / PER_EPOCH)}-step${JOINT_STOP}`);
      const last = await workInChild(run.runDir);
      expect(last.code, last.log).toBe(0);
      expect(last.log).toContain(`retrain: resumed from checkpoint retrain-epoch${Math.floor(RETRAIN_STOP / PER_EPOCH)}-step${RETRAIN_STOP}`);

      // The joint phase's final weights and Adam moments, then the retrain phase's.
      expect(finalWeights(jointCheckpoints(run)).equals(finalWeights(jointCheckpoints(ref))), 'joint final checkpoint weights.bin').toBe(true);
      expect(finalWeights(join(run.runDir, 'checkpoints')).equals(finalWeights(join(ref.runDir, 'checkpoints'))), 'retrain final checkpoint weights.bin').toBe(true);
      const got = summaryOf(run.runDir);
      const want = summaryOf(ref.runDir);
      for (const [metric, value] of Object.entries(want.final as Record<string, number>)) expect((got.final as Record<string, number>)[metric], `final ${metric}`).toBe(value);
      expect(got).toEqual(want);
      const history = historyOf(run.runDir);
      const wantHistory = historyOf(ref.runDir);
      expect(history.length).toBe(wantHistory.length);
      history.forEach((line, i) => expect(line, `metrics.jsonl line ${i + 1}`).toEqual(wantHistory[i]));
    }, 600_000);
  });
}

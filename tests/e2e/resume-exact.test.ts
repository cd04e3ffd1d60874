// Exact resume: runs interrupted at several points (stop file mid-epoch in both phases, kill -9
// of the worker at a random step, kill -9 of the worker training a shared joint phase while a
// sibling waits and takes it over, a write failure) and resumed end with the summary.json metrics
// and metrics.jsonl history of uninterrupted runs, bit for bit (timestamps and throughput aside).
// Corrupt joint results and checkpoints are fallen back from, never trusted.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { RunStore, type RunStatus } from '../../runner/track/run-store.ts';
import type { DatasetLike } from '../../runner/train/data.ts';
import { stableLine } from '../../runner/train/history.ts';
import { runWorker } from '../../runner/train/worker.ts';
import { syntheticDataset } from '../helpers/synthetic-dataset.ts';
import { runMmrun } from '../helpers/launch-sweep.ts';
import { makeRuns } from '../helpers/train-run.ts';

const ROOT = resolve(import.meta.dirname, '../..');

// Two runs sharing one joint phase (3 epochs) then retraining with 1 or 2 extra texts per image
// (2 epochs); 160 images: 5 steps per epoch, 15 joint and 10 retrain steps. Dropout, warm-up, a
// cosine schedule and (never firing) early stopping, so every piece of state takes part.
const OVERRIDES = {
  model: { image: { dropout: 0.1 }, text: { dropout: 0.1 } },
  augmentation: { method: 'eda' },
  training: {
    joint: { epochs: 3, schedule: 'cosine', warmup_steps: 3, early_stopping: { metric: 'loss', patience: 20, min_delta: 0 } },
    retrain: { enabled: true, epochs: 2, schedule: 'linear' },
  },
  grid: { 'augmentation.ratio': [1, 2] },
};
const TRAIN = 160; // SYNTH_TRAIN of tests/helpers/synthetic-worker.ts
const PER_EPOCH = 5;
const JOINT_STEPS = 3 * PER_EPOCH;
const RETRAIN_STEPS = 2 * PER_EPOCH;

const tmp = (label: string) => mkdtempSync(join(tmpdir(), `mmrun-resume-${label}-`));
const dataset = syntheticDataset({ train: TRAIN });
const retrainTexts = async (config: Experiment, d: DatasetLike) =>
  d.train.texts.flatMap((t, i) => Array.from({ length: config.augmentation.ratio }, (_, k) => ({ label: d.train.labels[i], text: `${t} variant ${k}`, source: i })));

/** The worker in this process, exactly as tests/helpers/synthetic-worker.ts runs it in its own. */
async function work(runDir: string, env: NodeJS.ProcessEnv = {}) {
  const lines: string[] = [];
  const code = await runWorker(runDir, { env, loadDataset: async () => dataset, retrainTexts, stepLogEvery: 1, log: (l) => lines.push(l), progressBar: false });
  return { code, log: lines.join('\n') };
}

interface Worker {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function spawnWorker(runDir: string): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/synthetic-worker.ts', runDir], { cwd: ROOT, env: { ...process.env, SYNTH_TRAIN: String(TRAIN) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

/** Polls `probe` until it returns a value; fails (with the workers' output) if a worker ends first. */
async function waitFor<T>(what: string, probe: () => T | undefined, workers: Worker[] = []): Promise<T> {
  let ended = false;
  workers.forEach((w) => void w.exited.then(() => (ended = true)));
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (ended) throw new Error(`a worker ended before ${what}:\n${workers.map((w) => w.output()).join('\n---\n')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const statusOf = (dir: string): RunStatus | undefined => {
  try {
    return RunStore.open(dir).readStatus();
  } catch {
    return undefined; // being replaced right now
  }
};
const stepLines = (dir: string) => RunStore.open(dir).readMetrics().lines.filter((l) => l.kind === 'step');
/** A step in [lo, hi], drawn at random: where this test interrupts (printed on failure). */
const randomStep = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

function summaryOf(dir: string) {
  const s = RunStore.open(dir).readSummary();
  expect(s, `${dir}: no summary.json`).toBeDefined();
  // Time, and who trained the shared joint phase, legitimately differ from the reference.
  const { durationS: _d, jointReused: _j, ...rest } = s as unknown as Record<string, unknown>;
  return rest;
}

function historyOf(dir: string) {
  const read = RunStore.open(dir).readMetrics();
  expect(read.problems, `${dir}/metrics.jsonl`).toEqual([]);
  return read.lines.map(stableLine);
}

let ref: string[]; // run dirs of the uninterrupted reference

/** Summary metrics and history of each run equal the uninterrupted reference's, metric by metric. */
function expectSameAsReference(runDirs: string[], context: string) {
  runDirs.forEach((dir, i) => {
    expect(RunStore.open(dir).readStatus()?.state, `${context}: run ${i}`).toBe('finished');
    const got = summaryOf(dir);
    const want = summaryOf(ref[i]);
    for (const [metric, value] of Object.entries((want.final ?? {}) as Record<string, number>)) {
      expect((got.final as Record<string, number>)[metric], `${context}: run ${i} final ${metric}`).toBe(value);
    }
    expect(got, `${context}: run ${i} summary.json`).toEqual(want);
    const history = historyOf(dir);
    const wantHistory = historyOf(ref[i]);
    expect(history.length, `${context}: run ${i} metrics.jsonl lines`).toBe(wantHistory.length);
    expect(history, `${context}: run ${i} metrics.jsonl`).toEqual(wantHistory);
  });
}

beforeAll(async () => {
  ref = makeRuns(tmp('ref'), OVERRIDES).runDirs;
  for (const dir of ref) {
    const r = await work(dir);
    expect(r.code, r.log).toBe(0);
  }
  const lines = RunStore.open(ref[1]).readMetrics().lines;
  expect(lines.filter((l) => l.phase === 'joint' && l.kind === 'step')).toHaveLength(JOINT_STEPS);
  expect(lines.filter((l) => l.phase === 'retrain' && l.kind === 'step')).toHaveLength(RETRAIN_STEPS);
}, 900_000);

describe('exact resume', () => {
  it('stopped by the stop file mid-epoch in the joint phase, then again mid-epoch in the retrain phase', async () => {
    const { runDirs, artifactsDir } = makeRuns(tmp('stop'), OVERRIDES);
    const stopFile = join(artifactsDir, 'STOP');
    const stopAt = async (phase: string, step: number) => {
      const run = work(runDirs[0], { MMRUN_STOP_FILE: stopFile });
      const poll = setInterval(() => {
        if (stepLines(runDirs[0]).some((l) => l.phase === phase && l.step >= step)) writeFileSync(stopFile, '');
      }, 5);
      const r = await run;
      clearInterval(poll);
      rmSync(stopFile, { force: true });
      return r;
    };
    // The stop lands a step or two after the line is seen: still inside the epoch.
    const k1 = randomStep(PER_EPOCH + 1, 2 * PER_EPOCH - 3); // inside the second joint epoch
    const first = await stopAt('joint', k1);
    expect(first.code, first.log).toBe(143);
    const k2 = randomStep(1, PER_EPOCH - 3); // inside the first retrain epoch
    const second = await stopAt('retrain', k2);
    expect(second.code, second.log).toBe(143);
    expect(second.log, `joint stop after step ${k1}`).toMatch(/joint: resumed from checkpoint joint-epoch1-step\d+/);
    const last = await work(runDirs[0]);
    expect(last.code, last.log).toBe(0);
    expect(last.log, `retrain stop after step ${k2}`).toMatch(/retrain: resumed from checkpoint retrain-epoch0-step\d+/);
    const sibling = await work(runDirs[1]);
    expect(sibling.code, sibling.log).toBe(0);
    expectSameAsReference(runDirs, `stops after joint step ${k1} and retrain step ${k2}`);
  }, 900_000);

  it('kill -9 of the worker at a random step (read from status.json), then resumed', async () => {
    const { runDirs } = makeRuns(tmp('kill'), OVERRIDES);
    const phase = Math.random() < 0.5 ? 'joint' : 'retrain';
    const k = randomStep(2, (phase === 'joint' ? JOINT_STEPS : RETRAIN_STEPS) - 3);
    const w = spawnWorker(runDirs[0]);
    const seen = await waitFor(`${phase} step ${k}`, () => {
      const s = statusOf(runDirs[0]);
      return s?.phase === phase && (s.progress?.step ?? 0) >= k ? s.progress!.step : undefined;
    }, [w]);
    w.child.kill('SIGKILL');
    expect(await w.exited).toBeNull();
    expect(statusOf(runDirs[0])?.state).toBe('running'); // what a SIGKILL leaves
    const again = spawnWorker(runDirs[0]);
    expect(await again.exited, again.output()).toBe(0);
    const sibling = await work(runDirs[1]);
    expect(sibling.code, sibling.log).toBe(0);
    expectSameAsReference(runDirs, `kill -9 at ${phase} step ${seen} (aimed at ${k})`);
  }, 900_000);

  it('kill -9 of the worker training a shared joint phase: the waiting sibling takes it over, both histories whole', async () => {
    const { runDirs, artifactsDir } = makeRuns(tmp('takeover'), OVERRIDES);
    const workers = runDirs.map((d) => spawnWorker(d));
    const k = randomStep(PER_EPOCH + 2, JOINT_STEPS - 3); // after the first joint checkpoint
    // Wait for one to train the joint phase past step k while the other waits for it.
    const trainer = await waitFor(`a joint phase at step ${k} with a waiting sibling`, () => {
      const st = runDirs.map(statusOf);
      const t = st.findIndex((s) => s?.phase === 'joint' && (s.progress?.step ?? 0) >= k);
      return t >= 0 && st[1 - t]?.phase === 'waiting' ? t : undefined;
    }, workers);
    workers[trainer].child.kill('SIGKILL');
    expect(await workers[trainer].exited).toBeNull();
    const taker = workers[1 - trainer];
    expect(await taker.exited, taker.output()).toBe(0);
    expect(taker.output()).toMatch(/joint: resumed from checkpoint joint-epoch\d+/);
    // The killed run, started again, reuses the finished joint phase.
    const again = spawnWorker(runDirs[trainer]);
    expect(await again.exited, again.output()).toBe(0);
    expect(again.output()).not.toMatch(/joint: resumed from/);
    expectSameAsReference(runDirs, `kill -9 of the joint trainer (run ${trainer}) at step >= ${k}`);
    const result = JSON.parse(readFileSync(join(artifactsDir, 'joint', RunStore.open(runDirs[0]).readSummary()!.jointKey as string, 'result.json'), 'utf8'));
    expect(result.value.history.filter((l: { kind: string }) => l.kind === 'epoch')).toHaveLength(3);
  }, 900_000);

  it('kill -9 of the launcher while a run trains; the same command again: both runs as if never interrupted', async () => {
    const root = tmp('launcher');
    const { runDirs } = makeRuns(root, OVERRIDES);
    const file = join(root, 'exp.yaml');
    const env = {
      ...process.env,
      MLFLOW_TRACKING_URI: '',
      MMRUN_SKIP_PREPARE: '1',
      SYNTH_TRAIN: String(TRAIN),
      MMRUN_WORKER_COMMAND: JSON.stringify([process.execPath, '--import', 'tsx', join(ROOT, 'tests/helpers/synthetic-worker.ts')]),
    };
    const child = spawn(process.execPath, [join(ROOT, 'bin/mmrun.js'), 'run', file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const launcher: Worker = { child, output: () => out, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
    const k = randomStep(2, JOINT_STEPS - 3);
    const atK = (d: string) => statusOf(d)?.phase === 'joint' && (statusOf(d)?.progress?.step ?? 0) >= k;
    await waitFor(`joint step ${k} under the launcher`, () => (runDirs.some(atK) ? true : undefined), [launcher]);
    child.kill('SIGKILL');
    expect(await launcher.exited).toBeNull();
    const rerun = await runMmrun(['run', file], { cwd: ROOT, env, timeoutMs: 800_000 });
    expect(rerun.status, rerun.out).toBe(0);
    expectSameAsReference(runDirs, `kill -9 of the launcher at joint step >= ${k}`);
  }, 900_000);

  it('a write failure (metrics.jsonl cannot be appended to) fails the run; started again, it ends as if never interrupted', async () => {
    const { runDirs } = makeRuns(tmp('write'), OVERRIDES);
    const metrics = RunStore.open(runDirs[0]).path('metrics');
    const k = randomStep(PER_EPOCH + 1, JOINT_STEPS - 2);
    const run = work(runDirs[0]);
    let broke = false;
    const poll = setInterval(() => {
      if (!broke && stepLines(runDirs[0]).some((l) => l.step >= k)) {
        broke = true;
        renameSync(metrics, `${metrics}.aside`);
        mkdirSync(metrics); // appends now fail with EISDIR
      }
    }, 5);
    const failed = await run;
    clearInterval(poll);
    expect(failed.code, failed.log).toBe(1);
    expect(RunStore.open(runDirs[0]).readStatus()).toMatchObject({ state: 'failed', error: { message: expect.stringMatching(/EISDIR/) } });
    rmdirSync(metrics);
    renameSync(`${metrics}.aside`, metrics);
    const again = await work(runDirs[0]);
    expect(again.code, again.log).toBe(0);
    const sibling = await work(runDirs[1]);
    expect(sibling.code, sibling.log).toBe(0);
    expectSameAsReference(runDirs, `write failure after joint step ${k}`);
  }, 900_000);
});

describe('corrupt joint results and checkpoints', () => {
  const flipByte = (file: string) => {
    const b = readFileSync(file);
    b[Math.floor(b.length / 2)] ^= 0x01;
    writeFileSync(file, b);
  };

  it('a flipped byte in the joint result.json, then a zero-filled final joint checkpoint and a truncated retrain checkpoint: redone or fallen back, never trusted', async () => {
    const { runDirs, artifactsDir } = makeRuns(tmp('corrupt'), OVERRIDES);
    const first = await work(runDirs[0]);
    expect(first.code, first.log).toBe(0);
    const jointDir = join(artifactsDir, 'joint', RunStore.open(runDirs[0]).readSummary()!.jointKey as string);

    // 1. result.json does not verify: the sibling does not reuse it; it redoes the (finished) phase from its final checkpoint.
    flipByte(join(jointDir, 'result.json'));
    const sibling = await work(runDirs[1]);
    expect(sibling.code, sibling.log).toBe(0);
    expect(sibling.log).toMatch(new RegExp(`warning: joint phase [0-9a-f]+: ${join(jointDir, 'result.json')} is corrupt`));
    expect(sibling.log).toMatch(/joint: resumed from checkpoint joint-epoch3 /);
    expectSameAsReference(runDirs, 'after a corrupt result.json');

    // 2. The final joint checkpoint zero-filled and the run's last retrain checkpoint truncated:
    //    rerunning the finished run falls back to the previous checkpoints and replays.
    const weights = join(jointDir, 'checkpoints', 'joint-epoch3', 'weights.bin');
    writeFileSync(weights, Buffer.alloc(statSync(weights).size));
    const retrain = join(runDirs[0], 'checkpoints', 'retrain-epoch2', 'weights.bin');
    truncateSync(retrain, 100);
    const rerun = await work(runDirs[0]);
    expect(rerun.code, rerun.log).toBe(0);
    expect(rerun.log).toMatch(/warning: joint phase [0-9a-f]+: its final checkpoint is corrupt/);
    expect(rerun.log).toContain(`warning: checkpoint joint-epoch3 is not usable: ${weights} is corrupt`);
    expect(rerun.log).toMatch(/joint: resumed from checkpoint joint-epoch2 /);
    expect(rerun.log).toContain(`warning: checkpoint retrain-epoch2 is not usable: ${retrain} is corrupt: 100 bytes`);
    expect(rerun.log).toMatch(/retrain: resumed from checkpoint retrain-epoch1 /);
    expectSameAsReference(runDirs, 'after corrupt joint and retrain checkpoints');

    // 3. The joint phase's tokenizer damaged: rebuilt from the training texts (its build is
    //    deterministic), so the run still ends exactly as the reference.
    const tokenizerFile = join(jointDir, 'tokenizer.json');
    flipByte(tokenizerFile);
    const again = await work(runDirs[1]);
    expect(again.code, again.log).toBe(0);
    expect(again.log).toContain(`warning: ${tokenizerFile} is corrupt`);
    expect(again.log).toContain('rebuilding it from the training texts');
    expectSameAsReference(runDirs, 'after a corrupt joint tokenizer');
  }, 900_000);
});

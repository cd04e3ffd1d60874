// End-to-end training through the worker on a tiny synthetic image/text dataset (CPU backend).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { RunStore } from '../../runner/track/run-store.ts';
import type { DatasetLike } from '../../runner/train/data.ts';
import { runWorker } from '../../runner/train/worker.ts';
import { syntheticDataset } from '../helpers/synthetic-dataset.ts';
import { makeRuns } from '../helpers/train-run.ts';

const METRICS = [
  'image_acc',
  'text_acc',
  'modality_gap',
  'retrieval_i2t_r1',
  'retrieval_i2t_r5',
  'retrieval_t2i_r1',
  'retrieval_t2i_r5',
  'transfer_text_to_image_acc',
  'transfer_image_to_text_acc',
  'val_image_acc',
  'val_text_acc',
  'train_steps',
  'train_texts',
  'train_images',
];

const tmp = (label: string) => mkdtempSync(join(tmpdir(), `mmrun-${label}-`));

async function work(runDir: string, dataset: DatasetLike = syntheticDataset({ train: 320 }), extra: Parameters<typeof runWorker>[1] = {}) {
  const lines: string[] = [];
  const code = await runWorker(runDir, { loadDataset: async () => dataset, log: (l) => lines.push(l), progressBar: false, ...extra });
  return { code, lines };
}

describe('worker', () => {
  it('trains a tiny run that beats chance on both modalities and writes a complete run directory', async () => {
    const { runDirs, artifactsDir } = makeRuns(tmp('e2e'));
    const { code, lines } = await work(runDirs[0]);
    expect(code, lines.join('\n')).toBe(0);
    const store = RunStore.open(runDirs[0]);
    expect(store.readStatus()).toMatchObject({ state: 'finished', backend: 'cpu', phase: 'joint', endedAt: expect.any(String) });
    const summary = store.readSummary()!;
    for (const m of METRICS) expect(summary.final[m], m).toEqual(expect.any(Number));
    expect(summary.final.image_acc).toBeGreaterThan(0.6); // chance: 0.25
    expect(summary.final.text_acc).toBeGreaterThan(0.6);
    expect(summary.perClass!.image_acc).toHaveLength(4);
    expect(summary.confusion!.text.flat().reduce((a, b) => a + b, 0)).toBe(80);
    const kinds = new Set(store.readMetrics().lines.map((l) => `${l.phase}/${l.kind}`));
    expect([...kinds].sort()).toEqual(['joint/epoch', 'joint/eval', 'joint/step']);
    expect(existsSync(store.path('tokenizer'))).toBe(true);
    const emb = JSON.parse(readFileSync(store.path('embeddings'), 'utf8'));
    expect(emb.image).toHaveLength(20);
    expect(emb.text[0].v).toHaveLength(16);
    expect(emb.text[0].xy).toHaveLength(2);
    expect(readdirSync(join(artifactsDir, 'joint'))).toHaveLength(1);
  }, 600_000);

  it('gives the same metrics twice with the same seed', async () => {
    const a = makeRuns(tmp('det-a'));
    const b = makeRuns(tmp('det-b'));
    await work(a.runDirs[0]);
    await work(b.runDirs[0]);
    const final = (dir: string) => RunStore.open(dir).readSummary()!.final;
    expect(final(b.runDirs[0])).toEqual(final(a.runDirs[0]));
  }, 600_000);

  it('trains the joint phase once for several retrain runs, and every ratio takes the same steps', async () => {
    const { runDirs, artifactsDir } = makeRuns(tmp('retrain'), {
      augmentation: { method: 'eda' },
      training: { joint: { epochs: 2 }, retrain: { enabled: true, epochs: 2 } },
      grid: { 'augmentation.ratio': [0, 1, 3] },
    });
    expect(runDirs).toHaveLength(3);
    const retrainTexts = async (config: Experiment, d: DatasetLike) =>
      d.train.texts.flatMap((t, i) => Array.from({ length: config.augmentation.ratio }, (_, k) => ({ label: d.train.labels[i], text: `${t} variant ${k}`, source: i })));
    const logs: string[][] = [];
    for (const dir of runDirs) logs.push((await work(dir, undefined, { retrainTexts })).lines);
    expect(readdirSync(join(artifactsDir, 'joint'))).toHaveLength(1);
    expect(logs.filter((l) => l.some((x) => x.startsWith('joint ')))).toHaveLength(1); // only the first trained it
    const summaries = runDirs.map((d) => RunStore.open(d).readSummary()!);
    const steps = summaries.map((s) => s.phases.retrain.steps);
    expect(new Set(steps).size).toBe(1);
    expect(steps[0]).toBe(2 * 10); // 2 epochs × ceil(320/32)
    expect(summaries.map((s) => s.phases.retrain.metrics.train_texts)).toEqual([320, 640, 1280]);
    expect(summaries.map((s) => s.phases.joint.metrics.image_acc)).toEqual(new Array(3).fill(summaries[0].phases.joint.metrics.image_acc));
    // Reusing runs still show the joint curve in their own metrics.
    expect(RunStore.open(runDirs[2]).readMetrics().lines.some((l) => l.phase === 'joint' && l.kind === 'epoch')).toBe(true);
  }, 600_000);

  it('stops as killed on MMRUN_STOP_FILE after a checkpoint, and resumes when started again', async () => {
    const root = tmp('stop');
    const again = makeRuns(root);
    const stopFile = join(root, 'STOP');
    let steps = 0;
    const store = RunStore.open(again.runDirs[0]);
    const stopping = work(again.runDirs[0], undefined, { env: { MMRUN_STOP_FILE: stopFile }, stepLogEvery: 1, log: () => {} });
    const poll = setInterval(() => {
      steps = store.readMetrics().lines.filter((l) => l.kind === 'step').length;
      if (steps >= 3) writeFileSync(stopFile, '');
    }, 5);
    const stopped = await stopping;
    clearInterval(poll);
    expect(stopped.code).toBe(143);
    expect(store.readStatus()).toMatchObject({ state: 'killed', error: { cause: 'killed' } });
    const resumed = await work(again.runDirs[0]);
    expect(resumed.code).toBe(0);
    expect(resumed.lines.join('\n')).toMatch(/resumed from checkpoint joint-epoch0-step\d+/);
    expect(store.readStatus()!.state).toBe('finished');
  }, 600_000);

  it('resumes from the last epoch checkpoint after SIGKILL mid-epoch', async () => {
    const { runDirs } = makeRuns(tmp('kill'), { training: { joint: { epochs: 3 } } }); // 800 images: 25 steps per epoch
    const store = RunStore.open(runDirs[0]);
    const start = () =>
      spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/synthetic-worker.ts', runDirs[0]], {
        cwd: process.cwd(),
        env: { ...process.env, SYNTH_TRAIN: '800' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    const child = start();
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const killedAt = await new Promise<number>((resolve, reject) => {
      const poll = setInterval(() => {
        const lines = store.readMetrics().lines;
        const epochDone = lines.some((l) => l.kind === 'epoch' && l.epoch === 1);
        const stepsAfter = lines.filter((l) => l.kind === 'step' && l.epoch === 2).length;
        if (epochDone && stepsAfter >= 5) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve(Math.max(...lines.map((l) => l.step)));
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(poll);
        reject(new Error(`worker exited before it could be killed:\n${out}`));
      });
    });
    await new Promise((r) => child.once('exit', r));
    expect(store.readStatus()!.state).toBe('running'); // what a SIGKILL leaves behind
    expect(killedAt).toBeGreaterThan(25);

    const second = start();
    let out2 = '';
    second.stdout.on('data', (d) => (out2 += d));
    second.stderr.on('data', (d) => (out2 += d));
    const code = await new Promise<number | null>((r) => second.on('exit', r));
    expect(code, out2).toBe(0);
    expect(out2).toMatch(/joint: resumed from checkpoint joint-epoch1 \(epoch 1, step 25\/75\)/);
    const summary = store.readSummary()!;
    expect(summary.phases.joint.steps).toBe(75);
    expect(store.readStatus()!.state).toBe('finished');
  }, 600_000);
  it('checkpoints and exits as killed (143) on SIGTERM', async () => {
    const { runDirs } = makeRuns(tmp('term'));
    const store = RunStore.open(runDirs[0]);
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/synthetic-worker.ts', runDirs[0]], {
      cwd: process.cwd(),
      env: { ...process.env, SYNTH_TRAIN: '1600' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const poll = setInterval(() => {
      if (store.readMetrics().lines.filter((l) => l.kind === 'step').length >= 3) {
        clearInterval(poll);
        child.kill('SIGTERM');
      }
    }, 20);
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    clearInterval(poll);
    expect(code, out).toBe(143);
    expect(store.readStatus()).toMatchObject({ state: 'killed', error: { signal: 'SIGTERM', cause: 'killed' } });
    expect(out).toMatch(/joint: checkpoint joint-epoch0-step\d+/);
  }, 600_000);
  it('two workers started together on runs sharing a joint phase train it once', async () => {
    const { runDirs, artifactsDir } = makeRuns(tmp('concurrent'), {
      augmentation: { method: 'eda' },
      training: { joint: { epochs: 3 }, retrain: { enabled: true, epochs: 1 } }, // long enough for the second to wait
      grid: { 'augmentation.ratio': [0, 2] },
    });
    const outputs = await Promise.all(
      runDirs.map(
        (dir) =>
          new Promise<{ code: number | null; out: string }>((resolve) => {
            const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/synthetic-worker.ts', dir], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
            let out = '';
            child.stdout.on('data', (d) => (out += d));
            child.stderr.on('data', (d) => (out += d));
            child.on('exit', (code) => resolve({ code, out }));
          }),
      ),
    );
    for (const o of outputs) expect(o.code, o.out).toBe(0);
    expect(outputs.filter((o) => /\] joint [0-9a-f]{12}: \d+ images/.test(o.out))).toHaveLength(1);
    expect(outputs.filter((o) => /is being trained by pid \d+/.test(o.out))).toHaveLength(1);
    expect(readdirSync(join(artifactsDir, 'joint'))).toHaveLength(1);
    const summaries = runDirs.map((d) => RunStore.open(d).readSummary()!);
    expect(summaries[0].phases.joint).toEqual(summaries[1].phases.joint);
    expect(summaries[0].phases.retrain.steps).toBe(summaries[1].phases.retrain.steps);
  }, 600_000);
  it('fails the run with cause nan, naming the step, when the loss diverges', async () => {
    const { runDirs } = makeRuns(tmp('nan'), { model: { projection: { normalize: false } }, training: { joint: { optimizer: 'momentum', learning_rate: 10 } } });
    const { code } = await work(runDirs[0]);
    expect(code).toBe(1);
    const status = RunStore.open(runDirs[0]).readStatus()!;
    expect(status.state).toBe('failed');
    expect(status.error).toMatchObject({ cause: 'nan', exitCode: 1 });
    expect(status.error!.message).toMatch(/the loss is not finite at step \d+ \(loss=/);
  }, 600_000);
});

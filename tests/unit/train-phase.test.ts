import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolvePresets } from '../../runner/config/presets.ts';
import type { Model, Phase } from '../../runner/config/types.gen.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
import { Network } from '../../runner/model/network.ts';
import { Tokenizer } from '../../runner/model/tokenizer.ts';
import { latestCheckpoint } from '../../runner/train/checkpoint.ts';
import { TrainSet } from '../../runner/train/data.ts';
import { NonFiniteLossError, runPhase } from '../../runner/train/phase.ts';
import { learningRateAt } from '../../runner/train/schedule.ts';
import { syntheticDataset } from '../helpers/synthetic-dataset.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerGradients();
});

const ds = syntheticDataset({ train: 96, val: 16, test: 16 });
const model = resolvePresets({
  backend: 'cpu',
  image: { preset: 'medium', filters: [4], dense: 8 },
  text: { preset: 'small', tokenizer: 'word', vocab_size: 100, pooling: 'mean', width: 8, heads: 2, mlp: 16, max_len: 10, dropout: 0.1 },
  projection: { dim: 8, layers: 1, normalize: true },
  head: 'shared',
} as Model);
const tok = Tokenizer.build(ds.train.texts, { kind: 'word', vocabSize: 100, maxLen: 10, addCls: false });
const phase = (over: Partial<Phase> = {}): Phase => ({
  enabled: true,
  epochs: 2,
  batch_size: 16,
  optimizer: 'adam',
  learning_rate: 0.01,
  schedule: 'cosine',
  warmup_steps: 2,
  loss_weights: { image: 1, text: 1, align: 0.5 },
  freeze: [],
  early_stopping: null,
  ...over,
});
const newNet = () => new Network({ model, imageShape: ds.shape, numClasses: 4, vocabSize: tok.vocabSize, temperature: 0.07, seed: 5 });
const weightsOf = (net: Network) => net.params.params.map((p) => Array.from(p.variable.dataSync()));

describe('learningRateAt', () => {
  it('warms up linearly, then follows the schedule down to 0', () => {
    const p = { learning_rate: 0.1, schedule: 'cosine' as const, warmup_steps: 10 };
    expect(learningRateAt(p, 0, 110)).toBeCloseTo(0.01);
    expect(learningRateAt(p, 9, 110)).toBeCloseTo(0.1);
    expect(learningRateAt(p, 60, 110)).toBeCloseTo(0.05);
    expect(learningRateAt({ ...p, schedule: 'linear' }, 60, 110)).toBeCloseTo(0.05);
    expect(learningRateAt({ ...p, schedule: 'linear' }, 110, 110)).toBeCloseTo(0);
    expect(learningRateAt({ ...p, schedule: 'constant' }, 100, 110)).toBe(0.1);
  });
});

describe('runPhase', () => {
  it('stopped mid-epoch and resumed, ends with exactly the weights of an uninterrupted phase', async () => {
    const straight = newNet();
    await runPhase({ name: 'joint', cfg: phase(), net: straight, train: new TrainSet(ds.train, ds.shape, [], tok, 5), val: ds.val, seed: 5, checkpointDir: mkdtempSync(join(tmpdir(), 'mmrun-a-')) });

    const dir = mkdtempSync(join(tmpdir(), 'mmrun-b-'));
    const first = newNet();
    let steps = 0;
    const stopped = await runPhase({
      name: 'joint',
      cfg: phase(),
      net: first,
      train: new TrainSet(ds.train, ds.shape, [], tok, 5),
      val: ds.val,
      seed: 5,
      checkpointDir: dir,
      hooks: { onStep: () => steps++, shouldStop: () => steps === 9 }, // mid second epoch (6 steps/epoch)
    });
    expect(stopped.interrupted).toBe(true);
    expect(latestCheckpoint(dir)?.name).toBe('joint-epoch1-step9');
    first.dispose();

    const resumed = newNet(); // fresh weights: must come from the checkpoint
    const r = await runPhase({ name: 'joint', cfg: phase(), net: resumed, train: new TrainSet(ds.train, ds.shape, [], tok, 5), val: ds.val, seed: 5, checkpointDir: dir });
    expect(r.resumedFrom).toBe('joint-epoch1-step9');
    expect(r.state.globalStep).toBe(12);
    expect(weightsOf(resumed)).toEqual(weightsOf(straight));
    const manifest = JSON.parse(readFileSync(join(dir, 'joint-epoch2', 'manifest.json'), 'utf8'));
    expect(manifest.state.done).toBe(true);
    expect(manifest.optimizer.length).toBeGreaterThan(1);
    straight.dispose();
    resumed.dispose();
  });

  it('keeps the number of tensors flat from epoch to epoch', async () => {
    const net = newNet();
    const counts: number[] = [];
    await runPhase({
      name: 'joint',
      cfg: phase({ epochs: 5 }),
      net,
      train: new TrainSet(ds.train, ds.shape, [], tok, 5),
      val: ds.val,
      seed: 5,
      checkpointDir: mkdtempSync(join(tmpdir(), 'mmrun-m-')),
      hooks: { onEpoch: () => counts.push(tf.memory().numTensors) },
    });
    expect(counts).toHaveLength(5);
    expect(counts[4] - counts[0]).toBeLessThanOrEqual(2);
    net.dispose();
  });

  it('stops early when the watched validation metric stops improving', async () => {
    const net = newNet();
    const r = await runPhase({
      name: 'joint',
      cfg: phase({ epochs: 8, learning_rate: 0, warmup_steps: 0, freeze: ['image', 'text', 'projection', 'head'], early_stopping: { metric: 'loss', patience: 2, min_delta: 0 } }),
      net,
      train: new TrainSet(ds.train, ds.shape, [], tok, 5),
      val: ds.val,
      seed: 5,
      checkpointDir: mkdtempSync(join(tmpdir(), 'mmrun-es-')),
    });
    expect(r.state.stoppedEarly).toBe(true);
    expect(r.state.epoch).toBe(3); // best at 1, no improvement at 2 and 3
    net.dispose();
  });

  it('fails on a non-finite loss, naming the step and the loss', async () => {
    const net = newNet();
    const dir = mkdtempSync(join(tmpdir(), 'mmrun-nan-'));
    const run = runPhase({ name: 'joint', cfg: phase({ learning_rate: 1e30, optimizer: 'sgd', warmup_steps: 0 }), net, train: new TrainSet(ds.train, ds.shape, [], tok, 5), val: ds.val, seed: 5, checkpointDir: dir });
    await expect(run).rejects.toBeInstanceOf(NonFiniteLossError);
    await expect(run).rejects.toThrow(/^joint phase: the loss is not finite at step [1-9]\d* \(loss=.*(NaN|Infinity)/);
    expect(existsSync(join(dir, 'latest.json'))).toBe(false);
    net.dispose();
  });
});

// Per-epoch validation (runner/train/evaluate.ts, phase.ts): the whole validation split by
// default, or a fixed evenly spaced subset of `evaluation.val_items` items; cheaper reads that
// leave every result unchanged.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadExperiment } from '../../runner/config/index.ts';
import { resolvePresets } from '../../runner/config/presets.ts';
import type { Model, Phase } from '../../runner/config/types.gen.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
import { Network } from '../../runner/model/network.ts';
import { Tokenizer } from '../../runner/model/tokenizer.ts';
import { jointKey, runId } from '../../runner/sweep/identity.ts';
import { TrainSet } from '../../runner/train/data.ts';
import { embedSplit, evenSample, validationMetrics, validationSet } from '../../runner/train/evaluate.ts';
import { runPhase, type EpochInfo } from '../../runner/train/phase.ts';
import { syntheticDataset } from '../helpers/synthetic-dataset.ts';
import { tempFiles } from '../helpers/tmp.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerGradients();
});

const ds = syntheticDataset({ train: 64, val: 40, test: 16 });
const model = resolvePresets({
  backend: 'cpu',
  image: { preset: 'small', filters: [4], dense: 8 },
  text: { preset: 'small', tokenizer: 'word', vocab_size: 100, pooling: 'mean', width: 8, heads: 2, mlp: 16, max_len: 10 },
  projection: { dim: 8, layers: 1, normalize: true },
  head: 'shared',
} as Model);
const tok = Tokenizer.build(ds.train.texts, { kind: 'word', vocabSize: 100, maxLen: 10, addCls: false });
const newNet = () => new Network({ model, imageShape: ds.shape, numClasses: 4, vocabSize: tok.vocabSize, temperature: 0.07, seed: 3 });
const phase: Phase = {
  enabled: true,
  epochs: 2,
  batch_size: 16,
  optimizer: 'adam',
  learning_rate: 0.01,
  schedule: 'constant',
  warmup_steps: 0,
  loss_weights: { image: 1, text: 1, align: 0.5 },
  freeze: [],
  early_stopping: null,
};
const weights = phase.loss_weights;

describe('validationSet', () => {
  it('is the whole split by default, and when val_items is at least its size', () => {
    for (const items of [undefined, null, 40, 1000]) expect(Array.from(validationSet(ds.val, tok, items).indices)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('with val_items: that many evenly spaced items, their texts encoded in that order', () => {
    const set = validationSet(ds.val, tok, 10);
    expect(Array.from(set.indices)).toEqual([0, 4, 8, 12, 16, 20, 24, 28, 32, 36]);
    expect(Array.from(set.tokens)).toEqual(Array.from(tok.encodeAll(Array.from(set.indices, (i) => ds.val.texts[i]))));
  });
});

describe('validation reads', () => {
  it('without embeddings: the same predictions and losses as the full read', async () => {
    const net = newNet();
    const full = await embedSplit(net, ds.val, ds.shape, tok);
    const set = validationSet(ds.val, tok);
    const lean = await embedSplit(net, ds.val, ds.shape, tok, set.indices, { tokens: set.tokens, embeddings: false });
    expect(Array.from(lean.imagePred)).toEqual(Array.from(full.imagePred));
    expect(Array.from(lean.textPred)).toEqual(Array.from(full.textPred));
    expect([lean.imageLoss, lean.textLoss]).toEqual([full.imageLoss, full.textLoss]);
    expect(lean.image.length).toBe(0);
    const m = await validationMetrics(net, set, ds.shape, weights);
    expect(m.val_loss).toBe(full.imageLoss + full.textLoss);
    net.dispose();
  });
});

describe('runPhase with valItems', () => {
  it('scores each epoch on the subset (the last epoch line equals the subset metrics of the final weights); null is the whole split', async () => {
    const runWith = async (valItems: number | null | undefined) => {
      const net = newNet();
      const epochs: EpochInfo[] = [];
      const train = new TrainSet(ds.train, ds.shape, [], tok, 3);
      await runPhase({ name: 'joint', cfg: phase, net, train, val: ds.val, valItems, seed: 3, checkpointDir: mkdtempSync(join(tmpdir(), 'mmrun-val-')), hooks: { onEpoch: (e) => epochs.push(e) } });
      return { net, last: epochs[epochs.length - 1].metrics };
    };
    const sub = await runWith(10);
    const expected = await validationMetrics(sub.net, validationSet(ds.val, tok, 10), ds.shape, weights);
    expect({ a: sub.last.val_image_acc, t: sub.last.val_text_acc, l: sub.last.val_loss }).toEqual({ a: expected.val_image_acc, t: expected.val_text_acc, l: expected.val_loss });
    const whole = await validationMetrics(sub.net, validationSet(ds.val, tok), ds.shape, weights);
    expect(whole.val_loss).not.toBe(expected.val_loss);
    sub.net.dispose();

    const full = await runWith(null);
    const fullExpected = await validationMetrics(full.net, validationSet(ds.val, tok), ds.shape, weights);
    expect(full.last.val_loss).toBe(fullExpected.val_loss);
    full.net.dispose();
  });
});

describe('a phase validating on a subset, stopped mid-epoch and resumed', () => {
  it('writes the same epoch metrics and ends with the same weights as an uninterrupted one', async () => {
    const go = async (net: Network, checkpointDir: string, stopAt?: number) => {
      const epochs: Record<string, number>[] = [];
      let steps = 0;
      const r = await runPhase({
        name: 'joint', cfg: phase, net, train: new TrainSet(ds.train, ds.shape, [], tok, 3), val: ds.val, valItems: 10, seed: 3, checkpointDir,
        hooks: { onEpoch: (e) => epochs.push(e.metrics), onStep: () => steps++, shouldStop: () => steps === stopAt },
      });
      return { r, epochs };
    };
    const straightNet = newNet();
    const straight = await go(straightNet, mkdtempSync(join(tmpdir(), 'mmrun-val-a-')));
    const dir = mkdtempSync(join(tmpdir(), 'mmrun-val-b-'));
    const firstNet = newNet();
    const first = await go(firstNet, dir, 6); // mid second epoch (4 steps per epoch)
    expect(first.r.interrupted).toBe(true);
    firstNet.dispose();
    const resumedNet = newNet();
    const second = await go(resumedNet, dir);
    expect(second.r.resumedFrom).toBe('joint-epoch1-step6');
    expect([...first.epochs, ...second.epochs]).toEqual(straight.epochs);
    const weightsOf = (net: Network) => net.params.params.map((p) => Array.from(p.variable.dataSync()));
    expect(weightsOf(resumedNet)).toEqual(weightsOf(straightNet));
    straightNet.dispose();
    resumedNet.dispose();
  });
});

describe('evaluation.val_items in a config', () => {
  const load = (yaml: string) => loadExperiment(tempFiles({ 'e.yaml': yaml }).path('e.yaml')).config;

  it('defaults to null (the whole split) and leaves run ids and joint keys as they were', () => {
    const plain = load('name: x\n');
    expect(plain.evaluation.val_items).toBeNull();
    const explicit = load('name: x\nevaluation: {val_items: null}\n');
    expect(runId(explicit, 0)).toBe(runId(plain, 0));
    const { val_items: _omitted, ...before } = plain.evaluation; // a config written before the field existed
    expect(runId({ ...plain, evaluation: before as typeof plain.evaluation }, 0)).toBe(runId(plain, 0));
    expect(jointKey({ ...plain, evaluation: before as typeof plain.evaluation }, 0, 'h')).toBe(jointKey(plain, 0, 'h'));
  });

  it('set, it changes the run id and the joint key (validation metrics are results)', () => {
    const plain = load('name: x\n');
    const subset = load('name: x\nevaluation: {val_items: 1000}\n');
    expect(subset.evaluation.val_items).toBe(1000);
    expect(runId(subset, 0)).not.toBe(runId(plain, 0));
    expect(jointKey(subset, 0, 'h')).not.toBe(jointKey(plain, 0, 'h'));
  });

  it('rejects values that are not an integer ≥ 10, pointing at the value', () => {
    const message = (bad: string) => {
      try {
        load(`name: x\nevaluation: {val_items: ${bad}}\n`);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(message('5')).toMatch(/e\.yaml:2:\d+: must be ≥ 10, got 5/);
    expect(message('0')).toMatch(/e\.yaml:2:\d+: must be ≥ 10/);
    for (const bad of ['12.5', 'many']) expect(message(bad)).toMatch(/e\.yaml:2:\d+: .*integer/);
  });
});

it('evenSample spreads the subset over the whole split', () => {
  expect(Array.from(evenSample(6000, 4))).toEqual([0, 1500, 3000, 4500]);
});

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolvePresets } from '../../runner/config/presets.ts';
import type { Model, Phase } from '../../runner/config/types.gen.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
import { Network } from '../../runner/model/network.ts';
import { Tokenizer } from '../../runner/model/tokenizer.ts';
import { TrainSet, imageTensor, oneHot, tokenTensor } from '../../runner/train/data.ts';
import { runPhase } from '../../runner/train/phase.ts';
import { syntheticDataset } from '../helpers/synthetic-dataset.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerGradients();
});

const ds = syntheticDataset({ train: 64, val: 16, test: 16 });

function model(overrides: Partial<Model> = {}, medium = false): Model {
  return resolvePresets({
    backend: 'cpu',
    image: { preset: medium ? 'medium' : 'small', filters: [4, 8], dense: 16, dropout: medium ? 0.1 : 0 },
    text: { preset: medium ? 'medium' : 'small', tokenizer: 'word', vocab_size: 100, pooling: medium ? 'cls' : 'mean', width: 16, heads: 2, mlp: 32, max_len: 12 },
    projection: { dim: 16, layers: medium ? 2 : 1, normalize: true },
    head: 'shared',
    ...overrides,
  } as Model);
}

function setup(m: Model) {
  const tok = Tokenizer.build(ds.train.texts, { kind: 'word', vocabSize: 100, maxLen: m.text.max_len, addCls: m.text.pooling === 'cls' });
  const net = new Network({ model: m, imageShape: ds.shape, numClasses: 4, vocabSize: tok.vocabSize, temperature: 0.07, seed: 3 });
  return { tok, net };
}

const phase = (over: Partial<Phase> = {}): Phase => ({
  enabled: true,
  epochs: 1,
  batch_size: 16,
  optimizer: 'adam',
  learning_rate: 0.01,
  schedule: 'constant',
  warmup_steps: 0,
  loss_weights: { image: 1, text: 1, align: 0.5 },
  freeze: [],
  early_stopping: null,
  ...over,
});

describe('joint-phase gradients', () => {
  for (const [label, m] of [
    ['small preset, shared head', model()],
    ['medium preset (batch norm, dropout, cls pooling, 2 projection layers), separate heads', model({ head: 'separate' }, true)],
  ] as const) {
    it(`reach every trainable variable: ${label}`, () => {
      const { tok, net } = setup(m);
      const idx = Int32Array.from({ length: 16 }, (_, i) => i);
      const tokens = tok.encodeAll(ds.train.texts);
      const vars = net.trainableVariables(new Set(), { image: 1, text: 1, align: 0.5 });
      expect(vars.length).toBe(net.params.params.filter((p) => p.trainable).length);
      const norms = tf.tidy(() => {
        const batch = {
          images: imageTensor(ds.train.images, ds.shape, idx),
          tokens: tokenTensor(tokens, tok.maxLen, idx),
          imageLabels: oneHot(ds.train.labels, idx, 4),
          textLabels: oneHot(ds.train.labels, idx, 4),
        };
        let seed = 1;
        const { grads } = tf.variableGrads(() => net.losses(batch, { image: 1, text: 1, align: 0.5 }, { training: true, nextSeed: () => seed++, batchStats: [] }).total, vars);
        return Object.fromEntries(vars.map((v) => [v.name, tf.norm(grads[v.name]).dataSync()[0]]));
      });
      for (const p of net.params.params.filter((q) => q.trainable)) {
        expect(norms[p.variable.name], `gradient of ${p.name}`).toBeGreaterThan(0);
      }
      net.dispose();
    });
  }

  it('frozen parts do not change during a phase, the others do', async () => {
    const { tok, net } = setup(model({}, true));
    const before = new Map(net.params.params.map((p) => [p.name, p.variable.dataSync().slice()]));
    const train = new TrainSet(ds.train, ds.shape, [], tok, 1);
    await runPhase({ name: 'retrain', cfg: phase({ freeze: ['image', 'head'] }), net, train, val: ds.val, seed: 1, checkpointDir: mkdtempSync(join(tmpdir(), 'mmrun-freeze-')) });
    for (const p of net.params.params) {
      const same = Array.from(p.variable.dataSync()).every((v, i) => v === before.get(p.name)![i]);
      if (p.part === 'image' || p.part === 'head') expect(same, `${p.name} is frozen`).toBe(true);
      else if (p.trainable) expect(same, `${p.name} trains`).toBe(false);
    }
    net.dispose();
  });
});

// augmentation.pairing: what 'image' and 'class' do to the retrain batches. Under 'class' an
// augmented text may be a text-loss row but is never an image's InfoNCE positive.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolvePresets } from '../../runner/config/presets.ts';
import type { Model, Phase } from '../../runner/config/types.gen.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
import { Network, type Batch } from '../../runner/model/network.ts';
import { Rng } from '../../runner/random.ts';
import { Tokenizer } from '../../runner/model/tokenizer.ts';
import { oneHot, TrainSet, type ExtraText, type Pairing } from '../../runner/train/data.ts';
import { runPhase } from '../../runner/train/phase.ts';
import { syntheticDataset } from '../helpers/synthetic-dataset.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerGradients();
});

const base = syntheticDataset({ train: 32, val: 8, test: 8 });
// Every text unique, so a token row tells which text it is.
const train = { ...base.train, texts: Array.from(base.train.labels, (_, i) => `own${i} text`) };
const extra: ExtraText[] = [];
for (let i = 0; i < 32; i++) for (let k = 0; k < 3; k++) extra.push({ label: train.labels[i], text: `aug${i}x${k} text`, source: i });
const tok = Tokenizer.build([...train.texts, ...extra.map((e) => e.text)], { kind: 'word', vocabSize: 500, maxLen: 4, addCls: false });
const model = resolvePresets({
  backend: 'cpu',
  image: { preset: 'medium', filters: [4], dense: 8 },
  text: { preset: 'small', tokenizer: 'word', vocab_size: 500, pooling: 'mean', width: 8, heads: 2, mlp: 16, max_len: 4, dropout: 0 },
  projection: { dim: 8, layers: 1, normalize: true },
  head: 'shared',
} as Model);
const phase: Phase = {
  enabled: true,
  epochs: 2,
  batch_size: 8,
  optimizer: 'adam',
  learning_rate: 0.01,
  schedule: 'constant',
  warmup_steps: 0,
  loss_weights: { image: 1, text: 1, align: 0.5 },
  freeze: [],
  early_stopping: null,
};

/** Runs a short phase and records, per batch row, which image it holds and which texts are its text-loss row and its InfoNCE positive. */
async function batchesOf(pairing: Pairing) {
  const set = new TrainSet(train, base.shape, extra, tok, 3, { pairing });
  const rowOf = new Map<string, number>();
  for (let t = 0; t < set.numTexts; t++) rowOf.set(Array.from(set.tokens.subarray(t * 4, (t + 1) * 4)).join(','), t);
  const imageOf = new Map<string, number>();
  const size = 8 * 8;
  for (let i = 0; i < 32; i++) imageOf.set(Array.from(train.images.subarray(i * size, (i + 1) * size)).join(','), i);
  const net = new Network({ model, imageShape: base.shape, numClasses: 4, vocabSize: tok.vocabSize, temperature: 0.07, seed: 1 });
  const rows: { image: number; textLoss: number; positive: number }[] = [];
  const losses = net.losses.bind(net);
  net.losses = (batch: Batch, weights, ctx) => {
    const imgs = Array.from(batch.images.dataSync(), (v) => Math.round(v * 255));
    const toks = Array.from(batch.tokens.dataSync());
    const align = batch.alignTokens ? Array.from(batch.alignTokens.dataSync()) : toks;
    const n = batch.images.shape[0];
    for (let j = 0; j < n; j++) {
      rows.push({
        image: imageOf.get(imgs.slice(j * size, (j + 1) * size).join(','))!,
        textLoss: rowOf.get(toks.slice(j * 4, (j + 1) * 4).join(','))!,
        positive: rowOf.get(align.slice(j * 4, (j + 1) * 4).join(','))!,
      });
    }
    return losses(batch, weights, ctx);
  };
  await runPhase({ name: 'retrain', cfg: phase, net, train: set, val: base.val, seed: 3, checkpointDir: mkdtempSync(join(tmpdir(), 'mmrun-pairing-')) });
  net.dispose();
  return { rows, set };
}

describe('augmentation.pairing', () => {
  it("class: every InfoNCE positive is the image's own description; augmented texts still reach the text loss", async () => {
    const { rows } = await batchesOf('class');
    expect(rows.length).toBe(64); // 2 epochs × 32 images
    for (const r of rows) {
      expect(r.image).toBeGreaterThanOrEqual(0);
      expect(r.positive).toBe(r.image); // text id i is image i's own description
    }
    const augmentedInTextLoss = rows.filter((r) => r.textLoss >= 32);
    expect(augmentedInTextLoss.length).toBeGreaterThan(20); // pools hold 1 own + 3 augmented texts
    // A text-loss row is a text of the row's own image pool: own description or one of its augmented texts.
    for (const r of augmentedInTextLoss) expect(extra[r.textLoss - 32].source).toBe(r.image);
  }, 60_000);

  it('image (default): augmented texts are drawn as InfoNCE positives, the same draws as the text-loss rows', async () => {
    const { rows, set } = await batchesOf('image');
    expect(set.pairing).toBe('image');
    for (const r of rows) expect(r.positive).toBe(r.textLoss);
    expect(rows.filter((r) => r.positive >= 32).length).toBeGreaterThan(20);
  }, 60_000);

  it('class and image draw the same text-loss rows (only the positives differ)', async () => {
    const a = new TrainSet(train, base.shape, extra, tok, 3, { pairing: 'class' });
    const b = new TrainSet(train, base.shape, extra, tok, 3);
    const idx = Int32Array.from({ length: 32 }, (_, i) => i);
    expect(Array.from(a.pickTexts(idx, new Rng(9)))).toEqual(Array.from(b.pickTexts(idx, new Rng(9))));
    expect(Array.from(a.alignTexts(idx))).toEqual(Array.from(idx));
  });

  it('the InfoNCE term uses alignTokens when given', () => {
    const net = new Network({ model, imageShape: base.shape, numClasses: 4, vocabSize: tok.vocabSize, temperature: 0.07, seed: 1 });
    const set = new TrainSet(train, base.shape, extra, tok, 3, { pairing: 'class' });
    const idx = Int32Array.from({ length: 8 }, (_, i) => i);
    const shuffled = Int32Array.from([32, 35, 38, 41, 44, 47, 50, 53]);
    const tokens = (ids: Int32Array) => tf.tensor2d(Array.from(ids).flatMap((t) => Array.from(set.tokens.subarray(t * 4, (t + 1) * 4))), [ids.length, 4], 'int32');
    const batch = (align?: Int32Array): Batch => ({
      images: tf.tensor4d(Array.from(train.images.subarray(0, 8 * 64), (v) => v / 255), [8, 8, 8, 1]),
      tokens: tokens(idx),
      imageLabels: oneHot(train.labels, idx, 4),
      textLabels: oneHot(train.labels, idx, 4),
      ...(align ? { alignTokens: tokens(align) } : {}),
    });
    const w = { image: 1, text: 1, align: 1 };
    const ctx = { training: false, nextSeed: () => 1 };
    const same = net.losses(batch(), w, ctx).align!.dataSync()[0];
    const sameExplicit = net.losses(batch(idx), w, ctx).align!.dataSync()[0];
    const other = net.losses(batch(shuffled), w, ctx).align!.dataSync()[0];
    expect(sameExplicit).toBeCloseTo(same, 5);
    expect(Math.abs(other - same)).toBeGreaterThan(1e-4);
    net.dispose();
  });
});

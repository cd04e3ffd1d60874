// Full-model gradients on wasm (with mmrun's kernels) against the cpu backend: a small CNN (with
// and without batch norm, negative inputs so max-pool windows can be all negative) and a small
// multimodal network (Transformer text block, shared projection, all three losses).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolvePresets } from '../../runner/config/presets.ts';
import { fusedAttentionAvailable } from '../../runner/model/backend/ops/attention.ts';
import type { Model } from '../../runner/config/types.gen.ts';
import { createImageBranch } from '../../runner/model/image-branch.ts';
import { crossEntropy } from '../../runner/model/losses.ts';
import { Network } from '../../runner/model/network.ts';
import { ParamStore } from '../../runner/model/params.ts';
import { Rng } from '../../runner/random.ts';
import { createOptimizer } from '../../runner/train/optimizer.ts';
import { compareBackends, random, setupBackends, tensor } from './kernels-compare.ts';

beforeAll(setupBackends, 300_000);

const TRAIN = { training: true, nextSeed: () => 1 };

function oneHot(labels: number[], classes: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32') as tf.Tensor2D;
}

describe('full-model gradients, wasm vs cpu', () => {
  for (const batchNorm of [false, true]) {
    it(`small CNN${batchNorm ? ' with batch norm' : ''}: every parameter gradient`, async () => {
      const images = random([3, 12, 12, 1], 31);
      const { maxDiff, cpu } = await compareBackends(() => {
        const ps = new ParamStore(new Rng(5));
        const net = createImageBranch(ps, { preset: 'small', filters: [4, 8], kernel_size: 3, batch_norm: batchNorm, dense: 16, dropout: 0 }, [12, 12, 1], 5);
        const x = tf.sub(tensor(images), 0.5) as tf.Tensor4D; // negative inputs: whole pool windows can be < 0
        const y = oneHot([0, 3, 4], 5);
        const { grads } = tf.variableGrads(() => crossEntropy(net.forward(x, TRAIN), y), ps.trainableVariables());
        const out = Object.values(grads);
        ps.dispose();
        return out;
      });
      expect(cpu.values.length).toBeGreaterThanOrEqual(batchNorm ? 6 : 6);
      expect(maxDiff).toBeLessThan(2e-5);
    });
  }

  it('small multimodal network (Transformer block, projection, CE + CE + InfoNCE)', async () => {
    const model = resolvePresets({
      backend: 'wasm',
      image: { preset: 'small', filters: [4, 8], dense: 16 },
      text: { preset: 'small', tokenizer: 'word', vocab_size: 40, pooling: 'mean', max_len: 7, width: 16, heads: 2, mlp: 24, layers: 2 },
      projection: { dim: 8, layers: 2, normalize: true },
      head: 'shared',
    } as unknown as Model);
    const images = random([4, 10, 10, 1], 41);
    const ids = random([4, 7], 42, [3, 40]);
    (ids.values as Int32Array).fill(0, 5, 7); // padding at the end of the first text
    (ids.values as Int32Array).fill(0, 7 + 3, 14);
    (ids.values as Int32Array)[14 + 2] = 0; // padding between real tokens of the third text
    (ids.values as Int32Array).fill(0, 21, 28); // the fourth text is all padding
    let fusedOnWasm: boolean | undefined;
    const { maxDiff, cpu } = await compareBackends(() => {
      if (tf.getBackend() === 'wasm') fusedOnWasm = fusedAttentionAvailable(); // the native attention op, not the composite
      const net = new Network({ model, imageShape: [10, 10, 1], numClasses: 3, vocabSize: 40, temperature: 0.07, seed: 3 });
      const batch = { images: tensor(images) as tf.Tensor4D, tokens: tensor(ids) as tf.Tensor2D, imageLabels: oneHot([0, 1, 2, 1], 3), textLabels: oneHot([0, 1, 2, 1], 3) };
      const weights = { image: 1, text: 1, align: 0.5 };
      const { value, grads } = tf.variableGrads(() => net.losses(batch, weights, TRAIN).total, net.trainableVariables(new Set(), weights));
      const out = [value, ...Object.values(grads)];
      net.dispose();
      return out;
    });
    expect(fusedOnWasm).toBe(true);
    expect(cpu.values.length).toBeGreaterThan(20);
    expect(maxDiff).toBeLessThan(2e-5);
  });
});

describe('text branch on packed tokens (no padding rows) with the native kernels', () => {
  /** Loss and every text-branch gradient of a text-only network on wasm; `packing` toggles MMRUN_TEXT_PACKING. */
  async function textGradients(packing: boolean, width: number, heads: number): Promise<{ values: Float32Array[]; kernels: string[] }> {
    await tf.setBackend('wasm');
    const model = resolvePresets({
      backend: 'wasm',
      image: { preset: 'small', filters: [4, 8], dense: 16 },
      text: { preset: 'small', tokenizer: 'word', vocab_size: 40, pooling: 'mean', max_len: 9, width, heads, mlp: 24, layers: 2, dropout: 0 },
      projection: { dim: 8, layers: 1, normalize: true },
      head: 'shared',
    } as unknown as Model);
    const ids = random([4, 9], 52, [3, 40]);
    const v = ids.values as Int32Array;
    v.fill(0, 6, 9); // trailing padding
    v[9 + 4] = 0; // padding between real tokens
    v.fill(0, 18, 27); // an all-padding text
    const previous = process.env.MMRUN_TEXT_PACKING;
    if (packing) delete process.env.MMRUN_TEXT_PACKING;
    else process.env.MMRUN_TEXT_PACKING = '0';
    try {
      const net = new Network({ model, imageShape: [10, 10, 1], numClasses: 3, vocabSize: 40, temperature: 0.07, seed: 5 });
      const weights = { image: 0, text: 1, align: 0 };
      const batch = { images: tf.zeros([4, 10, 10, 1]) as tf.Tensor4D, tokens: tensor(ids) as tf.Tensor2D, imageLabels: oneHot([0, 1, 2, 1], 3), textLabels: oneHot([2, 1, 0, 1], 3) };
      let values: Float32Array[] = [];
      const profile = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => net.losses(batch, weights, TRAIN).total, net.trainableVariables(new Set(), weights));
        values = [value, ...Object.values(grads)].map((t) => t.dataSync() as Float32Array);
        tf.dispose([value, ...Object.values(grads)]);
      });
      net.dispose();
      return { values, kernels: profile.kernelNames };
    } finally {
      if (previous === undefined) delete process.env.MMRUN_TEXT_PACKING;
      else process.env.MMRUN_TEXT_PACKING = previous;
    }
  }

  function maxDiff(a: Float32Array[], b: Float32Array[]): number {
    expect(a.map((x) => x.length)).toEqual(b.map((x) => x.length));
    return Math.max(...a.map((x, i) => x.reduce((m, y, j) => Math.max(m, Math.abs(y - b[i][j])), 0)));
  }

  it('gives the padded layout\'s loss and gradients, computing rows for real tokens only', async () => {
    const packed = await textGradients(true, 16, 2);
    const padded = await textGradients(false, 16, 2);
    expect(packed.kernels).toContain('MmrunAttentionPacked');
    expect(packed.kernels).toContain('MmrunAttentionPackedGrad');
    expect(padded.kernels).not.toContain('MmrunAttentionPacked');
    expect(packed.values.length).toBeGreaterThan(10);
    expect(maxDiff(packed.values, padded.values)).toBeLessThan(2e-5);
  });

  it('trains deterministically: the same seed gives bit-identical weights (packed tokens, dropout, fused Adam)', async () => {
    await tf.setBackend('wasm');
    const model = resolvePresets({
      backend: 'wasm',
      image: { preset: 'small', filters: [4, 8], dense: 16 },
      text: { preset: 'small', tokenizer: 'word', vocab_size: 40, pooling: 'mean', max_len: 9, width: 16, heads: 2, mlp: 24, layers: 2, dropout: 0.1 },
      projection: { dim: 8, layers: 1, normalize: true },
      head: 'shared',
    } as unknown as Model);
    const ids = random([4, 9], 61, [3, 40]);
    (ids.values as Int32Array).fill(0, 5, 9);
    const train = () => {
      const net = new Network({ model, imageShape: [10, 10, 1], numClasses: 3, vocabSize: 40, temperature: 0.07, seed: 7 });
      const optimizer = createOptimizer('adam', 1e-2);
      const weights = { image: 0, text: 1, align: 0 };
      const batch = { images: tf.zeros([4, 10, 10, 1]) as tf.Tensor4D, tokens: tensor(ids) as tf.Tensor2D, imageLabels: oneHot([0, 1, 2, 1], 3), textLabels: oneHot([2, 1, 0, 1], 3) };
      const vars = net.trainableVariables(new Set(), weights);
      let seed = 1;
      for (let step = 0; step < 3; step++) {
        tf.tidy(() => {
          const ctx = { training: true, nextSeed: () => seed++ };
          const { grads } = tf.variableGrads(() => net.losses(batch, weights, ctx).total, vars);
          optimizer.applyGradients(grads);
        });
      }
      const values = vars.map((v) => Array.from(v.dataSync()));
      net.dispose();
      optimizer.dispose();
      return values;
    };
    const first = train();
    expect(first.length).toBeGreaterThan(10);
    expect(train()).toEqual(first);
  });

  it('keeps the padded layout when the head width is not a multiple of 8', async () => {
    const run = await textGradients(true, 12, 2);
    expect(run.kernels).not.toContain('MmrunAttentionPacked');
    expect(run.kernels).toContain('MmrunAttention');
  });
});

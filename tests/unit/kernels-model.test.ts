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
import { compareBackends, random, setupBackends, tensor } from './kernels-compare.ts';

beforeAll(setupBackends, 60_000);

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

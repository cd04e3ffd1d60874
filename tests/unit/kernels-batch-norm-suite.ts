// The fused batch norm (MmrunBatchNorm and its gradient) against tfjs's composite (moments,
// batchNorm, relu) on the cpu backend: values, batch statistics and every gradient, including the
// gradients that reach the statistics, on odd sizes; the image branch with batch norm in training
// (gradients, running statistics) and in inference (batch norm folded into the convolution); and
// bit-identical results on a rerun. Run with the native kernels (kernels-batch-norm.test.ts) and
// with the WebAssembly/JavaScript ones only (kernels-batch-norm-wasm.test.ts).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ImageBranch } from '../../runner/config/types.gen.ts';
import { createImageBranch, updateBatchNormStats } from '../../runner/model/image-branch.ts';
import type { ForwardContext } from '../../runner/model/layers.ts';
import { crossEntropy } from '../../runner/model/losses.ts';
import { ParamStore } from '../../runner/model/params.ts';
import { Rng } from '../../runner/random.ts';
import { compareBackends, random, setupBackends, tensor } from './kernels-compare.ts';

const EPS = 1e-3;

export function batchNormSuite(mode: 'native' | 'wasm'): void {
  beforeAll(async () => {
    process.env.MMRUN_NATIVE_KERNELS = mode === 'native' ? '1' : '0';
    await setupBackends();
  }, 300_000);

  it(`runs with ${mode === 'native' ? 'the native kernels' : 'the WebAssembly kernels only'}, and offers the fused op on wasm only`, async () => {
    const { nativeActive } = await import('../../runner/model/backend/simd/module.ts');
    const { fusedBatchNormAvailable } = await import('../../runner/model/backend/ops/batch-norm.ts');
    expect(nativeActive()).toBe(mode === 'native');
    await tf.setBackend('wasm');
    expect(fusedBatchNormAvailable()).toBe(true);
    await tf.setBackend('cpu');
    expect(fusedBatchNormAvailable()).toBe(false);
  });

  describe('MmrunBatchNorm (+ gradient) against moments + batchNorm (+ relu) on cpu', () => {
    const shapes: [string, number[]][] = [
      ['image branch shape, 32 channels', [4, 7, 7, 32]],
      ['odd channel count, rows past several 64-row blocks', [3, 9, 11, 5]],
      ['130 channels (not a multiple of the vector width)', [2, 3, 5, 130]],
      ['rank 2', [67, 24]],
      ['a single row (variance 0)', [1, 1, 1, 6]],
    ];
    for (const [label, shape] of shapes) {
      for (const relu of [true, false]) {
        it(`${label}${relu ? ', with ReLU' : ''}`, async () => {
          const { fusedBatchNormTrain } = await import('../../runner/model/backend/ops/batch-norm.ts');
          const C = shape[shape.length - 1];
          const x = random(shape, 50);
          // channels with different offsets and scales, far from zero mean and unit variance
          x.values = (x.values as Float32Array).map((v, i) => v * (0.5 + (i % C) * 0.37) + ((i % C) % 5) - 2);
          const gamma = random([C], 51);
          const beta = random([C], 52);
          const wy = random(shape, 53);
          const wm = random([C], 54);
          const wv = random([C], 55);
          const axes = shape.slice(0, -1).map((_, i) => i);
          const bn = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor[] => {
            if (tf.getBackend() === 'wasm') {
              const r = fusedBatchNormTrain(xx, g as tf.Tensor1D, b as tf.Tensor1D, EPS, relu);
              return [r.y, r.mean, r.variance];
            }
            const { mean, variance } = tf.moments(xx, axes);
            const y = tf.batchNorm(xx, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, EPS);
            return [relu ? tf.relu(y) : y, mean, variance];
          };
          // The loss reads the statistics too, so their gradients (dmean, dvar) are checked.
          const loss = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
            const [y, m, v] = bn(xx, g, b);
            return tf.addN([tf.sum(tf.mul(y, tensor(wy))), tf.sum(tf.mul(m, tensor(wm))), tf.sum(tf.mul(v, tensor(wv)))]);
          };
          const lossOfY = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(bn(xx, g, b)[0], tensor(wy)));
          const { maxDiff, cpu } = await compareBackends(() => {
            const args = () => [tensor(x), tensor(gamma), tensor(beta)];
            return [...bn(...(args() as [tf.Tensor, tf.Tensor, tf.Tensor])), ...tf.grads(loss)(args()), ...tf.grads(lossOfY)(args())];
          });
          expect(cpu.values).toHaveLength(9);
          expect(maxDiff).toBeLessThan(2e-4);
        });
      }
    }
  });

  describe('MmrunBatchNormReluPool (+ gradient) against maxPool(relu(batchNorm)) on cpu', () => {
    const shapes: [string, number[]][] = [
      ['image branch shape, odd side (the last row and column pool alone)', [4, 7, 7, 32]],
      ['even sides, odd channel count', [3, 6, 8, 5]],
      ['130 channels, 5x3', [2, 5, 3, 130]],
      ['one window', [1, 2, 2, 3]],
      ['windows of equal values (ties go to the first position)', [2, 4, 6, 7]],
    ];
    for (const [label, shape] of shapes) {
      it(label, async () => {
        const { fusedBatchNormReluPoolTrain } = await import('../../runner/model/backend/ops/batch-norm.ts');
        const [B, H, W, C] = shape;
        const x = random(shape, 70);
        if (label.includes('ties')) {
          // every value of a 2x2 window equal: the normalised values tie exactly
          const v = x.values as Float32Array;
          for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) v[((b * H + h) * W + w) * C + c] = v[((b * H + (h & ~1)) * W + (w & ~1)) * C + c];
        } else {
          x.values = (x.values as Float32Array).map((v, i) => v * (0.5 + (i % C) * 0.37) + ((i % C) % 5) - 2);
        }
        const gamma = random([C], 71);
        const beta = random([C], 72);
        const pooled = [B, Math.ceil(H / 2), Math.ceil(W / 2), C];
        const wy = random(pooled, 73);
        const wm = random([C], 74);
        const wv = random([C], 75);
        const bn = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor[] => {
          if (tf.getBackend() === 'wasm') {
            const r = fusedBatchNormReluPoolTrain(xx as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, EPS);
            return [r.y, r.mean, r.variance];
          }
          const { mean, variance } = tf.moments(xx, [0, 1, 2]);
          const y = tf.relu(tf.batchNorm(xx, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, EPS)) as tf.Tensor4D;
          return [tf.maxPool(y, 2, 2, 'same'), mean, variance];
        };
        const loss = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
          const [y, m, v] = bn(xx, g, b);
          return tf.addN([tf.sum(tf.mul(y, tensor(wy))), tf.sum(tf.mul(m, tensor(wm))), tf.sum(tf.mul(v, tensor(wv)))]);
        };
        const lossOfY = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(bn(xx, g, b)[0], tensor(wy)));
        const { maxDiff, cpu } = await compareBackends(() => {
          const args = () => [tensor(x), tensor(gamma), tensor(beta)];
          return [...bn(...(args() as [tf.Tensor, tf.Tensor, tf.Tensor])), ...tf.grads(loss)(args()), ...tf.grads(lossOfY)(args())];
        });
        expect(cpu.shapes[0]).toEqual(pooled);
        expect(cpu.values[3].some((v) => v !== 0)).toBe(true); // a gradient reaches x
        expect(maxDiff).toBeLessThan(2e-4);
      });
    }
  });

  describe('image branch with batch norm', () => {
    const cfg: ImageBranch = { preset: 'medium', filters: [16, 12], kernel_size: 3, batch_norm: true, dense: 16, dropout: 0 };
    const images = random([5, 10, 10, 1], 60);
    const labels = [0, 3, 4, 1, 2];
    const trainStep = (ps: ParamStore, net: ReturnType<typeof createImageBranch>) => {
      const ctx: ForwardContext & { batchStats: NonNullable<ForwardContext['batchStats']> } = { training: true, nextSeed: () => 1, batchStats: [] };
      const y = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 5), 'float32') as tf.Tensor2D;
      const { value, grads } = tf.variableGrads(() => crossEntropy(net.forward(tf.sub(tensor(images), 0.3) as tf.Tensor4D, ctx), y), ps.trainableVariables());
      updateBatchNormStats(ctx.batchStats);
      return [value, ...Object.values(grads)];
    };
    const running = (ps: ParamStore) => ps.params.filter((p) => /bn\/(mean|variance)$/.test(p.name)).map((p) => tf.clone(p.variable));

    it('training step: loss, every gradient and the updated running statistics match cpu', async () => {
      const { maxDiff, cpu } = await compareBackends(() => {
        const ps = new ParamStore(new Rng(7));
        const net = createImageBranch(ps, cfg, [10, 10, 1], 5);
        const out = [...trainStep(ps, net), ...running(ps)];
        ps.dispose();
        return out;
      });
      expect(cpu.values.length).toBe(1 + 10 + 4);
      expect(maxDiff).toBeLessThan(2e-5);
    });

    it('inference (running statistics folded into the convolution) matches batch norm on cpu', async () => {
      const { maxDiff } = await compareBackends(() => {
        const ps = new ParamStore(new Rng(8));
        const net = createImageBranch(ps, cfg, [10, 10, 1], 5);
        // running statistics and affine parameters far from their initial values
        for (const { name, variable: v } of ps.params) {
          if (/bn\/mean$/.test(name)) v.assign(tf.linspace(-0.5, 0.7, v.shape[0]));
          if (/bn\/variance$/.test(name)) v.assign(tf.linspace(0.2, 3, v.shape[0]));
          if (/bn\/(gamma|beta)$/.test(name)) v.assign(tf.linspace(-1.2, 1.5, v.shape[0]));
        }
        const out = net.forward(tf.sub(tensor(images), 0.3) as tf.Tensor4D, { training: false, nextSeed: () => 1 });
        ps.dispose();
        return out;
      });
      expect(maxDiff).toBeLessThan(2e-5);
    });

    it('is deterministic: a rerun from the same seed gives bit-identical weights after training steps', async () => {
      await tf.setBackend('wasm');
      const train = () => {
        const ps = new ParamStore(new Rng(9));
        const net = createImageBranch(ps, cfg, [10, 10, 1], 5);
        const opt = tf.train.sgd(0.1);
        for (let i = 0; i < 3; i++) {
          tf.tidy(() => {
            const ctx: ForwardContext & { batchStats: NonNullable<ForwardContext['batchStats']> } = { training: true, nextSeed: () => 1, batchStats: [] };
            const y = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 5), 'float32') as tf.Tensor2D;
            const { grads } = tf.variableGrads(() => crossEntropy(net.forward(tf.sub(tensor(images), 0.3) as tf.Tensor4D, ctx), y), ps.trainableVariables());
            opt.applyGradients(grads);
            updateBatchNormStats(ctx.batchStats);
          });
        }
        const values = ps.params.map((p) => Float32Array.from(p.variable.dataSync()));
        opt.dispose();
        ps.dispose();
        return values;
      };
      const first = train();
      const second = train();
      expect(second).toEqual(first);
    });
  });
}

// CNN image branch: conv blocks (conv → [batch norm] → ReLU → 2×2 max-pool), an optional dense
// layer, dropout, then a linear map into the projection's input width.
import * as tf from '@tensorflow/tfjs-core';
import type { ImageBranch } from '../config/types.gen.ts';
import { convBiasRelu, convBiasReluAvailable } from './backend/ops/conv-bias-relu.ts';
import { createDense, dense, dropout, type Dense, type ForwardContext } from './layers.ts';
import type { ParamStore } from './params.ts';

interface ConvBlock {
  filter: tf.Variable;
  bias?: tf.Variable;
  bn?: { gamma: tf.Variable; beta: tf.Variable; mean: tf.Variable; variance: tf.Variable };
}

export interface ImageBranchModel {
  /** x: [B, H, W, C] floats in [0, 1] → [B, outDim]. */
  forward(x: tf.Tensor4D, ctx: ForwardContext): tf.Tensor2D;
}

const BN_EPS = 1e-3;

export function createImageBranch(
  ps: ParamStore,
  cfg: ImageBranch,
  shape: readonly [number, number, number],
  outDim: number,
): ImageBranchModel {
  let [h, w, c] = shape;
  const k = cfg.kernel_size;
  const blocks: ConvBlock[] = cfg.filters.map((filters, i) => {
    const name = `image/conv${i}`;
    const block: ConvBlock = { filter: ps.create('image', `${name}/w`, [k, k, c, filters], { kind: 'he', fanIn: k * k * c }) };
    if (cfg.batch_norm) {
      block.bn = {
        gamma: ps.create('image', `${name}/bn/gamma`, [filters], { kind: 'ones' }),
        beta: ps.create('image', `${name}/bn/beta`, [filters], { kind: 'zeros' }),
        mean: ps.create('image', `${name}/bn/mean`, [filters], { kind: 'zeros' }, false),
        variance: ps.create('image', `${name}/bn/variance`, [filters], { kind: 'ones' }, false),
      };
    } else {
      block.bias = ps.create('image', `${name}/b`, [filters], { kind: 'zeros' });
    }
    c = filters;
    if (h >= 2 && w >= 2) {
      h = Math.ceil(h / 2);
      w = Math.ceil(w / 2);
    }
    return block;
  });
  const flat = h * w * c;
  const hidden: Dense | undefined = cfg.dense > 0 ? createDense(ps, 'image', 'image/dense', flat, cfg.dense, true) : undefined;
  const out = createDense(ps, 'image', 'image/out', hidden ? cfg.dense : flat, outDim, false);

  return {
    forward(x, ctx) {
      let y: tf.Tensor4D = x;
      for (const block of blocks) {
        if (block.bn) {
          const conv = tf.conv2d(y, block.filter as tf.Tensor4D, 1, 'same');
          let normed: tf.Tensor4D;
          if (ctx.training) {
            const { mean, variance } = tf.moments(conv, [0, 1, 2]);
            normed = tf.batchNorm(conv, mean, variance, block.bn.beta, block.bn.gamma, BN_EPS) as tf.Tensor4D;
            ctx.batchStats?.push({ mean: block.bn.mean, variance: block.bn.variance, batchMean: tf.keep(mean), batchVariance: tf.keep(variance) });
          } else {
            normed = tf.batchNorm(conv, block.bn.mean, block.bn.variance, block.bn.beta, block.bn.gamma, BN_EPS) as tf.Tensor4D;
          }
          y = tf.relu(normed);
        } else {
          y = convBiasReluAvailable()
            ? convBiasRelu(y, block.filter as tf.Tensor4D, block.bias as tf.Tensor1D, 1, 'same')
            : tf.fused.conv2d({ x: y, filter: block.filter as tf.Tensor4D, strides: 1, pad: 'same', bias: block.bias, activation: 'relu' });
        }
        if (y.shape[1] >= 2 && y.shape[2] >= 2) y = tf.maxPool(y, 2, 2, 'same');
      }
      let z: tf.Tensor2D = tf.reshape(y, [y.shape[0], -1]);
      if (hidden) z = dense(z, hidden, true);
      z = dropout(z, cfg.dropout, ctx);
      return dense(z, out);
    },
  };
}

/** Moves batch-norm running statistics towards the batch statistics collected in a step. */
export function updateBatchNormStats(stats: NonNullable<ForwardContext['batchStats']>, momentum = 0.9): void {
  tf.tidy(() => {
    for (const s of stats) {
      s.mean.assign(tf.add(tf.mul(s.mean, momentum), tf.mul(s.batchMean, 1 - momentum)));
      s.variance.assign(tf.add(tf.mul(s.variance, momentum), tf.mul(s.batchVariance, 1 - momentum)));
    }
  });
  for (const s of stats) {
    s.batchMean.dispose();
    s.batchVariance.dispose();
  }
  stats.length = 0;
}

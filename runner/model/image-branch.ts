// CNN image branch: conv blocks (conv → [batch norm] → ReLU → 2×2 max-pool), an optional dense
// layer, dropout, then a linear map into the projection's input width.
import * as tf from '@tensorflow/tfjs-core';
import type { ImageBranch } from '../config/types.gen.ts';
import { fusedBatchNormAvailable, fusedBatchNormReluPoolTrain, fusedBatchNormTrain } from './backend/ops/batch-norm.ts';
import { convBiasRelu, convBiasReluAvailable } from './backend/ops/conv-bias-relu.ts';
import { createDense, dense, dropout, type Dense, type ForwardContext } from './layers.ts';
import type { ParamStore } from './params.ts';

interface ConvBlock {
  filter: tf.Variable;
  bias?: tf.Variable;
  bn?: BatchNorm;
}

interface BatchNorm {
  gamma: tf.Variable;
  beta: tf.Variable;
  mean: tf.Variable;
  variance: tf.Variable;
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
        const pool = y.shape[1] >= 2 && y.shape[2] >= 2;
        if (block.bn && fusedBatchNormAvailable() && ctx.training) {
          // batch norm, ReLU and the max-pool in one kernel each way
          y = convBatchNormReluPool(y, block.filter as tf.Tensor4D, block.bn, pool, ctx);
          continue;
        }
        if (block.bn && fusedBatchNormAvailable()) {
          y = foldedConvBatchNormRelu(y, block.filter as tf.Tensor4D, block.bn);
        } else if (block.bn) {
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
          y = convReluWithBias(y, block.filter as tf.Tensor4D, block.bias as tf.Tensor1D);
        }
        if (pool) y = tf.maxPool(y, 2, 2, 'same');
      }
      let z: tf.Tensor2D = tf.reshape(y, [y.shape[0], -1]);
      if (hidden) z = dense(z, hidden, true);
      z = dropout(z, cfg.dropout, ctx);
      return dense(z, out);
    },
  };
}

/** relu(conv(x) + bias), stride 1, same padding: one kernel each way where mmrun's native kernels run. */
function convReluWithBias(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  return convBiasReluAvailable()
    ? convBiasRelu(x, filter, bias, 1, 'same')
    : tf.fused.conv2d({ x, filter, strides: 1, pad: 'same', bias, activation: 'relu' });
}

/**
 * Training: conv, then batch norm with the batch's statistics, ReLU and (if pool) the 2×2 max-pool
 * in one kernel (and one gradient).
 */
function convBatchNormReluPool(x: tf.Tensor4D, filter: tf.Tensor4D, bn: BatchNorm, pool: boolean, ctx: ForwardContext): tf.Tensor4D {
  const conv = tf.conv2d(x, filter, 1, 'same');
  const [gamma, beta] = [bn.gamma as tf.Tensor1D, bn.beta as tf.Tensor1D];
  const { y, mean, variance } = pool ? fusedBatchNormReluPoolTrain(conv, gamma, beta, BN_EPS) : fusedBatchNormTrain(conv, gamma, beta, BN_EPS, true);
  ctx.batchStats?.push({ mean: bn.mean, variance: bn.variance, batchMean: tf.keep(mean), batchVariance: tf.keep(variance) });
  return y;
}

/**
 * Inference: batch norm with the running statistics is a per-channel scale and shift, folded into
 * the convolution's filter and bias (one conv + bias + ReLU kernel instead of conv, batch norm, ReLU).
 */
function foldedConvBatchNormRelu(x: tf.Tensor4D, filter: tf.Tensor4D, bn: BatchNorm): tf.Tensor4D {
  const scale = tf.mul(bn.gamma, tf.rsqrt(tf.add(bn.variance, BN_EPS)));
  const shift = tf.sub(bn.beta, tf.mul(bn.mean, scale)) as tf.Tensor1D;
  return convReluWithBias(x, tf.mul(filter, scale), shift);
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

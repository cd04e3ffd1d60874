// relu(conv2d(x, filter) + bias) through MmrunConvBiasRelu (kernels/conv-bias-relu.ts) when the
// native kernels run; callers use tf.fused.conv2d elsewhere.
import * as tf from '@tensorflow/tfjs-core';
import { CONV_BIAS_RELU } from '../kernels/conv-bias-relu.ts';
import { nativeActive } from '../simd/module.ts';

export function convBiasReluAvailable(): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(CONV_BIAS_RELU, 'wasm') !== undefined && nativeActive();
}

/** relu(conv2d(x, filter, strides, pad) + bias) for NHWC x, filter [KH, KW, CI, CO], bias [CO]. */
export function convBiasRelu(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, strides: number, pad: 'same' | 'valid'): tf.Tensor4D {
  return tf.engine().runKernel(CONV_BIAS_RELU, { x, filter, bias }, { strides, pad }) as tf.Tensor4D;
}

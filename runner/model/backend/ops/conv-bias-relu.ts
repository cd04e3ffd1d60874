// relu(conv2d(x, filter) + bias) through MmrunConvBiasRelu (kernels/conv-bias-relu.ts) when the
// native kernels run; callers use tf.fused.conv2d elsewhere.
import * as tf from '@tensorflow/tfjs-core';
import { CONV_BIAS_RELU } from '../kernels/conv-bias-relu.ts';
import { nativeKernelReady } from './available.ts';

export function convBiasReluAvailable(): boolean {
  return nativeKernelReady(CONV_BIAS_RELU);
}

/** relu(conv2d(x, filter, strides, pad) + bias) for NHWC x, filter [KH, KW, CI, CO], bias [CO]. */
export function convBiasRelu(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, strides: number, pad: 'same' | 'valid'): tf.Tensor4D {
  return tf.engine().runKernel(CONV_BIAS_RELU, { x, filter, bias }, { strides, pad }) as tf.Tensor4D;
}

// MmrunConvBiasRelu: y = relu(conv2d(x, filter) + bias) as one kernel with its own gradient, for
// training with the native kernels. tfjs splits a fused convolution into Conv2D + Add + Relu (and
// their three gradients) whenever gradients are recorded; this keeps the forward one native pass
// and takes the backward's ReLU mask and bias gradient in one pass (MmrunReluBiasGrad). The input
// gradient is lazy, so the input image's gradient is never computed.
import * as tf from '@tensorflow/tfjs-core';
import { nativeOf } from '../simd/module.ts';
import { call, type KernelFn } from './registry.ts';
import { RELU_BIAS_GRAD } from './relu-bias-grad.ts';

export const CONV_BIAS_RELU = 'MmrunConvBiasRelu';

interface Attrs {
  strides: number;
  pad: 'same' | 'valid';
}

const convAttrs = (a: Attrs) => ({ strides: a.strides, pad: a.pad, dataFormat: 'NHWC', dilations: 1 });

export const convBiasRelu: KernelFn = ({ inputs, backend, attrs }) => {
  if (!nativeOf(backend)) throw new Error(`${CONV_BIAS_RELU} needs mmrun's native kernels`);
  return call('FusedConv2D', backend, inputs, { ...convAttrs(attrs as unknown as Attrs), activation: 'relu' } as unknown as tf.NamedAttrMap);
};

export function registerConvBiasReluGradient(): void {
  tf.registerGradient({
    kernelName: CONV_BIAS_RELU,
    inputsToSave: ['x', 'filter'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter, y] = saved;
      const conv = convAttrs(attrs as unknown as Attrs);
      // Both parameters always need dz (the engine disposes what one input's closure makes before
      // calling the next, so it cannot be shared lazily); only the input gradient is skippable.
      const [dz, db] = tf.engine().runKernel(RELU_BIAS_GRAD, { dy: dy as tf.Tensor, y }, {}) as tf.Tensor[];
      return {
        x: () => tf.engine().runKernel('Conv2DBackpropInput', { dy: dz, filter }, { ...conv, inputShape: x.shape }) as tf.Tensor,
        filter: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy: dz }, { ...conv, filterShape: filter.shape }) as tf.Tensor,
        bias: () => db,
      };
    },
  });
}

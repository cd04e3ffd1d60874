// MmrunDense: y = x·w + bias (+ ReLU) for 2-D x, as one kernel with its own gradient, for training
// with the native kernels. In training tfjs splits a fused product with ReLU into MatMul + Add +
// Relu, and every product it differentiates goes through reshapes to rank 3; this keeps the
// forward one native call (bias and ReLU in the GEMM's epilogue), takes the ReLU mask and the bias
// gradient in one pass, and computes the input gradient only when something needs it.
import * as tf from '@tensorflow/tfjs-core';
import { nativeOf } from '../simd/module.ts';
import { call, type KernelFn } from './registry.ts';
import { RELU_BIAS_GRAD } from './relu-bias-grad.ts';

export const DENSE = 'MmrunDense';

export const dense: KernelFn = ({ inputs, backend, attrs }) => {
  if (!nativeOf(backend)) throw new Error(`${DENSE} needs mmrun's native kernels`);
  const { x, w, bias } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; bias: tf.TensorInfo };
  const relu = (attrs as { relu: boolean }).relu;
  return call('_FusedMatMul', backend, { a: x, b: w, bias }, { transposeA: false, transposeB: false, activation: relu ? 'relu' : 'linear' } as unknown as tf.NamedAttrMap);
};

export function registerDenseGradient(): void {
  tf.registerGradient({
    kernelName: DENSE,
    inputsToSave: ['x', 'w'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, w, y] = saved;
      const g = dy as tf.Tensor;
      // dz and the bias gradient serve both parameters, so they are made here, not lazily (the
      // engine disposes what one input's closure makes before calling the next).
      const [dz, db] = (attrs as { relu: boolean }).relu
        ? (tf.engine().runKernel(RELU_BIAS_GRAD, { dy: g, y }, {}) as tf.Tensor[])
        : [g, tf.engine().runKernel('Sum', { x: g }, { axis: [0], keepDims: false }) as tf.Tensor];
      return {
        x: () => tf.engine().runKernel('BatchMatMul', { a: dz, b: w }, { transposeA: false, transposeB: true }) as tf.Tensor,
        w: () => tf.engine().runKernel('BatchMatMul', { a: x, b: dz }, { transposeA: true, transposeB: false }) as tf.Tensor,
        bias: () => db,
      };
    },
  });
}

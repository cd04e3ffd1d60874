// x·w + bias (+ ReLU) through MmrunDense (kernels/dense.ts) when the native kernels run; callers
// use tf.fused.matMul elsewhere.
import * as tf from '@tensorflow/tfjs-core';
import { DENSE } from '../kernels/dense.ts';
import { nativeKernelReady } from './available.ts';

export function nativeDenseAvailable(): boolean {
  return nativeKernelReady(DENSE);
}

/** x [N, in] · w [in, out] + bias [out], then ReLU if asked. */
export function nativeDense(x: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D, relu: boolean): tf.Tensor2D {
  return tf.engine().runKernel(DENSE, { x, w, bias }, { relu }) as tf.Tensor2D;
}

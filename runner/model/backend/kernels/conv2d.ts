// Conv2D and FusedConv2D (convolution + bias + ReLU) through the native implicit-GEMM convolution
// (native/conv.c): 1.6–2× XNNPACK's speed on the image branch's shapes. Without native kernels, and
// for NCHW, other activations or bias shapes, the built-in (XNNPACK) runs.
import * as tf from '@tensorflow/tfjs-core';
import { nativeOf, ptr, type WasmBackendLike } from '../simd/module.ts';
import type { ConvAttrs } from './conv-attrs.ts';
import { callBuiltin, type KernelFn } from './registry.ts';

interface Attrs extends ConvAttrs {
  activation?: string;
}

function convolve(name: 'Conv2D' | 'FusedConv2D', args: Parameters<KernelFn>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const a = args.attrs as unknown as Attrs;
  const activation = a.activation ?? 'linear';
  const native = nativeOf(args.backend);
  const biasOk = !bias || (bias.shape.length === 1 && bias.shape[0] === filter!.shape[3]);
  // A reduction of fewer than 32 terms leaves the GEMM's tiles mostly overhead; XNNPACK wins there,
  // except for one input channel, which the native side handles as shifted copies of the image
  // (64×28×28×1 → 16: 0.41 ms against XNNPACK's 0.85 ms).
  const shallow = filter!.shape[2] > 1 && filter!.shape[0] * filter!.shape[1] * filter!.shape[2] < 32;
  if (!native || shallow || a.dataFormat === 'NCHW' || preluActivationWeights || !(activation === 'linear' || activation === 'relu') || !biasOk || x!.dtype !== 'float32') {
    return callBuiltin(name, args);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x!.shape as [number, number, number, number], filter!.shape as [number, number, number, number], a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast',
  );
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput(info.outShape, 'float32');
  native.conv2d(ptr(backend, x!), info, ptr(backend, filter!), ptr(backend, out), bias ? ptr(backend, bias) : 0, activation === 'relu');
  return out;
}

export const conv2D: KernelFn = (args) => convolve('Conv2D', args);
export const fusedConv2D: KernelFn = (args) => convolve('FusedConv2D', args);

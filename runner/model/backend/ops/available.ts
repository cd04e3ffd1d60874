// Whether an op of mmrun's own can run: the wasm backend is in use with the op's kernel registered
// (and, for native-only kernels, the native kernels loaded). Callers use a tfjs composite otherwise.
import * as tf from '@tensorflow/tfjs-core';
import { nativeActive } from '../simd/module.ts';

export function wasmKernelReady(kernelName: string): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(kernelName, 'wasm') !== undefined;
}

export function nativeKernelReady(kernelName: string): boolean {
  return wasmKernelReady(kernelName) && nativeActive();
}

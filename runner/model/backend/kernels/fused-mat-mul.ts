// _FusedMatMul (dense layers: product + bias + ReLU) through mmrun's GEMM and an in-place
// epilogue. With native kernels or relaxed-SIMD FMA the GEMM outruns XNNPACK's (≈ 160–200 or 60
// vs 40 GFLOP/s on the Transformer's shapes); otherwise, and for other activations or bias
// shapes, the built-in runs.
import type * as tf from '@tensorflow/tfjs-core';
import { nativeActive, simdVariant, type WasmBackendLike } from '../simd/module.ts';
import { matMulInto, matMulPlan } from './batch-mat-mul.ts';
import { callBuiltin, type KernelFn } from './registry.ts';

export const fusedMatMul: KernelFn = (args) => {
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const { transposeA, transposeB, activation } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean; activation: string };
  if ((simdVariant() !== 'fma' && !nativeActive()) || preluActivationWeights || !(activation === 'linear' || activation === 'relu') || a!.dtype !== 'float32' || b!.dtype !== 'float32') {
    return callBuiltin('_FusedMatMul', args);
  }
  const ops = { a: a!, b: b!, transposeA, transposeB };
  const plan = matMulPlan(ops);
  if (!plan || (bias && !(bias.shape.length === 1 && bias.shape[0] === plan.N))) return callBuiltin('_FusedMatMul', args);
  const backend = args.backend as WasmBackendLike;
  const out = backend.makeOutput(plan.outShape, 'float32');
  matMulInto(backend, ops, plan, out, { bias, relu: activation === 'relu' });
  return out;
};

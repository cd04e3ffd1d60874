// BatchMatMul through mmrun's SIMD GEMM. The built-in uses XNNPACK only for an unbatched product
// without transposes and a scalar loop (~1.5 GFLOP/s) otherwise, which is most of training.
import * as tf from '@tensorflow/tfjs-core';
import { nativeOf, ptr, simdOf, withScratch, type WasmBackendLike } from '../simd/module.ts';
import { callBuiltin, sizeOf, type KernelFn } from './registry.ts';

export interface MatMulOperands {
  a: tf.TensorInfo;
  b: tf.TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
}

/** Output shape and sizes of a batched product, or undefined when batch dims need general broadcasting. */
export function matMulPlan({ a, b, transposeA, transposeB }: MatMulOperands) {
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== Kb) throw new Error(`BatchMatMul: inner dimensions ${K} and ${Kb} differ (shapes ${a.shape} and ${b.shape})`);
  const batchA = sizeOf(a.shape.slice(0, -2));
  const batchB = sizeOf(b.shape.slice(0, -2));
  const outBatch = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = sizeOf(outBatch);
  if (!((batchA === batch || batchA === 1) && (batchB === batch || batchB === 1))) return undefined;
  return { M, N, K, batchA, batchB, batch, outShape: [...outBatch, M, N] };
}

/** Added to every row of a product, then ReLU (dense layers). */
export interface Epilogue {
  bias?: tf.TensorInfo;
  relu: boolean;
}

/** out = op(a)·op(b) (+ bias, ReLU) into an existing float32 output. */
export function matMulInto(backend: tf.KernelBackend, ops: MatMulOperands, plan: NonNullable<ReturnType<typeof matMulPlan>>, out: tf.TensorInfo, epilogue?: Epilogue): void {
  const { M, N, K, batchA, batchB, batch } = plan;
  if (M * N * batch === 0) return;
  const native = nativeOf(backend);
  if (native) {
    // One call for the whole batch; transposes are strides, never copies.
    const [ars, acs] = ops.transposeA ? [1, M] : [K, 1];
    const [brs, bcs] = ops.transposeB ? [1, K] : [N, 1];
    const sa = batchA === 1 ? 0 : M * K;
    const sb = batchB === 1 ? 0 : K * N;
    native.matmul(batch, M, N, K, ptr(backend, ops.a), ars, acs, sa, ptr(backend, ops.b), brs, bcs, sb, ptr(backend, out), epilogue?.bias ? ptr(backend, epilogue.bias) : 0, epilogue?.relu ?? false);
    return;
  }
  const simd = simdOf(backend);
  const pa = ptr(backend, ops.a);
  const pc = ptr(backend, out);
  const run = (pb: number) => {
    const ars = ops.transposeA ? 1 : K;
    const acs = ops.transposeA ? M : 1;
    for (let i = 0; i < batch; i++) {
      const ia = batchA === 1 ? 0 : i;
      const ib = batchB === 1 ? 0 : i;
      simd.gemm(M, N, K, pa + ia * M * K * 4, ars, acs, pb + ib * K * N * 4, N, pc + i * M * N * 4, N, 0);
    }
  };
  if (ops.transposeB) {
    // B arrives as N×K: pack it K×N so the micro-kernel reads columns as vectors.
    withScratch(backend, batchB * K * N * 4, (packed) => {
      simd.transpose2d(ptr(backend, ops.b), N, K, packed, batchB);
      run(packed);
    });
  } else {
    run(ptr(backend, ops.b));
  }
  if (epilogue?.bias || epilogue?.relu) simd.bias_relu(pc, batch * M, N, epilogue.bias ? ptr(backend, epilogue.bias) : 0, epilogue.relu ? 1 : 0);
}

export const batchMatMul: KernelFn = (args) => {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return callBuiltin('BatchMatMul', args);
  const ops = { a, b, transposeA, transposeB };
  const plan = matMulPlan(ops);
  if (!plan) return callBuiltin('BatchMatMul', args);
  const out = (args.backend as WasmBackendLike).makeOutput(plan.outShape, 'float32');
  matMulInto(args.backend, ops, plan, out);
  return out;
};

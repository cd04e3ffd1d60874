// Conv2DBackpropFilter (missing in wasm): dW[kh,kw,ci,co] = Σ_p col[p,(kh,kw,ci)]·dy[p,co],
// i.e. one GEMM over the im2col matrix of the input read transposed: native (implicit im2col) when
// available, else im2col into scratch memory and the SIMD GEMM.
import * as tf from '@tensorflow/tfjs-core';
import { nativeOf, ptr, simdOf, withScratch, type WasmBackendLike } from '../simd/module.ts';
import type { ConvAttrs } from './conv-attrs.ts';
import type { KernelFn } from './registry.ts';

interface Attrs extends ConvAttrs {
  filterShape: [number, number, number, number];
}

export const conv2DBackpropFilter: KernelFn = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as Attrs;
  if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], a.filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, false, 'channelsLast',
  );
  const out = (backend as WasmBackendLike).makeOutput(a.filterShape, 'float32');
  const native = nativeOf(backend);
  if (native) {
    native.conv2dBackpropFilter(ptr(backend, x), info, ptr(backend, dy), ptr(backend, out));
    return out;
  }
  const { batchSize, inHeight, inWidth, inChannels, filterHeight: KH, filterWidth: KW, outHeight, outWidth, outChannels } = info;
  const P = batchSize * outHeight * outWidth;
  const KKC = KH * KW * inChannels;
  const simd = simdOf(backend);
  withScratch(backend, P * KKC * 4, (col) => {
    if (inChannels === 1) {
      // One channel: build the column matrix transposed (one shifted input copy per filter tap)
      // and read it row-major; ~4× faster to build than the per-position layout.
      simd.im2col_t1(
        ptr(backend, x), batchSize, inHeight, inWidth, KH, KW, info.strideHeight, info.strideWidth,
        info.padInfo.top, info.padInfo.left, info.dilationHeight, info.dilationWidth, outHeight, outWidth, col,
      );
      simd.gemm(KKC, outChannels, P, col, P, 1, ptr(backend, dy), outChannels, ptr(backend, out), outChannels, 0);
      return;
    }
    simd.im2col(
      ptr(backend, x), batchSize, inHeight, inWidth, inChannels, KH, KW, info.strideHeight, info.strideWidth,
      info.padInfo.top, info.padInfo.left, info.dilationHeight, info.dilationWidth, outHeight, outWidth, col,
    );
    simd.gemm(KKC, outChannels, P, col, 1, KKC, ptr(backend, dy), outChannels, ptr(backend, out), outChannels, 0);
  });
  return out;
};

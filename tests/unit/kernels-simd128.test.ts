// The plain SIMD128 build of mmrun's kernels (used where the engine refuses relaxed SIMD), forced
// with MMRUN_WASM_FMA=0 (and no native kernels), on the products and convolutions that run through its GEMM.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { compareBackends, random, runKernel, setupBackends, tensor } from './kernels-compare.ts';

beforeAll(async () => {
  process.env.MMRUN_WASM_FMA = '0';
  process.env.MMRUN_NATIVE_KERNELS = '0';
  await setupBackends();
}, 300_000);

describe('SIMD128 kernels (no FMA)', () => {
  it('are the ones in use', async () => {
    const { simdVariant } = await import('../../runner/model/backend/simd/module.ts');
    expect(simdVariant()).toBe('simd128');
  });
  for (const [label, sa, sb, ta, tb] of [
    ['plain, odd sizes', [7, 13], [13, 9], false, false],
    ['batched, transposeB', [6, 17, 8], [6, 19, 8], false, true],
    ['transposeA, long reduction', [600, 9], [600, 16], true, false],
  ] as [string, number[], number[], boolean, boolean][]) {
    it(`BatchMatMul ${label}`, async () => {
      const { maxDiff } = await compareBackends(() => tf.matMul(tensor(random(sa, 1)), tensor(random(sb, 2)), ta, tb));
      expect(maxDiff).toBeLessThan(1e-4);
    });
  }
  it('Conv2DBackpropFilter, stride 2 same', async () => {
    const x = random([2, 9, 9, 3], 3);
    const dy = random([2, 5, 5, 4], 4);
    const { maxDiff } = await compareBackends(() => runKernel('Conv2DBackpropFilter', { x: tensor(x), dy: tensor(dy) }, { strides: 2, pad: 'same', dataFormat: 'NHWC', dilations: 1, filterShape: [3, 3, 3, 4] }) as tf.Tensor);
    expect(maxDiff).toBeLessThan(1e-4);
  });
});

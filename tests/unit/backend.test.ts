// Backend choice: auto falls back to mmrun's wasm path when native TensorFlow is not installed,
// an explicit native choice that cannot start is a user error naming the package, and the
// returned description is what runs record.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { MmrunError } from '../../runner/errors.ts';
import { initBackend, type BackendChoice } from '../../runner/model/backend/index.ts';

const nativeInstalled = (pkg: string) => import(pkg).then(() => true, () => false);

describe('initBackend', () => {
  it('wasm: starts the WebAssembly backend with mmrun kernels, from local files', async () => {
    const info = await initBackend('wasm');
    expect(info.name).toBe('wasm');
    // What a run records: backend and device (CPU model, SIMD level the native kernels target).
    expect(info.label).toMatch(/^wasm\+native \(cpu: .+, (avx2|avx512|avx|sse4\.2|neon)\)$/);
    expect(info.warnings).toEqual([]);
    expect(tf.getBackend()).toBe('wasm');
    expect(info.detail).toMatch(/mmrun training kernels/);
    expect(info.detail).toMatch(/native kernels \(.+, -march=native\)/); // the run records that its GEMM ran native
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).arraySync())).toEqual([[3, 3], [3, 3]]);
  });

  it('auto: picks native TensorFlow if installed, else wasm, and says why', async () => {
    const info = await initBackend('auto');
    if (await nativeInstalled('@tensorflow/tfjs-node')) {
      expect(info.name).toBe('tensorflow');
    } else {
      expect(info.name).toBe('wasm');
      expect(info.detail).toMatch(/^auto: wasm/);
      expect(info.detail).toMatch(/@tensorflow\/tfjs-node is not installed/);
      expect(info.label).toMatch(/^wasm\+native \(cpu: /);
      expect(info.warnings).toEqual([]); // packages that are simply not installed are no surprise
    }
    expect(tf.getBackend()).toBe(info.name);
  });

  for (const choice of ['tensorflow', 'tensorflow-gpu'] as const) {
    it(`${choice}: asked for but missing is an MmrunError naming the package to install`, async () => {
      const pkg = choice === 'tensorflow' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu';
      if (await nativeInstalled(pkg)) return; // a machine with native TensorFlow: nothing to refuse
      const err = await initBackend(choice).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(MmrunError);
      expect((err as MmrunError).message).toContain(`model.backend: '${choice}'`);
      expect((err as MmrunError).message).toContain(`${pkg} is not installed`);
      expect((err as MmrunError).hint).toContain(`npm install ${pkg}`);
    });
  }

  it('cpu: the reference backend', async () => {
    const info = await initBackend('cpu');
    expect(info.name).toBe('cpu');
    expect(info.label).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    await initBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('an unknown choice is an MmrunError listing the valid ones', async () => {
    const err = await initBackend('gpu' as BackendChoice).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(MmrunError);
    expect((err as MmrunError).hint).toMatch(/auto, tensorflow-gpu, tensorflow, wasm, cpu/);
  });
});

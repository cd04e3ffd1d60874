// Every kernel mmrun registers on the wasm backend, checked against the reference cpu backend on
// random inputs, including odd shapes (stride 2, same/valid padding, batch 1, sizes that are not
// multiples of the SIMD width). Run twice: with the native kernels (kernels.test.ts) and with the
// WebAssembly ones only (kernels-wasm.test.ts).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { TRAINING_KERNELS } from '../../runner/model/backend/kernels/index.ts';
import { compareBackends, random, runKernel, setupBackends, tensor } from './kernels-compare.ts';

const TOL = 1e-4; // float32 sums of up to a few thousand terms, relative to max(1, |value|)

export function kernelSuite(mode: 'native' | 'wasm'): void {
  beforeAll(async () => {
    process.env.MMRUN_NATIVE_KERNELS = mode === 'native' ? '1' : '0';
    await setupBackends();
  }, 300_000);

  describe(`kernels in use (${mode})`, () => {
    it(mode === 'native' ? 'include the native kernels (this machine has a C compiler)' : 'are the WebAssembly ones only', async () => {
      const { nativeActive } = await import('../../runner/model/backend/simd/module.ts');
      expect(nativeActive()).toBe(mode === 'native');
    });
    it(mode === 'native' ? 'offer the fused attention op' : 'do not offer the fused attention op, whose kernels say why if called', async () => {
      const { fusedAttentionAvailable } = await import('../../runner/model/backend/ops/attention.ts');
      await tf.setBackend('wasm');
      expect(fusedAttentionAvailable()).toBe(mode === 'native');
      if (mode === 'wasm') {
        const qkv = tf.zeros([2, 6]);
        const keyBias = tf.zeros([1, 2]);
        expect(() => runKernel('MmrunAttention', { qkv, keyBias }, { B: 1, L: 2, H: 1, D: 2, scale: 1 })).toThrow(/needs mmrun's native kernels/);
        tf.dispose([qkv, keyBias]);
      }
    });
  });

  describe('registration', () => {
    it('replaces or adds every training kernel on wasm, and only there', () => {
      for (const name of Object.keys(TRAINING_KERNELS)) {
        const k = tf.getKernel(name, 'wasm');
        expect(k, name).toBeDefined();
        expect((k!.kernelFunc as { mmrun?: boolean }).mmrun, name).toBe(true);
      }
      expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc).not.toBe(tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc);
    });
    it('uses the FMA build where the engine accepts relaxed SIMD (Node 20 does, behind a flag we set)', async () => {
      const { simdVariant } = await import('../../runner/model/backend/simd/module.ts');
      expect(simdVariant()).toBe('fma');
    });
  });

  describe('BatchMatMul', () => {
    const cases: [string, number[], number[], boolean, boolean][] = [
      ['plain 2D', [7, 13], [13, 9], false, false],
      ['transposeA', [13, 7], [13, 9], true, false],
      ['transposeB', [7, 13], [9, 13], false, true],
      ['both transposed', [13, 7], [9, 13], true, true],
      ['batched attention shape', [6, 32, 16], [6, 16, 32], false, false],
      ['batched, transposeB', [6, 17, 8], [6, 19, 8], false, true],
      ['batched, transposeA', [3, 8, 17], [3, 8, 5], true, false],
      ['broadcast batch of a', [1, 5, 6], [4, 6, 11], false, false],
      ['broadcast batch of b', [4, 5, 6], [1, 11, 6], false, true],
      ['rank 4', [2, 3, 4, 5], [2, 3, 5, 6], false, false],
      ['single row and column', [1, 300], [300, 1], false, false],
      ['long reduction', [9, 600], [600, 16], false, false],
      // Native tiling edges: rows past a 16-row block, a 32-wide panel plus a 17–31 remainder,
      // a ≤16 remainder, and reductions longer than one 256-deep block.
      ['tile edges: 17×49 · 49×57', [17, 49], [49, 57], false, false],
      ['tile edges: transposeA, K = 513', [513, 33], [513, 20], true, false],
      ['tile edges: both transposed, N = 16', [40, 31], [16, 40], true, true],
      ['tile edges: batched, N = 33', [3, 9, 300], [3, 300, 33], false, false],
    ];
    for (const [label, sa, sb, ta, tb] of cases) {
      it(label, async () => {
        const a = random(sa, 1);
        const b = random(sb, 2);
        const { maxDiff } = await compareBackends(() => tf.matMul(tensor(a), tensor(b), ta, tb));
        expect(maxDiff).toBeLessThan(TOL);
      });
    }
    it('K = 0 gives zeros', async () => {
      const { maxDiff, wasm } = await compareBackends(() => tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 4])));
      expect(maxDiff).toBe(0);
      expect(wasm.shapes[0]).toEqual([3, 4]);
    });
  });

  describe('Conv2DBackpropFilter and Conv2DBackpropInput', () => {
    const cases: [string, number[], number[], number, 'same' | 'valid', number][] = [
      ['image branch, 16 -> 32 channels (more than one 256-deep block per pixel row)', [3, 14, 14, 16], [3, 3, 16, 32], 1, 'same', 1],
      ['3x3 same dilation 2', [2, 10, 9, 3], [3, 3, 3, 5], 1, 'same', 2],
      ['3x3 same stride 1', [2, 8, 8, 3], [3, 3, 3, 5], 1, 'same', 1],
      ['3x3 valid stride 1', [2, 9, 7, 4], [3, 3, 4, 6], 1, 'valid', 1],
      ['3x3 same stride 2, odd size', [2, 9, 9, 3], [3, 3, 3, 4], 2, 'same', 1],
      ['5x5 valid stride 2', [1, 11, 12, 2], [5, 5, 2, 3], 2, 'valid', 1],
      ['batch 1, one input channel (first layer)', [1, 28, 28, 1], [3, 3, 1, 16], 1, 'same', 1],
      ['one input channel, stride 2 valid, 5x5', [2, 13, 11, 1], [5, 5, 1, 3], 2, 'valid', 1],
      ['1x1', [3, 5, 5, 8], [1, 1, 8, 4], 1, 'valid', 1],
    ];
    for (const [label, xs, ws, stride, pad, dil] of cases) {
      if (dil !== 1) continue; // tfjs has no gradient for dilated convolutions (the cpu reference ignores dilations there)
      it(`filter gradient: ${label}`, async () => {
        const x = random(xs, 3);
        const out = tf.backend_util.computeConv2DInfo(xs as [number, number, number, number], ws as [number, number, number, number], stride, dil, pad);
        const dy = random([xs[0], out.outHeight, out.outWidth, ws[3]], 4);
        const { maxDiff } = await compareBackends(() =>
          runKernel('Conv2DBackpropFilter', { x: tensor(x), dy: tensor(dy) }, { strides: stride, pad, dataFormat: 'NHWC', dilations: dil, filterShape: ws }) as tf.Tensor,
        );
        expect(maxDiff).toBeLessThan(TOL);
      });
      it(`input gradient: ${label}`, async () => {
        const w = random(ws, 5);
        const out = tf.backend_util.computeConv2DInfo(xs as [number, number, number, number], ws as [number, number, number, number], stride, 1, pad);
        const dy = random([xs[0], out.outHeight, out.outWidth, ws[3]], 6);
        const { maxDiff } = await compareBackends(() =>
          runKernel('Conv2DBackpropInput', { dy: tensor(dy), filter: tensor(w) }, { strides: stride, pad, dataFormat: 'NHWC', inputShape: xs }) as tf.Tensor,
        );
        expect(maxDiff).toBeLessThan(TOL);
      });
    }
    for (const [label, xs, ws, stride, pad, dil] of cases) {
      for (const fused of [false, true]) {
        it(`forward${fused ? ' fused (bias + relu)' : ''}: ${label}`, async () => {
          const x = random(xs, 10);
          const w = random(ws, 11);
          const b = random([ws[3]], 12);
          const { maxDiff } = await compareBackends(() =>
            fused
              ? tf.fused.conv2d({ x: tensor(x) as tf.Tensor4D, filter: tensor(w) as tf.Tensor4D, strides: stride, pad, dilations: dil, bias: tensor(b), activation: 'relu' })
              : tf.conv2d(tensor(x) as tf.Tensor4D, tensor(w) as tf.Tensor4D, stride, pad, 'NHWC', dil),
          );
          expect(maxDiff).toBeLessThan(TOL);
        });
      }
    }
    it('forward with explicit asymmetric padding', async () => {
      const x = random([2, 6, 7, 3], 13);
      const w = random([3, 2, 3, 4], 14);
      const { maxDiff } = await compareBackends(() => tf.conv2d(tensor(x) as tf.Tensor4D, tensor(w) as tf.Tensor4D, 1, [[0, 0], [2, 0], [0, 1], [0, 0]]));
      expect(maxDiff).toBeLessThan(TOL);
    });
    it('convBiasRelu (native only): value and gradients match tf.fused.conv2d on the cpu backend', async () => {
      const { convBiasRelu, convBiasReluAvailable } = await import('../../runner/model/backend/ops/conv-bias-relu.ts');
      await tf.setBackend('wasm');
      expect(convBiasReluAvailable()).toBe(mode === 'native');
      if (mode !== 'native') return;
      for (const [xs, ws] of [[[2, 9, 9, 3], [3, 3, 3, 20]], [[3, 14, 14, 16], [3, 3, 16, 32]], [[1, 8, 8, 1], [3, 3, 1, 16]]]) {
        const x = random(xs, 21);
        const w = random(ws, 22);
        const b = random([ws[3]], 23);
        const loss = (f: (xx: tf.Tensor4D, ww: tf.Tensor4D, bb: tf.Tensor1D) => tf.Tensor) => (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.mul(f(xx as tf.Tensor4D, ww as tf.Tensor4D, bb as tf.Tensor1D), tf.reshape(tf.linspace(-1, 1, xs[0] * xs[1] * xs[2] * ws[3]), [xs[0], xs[1], xs[2], ws[3]])));
        const fused = (xx: tf.Tensor4D, ww: tf.Tensor4D, bb: tf.Tensor1D) => tf.fused.conv2d({ x: xx, filter: ww, strides: 1, pad: 'same', bias: bb, activation: 'relu' });
        const ours = (xx: tf.Tensor4D, ww: tf.Tensor4D, bb: tf.Tensor1D) => convBiasRelu(xx, ww, bb, 1, 'same');
        const run = (f: typeof fused) => tf.tidy(() => {
          const { value, grads } = tf.valueAndGrads(loss(f))([tensor(x), tensor(w), tensor(b)]);
          return [value, ...grads].map((t) => Float32Array.from(t.dataSync()));
        });
        await tf.setBackend('cpu');
        const expected = run(fused);
        await tf.setBackend('wasm');
        const actual = run(ours);
        for (let i = 0; i < expected.length; i++) {
          let diff = 0;
          for (let j = 0; j < expected[i].length; j++) diff = Math.max(diff, Math.abs(expected[i][j] - actual[i][j]) / Math.max(1, Math.abs(expected[i][j])));
          expect(diff, `${xs} ${ws} output ${i}`).toBeLessThan(TOL);
        }
      }
    });
    it('gradients through tf.grad of a fused conv (bias + relu) match', async () => {
      const x = random([2, 7, 7, 3], 7);
      const w = random([3, 3, 3, 4], 8);
      const b = random([4], 9);
      const { maxDiff } = await compareBackends(() => {
        const f = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
          tf.sum(tf.square(tf.fused.conv2d({ x: xx as tf.Tensor4D, filter: ww as tf.Tensor4D, strides: 1, pad: 'same', bias: bb, activation: 'relu' })));
        return tf.grads(f)([tensor(x), tensor(w), tensor(b)]);
      });
      expect(maxDiff).toBeLessThan(TOL);
    });
  });

  describe('MaxPoolGrad', () => {
    const cases: [string, number[], number, number, 'same' | 'valid', number][] = [
      ['2x2 stride 2 same, channels a multiple of 4', [2, 8, 8, 8], 2, 2, 'same', 0],
      ['2x2 stride 2 same, odd size, 3 channels', [1, 7, 7, 3], 2, 2, 'same', 0],
      ['3x3 stride 2 valid (overlapping windows)', [2, 9, 9, 4], 3, 2, 'valid', 0],
      ['3x3 stride 1 same, 5 channels', [1, 6, 6, 5], 3, 1, 'same', 0],
      ['all-negative windows', [2, 6, 6, 4], 2, 2, 'same', -3],
      ['all-negative windows, scalar path', [2, 6, 6, 3], 2, 2, 'valid', -3],
      ['2x2 tiling path (even size, 8 channels)', [3, 6, 4, 8], 2, 2, 'valid', 0],
      ['2x2 tiling path, all-negative windows', [1, 4, 4, 4], 2, 2, 'same', -3],
    ];
    for (const [label, xs, f, s, pad, shift] of cases) {
      it(label, async () => {
        const x = random(xs, 10);
        x.values = (x.values as Float32Array).map((v) => v + shift);
        const info = tf.backend_util.computePool2DInfo(xs as [number, number, number, number], f, s, 1, pad);
        const dy = random([xs[0], info.outHeight, info.outWidth, xs[3]], 11);
        const { maxDiff } = await compareBackends(() => {
          const xt = tensor(x) as tf.Tensor4D;
          const y = tf.maxPool(xt, f, s, pad);
          return runKernel('MaxPoolGrad', { dy: tensor(dy), input: xt, output: y }, { filterSize: f, strides: s, pad }) as tf.Tensor;
        });
        expect(maxDiff).toBeLessThan(1e-6);
      });
    }
  });

  describe('UnsortedSegmentSum (gradient of gather)', () => {
    for (const [label, rows, inner, segments] of [
      ['embedding-like, repeated ids', 300, 64, 50],
      ['inner not a multiple of 4', 40, 5, 7],
      ['scalar rows', 33, 1, 4],
    ] as [string, number, number, number][]) {
      it(label, async () => {
        const x = random([rows, inner], 12);
        const ids = random([rows], 13, [0, segments]);
        const { maxDiff } = await compareBackends(() => tf.unsortedSegmentSum(tensor(x), tensor(ids) as tf.Tensor1D, segments));
        expect(maxDiff).toBeLessThan(1e-5);
      });
    }
    it('gradient of an embedding lookup', async () => {
      const table = random([20, 6], 14);
      const ids = random([4, 9], 15, [0, 20]);
      const { maxDiff } = await compareBackends(() => tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, tensor(ids)))))(tensor(table)));
      expect(maxDiff).toBeLessThan(1e-5);
    });
  });

  describe('GatherV2', () => {
    it('axis 0 with 2-D indices', async () => {
      const x = random([30, 7], 16);
      const ids = random([5, 3], 17, [0, 30]);
      const { maxDiff } = await compareBackends(() => tf.gather(tensor(x), tensor(ids)));
      expect(maxDiff).toBe(0);
    });
    it('axis 1 of a rank-3 tensor, int32 values', async () => {
      const x = random([3, 10, 4], 18, [-50, 50]);
      const ids = random([6], 19, [0, 10]);
      const { maxDiff } = await compareBackends(() => tf.gather(tensor(x), tensor(ids), 1));
      expect(maxDiff).toBe(0);
    });
  });

  describe('SplitV', () => {
    for (const [label, shape, sizes, axis] of [
      ['qkv split on a middle axis', [4, 6, 5, 3], 3, 1],
      ['uneven sizes on the last axis', [5, 9], [2, 4, 3], -1],
      ['first axis', [6, 4], [1, 5], 0],
    ] as [string, number[], number | number[], number][]) {
      it(label, async () => {
        const x = random(shape, 20);
        const { maxDiff } = await compareBackends(() => tf.split(tensor(x), sizes, axis));
        expect(maxDiff).toBe(0);
      });
    }
  });

  describe('Sum', () => {
    for (const [label, shape, axis, keep] of [
      ['bias gradient: leading axes of NHWC', [4, 9, 9, 16], [0, 1, 2], false],
      ['leading axis, 2-D, inner not a multiple of 4', [130, 7], [0], false],
      ['last axis, keepDims', [33, 70], [-1], true],
      ['middle axis', [3, 50, 6], [1], false],
      ['all axes', [5, 6, 7], undefined, false],
      ['non-contiguous axes (built-in path)', [3, 4, 5], [0, 2], false],
    ] as [string, number[], number[] | undefined, boolean][]) {
      it(label, async () => {
        const x = random(shape, 21);
        const { maxDiff } = await compareBackends(() => tf.sum(tensor(x), axis, keep));
        expect(maxDiff).toBeLessThan(1e-5);
      });
    }
    it('int32 input keeps its dtype', async () => {
      const x = random([4, 5], 22, [-9, 9]);
      const { maxDiff } = await compareBackends(() => tf.sum(tensor(x), 0));
      expect(maxDiff).toBe(0);
    });
  });

  describe('BroadcastTo', () => {
    it('expands rank and size-1 axes', async () => {
      const x = random([3, 1], 23);
      const { maxDiff } = await compareBackends(() => tf.broadcastTo(tensor(x), [2, 3, 4]));
      expect(maxDiff).toBe(0);
    });
  });

  describe('FusedAdamOptimizer', () => {
    it('follows tfjs Adam on cpu over several steps, and its state round-trips', async () => {
      const { FusedAdamOptimizer } = await import('../../runner/model/backend/fused-adam.ts');
      const init = [random([37, 5], 50), random([3], 51)];
      const grads = Array.from({ length: 4 }, (_, s) => [random([37, 5], 60 + s), random([3], 70 + s)]);
      const { maxDiff, cpu } = await compareBackends(() => {
        const vars = init.map((r, i) => tf.variable(tensor(r), true, `adam-test-${tf.getBackend()}-${i}`));
        const opt = new FusedAdamOptimizer(0.01);
        for (const step of grads) opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: tensor(step[i]) })));
        const out = vars.map((v) => tf.clone(v));
        const m = tf.clone((opt as unknown as { accumulatedFirstMoment: { variable: tf.Variable }[] }).accumulatedFirstMoment[0].variable);
        opt.dispose();
        vars.forEach((v) => v.dispose());
        return [...out, m];
      });
      expect(cpu.values[0].some((x, i) => x !== init[0].values[i])).toBe(true);
      expect(maxDiff).toBeLessThan(1e-5);
    });
  });

  describe('fused layer norm (MmrunLayerNorm and its gradient)', () => {
    for (const [label, shape] of [
      ['transformer rows', [70, 64]],
      ['rank 3, width 8', [3, 5, 8]],
    ] as [string, number[]][]) {
      it(`${label}: value and gradients match the composite on cpu`, async () => {
        const { fusedLayerNorm, fusedLayerNormAvailable } = await import('../../runner/model/backend/ops/layer-norm.ts');
        const x = random(shape, 80);
        x.values = (x.values as Float32Array).map((v, i) => v * (1 + (i % 7)) + 0.3); // rows with different scales
        const width = shape[shape.length - 1];
        const gamma = random([width], 81);
        const beta = random([width], 82);
        const weight = random(shape, 83);
        const { maxDiff } = await compareBackends(() => {
          const ln = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
            if (tf.getBackend() === 'wasm') {
              expect(fusedLayerNormAvailable(width)).toBe(true);
              return fusedLayerNorm(xx, g, b, 1e-5);
            }
            const { mean, variance } = tf.moments(xx, -1, true);
            return tf.add(tf.mul(tf.mul(tf.sub(xx, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
          };
          const loss = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(ln(xx, g, b), tensor(weight)));
          return [ln(tensor(x), tensor(gamma), tensor(beta)), ...tf.grads(loss)([tensor(x), tensor(gamma), tensor(beta)])];
        });
        expect(maxDiff).toBeLessThan(1e-4);
      });
    }
  });

  describe('Add, Sub, Multiply, RealDiv with broadcasting', () => {
    const shapes: [string, number[], number[]][] = [
      ['same shape, size not a multiple of 4', [5, 7], [5, 7]],
      ['bias row over NHWC', [2, 5, 5, 6], [6]],
      ['per-row column', [9, 10], [9, 1]],
      ['scalar on either side', [], [3, 5]],
      ['column times row (outer broadcast)', [6, 1], [1, 9]],
      ['attention softmax-gradient shape', [4, 2, 8, 1], [4, 2, 8, 8]],
      ['middle-axis broadcast (built-in path)', [3, 1, 4], [3, 5, 4]],
    ];
    for (const [label, sa, sb] of shapes) {
      it(label, async () => {
        const a = random(sa, 90);
        const b = random(sb, 91);
        b.values = (b.values as Float32Array).map((v) => v + (v >= 0 ? 0.5 : -0.5)); // keep divisors away from 0
        const { maxDiff } = await compareBackends(() => {
          const [ta, tb] = [tensor(a), tensor(b)];
          return [tf.add(ta, tb), tf.sub(ta, tb), tf.sub(tb, ta), tf.mul(ta, tb), tf.div(ta, tb)];
        });
        expect(maxDiff).toBeLessThan(1e-6);
      });
    }
    it('int32 operands keep the built-in (and their dtype)', async () => {
      const { maxDiff, wasm } = await compareBackends(() => tf.add(tensor(random([4, 3], 92, [-5, 5])), tensor(random([3], 93, [-5, 5]))));
      expect(maxDiff).toBe(0);
      expect(wasm.shapes[0]).toEqual([4, 3]);
    });
  });

  describe('shared buffers', () => {
    it('a clone (shared buffer) of an Adam moment does not change when the optimizer steps', async () => {
      const { FusedAdamOptimizer } = await import('../../runner/model/backend/fused-adam.ts');
      const v = tf.variable(tf.ones([8]), true, 'adam-shared-test');
      const opt = new FusedAdamOptimizer(0.1);
      opt.applyGradients([{ name: v.name, tensor: tf.ones([8]) }]);
      const m = (opt as unknown as { accumulatedFirstMoment: { variable: tf.Variable }[] }).accumulatedFirstMoment[0].variable;
      const kept = tf.clone(m);
      const before = Array.from(kept.dataSync());
      opt.applyGradients([{ name: v.name, tensor: tf.ones([8]) }]);
      expect(Array.from(kept.dataSync())).toEqual(before);
      expect(Array.from(m.dataSync())).not.toEqual(before);
      tf.dispose([kept, v]);
      opt.dispose();
    });
  });

  describe('_FusedMatMul (dense layers)', () => {
    for (const [label, sa, sb, ta, tb, bias, act] of [
      ['bias + relu', [33, 20], [20, 13], false, false, true, 'relu'],
      ['bias, linear, batched', [2, 9, 8], [2, 8, 6], false, false, true, 'linear'],
      ['no bias, transposeB, relu', [7, 5], [11, 5], false, true, false, 'relu'],
      ['elu (built-in path)', [6, 4], [4, 3], false, false, true, 'elu'],
      // full 32-wide and 16-wide tiles (vector epilogue) and partial ones (scalar epilogue), K > 256
      ['bias + relu, tile edges', [37, 300], [300, 80], false, false, true, 'relu'],
      ['bias + relu, transposeA, N = 16', [24, 40], [24, 16], true, false, true, 'relu'],
    ] as [string, number[], number[], boolean, boolean, boolean, 'relu' | 'linear' | 'elu'][]) {
      it(label, async () => {
        const a = random(sa, 95);
        const b = random(sb, 96);
        const n = tb ? sb[sb.length - 2] : sb[sb.length - 1];
        const bi = random([n], 97);
        const { maxDiff } = await compareBackends(() =>
          tf.fused.matMul({ a: tensor(a) as tf.Tensor2D, b: tensor(b) as tf.Tensor2D, transposeA: ta, transposeB: tb, bias: bias ? tensor(bi) : undefined, activation: act }),
        );
        expect(maxDiff).toBeLessThan(1e-4);
      });
    }
  });

  describe('MmrunDense (native only)', () => {
    for (const relu of [true, false]) {
      it(`value and gradients match tf.fused.matMul on the cpu backend (${relu ? 'relu' : 'linear'})`, async () => {
        const { nativeDense, nativeDenseAvailable } = await import('../../runner/model/backend/ops/dense.ts');
        await tf.setBackend('wasm');
        expect(nativeDenseAvailable()).toBe(mode === 'native');
        if (mode !== 'native') return;
        for (const [n, i, o] of [[37, 300, 80], [64, 64, 10], [1, 5, 16]]) {
          const x = random([n, i], 31);
          const w = random([i, o], 32);
          const b = random([o], 33);
          const weights = random([n, o], 34);
          const run = (f: (xx: tf.Tensor2D, ww: tf.Tensor2D, bb: tf.Tensor1D) => tf.Tensor) =>
            tf.tidy(() => {
              const loss = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D), tensor(weights)));
              const { value, grads } = tf.valueAndGrads(loss)([tensor(x), tensor(w), tensor(b)]);
              return [value, ...grads].map((t) => Float32Array.from(t.dataSync()));
            });
          await tf.setBackend('cpu');
          const expected = run((xx, ww, bb) => tf.fused.matMul({ a: xx, b: ww, bias: bb, activation: relu ? 'relu' : 'linear' }));
          await tf.setBackend('wasm');
          const actual = run((xx, ww, bb) => nativeDense(xx, ww, bb, relu));
          for (let k = 0; k < expected.length; k++) {
            let diff = 0;
            for (let j = 0; j < expected[k].length; j++) diff = Math.max(diff, Math.abs(expected[k][j] - actual[k][j]) / Math.max(1, Math.abs(expected[k][j])));
            expect(diff, `${n}x${i}x${o} output ${k}`).toBeLessThan(TOL);
          }
        }
      });
    }
  });

  describe('GatherV2 errors', () => {
    it('an index out of range throws', async () => {
      await tf.setBackend('wasm');
      expect(() => tf.tidy(() => tf.gather(tf.ones([4, 3]), tf.tensor1d([1, 4], 'int32')))).toThrow(/index 4 is not in \[0, 3\]/);
    });
  });

  describe('MaxPoolGrad ties', () => {
    it('a window of equal values sends the gradient to its first position only (2x2 path and general path)', async () => {
      for (const channels of [4, 3]) {
        const { maxDiff, cpu } = await compareBackends(() => {
          const x = tf.fill([1, 4, 4, channels], 0.5) as tf.Tensor4D;
          const y = tf.maxPool(x, 2, 2, 'valid');
          return runKernel('MaxPoolGrad', { dy: tf.onesLike(y), input: x, output: y }, { filterSize: 2, strides: 2, pad: 'valid' }) as tf.Tensor;
        });
        expect(cpu.values[0].reduce((a, b) => a + b, 0)).toBe(4 * channels);
        expect(maxDiff).toBe(0);
      }
    });
  });

  describe('Transpose', () => {
    for (const [label, shape, perm] of [
      ['identity permutation (shares the buffer)', [5, 7], [0, 1]],
      ['identity permutation, rank 3', [2, 3, 4], [0, 1, 2]],
      ['a real permutation (built-in)', [2, 3, 4], [0, 2, 1]],
    ] as [string, number[], number[]][]) {
      it(label, async () => {
        const x = random(shape, 51);
        const { maxDiff, wasm } = await compareBackends(() => tf.add(tf.transpose(tensor(x), perm), 1));
        expect(maxDiff).toBe(0);
        expect(wasm.shapes[0]).toEqual(perm.map((p) => shape[p]));
      });
    }
  });

  describe('Exp', () => {
    it('matches the cpu backend over the whole float range, relative to the value', async () => {
      const special = [0, -0, 1, -1, 0.5, -0.5, 10, -10, 50, -50, 80, -80, 87, -87, 87.5, -87.5, 88.7, 88.8, 100, -100, -103, -103.9, -104, -110, -1e9, 1e9, Infinity, -Infinity];
      const r = random([1003], 41); // not a multiple of 16
      const values = Float32Array.from([...special, ...Array.from(r.values, (v) => v * 90)]);
      await tf.setBackend('cpu');
      const expected = tf.tidy(() => tf.exp(tf.tensor1d(values)).dataSync());
      await tf.setBackend('wasm');
      const actual = tf.tidy(() => tf.exp(tf.tensor1d(values)).dataSync());
      for (let i = 0; i < values.length; i++) {
        const [e, a] = [expected[i], actual[i]];
        if (!Number.isFinite(e) || e === 0) expect(a, `exp(${values[i]})`).toBe(e);
        // subnormals: one unit of the last place, or 1e-5 relative (the argument is shifted by 24 ln 2 first)
        else if (e < 1.1754944e-38) expect(Math.abs(a - e), `subnormal exp(${values[i]}) = ${e}, got ${a}`).toBeLessThanOrEqual(Math.max(2 ** -149, 1e-5 * e));
        else expect(Math.abs(a - e) / e, `exp(${values[i]}) = ${e}, got ${a}`).toBeLessThan(3e-7);
      }
    });
    it('keeps NaN', async () => {
      await tf.setBackend('wasm');
      const out = tf.tidy(() => tf.exp(tf.tensor1d([NaN, 1, NaN])).dataSync());
      expect(Number.isNaN(out[0]) && Number.isNaN(out[2])).toBe(true);
      expect(out[1]).toBeCloseTo(Math.E, 5);
    });
  });

  describe('ReLU gradient (MmrunReluGrad)', () => {
    it('matches dy·step(x) on cpu, including zeros and NaN inputs', async () => {
      const x = random([3, 7, 5], 100);
      (x.values as Float32Array)[0] = 0;
      (x.values as Float32Array)[1] = NaN;
      (x.values as Float32Array)[102] = NaN; // in the scalar tail
      const dy = random([3, 7, 5], 101);
      const { cpu, wasm } = await compareBackends(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), tensor(dy))))(tensor(x)));
      const [c, w] = [cpu.values[0], wasm.values[0]];
      for (let i = 0; i < c.length; i++) expect(Object.is(c[i], w[i]) || Math.abs(c[i] - w[i]) < 1e-7, `element ${i}: cpu ${c[i]} wasm ${w[i]}`).toBe(true);
      expect(Number.isNaN(w[1])).toBe(true);
    });
  });
}

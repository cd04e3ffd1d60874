// The fused self-attention op (MmrunAttention and its gradient, native) on wasm against the tfjs
// composite (reshape, transpose, split, matmuls, softmax) on the reference cpu backend: output
// and gradient w.r.t. qkv, with padded keys, sequence lengths that are not multiples of 8, one
// and several heads.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fusedAttention, fusedAttentionAvailable } from '../../runner/model/backend/ops/attention.ts';
import { compareBackends, random, setupBackends, tensor } from './kernels-compare.ts';

beforeAll(setupBackends, 300_000);

function composite(qkv: tf.Tensor2D, keyBias: tf.Tensor2D, B: number, L: number, H: number, D: number, scale: number): tf.Tensor2D {
  const heads = tf.transpose(tf.reshape(qkv, [B, L, 3 * H, D]), [0, 2, 1, 3]);
  const [q, k, v] = tf.split(heads, 3, 1) as tf.Tensor4D[];
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), scale), tf.reshape(keyBias, [B, 1, 1, L]));
  const attended = tf.matMul(tf.softmax(scores), v);
  return tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [B * L, H * D]) as tf.Tensor2D;
}

/** 0 on kept keys, -1e9 on padding: sequence b keeps its first `lengths[b]` keys. */
function keyBiasFor(B: number, L: number, lengths: number[]): { shape: number[]; values: Float32Array } {
  const values = new Float32Array(B * L);
  for (let b = 0; b < B; b++) for (let l = lengths[b]; l < L; l++) values[b * L + l] = -1e9;
  return { shape: [B, L], values };
}

describe('fused self-attention vs the composite on cpu', () => {
  // [label, B, L, H, D, kept keys per sequence]
  const cases: [string, number, number, number, number, number[]][] = [
    ['B=1, L=7, H=1, D=8, no padding', 1, 7, 1, 8, [7]],
    ['B=3, L=7, H=4, D=8; one sequence keeps only its first key', 3, 7, 4, 8, [5, 1, 7]],
    ['B=2, L=33, H=1, D=32, padded', 2, 33, 1, 32, [33, 20]],
    ['B=3, L=33, H=4, D=32; only-first-key and fully padded sequences', 3, 33, 4, 32, [1, 17, 0]],
    ['B=4, L=32, H=2, D=32 (bench shape, padded)', 4, 32, 2, 32, [32, 8, 31, 12]],
    ['B=2, L=1, H=2, D=8 (one token)', 2, 1, 2, 8, [1, 1]],
    ['B=2, L=9, H=3, D=6 (head width not a multiple of 8: the general GEMM path)', 2, 9, 3, 6, [9, 4]],
    ['B=2, L=13, H=2, D=24 (three vectors per row)', 2, 13, 2, 24, [13, 6]],
    ['B=2, L=70, H=1, D=40 (a pass of 4 vectors and one of 1; keys past 64)', 2, 70, 1, 40, [70, 65]],
  ];
  for (const [label, B, L, H, D, lengths] of cases) {
    it(`${label}: output and gradient w.r.t. qkv`, async () => {
      const W = H * D;
      const scale = 1 / Math.sqrt(D);
      const qkv = random([B * L, 3 * W], 900 + L + H);
      (qkv.values as Float32Array).forEach((v, i, a) => (a[i] = v * 2)); // scores of a few units: peaked and flat softmax rows
      const bias = keyBiasFor(B, L, lengths);
      const weight = random([B * L, W], 950 + D);
      let fusedOnWasm: boolean | undefined;
      const { maxDiff, cpu } = await compareBackends(() => {
        const attend = (x: tf.Tensor) => {
          const kb = tensor(bias) as tf.Tensor2D;
          if (tf.getBackend() === 'wasm') {
            fusedOnWasm = fusedAttentionAvailable();
            return fusedAttention(x as tf.Tensor2D, kb, B, L, H, D, scale);
          }
          return composite(x as tf.Tensor2D, kb, B, L, H, D, scale);
        };
        const loss = (x: tf.Tensor) => tf.sum(tf.mul(attend(x), tensor(weight)));
        return [attend(tensor(qkv)), tf.grad(loss)(tensor(qkv))];
      });
      expect(fusedOnWasm).toBe(true);
      expect(cpu.shapes).toEqual([
        [B * L, W],
        [B * L, 3 * W],
      ]);
      // Not vacuous: every part of the gradient (q, k and v columns) carries signal when keys attend.
      const grad = cpu.values[1];
      const partNorm = (part: number) => grad.reduce((s, g, i) => (Math.floor((i % (3 * W)) / W) === part ? s + Math.abs(g) : s), 0);
      expect(partNorm(2)).toBeGreaterThan(0);
      if (L > 1 && lengths.some((n) => n > 1)) expect(partNorm(0)).toBeGreaterThan(0);
      expect(maxDiff).toBeLessThan(1e-4);
    });
  }

  it('propagates a NaN in a key like the composite (every query of that sequence and head)', async () => {
    const B = 2, L = 9, H = 2, D = 8, W = H * D;
    const qkv = random([B * L, 3 * W], 960);
    (qkv.values as Float32Array)[(0 * L + 4) * 3 * W + W + 3] = NaN; // sequence 0, key 4, head 0
    const bias = keyBiasFor(B, L, [9, 6]);
    const nanPattern = async (backend: string) => {
      await tf.setBackend(backend);
      const out = tf.tidy(() => {
        const x = tensor(qkv) as tf.Tensor2D, kb = tensor(bias) as tf.Tensor2D;
        return backend === 'wasm' ? fusedAttention(x, kb, B, L, H, D, 0.3) : composite(x, kb, B, L, H, D, 0.3);
      });
      const pattern = Array.from(out.dataSync(), Number.isNaN);
      out.dispose();
      return pattern;
    };
    const cpu = await nanPattern('cpu');
    expect(cpu.filter(Boolean).length).toBe(L * D); // sequence 0, head 0: all L queries, D columns
    expect(await nanPattern('wasm')).toEqual(cpu);
  });
});

describe('packed self-attention (no padding rows) vs the padded composite on cpu', () => {
  // [label, H, D, sequence lengths]: lengths 0, 1, not multiples of 8, past 64; head widths of 1, 3 and 5 vectors
  const cases: [string, number, number, number[]][] = [
    ['H=2, D=8; an empty and a one-token sequence', 2, 8, [5, 0, 1, 7]],
    ['H=2, D=24', 2, 24, [13, 9, 16]],
    ['H=1, D=40; a sequence of 70 tokens', 1, 40, [70, 33]],
  ];
  for (const [label, H, D, lengths] of cases) {
    it(`${label}: output and gradient w.r.t. qkv`, async () => {
      const { packedAttention, packedAttentionAvailable } = await import('../../runner/model/backend/ops/packed-attention.ts');
      const B = lengths.length, L = Math.max(...lengths), W = H * D, scale = 1 / Math.sqrt(D);
      const qkv = random([B * L, 3 * W], 970 + D);
      (qkv.values as Float32Array).forEach((v, i, a) => (a[i] = v * 2));
      const bias = keyBiasFor(B, L, lengths);
      const realRows = lengths.flatMap((n, b) => Array.from({ length: n }, (_, l) => b * L + l));
      const offsets = [0];
      for (const n of lengths) offsets.push(offsets[offsets.length - 1] + n);
      const weight = random([realRows.length, W], 980 + D);
      let packedOnWasm: boolean | undefined;
      const { maxDiff } = await compareBackends(() => {
        const rows = tf.tensor1d(realRows, 'int32');
        if (tf.getBackend() === 'wasm') {
          packedOnWasm = packedAttentionAvailable(D);
          const attend = (x: tf.Tensor) => packedAttention(x as tf.Tensor2D, tf.tensor1d(offsets, 'int32'), lengths, H, D, scale);
          const packed = tf.gather(tensor(qkv), rows);
          return [attend(packed), tf.grad((x: tf.Tensor) => tf.sum(tf.mul(attend(x), tensor(weight))))(packed)];
        }
        const attend = (x: tf.Tensor) => tf.gather(composite(x as tf.Tensor2D, tensor(bias) as tf.Tensor2D, B, L, H, D, scale), rows);
        const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(attend(x), tensor(weight))))(tensor(qkv));
        return [attend(tensor(qkv)), tf.gather(grad, rows)];
      });
      expect(packedOnWasm).toBe(true);
      expect(maxDiff).toBeLessThan(1e-4);
    });
  }
});

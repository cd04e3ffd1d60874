import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../runner/model/backend/index.ts';
import { builtin } from '../../runner/model/backend/kernels/registry.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
await registerGradients();
await initBackend('wasm');
const time = (f: () => tf.Tensor, n = 20) => { for (let i = 0; i < 3; i++) f().dispose(); const t = performance.now(); for (let i = 0; i < n; i++) f().dispose(); return (performance.now() - t) / n; };
for (const [M, K, N, ta, tb] of [[64, 1568, 128, false, false], [1568, 64, 128, true, false], [64, 128, 1568, false, true], [144, 12544, 32, true, false], [9, 50176, 16, true, false], [2048, 64, 192, false, false], [512, 64, 64, false, false]] as [number, number, number, boolean, boolean][]) {
  const a = tf.randomNormal(ta ? [K, M] : [M, K]); const b = tf.randomNormal(tb ? [N, K] : [K, N]);
  const mine = time(() => tf.matMul(a, b, ta, tb));
  const bi = builtin('BatchMatMul')!;
  const theirs = time(() => tf.engine().makeTensorFromTensorInfo(bi.kernelFunc({ inputs: { a: tf.reshape(a, [1, ...a.shape]), b: tf.reshape(b, [1, ...b.shape]) }, backend: tf.backend(), attrs: { transposeA: ta, transposeB: tb } }) as tf.TensorInfo), 5);
  const gf = (2 * M * N * K) / 1e6;
  console.log(`${M}x${K}x${N} ta=${ta} tb=${tb}: mine ${mine.toFixed(2)} ms (${(gf / mine).toFixed(1)} GF/s) builtin ${theirs.toFixed(2)} ms (${(gf / theirs).toFixed(1)} GF/s)`);
}

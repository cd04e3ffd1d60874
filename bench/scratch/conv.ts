import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../runner/model/backend/index.ts';
import { simdOf, ptr, withScratch } from '../../runner/model/backend/simd/module.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
await registerGradients();
await initBackend('wasm');
const time = (f: () => void, n = 20) => { for (let i = 0; i < 3; i++) f(); const t = performance.now(); for (let i = 0; i < n; i++) f(); return (performance.now() - t) / n; };
const be = tf.backend(); const s = simdOf(be);
for (const [H, C, CO] of [[28, 1, 16], [14, 16, 32]]) {
  const x = tf.randomNormal([64, H, H, C]); const dy = tf.randomNormal([64, H, H, CO]);
  const P = 64 * H * H, KKC = 9 * C;
  const t1 = time(() => withScratch(be, P * KKC * 4, (col) => s.im2col(ptr(be, x), 64, H, H, C, 3, 3, 1, 1, 1, 1, 1, 1, H, H, col)));
  const t2 = time(() => tf.conv2d(x, tf.zeros([3, 3, C, CO]) as tf.Tensor4D, 1, 'same').dispose());
  const t3 = time(() => { const g = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), dy)))(tf.zeros([3, 3, C, CO])); g.dispose(); });
  const t4 = time(() => tf.sum(dy, [0, 1, 2]).dispose());
  const t5 = time(() => tf.maxPool(dy as tf.Tensor4D, 2, 2, 'same').dispose());
  const t6 = time(() => { const g = tf.grad((v: tf.Tensor) => tf.sum(tf.maxPool(v as tf.Tensor4D, 2, 2, 'same')))(dy); g.dispose(); });
  console.log({ H, C, CO, im2col: t1.toFixed(2), convFwd: t2.toFixed(2), filterGradPath: t3.toFixed(2), biasSum: t4.toFixed(2), pool: t5.toFixed(2), poolGradPath: t6.toFixed(2) });
}

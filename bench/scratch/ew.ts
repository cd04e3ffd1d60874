import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../runner/model/backend/index.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
await registerGradients();
await initBackend('wasm');
const cpu = (f: () => void, n = 50) => { for (let i = 0; i < 3; i++) f(); const c = process.cpuUsage(); for (let i = 0; i < n; i++) f(); const u = process.cpuUsage(c); return (u.user + u.system) / 1000 / n; };
const x = tf.randomNormal([2048, 64]); const y = tf.randomNormal([2048, 64]); const row = tf.randomNormal([64]); const col = tf.randomNormal([2048, 1]);
const tiny = tf.randomNormal([4]);
const cases: [string, () => tf.Tensor][] = [
  ['tiny add (overhead)', () => tf.add(tiny, tiny)],
  ['add same', () => tf.add(x, y)], ['add row', () => tf.add(x, row)], ['add col', () => tf.add(x, col)], ['add scalar', () => tf.add(x, 2)],
  ['mul same', () => tf.mul(x, y)], ['sub col', () => tf.sub(x, col)], ['div col', () => tf.div(x, col)],
  ['square', () => tf.square(x)], ['sqrt', () => tf.sqrt(tf.abs(x))], ['exp', () => tf.exp(x)], ['neg', () => tf.neg(x)], ['relu', () => tf.relu(x)], ['step', () => tf.step(x)],
  ['mean -1', () => tf.mean(x, -1, true)], ['softmax 4d', () => tf.softmax(tf.reshape(x, [64, 2, 32, 32]))], ['transpose 4d', () => tf.transpose(tf.reshape(x, [64, 32, 2, 32]), [0, 2, 1, 3])],
  ['squaredDiff', () => tf.squaredDifference(x, col)], ['rsqrt', () => tf.rsqrt(tf.abs(x))], ['pow 1.5', () => tf.pow(tf.abs(x), 1.5)], ['cast', () => tf.cast(x, 'int32')],
  ['maximum', () => tf.maximum(x, 0.5)], ['concat', () => tf.concat([x, y], 1)], ['slice', () => tf.slice(x, [0, 0], [2048, 32])],
];
for (const [n, f] of cases) console.log(n.padEnd(22), cpu(() => tf.tidy(f).dispose()).toFixed(3), 'ms');

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../runner/model/backend/index.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
await registerGradients();
await initBackend('wasm');
const time = (f: () => void, n = 20) => { for (let i = 0; i < 3; i++) f(); const t = performance.now(); for (let i = 0; i < n; i++) f(); return (performance.now() - t) / n; };
const run = (name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown>) => time(() => { const r = tf.engine().runKernel(name, inputs as any, attrs as any) as tf.Tensor; r.dispose(); });
for (const [H, C] of [[28, 16], [14, 32]]) {
  const x = tf.randomNormal([64, H, H, C]);
  const y = tf.maxPool(x as tf.Tensor4D, 2, 2, 'same');
  const dy = tf.randomNormal(y.shape);
  console.log(H, C, 'MaxPoolGrad', run('MaxPoolGrad', { dy, input: x, output: y }, { filterSize: 2, strides: 2, pad: 'same' }).toFixed(2),
    'Sum012', run('Sum', { x }, { axis: [0, 1, 2], keepDims: false }).toFixed(2),
    'Step', run('Step', { x }, { alpha: 0 }).toFixed(2), 'Mul', run('Multiply', { a: x, b: x }, {}).toFixed(2),
    'Relu', run('Relu', { x }, {}).toFixed(2));
}

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../runner/model/backend/index.ts';
import { createImageBranch } from '../../runner/model/image-branch.ts';
import { ParamStore } from '../../runner/model/params.ts';
import { Rng } from '../../runner/model/rng.ts';
import { IMAGE_PRESETS } from '../../runner/config/presets.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
await registerGradients();

const choice = (process.argv[2] ?? 'wasm') as 'wasm' | 'cpu';
console.log(await initBackend(choice));
const ps = new ParamStore(new Rng(1));
const net = createImageBranch(ps, { preset: 'small', ...IMAGE_PRESETS.small } as any, [28, 28, 1], 10);
const B = 64;
const rng = new Rng(2);
const xs = tf.tensor4d(Float32Array.from({ length: B * 784 }, () => rng.next()), [B, 28, 28, 1]);
const labels = tf.cast(tf.oneHot(tf.tensor1d(Int32Array.from({ length: B }, () => rng.int(10)), 'int32'), 10), 'float32') as tf.Tensor2D;
const opt = tf.train.adam(1e-3);
const ctx = { training: true, nextSeed: () => 1 };
const step = () => tf.tidy(() => {
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, net.forward(xs, ctx)) as tf.Scalar, ps.trainableVariables());
  opt.applyGradients(grads);
  return value;
});
for (let i = 0; i < 3; i++) step().dispose();
const n = choice === 'cpu' ? 2 : 30;
const t0 = performance.now();
let l: tf.Scalar | undefined;
for (let i = 0; i < n; i++) { l?.dispose(); l = step(); }
console.log('loss', l!.dataSync()[0]);
const dt = (performance.now() - t0) / n;
console.log(`${dt.toFixed(1)} ms/step, ${(B / dt * 1000).toFixed(0)} samples/s`);
const profile = await tf.profile(() => { step().dispose(); });
const agg = new Map<string, number>();
for (const k of profile.kernels) agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
console.log('kernels', profile.kernels.length, [...agg.entries()].sort((a, b) => b[1] - a[1]).slice(0, 14).map(([k, v]) => `${k}:${v.toFixed(2)}`).join(' '));

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../runner/model/backend/index.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
import { createWorkload, MODEL_NAMES } from '../models.ts';
await registerGradients();
await initBackend((process.argv[2] ?? 'wasm') as 'wasm');
for (const name of MODEL_NAMES) {
  const w = createWorkload(name);
  for (let i = 0; i < 3; i++) w.trainStep().dispose();
  const n = 20; const t0 = performance.now();
  for (let i = 0; i < n; i++) w.trainStep().dispose();
  const dt = (performance.now() - t0) / n;
  const profile = await tf.profile(() => { w.trainStep().dispose(); });
  const agg = new Map<string, number>();
  for (const k of profile.kernels) agg.set(k.name, (agg.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  console.log(name, `${dt.toFixed(1)} ms/step ${(w.batch / dt * 1000).toFixed(0)} samples/s`, 'kernels', profile.kernels.length, [...agg.entries()].sort((a, b) => b[1] - a[1]).slice(0, 16).map(([k, v]) => `${k}:${v.toFixed(2)}`).join(' '));
  w.dispose();
}

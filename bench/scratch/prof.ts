import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../runner/model/backend/index.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
import { createWorkload } from '../models.ts';
await registerGradients();
await initBackend('wasm');
const w = createWorkload((process.argv[2] ?? 'text') as 'text');
for (let i = 0; i < 3; i++) w.trainStep().dispose();
const agg = new Map<string, number[]>();
for (let rep = 0; rep < 5; rep++) {
  const profile = await tf.profile(() => { w.trainStep().dispose(); });
  const seen = new Map<string, number>();
  for (const k of profile.kernels) { const key = `${k.name} ${JSON.stringify(k.inputShapes)}`; seen.set(key, (seen.get(key) ?? 0) + (k.kernelTimeMs as number)); }
  for (const [k, v] of seen) { const a = agg.get(k) ?? []; a.push(v); agg.set(k, a); }
}
const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
const rows = [...agg.entries()].map(([k, v]) => [k, med(v)] as const).sort((a, b) => b[1] - a[1]);
console.log('total', rows.reduce((s, r) => s + r[1], 0).toFixed(1));
for (const [k, v] of rows.slice(0, 30)) console.log(v.toFixed(2), k);

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../runner/model/backend/index.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
import { createWorkload } from '../models.ts';
await registerGradients();
await initBackend('wasm');
const counts = new Map<string, number>(); let on = false;
for (const k of tf.getKernelsForBackend('wasm')) { const f = k.kernelFunc; (k as any).kernelFunc = (a: any) => { if (on) counts.set(k.kernelName, (counts.get(k.kernelName) ?? 0) + 1); return f(a); }; }
const w = createWorkload((process.argv[2] ?? 'text') as 'text');
w.trainStep().dispose(); on = true; w.trainStep().dispose(); on = false;
console.log([...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(' '));

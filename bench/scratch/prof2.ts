import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../runner/model/backend/index.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
import { createWorkload } from '../models.ts';
await registerGradients();
await initBackend('wasm');
const stats = new Map<string, { n: number; t: number }>();
let on = false;
for (const k of tf.getKernelsForBackend('wasm')) {
  const f = k.kernelFunc;
  (k as any).kernelFunc = (args: any) => { if (!on) return f(args); const t = process.cpuUsage(); const r = f(args); const u = process.cpuUsage(t); const dt = (u.user + u.system) / 1000; const key = k.kernelName + ' ' + Object.values(args.inputs).filter(Boolean).map((x: any) => x.shape.join('x')).join(','); const s = stats.get(key) ?? { n: 0, t: 0 }; s.n++; s.t += dt; stats.set(key, s); return r; };
}
const w = createWorkload((process.argv[2] ?? 'text') as 'text');
for (let i = 0; i < 5; i++) w.trainStep().dispose();
const N = 10; on = true; const t0 = performance.now(); const c0 = process.cpuUsage();
for (let i = 0; i < N; i++) w.trainStep().dataSync();
const wall = (performance.now() - t0) / N; const cu = process.cpuUsage(c0); const cpuMs = (cu.user + cu.system) / 1000 / N;
const rows = [...stats.entries()].sort((a, b) => b[1].t - a[1].t);
const tot = rows.reduce((s, [, v]) => s + v.t, 0) / N; const calls = rows.reduce((s, [, v]) => s + v.n, 0) / N;
console.log(`step wall ${wall.toFixed(1)} ms, cpu ${cpuMs.toFixed(1)} ms, in kernels ${tot.toFixed(1)} ms, ${calls} kernel calls/step`);
for (const [k, v] of rows.slice(0, Number(process.argv[3] ?? 25))) console.log((v.t / N).toFixed(3).padStart(7), String(v.n / N).padStart(4), k);

// One benchmark measurement in its own process (so peak memory is per model): trains one
// workload on mmrun's backend for a fixed number of steps after warm-up, then times forward
// passes, and prints one JSON line. Spawned by bench/run.ts.
import { parseArgs } from 'node:util';
import { initBackend, type BackendChoice } from '../runner/model/backend/index.ts';
import { registerGradients } from '../runner/model/gradients.ts';
import { nativeActive } from '../runner/model/backend/simd/module.ts';
import { createWorkload, type ModelName } from './models.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    steps: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1' },
  },
});
const steps = Number(values.steps);
const warmup = Number(values.warmup);

await registerGradients();
const backend = await initBackend(values.backend as BackendChoice, { threads: Number(values.threads) });
const w = createWorkload(values.model as ModelName);

// Warm-up includes V8 compiling tfjs's JavaScript and the wasm tier-up: timed apart.
let t0 = performance.now();
let c0 = process.cpuUsage();
for (let i = 0; i < warmup; i++) {
  const loss = w.trainStep();
  loss.dataSync();
  loss.dispose();
}
const warmupS = (performance.now() - t0) / 1000;
const warmupCpu = process.cpuUsage(c0);
const warmupCpuS = (warmupCpu.user + warmupCpu.system) / 1e6;
t0 = performance.now();
c0 = process.cpuUsage();
for (let i = 0; i < steps; i++) {
  const loss = w.trainStep();
  loss.dataSync(); // as the training loop does: read the loss every step
  loss.dispose();
}
const trainS = (performance.now() - t0) / 1000;
const trainCpu = process.cpuUsage(c0);
const trainCpuS = (trainCpu.user + trainCpu.system) / 1e6;

for (let i = 0; i < 3; i++) w.forward().dispose();
t0 = performance.now();
c0 = process.cpuUsage();
for (let i = 0; i < steps; i++) {
  const out = w.forward();
  out.dataSync();
  out.dispose();
}
const forwardS = (performance.now() - t0) / 1000;
const fwdCpu = process.cpuUsage(c0);
const forwardCpuS = (fwdCpu.user + fwdCpu.system) / 1e6;

console.log(
  JSON.stringify({
    model: w.name,
    backend: backend.name === 'wasm' && nativeActive() ? 'wasm+native' : backend.name,
    detail: backend.detail,
    train_samples_per_s: (steps * w.batch) / trainS,
    forward_samples_per_s: (steps * w.batch) / forwardS,
    // Per second of CPU time: steadier than wall time when other work shares the cores.
    train_samples_per_cpu_s: (steps * w.batch) / trainCpuS,
    warmup_samples_per_s: warmup ? (warmup * w.batch) / warmupS : null,
    warmup_samples_per_cpu_s: warmup ? (warmup * w.batch) / warmupCpuS : null,
    forward_samples_per_cpu_s: (steps * w.batch) / forwardCpuS,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }),
);
w.dispose();

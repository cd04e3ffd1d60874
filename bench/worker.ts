// One benchmark measurement in its own process (so peak memory is per model): trains one
// workload on mmrun's backend for a fixed number of steps after warm-up, then times forward
// passes, and prints one JSON line. Spawned by bench/run.ts.
import { parseArgs } from 'node:util';
import { initBackend, type BackendChoice } from '../runner/model/backend/index.ts';
import { registerGradients } from '../runner/model/gradients.ts';
import { nativeActive } from '../runner/model/backend/simd/module.ts';
import { createWorkload, type ModelName, type WorkloadPreset } from './models.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    preset: { type: 'string', default: 'small' },
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
const w = createWorkload(values.model as ModelName, 1, values.preset as WorkloadPreset);

/** Runs `n` times `step` (which returns a tensor to read back, as the training loop reads the loss); wall and CPU seconds. */
function timed(n: number, step: () => { dataSync(): unknown; dispose(): void }): { wallS: number; cpuS: number } {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const out = step();
    out.dataSync();
    out.dispose();
  }
  const cpu = process.cpuUsage(c0);
  return { wallS: (performance.now() - t0) / 1000, cpuS: (cpu.user + cpu.system) / 1e6 };
}

// Warm-up includes V8 compiling tfjs's JavaScript and the wasm tier-up: timed apart.
const { wallS: warmupS, cpuS: warmupCpuS } = timed(warmup, () => w.trainStep());
const { wallS: trainS, cpuS: trainCpuS } = timed(steps, () => w.trainStep());
timed(3, () => w.forward());
const { wallS: forwardS, cpuS: forwardCpuS } = timed(steps, () => w.forward());

console.log(
  JSON.stringify({
    model: w.name,
    preset: values.preset,
    backend: backend.name === 'wasm' && nativeActive() ? 'wasm+native' : backend.name,
    detail: backend.detail,
    label: backend.label,
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

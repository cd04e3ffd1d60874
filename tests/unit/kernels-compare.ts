// Runs the same computation on the reference `cpu` backend and on `wasm` with mmrun's kernels,
// and returns both results, for the kernel tests.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../runner/model/backend/index.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
import { Rng } from '../../runner/random.ts';

export async function setupBackends(): Promise<void> {
  await registerGradients();
  await initBackend('wasm');
}

/** Deterministic values in [-1, 1) (or ints in [lo, hi) for int32). */
export function random(shape: number[], seed: number, ints?: [number, number]): { shape: number[]; values: Float32Array | Int32Array } {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const values = ints ? Int32Array.from({ length: n }, () => ints[0] + rng.int(ints[1] - ints[0])) : Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
  return { shape, values };
}

export function tensor(r: ReturnType<typeof random>): tf.Tensor {
  return tf.tensor(r.values, r.shape, r.values instanceof Int32Array ? 'int32' : 'float32');
}

export interface Outcome {
  shapes: number[][];
  values: Float32Array[];
}

async function runOn(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Outcome> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const out = tf.tidy(fn);
  const list = Array.isArray(out) ? out : [out];
  const result = { shapes: list.map((t) => t.shape), values: list.map((t) => Float32Array.from(t.dataSync())) };
  tf.dispose(list);
  if (tf.memory().numTensors !== before) throw new Error(`${backend}: ${tf.memory().numTensors - before} tensors leaked`);
  return result;
}

/** Max |wasm − cpu| over all outputs, relative to max(1, |cpu|) element-wise. */
export async function compareBackends(fn: () => tf.Tensor | tf.Tensor[]): Promise<{ maxDiff: number; cpu: Outcome; wasm: Outcome }> {
  const cpu = await runOn('cpu', fn);
  const wasm = await runOn('wasm', fn);
  if (JSON.stringify(cpu.shapes) !== JSON.stringify(wasm.shapes)) throw new Error(`shapes differ: cpu ${JSON.stringify(cpu.shapes)} wasm ${JSON.stringify(wasm.shapes)}`);
  let maxDiff = 0;
  cpu.values.forEach((ref, i) => {
    const got = wasm.values[i];
    for (let j = 0; j < ref.length; j++) {
      const d = Math.abs(got[j] - ref[j]) / Math.max(1, Math.abs(ref[j]));
      if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
    }
  });
  return { maxDiff, cpu, wasm };
}

export function runKernel(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, unknown> = {}): tf.Tensor | tf.Tensor[] {
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
}

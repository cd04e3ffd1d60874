// Registering kernels on the wasm backend: new ones, and replacements that keep the built-in as a
// fallback for the cases they do not cover (and keep its setupFunc, which the backend runs at
// start-up to bind its own wasm functions).
import * as tf from '@tensorflow/tfjs-core';

export const BACKEND = 'wasm';

export type KernelFn = (args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }) => tf.TensorInfo | tf.TensorInfo[];

const replaced = new Map<string, tf.KernelConfig>();

/** The built-in kernel a replacement falls back to (undefined if there was none). */
export function builtin(name: string): tf.KernelConfig | undefined {
  return replaced.get(name);
}

/** Registers `fn` for `name` on wasm, replacing (and remembering) any built-in one. Idempotent. */
export function provide(name: string, fn: KernelFn): void {
  const existing = tf.getKernel(name, BACKEND);
  if (existing && (existing.kernelFunc as { mmrun?: boolean }).mmrun) return;
  if (existing) {
    replaced.set(name, existing);
    tf.unregisterKernel(name, BACKEND);
  }
  (fn as { mmrun?: boolean }).mmrun = true;
  tf.registerKernel({ kernelName: name, backendName: BACKEND, kernelFunc: fn as tf.KernelFunc, setupFunc: existing?.setupFunc });
}

/** Calls another wasm kernel (built-in or ours) from inside a kernel. */
export function call(name: string, backend: tf.KernelBackend, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
  const k = tf.getKernel(name, BACKEND);
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc({ inputs, backend, attrs }) as tf.TensorInfo;
}

export function callBuiltin(name: string, args: Parameters<KernelFn>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const k = builtin(name);
  if (!k) throw new Error(`wasm has no built-in ${name} to fall back to`);
  return k.kernelFunc(args as Parameters<tf.KernelFunc>[0]);
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

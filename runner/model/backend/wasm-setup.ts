// Starts tfjs's WebAssembly backend from the files in node_modules (never the network) and
// registers mmrun's training kernels on it.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { MmrunError } from '../../errors.ts';
import { registerGradients } from '../gradients.ts';
import { registerTrainingKernels } from './kernels/index.ts';
import { registerConvBiasReluGradient } from './kernels/conv-bias-relu.ts';
import { registerDenseGradient } from './kernels/dense.ts';
import { registerReluGradient } from './kernels/relu-grad.ts';
import { loadNativeKernels } from './native/index.ts';
import { attachSimd, simdVariant } from './simd/module.ts';

let started: string | undefined;

function wasmDistDir(): string {
  const require = createRequire(import.meta.url);
  // The package's "main" lives in dist/, next to the .wasm binaries.
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

export async function startWasm(threads: number): Promise<string> {
  if (started && tf.findBackend('wasm')) {
    if (!(await tf.setBackend('wasm'))) throw new MmrunError('model.backend: the wasm backend failed to start');
    return started;
  }
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Under Node tfjs's threaded build needs Blob-URL workers that worker_threads rejects; the
  // SIMD build is used (measured: 2 threads gave no end-to-end gain on these models).
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasm.setWasmPaths(wasmDistDir());
  registerTrainingKernels();
  // tfjs's gradients first (registerGradients is a no-op once they are in), then ours on top.
  await registerGradients();
  registerReluGradient();
  registerConvBiasReluGradient();
  registerDenseGradient();
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } catch (err) {
    throw new MmrunError(`model.backend: the wasm backend failed to start: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!ok) throw new MmrunError('model.backend: the wasm backend failed to start');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  attachSimd(tf.backend());
  const native = loadNativeKernels();
  const kernels = `${simdVariant() === 'fma' ? 'relaxed-SIMD FMA' : 'SIMD128'}${native.ok ? ` + ${native.detail}` : `; no native kernels: ${native.reason}`}`;
  started = `wasm (${simd ? 'SIMD' : 'no SIMD'}, 1 thread${threads > 1 ? `; ${threads} asked, wasm threads are not used under Node` : ''}) + mmrun training kernels (${kernels})`;
  return started;
}

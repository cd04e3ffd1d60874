// Starts the TensorFlow.js backend a run asked for. runner/model/backend/ owns the choice and the
// fast paths; while it is absent (or incomplete) this falls back to the plain tfjs backends.
import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../config/types.gen.ts';

export interface BackendInUse {
  name: string; // tfjs backend name: tensorflow, wasm or cpu
  detail: string;
}

type BackendModule = { initBackend(choice: Model['backend'], opts?: { threads?: number }): Promise<BackendInUse> };

export async function startBackend(choice: Model['backend'], threads?: number): Promise<BackendInUse> {
  let mod: BackendModule | undefined;
  try {
    const path = './backend/index.ts';
    mod = (await import(path)) as BackendModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
  }
  if (mod && typeof mod.initBackend === 'function') {
    const info = await mod.initBackend(choice, threads !== undefined ? { threads } : undefined);
    await tf.ready();
    return info;
  }
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to start');
  await tf.ready();
  return { name: 'cpu', detail: 'tfjs cpu backend (runner/model/backend is not available)' };
}

// Starts the TensorFlow.js backend a run asked for: runner/model/backend/ owns the choice and the
// fast paths; this is the worker's entry to it. Nothing here falls back silently: if mmrun's
// backend code cannot be loaded, an explicit choice stops with the reason, and `auto` falls back
// to the plain tfjs cpu backend only with a printed warning and a recorded backend that says so.
import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../config/types.gen.ts';
import { MmrunError } from '../errors.ts';

export interface BackendInUse {
  /** What the run records: the backend and its device, e.g. `wasm+native (cpu: AMD EPYC, avx2)`, `tensorflow-gpu (GPU 0)`, `cpu`. */
  name: string;
  /** The tfjs backend in use: tensorflow, wasm or cpu. */
  tfjs: string;
  /** What was chosen and why (the run's log). */
  detail: string;
}

type BackendModule = Pick<typeof import('./backend/index.ts'), 'initBackend'>;

export interface StartBackendOptions {
  /** Loads runner/model/backend (a parameter for tests). */
  load?: () => Promise<BackendModule>;
  /** Where warnings go (default: stderr, which the launcher appends to the run's log). */
  warn?: (message: string) => void;
}

export async function startBackend(choice: Model['backend'], threads?: number, opts: StartBackendOptions = {}): Promise<BackendInUse> {
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  let mod: BackendModule;
  try {
    // Loaded here rather than imported at the top, so that a broken install is a sentence, not a stack trace.
    mod = await (opts.load ?? (() => import('./backend/index.ts')))();
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    if (choice !== 'auto') {
      throw new MmrunError(`model.backend: '${choice}' cannot start: mmrun's backend code failed to load (${why})`, 'This is an installation problem: run `npm ci` again, or report it.');
    }
    warn(`backend auto: mmrun's backend code failed to load (${why}); falling back to the tfjs cpu backend, which is very slow (~100× slower)`);
    await import('@tensorflow/tfjs-backend-cpu');
    if (!(await tf.setBackend('cpu'))) throw new MmrunError('model.backend: the tfjs cpu backend failed to start');
    await tf.ready();
    quietCpuBanner();
    return { name: 'cpu (auto fallback)', tfjs: 'cpu', detail: `auto: tfjs cpu backend (mmrun's backend code failed to load: ${why})` };
  }
  const info = await mod.initBackend(choice, threads !== undefined ? { threads } : undefined);
  for (const w of info.warnings ?? []) warn(w);
  await tf.ready();
  if (info.name === 'cpu') quietCpuBanner();
  return { name: info.label ?? info.name, tfjs: info.name, detail: info.detail };
}

/**
 * The tfjs cpu backend prints "install our node backend" on its first write. mmrun chooses its
 * backend itself (model.backend) and says which in the run's log, so that advice is noise: spend
 * the first write with tfjs's own quiet switch (PROD) on, then put the switch back.
 */
export function quietCpuBanner(): void {
  const backend = tf.findBackend('cpu');
  if (!backend) return;
  const prod = tf.env().getBool('PROD');
  tf.env().set('PROD', true);
  try {
    backend.disposeData(backend.write(new Float32Array(1), [1], 'float32'));
  } finally {
    tf.env().set('PROD', prod);
  }
}

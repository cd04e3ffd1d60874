// Chooses and starts the TensorFlow.js backend of a run. `auto` prefers native TensorFlow
// (tfjs-node-gpu, then tfjs-node: optional dependencies whose install needs internet), else the
// WebAssembly backend with mmrun's own training kernels registered (kernels/), which is the fast
// CPU path wherever libtensorflow cannot be downloaded.
import * as tf from '@tensorflow/tfjs-core';
import { MmrunError } from '../../errors.ts';
import { cpuDevice, gpuDevice } from './device.ts';
import { nativeKernelsDisabled } from './native/index.ts';
import { nativeActive } from './simd/module.ts';
import { startWasm } from './wasm-setup.ts';

export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** tfjs backend name in use: 'tensorflow', 'wasm' or 'cpu'. */
  name: string;
  /**
   * What a run records as its backend: the backend and the device, e.g. `tensorflow-gpu (GPU 0)`,
   * `tensorflow (cpu: AMD EPYC, avx2)`, `wasm+native (cpu: AMD EPYC, avx2)`, `wasm (cpu: …)`
   * (WebAssembly kernels only), `cpu`; a fallback taken by `auto` says so.
   */
  label: string;
  /** What was chosen and why, for the run's log and status. */
  detail: string;
  /** Things the user should see (printed by the caller): a fallback `auto` took, native kernels that did not load. */
  warnings: string[];
}

export interface BackendOptions {
  /** Threads for the wasm backend (default: MMRUN_THREADS, else 1). */
  threads?: number;
}

const NATIVE_PACKAGES = { 'tensorflow-gpu': '@tensorflow/tfjs-node-gpu', tensorflow: '@tensorflow/tfjs-node' } as const;

/** Loads a native tfjs package; returns why it failed instead of throwing. */
async function tryNative(kind: keyof typeof NATIVE_PACKAGES): Promise<{ ok: true; detail: string } | { ok: false; reason: string; installed: boolean }> {
  const pkg = NATIVE_PACKAGES[kind];
  try {
    await import(/* @vite-ignore */ pkg);
    if (!(await tf.setBackend('tensorflow'))) return { ok: false, installed: true, reason: `${pkg} loaded but the 'tensorflow' backend did not start` };
    // A broken libtensorflow shows up only on first use: run one tiny op.
    tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)).dataSync());
    if (kind === 'tensorflow-gpu') {
      const gpu = await hasGpu();
      if (!gpu) return { ok: false, installed: true, reason: `${pkg} loaded but TensorFlow sees no GPU` };
    }
    return { ok: true, detail: `${pkg} (native TensorFlow${kind === 'tensorflow-gpu' ? ', GPU' : ', CPU'})` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    // Only the package itself missing counts as "not installed"; a missing file inside it is a broken install.
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && msg.includes(`'${pkg}'`)) return { ok: false, installed: false, reason: `${pkg} is not installed` };
    return { ok: false, installed: true, reason: `${pkg} is not usable: ${msg}` };
  }
}

async function hasGpu(): Promise<boolean> {
  // tfjs-node-gpu silently runs on CPU when CUDA is missing; its binding reports devices.
  try {
    const b = tf.backend() as unknown as { binding?: { TF_Version?: string }; isUsingGpuDevice?: boolean };
    if (typeof b.isUsingGpuDevice === 'boolean') return b.isUsingGpuDevice;
  } catch {
    /* fall through */
  }
  return true;
}

function threadsFrom(opts?: BackendOptions): number {
  if (opts?.threads !== undefined) return opts.threads;
  const env = Number(process.env.MMRUN_THREADS);
  return Number.isInteger(env) && env > 0 ? env : 1;
}

async function startCpu(): Promise<BackendInfo> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new MmrunError('model.backend: the TensorFlow.js cpu backend failed to start');
  return { name: 'cpu', label: 'cpu', detail: 'tfjs cpu backend (plain JavaScript; slow, for reference and debugging)', warnings: [] };
}

/** The wasm backend plus mmrun's kernels; a warning when the native kernels were wanted but did not load. */
async function startWasmInfo(threads: number, prefix: string): Promise<BackendInfo> {
  const detail = await startWasm(threads);
  const native = nativeActive();
  const warnings: string[] = [];
  if (!native && !nativeKernelsDisabled()) {
    const why = /no native kernels: ([^)]*)/.exec(detail)?.[1] ?? 'see the backend line';
    warnings.push(`mmrun's native kernels are not in use (${why}): training runs on the WebAssembly kernels, about 2× slower. Set MMRUN_NATIVE_KERNELS=0 to choose this and silence the warning.`);
  }
  return { name: 'wasm', label: `${native ? 'wasm+native' : 'wasm'} (${cpuDevice()})`, detail: `${prefix}${detail}`, warnings };
}

function nativeLabel(kind: keyof typeof NATIVE_PACKAGES): string {
  return kind === 'tensorflow-gpu' ? `tensorflow-gpu (${gpuDevice()})` : `tensorflow (${cpuDevice()})`;
}

/**
 * Starts the backend a run asked for and returns what it chose. An explicit choice that cannot
 * start is an MmrunError (exit 1) naming the package to install; `auto` never fails on a missing
 * native package.
 */
export async function initBackend(choice: BackendChoice, opts?: BackendOptions): Promise<BackendInfo> {
  const threads = threadsFrom(opts);
  switch (choice) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const r = await tryNative(choice);
      if (r.ok) return { name: 'tensorflow', label: nativeLabel(choice), detail: r.detail, warnings: [] };
      throw new MmrunError(
        `model.backend: '${choice}' was asked for but ${r.reason}`,
        r.installed
          ? 'check the CUDA/libtensorflow installation, or use backend: auto or wasm'
          : `install it with \`npm install ${NATIVE_PACKAGES[choice]}\` (its install downloads libtensorflow, so it needs internet), or use backend: auto or wasm`,
      );
    }
    case 'wasm':
      return startWasmInfo(threads, '');
    case 'cpu':
      return startCpu();
    case 'auto': {
      const skipped: string[] = [];
      const warnings: string[] = [];
      for (const kind of ['tensorflow-gpu', 'tensorflow'] as const) {
        const r = await tryNative(kind);
        if (r.ok) return { name: 'tensorflow', label: nativeLabel(kind), detail: `auto: ${r.detail}${skipped.length ? ` (${skipped.join('; ')})` : ''}`, warnings };
        skipped.push(r.reason);
        // Installed but unusable (no GPU, broken libtensorflow): a fallback the user must see.
        if (r.installed) warnings.push(`backend auto: ${r.reason}; falling back to the next backend`);
      }
      try {
        const info = await startWasmInfo(threads, 'auto: ');
        return { ...info, detail: `${info.detail} (no native TensorFlow: ${skipped.join('; ')})`, warnings: [...warnings, ...info.warnings] };
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        const cpu = await startCpu();
        warnings.push(`backend auto: the wasm backend failed to start (${why}); falling back to the tfjs cpu backend, which is very slow (~100× slower)`);
        return { ...cpu, label: 'cpu (auto fallback)', detail: `auto: ${cpu.detail} (wasm failed: ${why}; no native TensorFlow: ${skipped.join('; ')})`, warnings };
      }
    }
    default:
      throw new MmrunError(`model.backend: unknown backend '${String(choice)}'`, "expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu");
  }
}

export { registerTrainingKernels } from './kernels/index.ts';
export { FusedAdamOptimizer } from './fused-adam.ts';
export { fusedLayerNorm, fusedLayerNormAvailable } from './ops/layer-norm.ts';
export { convBiasRelu, convBiasReluAvailable } from './ops/conv-bias-relu.ts';
export { fusedAttention, fusedAttentionAvailable } from './ops/attention.ts';

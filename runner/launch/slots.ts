/**
 * How many runs fit on this machine at once, and what each slot's process is given so that runs
 * do not fight over the same cores or GPUs.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { Launcher } from '../config/types.gen.ts';

export interface Machine {
  cores: number;
  /** GPUs the sweep's runs use: 0 unless their backend trains on a GPU. */
  gpus: number;
  /** The device ids handed out one per slot (default 0..gpus-1); from CUDA_VISIBLE_DEVICES when the user set it. */
  gpuIds?: string[];
}

/** GPUs listed by `nvidia-smi -L` (0 when the tool is missing or fails). */
export function countGpus(): number {
  try {
    const out = execFileSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    return out.split('\n').filter((l) => /^GPU \d+/.test(l.trim())).length;
  } catch {
    return 0;
  }
}

/** Whether runs with these `model.backend` values train on a GPU (`auto` does when tfjs-node-gpu is installed). */
export function usesGpu(backends: Iterable<string>, gpuPackageInstalled: () => boolean = tfjsNodeGpuInstalled): boolean {
  const set = new Set(backends);
  return set.has('tensorflow-gpu') || (set.has('auto') && gpuPackageInstalled());
}

function tfjsNodeGpuInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node-gpu');
    return true;
  } catch {
    return false;
  }
}

/**
 * The GPUs this process may hand out: an existing CUDA_VISIBLE_DEVICES is respected (its ids, up
 * to the first invalid one such as -1, as CUDA reads it), else every GPU nvidia-smi lists.
 */
export function visibleGpuIds(env: NodeJS.ProcessEnv = process.env, count: () => number = countGpus): string[] {
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) {
    const ids: string[] = [];
    for (const id of visible.split(',').map((s) => s.trim())) {
      if (!id || id.startsWith('-')) break;
      ids.push(id);
    }
    return ids;
  }
  return Array.from({ length: count() }, (_, i) => String(i));
}

/** Cores, and GPUs only when `backends` train on one (without `backends`: every visible GPU). */
export function detectMachine(opts: { backends?: Iterable<string>; env?: NodeJS.ProcessEnv } = {}): Machine {
  const gpuIds = opts.backends === undefined || usesGpu(opts.backends) ? visibleGpuIds(opts.env) : [];
  return { cores: availableParallelism(), gpus: gpuIds.length, gpuIds };
}

/** launcher.jobs, or --jobs, or auto: one per GPU, else cores ÷ threads_per_run (at least 1). */
export function concurrencyOf(launcher: Pick<Launcher, 'jobs' | 'threads_per_run'>, machine: Machine, override?: number): number {
  if (override !== undefined) return Math.max(1, Math.floor(override));
  if (launcher.jobs !== 'auto') return launcher.jobs;
  if (machine.gpus > 0) return machine.gpus;
  return Math.max(1, Math.floor(machine.cores / Math.max(1, launcher.threads_per_run)));
}

/** Environment of the process in slot `slot` (0-based). */
export function slotEnv(slot: number, launcher: Pick<Launcher, 'threads_per_run'>, machine: Machine): Record<string, string> {
  const threads = String(Math.max(1, launcher.threads_per_run));
  const env: Record<string, string> = { MMRUN_THREADS: threads, OMP_NUM_THREADS: threads, MMRUN_SLOT: String(slot) };
  // With GPUs, each slot owns one; without, hide none (there are none to fight over).
  if (machine.gpus > 0) env.CUDA_VISIBLE_DEVICES = machine.gpuIds?.[slot % machine.gpus] ?? String(slot % machine.gpus);
  return env;
}

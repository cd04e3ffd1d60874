/**
 * How many runs fit on this machine at once, and what each slot's process is given so that runs
 * do not fight over the same cores or GPUs.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { Launcher } from '../config/types.gen.ts';

export interface Machine {
  cores: number;
  gpus: number;
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

export function detectMachine(): Machine {
  return { cores: availableParallelism(), gpus: countGpus() };
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
  if (machine.gpus > 0) env.CUDA_VISIBLE_DEVICES = String(slot % machine.gpus);
  return env;
}

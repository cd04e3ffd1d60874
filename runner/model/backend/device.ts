// What a run records about the hardware it trained on: the CPU's model and widest SIMD level
// (the native kernels are compiled for it), or the GPU it was given.
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface CpuInfo {
  model: string;
  /** Widest vector instruction set the CPU reports: avx512, avx2, avx, sse4.2, neon, or '' when unknown. */
  simd: string;
  /** The vector-related flags themselves (avx512f, avx2, fma...), for the bench's machine line. */
  flags: string[];
}

const VECTOR_FLAG = /^(avx|avx2|avx512\w*|fma|f16c|sse4_[12]|ssse3|asimd|sve\w*|neon)$/;

/** From /proc/cpuinfo's text (Linux), else os.cpus(). */
export function cpuInfo(cpuinfo?: string): CpuInfo {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      text = '';
    }
  }
  const field = (name: RegExp) => text!.split('\n').find((l) => name.test(l))?.split(':').slice(1).join(':').trim();
  const model = field(/^model name\s*:/) ?? os.cpus()[0]?.model?.trim() ?? os.arch();
  const all = (field(/^(flags|Features)\s*:/) ?? '').split(/\s+/).filter(Boolean);
  const flags = all.filter((f) => VECTOR_FLAG.test(f));
  const has = (f: string) => all.includes(f);
  const simd = has('avx512f') ? 'avx512' : has('avx2') ? 'avx2' : has('avx') ? 'avx' : has('sse4_2') ? 'sse4.2' : has('asimd') || has('neon') ? 'neon' : '';
  return { model, simd, flags };
}

/** `cpu: AMD EPYC 9B14, avx512` */
export function cpuDevice(info: CpuInfo = cpuInfo()): string {
  return `cpu: ${info.model}${info.simd ? `, ${info.simd}` : ''}`;
}

/** The GPU a process was given: the first entry of CUDA_VISIBLE_DEVICES (its physical index), else 0. */
export function gpuDevice(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.CUDA_VISIBLE_DEVICES ?? '').split(',')[0]?.trim();
  return `GPU ${first ? first : '0'}`;
}

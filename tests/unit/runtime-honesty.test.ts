// The runtime does not lie: a backend that cannot load stops with the reason (auto: a printed,
// recorded fallback), a native TensorFlow backend that is not installed is refused before launch,
// GPU slots go only to GPU backends and respect the user's CUDA_VISIBLE_DEVICES, and the recorded
// backend names its device.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { MmrunError } from '../../runner/errors.ts';
import { concurrencyOf, detectMachine, slotEnv, usesGpu, visibleGpuIds } from '../../runner/launch/slots.ts';
import { cpuDevice, cpuInfo, gpuDevice } from '../../runner/model/backend/device.ts';
import { checkBackendsInstalled } from '../../runner/model/backend/preflight.ts';
import { runMmrun } from '../helpers/launch-sweep.ts';
import { startBackend } from '../../runner/model/runtime.ts';
import { tempFiles } from '../helpers/tmp.ts';

const brokenBackend = () => Promise.reject(Object.assign(new Error("Cannot find module '/x/runner/model/backend/kernels/conv2d.ts' imported from /x/index.ts"), { code: 'ERR_MODULE_NOT_FOUND' }));

describe('a backend whose code fails to load', () => {
  for (const choice of ['wasm', 'cpu', 'tensorflow'] as const) {
    it(`${choice}: stops with the reason, no silent cpu fallback`, async () => {
      const warnings: string[] = [];
      const err = await startBackend(choice, 1, { load: brokenBackend, warn: (m) => warnings.push(m) }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(MmrunError);
      expect((err as Error).message).toBe(`model.backend: '${choice}' cannot start: mmrun's backend code failed to load (Cannot find module '/x/runner/model/backend/kernels/conv2d.ts' imported from /x/index.ts)`);
      expect(warnings).toEqual([]);
    });
  }

  it('auto: falls back to the cpu backend, prints why and records the fallback', async () => {
    const warnings: string[] = [];
    const info = await startBackend('auto', 1, { load: brokenBackend, warn: (m) => warnings.push(m) });
    expect(info).toMatchObject({ name: 'cpu (auto fallback)', tfjs: 'cpu' });
    expect(info.detail).toContain('conv2d.ts');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^backend auto: mmrun's backend code failed to load \(Cannot find module .*conv2d\.ts.*\); falling back to the tfjs cpu backend/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it("the backend's warnings (e.g. native kernels not loaded) are printed, and the label is what a run records", async () => {
    const warnings: string[] = [];
    const load = async () => ({
      initBackend: async () => ({ name: 'cpu', label: 'wasm (cpu: Test CPU, avx2)', detail: 'd', warnings: ['native kernels are not in use (no C compiler)'] }),
    });
    const info = await startBackend('wasm', 1, { load: load as never, warn: (m) => warnings.push(m) });
    expect(info).toEqual({ name: 'wasm (cpu: Test CPU, avx2)', tfjs: 'cpu', detail: 'd' });
    expect(warnings).toEqual(['native kernels are not in use (no C compiler)']);
  });
});

describe('native TensorFlow checked before launch', () => {
  const none = () => false;
  it('tensorflow-gpu or tensorflow without its package: one error naming the file, the field and the package', () => {
    expect(() => checkBackendsInstalled('x.yaml', ['auto', 'tensorflow-gpu'], none)).toThrow("x.yaml: model.backend is 'tensorflow-gpu', but @tensorflow/tfjs-node-gpu is not installed.");
    try {
      checkBackendsInstalled('x.yaml', ['tensorflow'], none);
      expect.unreachable();
    } catch (err) {
      expect((err as MmrunError).message).toBe("x.yaml: model.backend is 'tensorflow', but @tensorflow/tfjs-node is not installed.");
      expect((err as MmrunError).hint).toContain('npm install @tensorflow/tfjs-node');
    }
    expect(() => checkBackendsInstalled('x.yaml', ['auto', 'wasm', 'cpu'], none)).not.toThrow();
    expect(() => checkBackendsInstalled('x.yaml', ['tensorflow-gpu'], () => true)).not.toThrow();
  });

  it('mmrun validate refuses backend: tensorflow-gpu when @tensorflow/tfjs-node-gpu is not installed', async () => {
    const installed = await import('@tensorflow/tfjs-node-gpu' as string).then(() => true, () => false);
    if (installed) return; // a GPU machine: nothing to refuse
    const { path: p } = tempFiles({ 'gpu.yaml': 'name: gpu-check\nmodel:\n  backend: tensorflow-gpu\n' });
    const r = await runMmrun(['validate', p('gpu.yaml')], { cwd: process.cwd(), env: process.env });
    expect(r.stderr).toContain("gpu.yaml: model.backend is 'tensorflow-gpu', but @tensorflow/tfjs-node-gpu is not installed.");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.status).toBe(1);
  }, 120_000);
});

describe('GPU slots', () => {
  it('only GPU backends count GPUs (auto only when tfjs-node-gpu is installed)', () => {
    expect(usesGpu(['wasm', 'cpu', 'tensorflow'], () => true)).toBe(false);
    expect(usesGpu(['tensorflow-gpu'], () => false)).toBe(true);
    expect(usesGpu(['auto'], () => true)).toBe(true);
    expect(usesGpu(['auto'], () => false)).toBe(false);
    // This machine's sweeps on the CPU backends get no GPU slots, whatever nvidia-smi says.
    expect(detectMachine({ backends: ['wasm'], env: { CUDA_VISIBLE_DEVICES: '0,1' } })).toMatchObject({ gpus: 0, gpuIds: [] });
    const gpuMachine = detectMachine({ backends: ['tensorflow-gpu'], env: { CUDA_VISIBLE_DEVICES: '0,1' } });
    expect(gpuMachine).toMatchObject({ gpus: 2, gpuIds: ['0', '1'] });
    expect(concurrencyOf({ jobs: 'auto', threads_per_run: 1 }, gpuMachine)).toBe(2);
    expect(concurrencyOf({ jobs: 'auto', threads_per_run: 1 }, { cores: 8, gpus: 0, gpuIds: [] })).toBe(8);
  });

  it("respects an existing CUDA_VISIBLE_DEVICES: hands out the user's ids, never others", () => {
    const fourGpus = () => 4;
    expect(visibleGpuIds({}, fourGpus)).toEqual(['0', '1', '2', '3']);
    expect(visibleGpuIds({ CUDA_VISIBLE_DEVICES: '2,3' }, fourGpus)).toEqual(['2', '3']);
    expect(visibleGpuIds({ CUDA_VISIBLE_DEVICES: 'GPU-8f1e,GPU-77aa' }, fourGpus)).toEqual(['GPU-8f1e', 'GPU-77aa']);
    expect(visibleGpuIds({ CUDA_VISIBLE_DEVICES: '' }, fourGpus)).toEqual([]);
    expect(visibleGpuIds({ CUDA_VISIBLE_DEVICES: '-1' }, fourGpus)).toEqual([]);
    expect(visibleGpuIds({ CUDA_VISIBLE_DEVICES: '1,-1,3' }, fourGpus)).toEqual(['1']);
    const machine = { cores: 8, gpus: 2, gpuIds: ['2', '3'] };
    expect(slotEnv(0, { threads_per_run: 1 }, machine).CUDA_VISIBLE_DEVICES).toBe('2');
    expect(slotEnv(1, { threads_per_run: 1 }, machine).CUDA_VISIBLE_DEVICES).toBe('3');
    expect(slotEnv(2, { threads_per_run: 1 }, machine).CUDA_VISIBLE_DEVICES).toBe('2');
    // CPU backends: CUDA_VISIBLE_DEVICES is not set by the slot (the user's passes through untouched).
    expect(slotEnv(0, { threads_per_run: 1 }, { cores: 8, gpus: 0, gpuIds: [] })).not.toHaveProperty('CUDA_VISIBLE_DEVICES');
  });
});

describe('recorded device', () => {
  it('names the CPU model and its widest SIMD level, or the GPU given to the process', () => {
    const avx2 = 'processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse4_2 avx f16c fma avx2 bmi2\n';
    expect(cpuInfo(avx2)).toEqual({ model: 'AMD EPYC 7B13', simd: 'avx2', flags: ['sse4_2', 'avx', 'f16c', 'fma', 'avx2'] });
    expect(cpuDevice(cpuInfo(avx2))).toBe('cpu: AMD EPYC 7B13, avx2');
    expect(cpuInfo('model name : Xeon\nflags : avx2 avx512f avx512bw\n').simd).toBe('avx512');
    expect(cpuInfo('Features : fp asimd\n').simd).toBe('neon');
    expect(gpuDevice({})).toBe('GPU 0');
    expect(gpuDevice({ CUDA_VISIBLE_DEVICES: '3' })).toBe('GPU 3');
  });
});

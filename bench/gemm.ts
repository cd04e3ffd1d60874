/**
 * The native GEMM's register tiles, old against new, side by side in one process:
 * `npx tsx bench/gemm.ts [--reps N] [--min-ms T]`.
 *
 * "new" is the library mmrun itself builds (runner/model/backend/native/build.ts: on a CPU without
 * AVX-512, 6x16 tiles of 8-float vectors); "wide" is a second build of the same sources with
 * -DMMRUN_FORCE_WIDE_TILES, i.e. the 8x32/16x16/8x16 tiles of 16-float vectors tuned for AVX-512
 * (on AVX-512 machines both builds are the same code). Each repetition times both on every shape,
 * in alternating order, so load from other processes falls on both alike; the table gives medians
 * of wall time and of process CPU time (the latter is less sensitive to sharing the cores).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildNativeLibrary, FLAGS, SOURCES } from '../runner/model/backend/native/build.ts';
import { SIGNATURES } from '../runner/model/backend/native/index.ts';

type Fn = (...args: unknown[]) => number;
interface Lib {
  matmul: Fn;
  conv2d: Fn;
  conv2dBackpropFilter: Fn;
  conv2dBackpropInput: Fn;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const REPS = arg('--reps', 7);
const MIN_MS = arg('--min-ms', 30); // each timing repeats the product until this much wall time has passed

function bind(file: string): Lib {
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  const lib = koffi.load(file);
  const names = ['matmul', 'conv2d', 'conv2dBackpropFilter', 'conv2dBackpropInput'] as const;
  return Object.fromEntries(names.map((n) => [n, lib.func(SIGNATURES[n]) as Fn])) as unknown as Lib;
}

/** One benchmark shape: allocates its heap, runs the product with a library into out (byte offset). */
interface Shape {
  name: string;
  flops: number;
  heap: Uint8Array;
  out: number;
  outLen: number;
  run(lib: Lib): number;
}

/** A heap holding the given float arrays (filled with values in [-1, 1)), returning their byte offsets. */
function heapOf(sizes: number[]): { heap: Uint8Array; at: number[] } {
  const at: number[] = [];
  let floats = 16;
  for (const n of sizes) {
    at.push(floats * 4);
    floats += Math.ceil(n / 16) * 16;
  }
  const heap = new Uint8Array(floats * 4);
  const f = new Float32Array(heap.buffer);
  for (let i = 0; i < f.length; i++) f[i] = Math.sin(i * 0.61) * 0.9;
  return { heap, at };
}

/**
 * batch x (M x K . K x N); transA reads A stored K x M (a weight gradient X^T.dY), transB reads B
 * stored N x K (attention's Q.K^T); bias+ReLU as a dense layer's forward pass.
 */
function matmulShape(name: string, batch: number, M: number, K: number, N: number, o: { transA?: boolean; transB?: boolean; biasRelu?: boolean } = {}): Shape {
  const { heap, at } = heapOf([batch * M * K, batch * K * N, batch * M * N, N]);
  const [A, B, C, bias] = at;
  const [ars, acs] = o.transA ? [1, M] : [K, 1];
  const [brs, bcs] = o.transB ? [1, K] : [N, 1];
  return {
    name,
    flops: 2 * batch * M * N * K,
    heap,
    out: C,
    outLen: batch * M * N,
    run: (lib) => lib.matmul(heap, batch, M, N, K, A, ars, acs, M * K, B, brs, bcs, K * N, C, o.biasRelu ? bias : 0, o.biasRelu ? 1 : 0),
  };
}

/**
 * A 3x3, stride-1, padding-1 convolution (NHWC) and its gradients: forward with bias+ReLU and the
 * input gradient read A through row pointers (indirect A), the filter gradient packs an implicit
 * im2col B.
 */
function convShape(pass: 'forward' | 'filter grad' | 'input grad', B: number, H: number, W: number, C: number, CO: number): Shape {
  const { heap, at } = heapOf([B * H * W * C, 9 * C * CO, B * H * W * CO, CO, 9 * C * CO, B * H * W * C]);
  const [x, f, y, bias, dw, dx] = at;
  const shape = { name: `conv ${B}x${H}x${W}x${C}->${CO} 3x3 ${pass}`, flops: 2 * B * H * W * CO * 9 * C, heap };
  if (pass === 'forward') return { ...shape, out: y, outLen: B * H * W * CO, run: (lib) => lib.conv2d(heap, x, B, H, W, C, f, 3, 3, CO, 1, 1, 1, 1, 1, 1, H, W, y, bias, 1) };
  if (pass === 'filter grad') return { ...shape, out: dw, outLen: 9 * C * CO, run: (lib) => lib.conv2dBackpropFilter(heap, x, B, H, W, C, y, 3, 3, CO, 1, 1, 1, 1, 1, 1, H, W, dw) };
  return { ...shape, out: dx, outLen: B * H * W * C, run: (lib) => lib.conv2dBackpropInput(heap, y, B, H, W, CO, f, 3, 3, C, 1, 1, H, W, dx) };
}

const SHAPES: Shape[] = [
  matmulShape('dense 64x784x128 +bias,relu', 1, 64, 784, 128, { biasRelu: true }),
  matmulShape('dense 64x3136x128 +bias,relu', 1, 64, 3136, 128, { biasRelu: true }),
  matmulShape('dW 3136x64x128 (A^T)', 1, 3136, 64, 128, { transA: true }),
  matmulShape('text 2048x128x384', 1, 2048, 128, 384),
  matmulShape('text 2048x384x128', 1, 2048, 384, 128),
  matmulShape('attn QK^T 128x(64x32x64)', 128, 64, 32, 64, { transB: true }),
  matmulShape('attn PV 128x(64x64x32)', 128, 64, 64, 32),
  convShape('forward', 8, 28, 28, 32, 64),
  convShape('filter grad', 8, 28, 28, 32, 64),
  convShape('input grad', 8, 28, 28, 32, 64),
];

/** Wall and CPU milliseconds per call, repeating the call until MIN_MS of wall time. */
function time(shape: Shape, lib: Lib): { wall: number; cpu: number } {
  let calls = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  do {
    if (shape.run(lib) !== 0) throw new Error(`${shape.name}: the kernel returned an error`);
    calls++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
  } while (elapsed < MIN_MS);
  const c = process.cpuUsage(cpu0);
  return { wall: elapsed / calls, cpu: (c.user + c.system) / 1000 / calls };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function buildWide(dir: string): string {
  const file = path.join(dir, 'kernels-wide.so');
  execFileSync(process.env.MMRUN_CC || 'cc', [...FLAGS, '-DMMRUN_FORCE_WIDE_TILES', ...SOURCES.filter((f) => f.endsWith('.c')), '-o', file, '-lm'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return file;
}

function main(): void {
  const built = buildNativeLibrary();
  if (!built.ok) throw new Error(built.reason);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mmrun-gemm-bench-'));
  try {
    const libs = { wide: bind(buildWide(dir)), new: bind(built.library) };
    const avx512 = /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
    console.log(`cpu: ${os.cpus()[0]?.model ?? '?'} (${avx512 ? 'AVX-512: both builds use the wide tiles' : 'no AVX-512'}), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log(`${REPS} repetitions, each timing >= ${MIN_MS} ms per library and shape, interleaved; medians\n`);
    const rows: string[][] = [['shape', 'GFLOP/s wide (wall)', 'new (wall)', 'ratio', 'GFLOP/s wide (cpu)', 'new (cpu)', 'ratio', 'max |diff|']];
    for (const shape of SHAPES) {
      const f = new Float32Array(shape.heap.buffer, shape.out, shape.outLen);
      shape.run(libs.wide);
      const ref = Float32Array.from(f);
      shape.run(libs.new);
      let diff = 0;
      for (let i = 0; i < f.length; i++) diff = Math.max(diff, Math.abs(f[i] - ref[i]));
      const t = { wide: { wall: [] as number[], cpu: [] as number[] }, new: { wall: [] as number[], cpu: [] as number[] } };
      for (let r = 0; r < REPS; r++) {
        for (const which of r % 2 ? (['new', 'wide'] as const) : (['wide', 'new'] as const)) {
          const m = time(shape, libs[which]);
          t[which].wall.push(m.wall);
          t[which].cpu.push(m.cpu);
        }
      }
      const g = (ms: number) => shape.flops / (ms * 1e6);
      const [ww, nw, wc, nc] = [median(t.wide.wall), median(t.new.wall), median(t.wide.cpu), median(t.new.cpu)];
      rows.push([shape.name, g(ww).toFixed(1), g(nw).toFixed(1), (ww / nw).toFixed(2) + '×', g(wc).toFixed(1), g(nc).toFixed(1), (wc / nc).toFixed(2) + '×', diff.toExponential(1)]);
      process.stdout.write(`  ${shape.name}: done\n`);
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    console.log('\n' + rows.map((r) => r.map((v, c) => (c ? v.padStart(widths[c]) : v.padEnd(widths[c]))).join('  ')).join('\n'));
    console.log(`\nload average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();

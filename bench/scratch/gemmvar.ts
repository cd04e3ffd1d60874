import * as tf from '@tensorflow/tfjs-core';
import wabtInit from 'wabt';
import { initBackend } from '../../runner/model/backend/index.ts';
import { kernelsWat } from '../../runner/model/backend/simd/wat.ts';
import { ptr } from '../../runner/model/backend/simd/module.ts';
await initBackend('wasm');
const be: any = tf.backend();
const wabt = await wabtInit();
const inst = (mr: number) => new WebAssembly.Instance(new WebAssembly.Module(wabt.parseWat('k', kernelsWat(mr), { simd: true, bulk_memory: true }).toBinary({}).buffer), { env: { memory: be.wasm.asm.memory } }).exports as any;
const variants = Object.fromEntries([4, 6, 5, 3].map((mr) => [mr, inst(mr)]));
const cpu = (f: () => void, n: number) => { for (let i = 0; i < 3; i++) f(); const c = process.cpuUsage(); for (let i = 0; i < n; i++) f(); const u = process.cpuUsage(c); return (u.user + u.system) / 1000 / n; };
for (const [M, K, N, ta] of [[64, 1568, 128, false], [1568, 64, 128, true], [144, 12544, 32, true], [2048, 64, 192, false], [2048, 192, 64, false], [64, 2048, 192, true], [32, 32, 32, false]] as [number, number, number, boolean][]) {
  const a = tf.randomNormal([M * K]); const b = tf.randomNormal([K * N]); const c = tf.zeros([M * N]);
  const gf = 2 * M * N * K / 1e6;
  const res = Object.entries(variants).map(([mr, k]) => { const n = Math.max(5, Math.round(2000 / gf)); const t = cpu(() => k.gemm(M, N, K, ptr(be, a), ta ? 1 : K, ta ? M : 1, ptr(be, b), N, ptr(be, c), N, 0), n); return `mr${mr} ${(gf / t).toFixed(1)}`; });
  console.log(`${M}x${K}x${N} ta=${ta}: ${res.join('  ')} GF/s`);
}

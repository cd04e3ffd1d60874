import v8 from 'node:v8';
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
const tf = await import('@tensorflow/tfjs-core');
const wabtInit = (await import('wabt')).default;
const { initBackend } = await import('../../runner/model/backend/index.ts');
const { kernelsWat } = await import('../../runner/model/backend/simd/wat.ts');
const { ptr } = await import('../../runner/model/backend/simd/module.ts');
await initBackend('wasm');
const be: any = tf.backend();
const wabt = await wabtInit();
const build = (fma: boolean, mr = 4) => {
  let text = kernelsWat(mr);
  if (fma) text = text.replace(/\(f32x4\.add \(local\.get (\$c\d+_\d+)\) \(f32x4\.mul \(local\.get \$a\) \(local\.get (\$b\d+)\)\)\)/g, '(f32x4.relaxed_madd (local.get $a) (local.get $2) (local.get $1))');
  const bin = wabt.parseWat('k', text, { simd: true, bulk_memory: true, relaxed_simd: true }).toBinary({}).buffer;
  return new WebAssembly.Instance(new WebAssembly.Module(bin), { env: { memory: be.wasm.asm.memory } }).exports as any;
};
const variants = { plain: build(false), fma: build(true), fma5: build(true, 5), fma6: build(true, 6) };
const cpu = (f: () => void, n: number) => { for (let i = 0; i < 3; i++) f(); const c = process.cpuUsage(); for (let i = 0; i < n; i++) f(); const u = process.cpuUsage(c); return (u.user + u.system) / 1000 / n; };
for (const [M, K, N, ta] of [[64, 1568, 128, false], [1568, 64, 128, true], [2048, 64, 192, false], [2048, 192, 64, false], [32, 32, 32, false]] as [number, number, number, boolean][]) {
  const a = tf.randomNormal([M * K]); const b = tf.randomNormal([K * N]); const c1 = tf.zeros([M * N]); const c2 = tf.zeros([M * N]);
  const gf = 2 * M * N * K / 1e6;
  const res = Object.entries(variants).map(([nm, k], i) => { const n = Math.max(5, Math.round(2000 / gf)); const t = cpu(() => k.gemm(M, N, K, ptr(be, a), ta ? 1 : K, ta ? M : 1, ptr(be, b), N, ptr(be, i === 1 ? c2 : c1), N, 0), n); return `${nm} ${(gf / t).toFixed(1)}`; });
  const d = tf.max(tf.abs(tf.sub(c1, c2))).dataSync()[0];
  console.log(`${M}x${K}x${N} ta=${ta}: ${res.join('  ')} GF/s  maxdiff ${d}`);
}

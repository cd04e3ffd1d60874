import * as tf from '@tensorflow/tfjs-core';
import { initBackend, FusedAdamOptimizer } from '../../runner/model/backend/index.ts';
await initBackend('wasm');
const v = tf.variable(tf.ones([64, 64]), true, 'rc');
const opt = new FusedAdamOptimizer(0.1);
const be: any = tf.backend();
let muls = 0; const orig = tf.getKernel('Multiply', 'wasm')!.kernelFunc; (tf.getKernel('Multiply', 'wasm') as any).kernelFunc = (a: any) => { muls++; return orig(a); };
for (let i = 0; i < 4; i++) { opt.applyGradients([{ name: v.name, tensor: tf.ones([64, 64]) }]); const m = (opt as any).accumulatedFirstMoment[0].variable; console.log('step', i, 'refCount m', be.dataIdMap.get(m.dataId).refCount, 'muls so far', muls); }

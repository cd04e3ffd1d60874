// Adam with one fused kernel per variable on the wasm backend (MmrunAdamUpdate), the same
// arithmetic, state and checkpoint format as tfjs's AdamOptimizer; other backends use tfjs's.
import * as tf from '@tensorflow/tfjs-core';
import { ADAM_UPDATE } from './kernels/adam-update.ts';

type Named = { originalName: string; variable: tf.Variable };
type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0]; // NamedVariableMap | NamedTensor[]

function sharedBuffer(t: tf.Tensor): boolean {
  const entry = (tf.backend() as unknown as { dataIdMap: { get(id: object): { refCount?: number } | undefined } }).dataIdMap.get(t.dataId);
  return entry?.refCount !== 1;
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {

  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon ?? (undefined as unknown as number));
  }

  override applyGradients(variableGradients: VariableGradients): void {
    if (tf.getBackend() !== 'wasm' || !tf.getKernel(ADAM_UPDATE, 'wasm')) {
      super.applyGradients(variableGradients);
      return;
    }
    const self = this as unknown as {
      accBeta1: tf.Variable; accBeta2: tf.Variable; beta1: number; beta2: number; epsilon: number; learningRate: number;
      accumulatedFirstMoment: Named[]; accumulatedSecondMoment: Named[]; incrementIterations(): void;
    };
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
    const c1 = 1 / (1 - self.accBeta1.dataSync()[0]);
    const c2 = 1 / (1 - self.accBeta2.dataSync()[0]);
    tf.tidy(() => {
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        const moments = [self.accumulatedFirstMoment, self.accumulatedSecondMoment];
        for (const [k, list] of moments.entries()) {
          list[i] ??= { originalName: `${name}/${k === 0 ? 'm' : 'v'}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
          // The moments are updated in place, so each must own its buffer: after setWeights, a
          // clone or getWeights() someone kept, it is shared, and a copy is taken first.
          const mv = list[i].variable;
          if (sharedBuffer(mv)) mv.assign(tf.mul(mv, 1));
        }
        const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
        if (gradient == null) return;
        const next = tf.engine().runKernel(
          ADAM_UPDATE,
          { x: value, g: gradient, m: self.accumulatedFirstMoment[i].variable, v: self.accumulatedSecondMoment[i].variable },
          { beta1: self.beta1, beta2: self.beta2, c1, c2, learningRate: self.learningRate, epsilon: self.epsilon } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor;
        value.assign(next);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  }
}

// Named parameters of a network: tf.Variables grouped by the part of the model they belong to
// (the unit of freezing), initialised from our seeded generator so weights do not depend on
// tfjs's global random state.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random.ts';

export type Part = 'image' | 'text' | 'projection' | 'head' | 'align';

export type Init =
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'constant'; value: number }
  | { kind: 'normal'; std: number }
  | { kind: 'he'; fanIn: number } // ReLU layers
  | { kind: 'glorot'; fanIn: number; fanOut: number }; // linear layers

export interface Param {
  name: string; // logical name, e.g. "image/conv0/w": what checkpoints store
  part: Part;
  trainable: boolean;
  variable: tf.Variable;
}

let instances = 0;

export class ParamStore {
  readonly params: Param[] = [];
  // tfjs registers variables by a global name: a per-store prefix lets several models coexist.
  private readonly prefix = `mm${++instances}`;

  constructor(private readonly rng: Rng) {}

  create(part: Part, name: string, shape: number[], init: Init, trainable = true): tf.Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    switch (init.kind) {
      case 'zeros':
        break;
      case 'ones':
        values.fill(1);
        break;
      case 'constant':
        values.fill(init.value);
        break;
      case 'normal':
        for (let i = 0; i < size; i++) values[i] = this.rng.normal() * init.std;
        break;
      case 'he': {
        const std = Math.sqrt(2 / init.fanIn);
        for (let i = 0; i < size; i++) values[i] = this.rng.normal() * std;
        break;
      }
      case 'glorot': {
        const limit = Math.sqrt(6 / (init.fanIn + init.fanOut));
        for (let i = 0; i < size; i++) values[i] = (this.rng.next() * 2 - 1) * limit;
        break;
      }
    }
    const variable = tf.tidy(() => tf.variable(tf.tensor(values, shape), trainable, `${this.prefix}/${name}`));
    this.params.push({ name, part, trainable, variable });
    return variable;
  }

  /** Trainable variables outside the frozen parts, in creation order (the optimizer's order). */
  trainableVariables(frozen: ReadonlySet<Part> = new Set()): tf.Variable[] {
    return this.params.filter((p) => p.trainable && !frozen.has(p.part)).map((p) => p.variable);
  }

  byName(name: string): Param | undefined {
    return this.params.find((p) => p.name === name);
  }

  countParameters(): number {
    return this.params.filter((p) => p.trainable).reduce((n, p) => n + p.variable.size, 0);
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
    this.params.length = 0;
  }
}

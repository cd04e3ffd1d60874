import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy, infoNce } from '../../runner/model/losses.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('infoNce', () => {
  it('matches a hand-computed symmetric InfoNCE on two pairs', () => {
    // image 0 = (1,0), image 1 = (0,1); text 0 = (0.6,0.8), text 1 = (0,1); temperature 0.5 (scale 2).
    const image = tf.tensor2d([[1, 0], [0, 1]]);
    const text = tf.tensor2d([[0.6, 0.8], [0, 1]]);
    const loss = infoNce(image, text, tf.scalar(Math.log(2))).dataSync()[0];
    // logits = 2 · image·textᵀ = [[1.2, 0], [1.6, 2]]
    const lse = (a: number, b: number) => Math.log(Math.exp(a) + Math.exp(b));
    const i2t = ((lse(1.2, 0) - 1.2) + (lse(1.6, 2) - 2)) / 2; // rows
    const t2i = ((lse(1.2, 1.6) - 1.2) + (lse(0, 2) - 2)) / 2; // columns
    expect(loss).toBeCloseTo((i2t + t2i) / 2, 5);
  });

  it('caps the logit scale at 100 (temperature 0.01)', () => {
    const image = tf.tensor2d([[1, 0], [0, 1]]);
    const text = tf.tensor2d([[0, 1], [1, 0]]); // every pair mismatched
    const capped = infoNce(image, text, tf.scalar(50)).dataSync()[0];
    const at100 = infoNce(image, text, tf.scalar(Math.log(100))).dataSync()[0];
    expect(capped).toBeCloseTo(at100, 4);
    expect(capped).toBeCloseTo(100, 3); // log(1+e^-100) - (-100) ≈ 100
  });
});

describe('crossEntropy', () => {
  it('is the mean negative log-softmax of the true class', () => {
    const logits = tf.tensor2d([[2, 0], [0, 0]]);
    const labels = tf.tensor2d([[1, 0], [0, 1]]);
    const expected = ((Math.log(Math.exp(2) + 1) - 2) + Math.log(2)) / 2;
    expect(crossEntropy(logits, labels).dataSync()[0]).toBeCloseTo(expected, 5);
  });
});

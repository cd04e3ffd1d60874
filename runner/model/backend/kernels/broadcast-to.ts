// BroadcastTo (missing in wasm): a Tile of x reshaped to the target rank.
import type * as tf from '@tensorflow/tfjs-core';
import { call, type KernelFn } from './registry.ts';

export const broadcastTo: KernelFn = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const shape = (attrs as { shape: number[] }).shape;
  const padded = [...new Array(shape.length - x.shape.length).fill(1), ...x.shape];
  const reps = shape.map((s, i) => (padded[i] === s ? 1 : s));
  const reshaped = call('Reshape', backend, { x }, { shape: padded });
  try {
    return call('Tile', backend, { x: reshaped }, { reps });
  } finally {
    backend.disposeData(reshaped.dataId);
  }
};

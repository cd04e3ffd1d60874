// Reading tensors computed in a tidy scope. tf.tidy walks whatever its function returns to find
// tensors to keep, and it walks a typed array element by element (for…in): returning dataSync()
// output from a tidy cost ~1 s per million values in evaluation. So: tidy returns tensors, then
// they are read and disposed here.
import * as tf from '@tensorflow/tfjs-core';

/** Runs fn in a tidy scope and returns the values of the tensor it makes, which is then disposed. */
export function readTidy(fn: () => tf.Tensor): Float32Array | Int32Array {
  const t = tf.tidy(fn);
  try {
    return t.dataSync() as Float32Array | Int32Array;
  } finally {
    t.dispose();
  }
}

/** Same, for several tensors. */
export function readAllTidy(fn: () => tf.Tensor[]): (Float32Array | Int32Array)[] {
  const ts = tf.tidy(fn);
  try {
    return ts.map((t) => t.dataSync() as Float32Array | Int32Array);
  } finally {
    tf.dispose(ts);
  }
}

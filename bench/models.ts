// The three benchmark workloads, built from mmrun's own model code (runner/model) with the sizes
// of each model preset, so the bench measures what a run trains. bench/reference.py mirrors each in PyTorch.
import * as tf from '@tensorflow/tfjs-core';
import { resolvePresets } from '../runner/config/presets.ts';
import type { Model } from '../runner/config/types.gen.ts';
import { createImageBranch, updateBatchNormStats } from '../runner/model/image-branch.ts';
import type { ForwardContext } from '../runner/model/layers.ts';
import { crossEntropy } from '../runner/model/losses.ts';
import { Network, type Batch, type LossWeights } from '../runner/model/network.ts';
import { ParamStore } from '../runner/model/params.ts';
import { Rng } from '../runner/random.ts';
import { createOptimizer } from '../runner/train/optimizer.ts';

export const MODEL_NAMES = ['cnn', 'text', 'multimodal'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/**
 * The model presets a study uses: `small` (the default) and `medium` (filters 32/64/128, dense 256,
 * text max_len 64, width 128, 4 heads, MLP 256, 2 layers, vocabulary 8,000, with its batch norm
 * and dropout 0.1). Both use the real presets of runner/config/presets.ts.
 */
export const PRESET_NAMES = ['small', 'medium'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** Shared with bench/reference.py (keep in sync). */
export const SIZES = { batch: 64, classes: 10, image: [28, 28, 1] as [number, number, number], vocab: 2000, minTokens: 8 };
/**
 * `quickstart`: the model of experiments/quickstart.yaml (small presets, text max_len 64, a
 * vocabulary of ~200 words, descriptions of 48–64 tokens) for the run-efficiency row (bench/efficiency.ts).
 */
export type WorkloadPreset = PresetName | 'quickstart';
const VOCAB: Record<WorkloadPreset, number> = { small: 2000, medium: 8000, quickstart: 200 };
const MIN_TOKENS: Record<WorkloadPreset, number> = { small: SIZES.minTokens, medium: SIZES.minTokens, quickstart: 48 };

export interface Workload {
  name: ModelName;
  batch: number;
  /** One optimisation step (forward, backward, Adam); returns the loss. */
  trainStep(): tf.Scalar;
  /** Inference only; returns the logits. */
  forward(): tf.Tensor;
  dispose(): void;
}

export function defaultModel(preset: WorkloadPreset = 'small'): Model {
  const sizes = preset === 'quickstart' ? 'small' : preset;
  return resolvePresets({
    backend: 'wasm',
    image: { preset: sizes },
    text: { preset: sizes, tokenizer: 'word', vocab_size: VOCAB[preset], pooling: 'mean', ...(preset === 'quickstart' ? { max_len: 64 } : {}) },
    projection: { dim: 64, layers: 1, normalize: true },
    head: 'shared',
  } as unknown as Model);
}

function randomBatch(rng: Rng, maxLen: number, vocab: number, minTokens: number): Batch {
  const { batch: B, classes: C, image } = SIZES;
  const [H, W, Ch] = image;
  const pixels = Float32Array.from({ length: B * H * W * Ch }, () => rng.next());
  const ids = new Int32Array(B * maxLen);
  for (let b = 0; b < B; b++) {
    const len = minTokens + rng.int(maxLen - minTokens + 1);
    for (let t = 0; t < len; t++) ids[b * maxLen + t] = 3 + rng.int(vocab - 3);
  }
  const labels = (n: number) => tf.oneHot(tf.tensor1d(Int32Array.from({ length: n }, () => rng.int(C)), 'int32'), C);
  return {
    images: tf.tensor4d(pixels, [B, H, W, Ch]),
    tokens: tf.tensor2d(ids, [B, maxLen], 'int32'),
    imageLabels: tf.cast(labels(B), 'float32') as tf.Tensor2D,
    textLabels: tf.cast(labels(B), 'float32') as tf.Tensor2D,
  };
}

/** A training step's context as runner/train/phase.ts builds it: fresh dropout seeds, batch-norm statistics collected. */
let seedCounter = 1;
const trainContext = (): ForwardContext & { batchStats: NonNullable<ForwardContext['batchStats']> } => ({ training: true, nextSeed: () => seedCounter++, batchStats: [] });
const EVAL: ForwardContext = { training: false, nextSeed: () => 1 };

export function createWorkload(name: ModelName, seed = 1, preset: WorkloadPreset = 'small'): Workload {
  const model = defaultModel(preset);
  const rng = new Rng(seed);
  const batch = randomBatch(rng, model.text.max_len, model.text.vocab_size, MIN_TOKENS[preset]);
  const optimizer = createOptimizer('adam', 1e-3);
  if (name === 'cnn') {
    // The reference CNN: the small image branch with a 10-way output instead of the projection.
    const ps = new ParamStore(Rng.derive(seed, 'init'));
    const net = createImageBranch(ps, model.image, SIZES.image, SIZES.classes);
    const vars = ps.trainableVariables();
    return {
      name,
      batch: SIZES.batch,
      trainStep: () =>
        tf.tidy(() => {
          const ctx = trainContext();
          const { value, grads } = tf.variableGrads(() => crossEntropy(net.forward(batch.images, ctx), batch.imageLabels), vars);
          optimizer.applyGradients(grads);
          updateBatchNormStats(ctx.batchStats);
          return value;
        }),
      forward: () => tf.tidy(() => net.forward(batch.images, EVAL)),
      dispose: () => {
        ps.dispose();
        optimizer.dispose();
        tf.dispose(Object.values(batch));
      },
    };
  }
  const net = new Network({ model, imageShape: SIZES.image, numClasses: SIZES.classes, vocabSize: model.text.vocab_size, temperature: 0.07, seed });
  const weights: LossWeights = name === 'text' ? { image: 0, text: 1, align: 0 } : { image: 1, text: 1, align: 0.5 };
  const vars = net.trainableVariables(new Set(), weights);
  return {
    name,
    batch: SIZES.batch,
    trainStep: () =>
      tf.tidy(() => {
        const ctx = trainContext();
        const { value, grads } = tf.variableGrads(() => net.losses(batch, weights, ctx).total, vars);
        optimizer.applyGradients(grads);
        updateBatchNormStats(ctx.batchStats);
        return value;
      }),
    forward: () =>
      tf.tidy(() => {
        const text = net.textLogits(net.embedTexts(batch.tokens, EVAL));
        return name === 'text' ? text : tf.concat([net.imageLogits(net.embedImages(batch.images, EVAL)), text], 1);
      }),
    dispose: () => {
      net.dispose();
      optimizer.dispose();
      tf.dispose(Object.values(batch));
    },
  };
}

// One training phase: epochs of shuffled image batches, each image paired with a text from its
// pool; scheduled learning rate; frozen parts excluded from the update; a checkpoint after every
// epoch (and when asked to stop); early stopping on a validation metric. Every random choice is
// derived from (seed, phase, epoch or step), so a resumed phase replays exactly what an
// uninterrupted one would have done.
import * as tf from '@tensorflow/tfjs-core';
import type { Phase } from '../config/types.gen.ts';
import { MmrunError } from '../errors.ts';
import { updateBatchNormStats } from '../model/image-branch.ts';
import type { ForwardContext } from '../model/layers.ts';
import type { Network } from '../model/network.ts';
import type { Part } from '../model/params.ts';
import { Rng } from '../random.ts';
import { loadNewestIntact, saveCheckpoint } from './checkpoint.ts';
import { imageTensor, oneHot, tokenTensor, type SplitLike, type TrainSet } from './data.ts';
import { validationMetrics, validationSet } from './evaluate.ts';
import { createOptimizer, restoreOptimizer, setLearningRate } from './optimizer.ts';
import { learningRateAt } from './schedule.ts';

export type PhaseName = 'joint' | 'retrain';

export interface StepInfo {
  phase: PhaseName;
  epoch: number; // 1-based epoch in progress
  step: number; // steps done in the phase (global)
  steps: number; // steps the phase will take
  learningRate: number;
  samplesPerS: number;
  losses: Record<string, number>; // loss, loss_image, loss_text, loss_align, temperature
}

export interface EpochInfo {
  phase: PhaseName;
  epoch: number; // 1-based epoch just finished
  step: number;
  steps: number;
  metrics: Record<string, number>; // mean training losses of the epoch + validation metrics
}

export interface PhaseState {
  epoch: number; // epochs completed
  stepInEpoch: number; // steps done in the current epoch (non-zero only in a stop checkpoint)
  globalStep: number;
  best: number | null;
  badEpochs: number;
  stoppedEarly: boolean;
  done: boolean;
  lossSums: Record<string, number>; // running sums over the current epoch
  lossCount: number;
}

export interface PhaseHooks {
  onStep?(info: StepInfo): void;
  onEpoch?(info: EpochInfo): void;
  onCheckpoint?(name: string): void;
  /**
   * Called once before the first step, with the global step the phase starts from (0, or the
   * checkpoint's): history written beyond it belongs to a run that will now be replayed.
   */
  onStart?(step: number, from: string | undefined): void;
  /** Polled after every step; true saves a checkpoint at once and returns `interrupted`. */
  shouldStop?(): boolean;
  log?(message: string): void;
}

export interface PhaseOptions {
  name: PhaseName;
  cfg: Phase;
  net: Network;
  train: TrainSet;
  val: SplitLike;
  /** evaluation.val_items: validate on this many evenly spaced items of `val` (null or absent: all of them). */
  valItems?: number | null;
  seed: number;
  checkpointDir: string;
  hooks?: PhaseHooks;
}

export interface PhaseResult {
  state: PhaseState;
  steps: number; // steps the phase takes when it runs to the end
  interrupted: boolean;
  resumedFrom?: string;
}

export class NonFiniteLossError extends MmrunError {
  readonly cause = 'nan' as const;
  constructor(phase: string, step: number, losses: Record<string, number>) {
    const terms = Object.entries(losses).map(([k, v]) => `${k}=${v}`).join(', ');
    super(`${phase} phase: the loss is not finite at step ${step} (${terms}).`, 'Lower the learning rate or add warm-up steps.');
    this.name = 'NonFiniteLossError';
  }
}

export function stepsPerEpoch(numImages: number, batchSize: number): number {
  return Math.ceil(numImages / batchSize);
}

function improved(metric: 'image_acc' | 'text_acc' | 'loss', value: number, best: number | null, minDelta: number): boolean {
  if (best === null) return true;
  return metric === 'loss' ? value < best - minDelta : value > best + minDelta;
}

export async function runPhase(opts: PhaseOptions): Promise<PhaseResult> {
  const { name, cfg, net, train, seed, hooks = {} } = opts;
  const B = cfg.batch_size;
  const perEpoch = stepsPerEpoch(train.numImages, B);
  const totalSteps = perEpoch * cfg.epochs;
  const weights = cfg.loss_weights;
  const frozen = new Set<Part>(cfg.freeze);
  const variables = net.trainableVariables(frozen, weights);
  const optimizer = createOptimizer(cfg.optimizer, cfg.learning_rate);
  const numClasses = net.opts.numClasses;
  const shape = train.shape;

  let state: PhaseState = { epoch: 0, stepInEpoch: 0, globalStep: 0, best: null, badEpochs: 0, stoppedEarly: false, done: false, lossSums: {}, lossCount: 0 };
  let resumedFrom: string | undefined;
  // The newest checkpoint that verifies; corrupt ones are moved aside with a warning. When none is
  // left the phase restarts from its start state (the weights it was given, a fresh optimizer),
  // which replays exactly what the lost checkpoints held.
  const warn = (message: string) => hooks.log?.(message);
  const found = loadNewestIntact<PhaseState>(opts.checkpointDir, name, net.params, { withOptimizer: true, warn });
  if (found.loaded) {
    const ckpt = found.loaded;
    try {
      await restoreOptimizer(optimizer, ckpt.optimizerWeights, ckpt.optimizerScalars);
    } finally {
      tf.dispose(ckpt.optimizerWeights.map((w) => w.tensor));
    }
    state = ckpt.state;
    resumedFrom = ckpt.name;
    hooks.log?.(`${name}: resumed from checkpoint ${ckpt.name} (epoch ${state.epoch}, step ${state.globalStep}/${totalSteps})`);
  } else if (found.skipped.length > 0) {
    warn(`warning: ${name}: no intact checkpoint left in ${opts.checkpointDir}; restarting the phase from its start (an exact replay)`);
  }
  hooks.onStart?.(state.globalStep, resumedFrom);

  const checkpoint = async (label: string) => {
    await saveCheckpoint(opts.checkpointDir, label, name, net.params, optimizer, state, state.globalStep);
    hooks.onCheckpoint?.(label);
  };

  try {
    if (state.done) return { state, steps: totalSteps, interrupted: false, resumedFrom };
    const val = validationSet(opts.val, train.tokenizer, opts.valItems);
    let windowStart = performance.now();
    let windowSamples = 0;
    let samplesPerS = 0;
    while (state.epoch < cfg.epochs) {
      const perm = Rng.derive(seed, name, 'shuffle', state.epoch).permutation(train.numImages);
      windowStart = performance.now(); // the rate excludes the validation pass
      windowSamples = 0;
      for (let s = state.stepInEpoch; s < perEpoch; s++) {
        const idx = perm.subarray(s * B, Math.min(train.numImages, (s + 1) * B));
        const stepRng = Rng.derive(seed, name, 'step', state.globalStep);
        const textIds = train.pickTexts(idx, stepRng);
        const lr = learningRateAt(cfg, state.globalStep, totalSteps);
        setLearningRate(optimizer, lr);
        const ctx: ForwardContext = { training: true, nextSeed: () => stepRng.uint32(), batchStats: frozen.has('image') ? undefined : [] };
        const kept: tf.Tensor[] = [];
        const stacked = tf.tidy(() => {
          const batch = {
            images: imageTensor(train.split.images, shape, idx),
            tokens: tokenTensor(train.tokens, train.tokenizer.maxLen, textIds),
            imageLabels: oneHot(train.split.labels, idx, numClasses),
            textLabels: oneHot(train.textLabels, textIds, numClasses),
            ...(train.pairing === 'class' ? { alignTokens: tokenTensor(train.tokens, train.tokenizer.maxLen, train.alignTexts(idx)) } : {}),
          };
          let terms: ReturnType<Network['losses']> | undefined;
          const { value, grads } = tf.variableGrads(() => {
            terms = net.losses(batch, weights, ctx);
            // The loss terms are needed after the gradient tape's scope ends (kept = disposed by us).
            for (const t of [terms.image, terms.text, terms.align]) if (t) kept.push(tf.keep(t));
            return terms.total;
          }, variables);
          optimizer.applyGradients(grads);
          const t = terms!;
          const nan = tf.scalar(NaN);
          return tf.stack([value, t.image ?? nan, t.text ?? nan, t.align ?? nan, net.logScale]);
        });
        const values = stacked.dataSync();
        stacked.dispose();
        tf.dispose(kept);
        if (ctx.batchStats) updateBatchNormStats(ctx.batchStats);
        const losses: Record<string, number> = { loss: values[0] };
        if (weights.image > 0) losses.loss_image = values[1];
        if (weights.text > 0) losses.loss_text = values[2];
        if (weights.align > 0) losses.loss_align = values[3];
        losses.temperature = Math.exp(-Math.min(values[4], Math.log(100)));
        state.globalStep++;
        state.stepInEpoch = s + 1;
        if (!Object.entries(losses).every(([k, v]) => k === 'temperature' || Number.isFinite(v))) throw new NonFiniteLossError(name, state.globalStep, losses);
        for (const [k, v] of Object.entries(losses)) if (k !== 'temperature') state.lossSums[k] = (state.lossSums[k] ?? 0) + v;
        state.lossCount++;

        windowSamples += idx.length;
        const now = performance.now();
        if (now - windowStart >= 2000 || samplesPerS === 0) {
          samplesPerS = (windowSamples * 1000) / Math.max(now - windowStart, 1);
          windowStart = now;
          windowSamples = 0;
        }
        hooks.onStep?.({ phase: name, epoch: state.epoch + 1, step: state.globalStep, steps: totalSteps, learningRate: lr, samplesPerS, losses });
        // Let signal handlers and timers run between steps.
        await new Promise((r) => setImmediate(r));
        if (s + 1 < perEpoch && hooks.shouldStop?.()) {
          await checkpoint(`${name}-epoch${state.epoch}-step${state.globalStep}`);
          return { state, steps: totalSteps, interrupted: true, resumedFrom };
        }
      }

      const epochMetrics: Record<string, number> = {};
      for (const [k, v] of Object.entries(state.lossSums)) epochMetrics[k] = v / Math.max(state.lossCount, 1);
      Object.assign(epochMetrics, await validationMetrics(net, val, shape, weights), { learning_rate: learningRateAt(cfg, state.globalStep - 1, totalSteps) });
      state.epoch++;
      state.stepInEpoch = 0;
      state.lossSums = {};
      state.lossCount = 0;
      const es = cfg.early_stopping;
      if (es) {
        const key = es.metric === 'loss' ? 'val_loss' : `val_${es.metric}`;
        const value = epochMetrics[key];
        if (value !== undefined) {
          if (improved(es.metric, value, state.best, es.min_delta)) {
            state.best = value;
            state.badEpochs = 0;
          } else if (++state.badEpochs >= es.patience) {
            state.stoppedEarly = true;
            hooks.log?.(`${name}: early stop after epoch ${state.epoch} (${key} did not improve for ${es.patience} epochs)`);
          }
        }
      }
      state.done = state.stoppedEarly || state.epoch >= cfg.epochs;
      hooks.onEpoch?.({ phase: name, epoch: state.epoch, step: state.globalStep, steps: totalSteps, metrics: epochMetrics });
      await checkpoint(`${name}-epoch${state.epoch}`);
      if (state.done) break;
      if (hooks.shouldStop?.()) return { state, steps: totalSteps, interrupted: true, resumedFrom };
    }
    return { state, steps: totalSteps, interrupted: false, resumedFrom };
  } finally {
    optimizer.dispose();
  }
}

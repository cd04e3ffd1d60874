// Everything one run trains and measures, given its config and data: the (shared) joint phase,
// then the retrain phase, each followed by an evaluation, written to the run directory.
// Process concerns (status, heartbeat, signals, progress bar) live in worker.ts.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolvePresets } from '../config/presets.ts';
import type { Experiment, Phase } from '../config/types.gen.ts';
import { MmrunError } from '../errors.ts';
import { Network } from '../model/network.ts';
import { Tokenizer, loadTokenizer, saveTokenizer } from '../model/tokenizer.ts';
import { CorruptFileError } from '../files/verified.ts';
import { jointKey } from '../sweep/identity.ts';
import type { MetricLine, PhaseSummary, RunStore, RunSummary } from '../track/run-store.ts';
import { latestCheckpoint, loadCheckpoint } from './checkpoint.ts';
import { adoptPhaseHistory, historyProblems, readHistory, truncatePhase } from './history.ts';
import { TrainSet, type DatasetLike, type ExtraText } from './data.ts';
import { evaluate, type EvaluationResult } from './evaluate.ts';
import { writeItemResults } from '../report/item-files.ts';
import { JointStore, type JointResult } from './joint-store.ts';
import { runPhase, type EpochInfo, type PhaseName, type StepInfo } from './phase.ts';

export interface TrainingHooks {
  log(message: string): void;
  /** Called often (every step, and every few seconds while waiting): refresh status/heartbeat. */
  progress(p: { phase: PhaseName | 'waiting'; epoch: number; step: number; steps: number; loss?: number; samplesPerS?: number }): void;
  shouldStop(): boolean;
}

export interface TrainingOptions {
  config: Experiment;
  seed: number;
  runId: string;
  dataset: DatasetLike;
  store: RunStore;
  /** Root of the artifacts (holds joint/ and runs/). */
  artifactsDir: string;
  backend: string;
  /** Augmented texts for the retrain phase (the augmentation room's textsFor(ratio)). */
  retrainTexts?: ExtraText[];
  hooks: TrainingHooks;
  /** How often step metrics are written (every n-th step and the last of each epoch). */
  stepLogEvery?: number;
}

export type TrainingOutcome = { state: 'finished' } | { state: 'killed' };

const WAIT_POLL_MS = 2000;

/** Tokenizer vocabulary comes from the joint phase's training texts (texts of images + image-less texts). */
function buildTokenizer(config: Experiment, dataset: DatasetLike): Tokenizer {
  const t = config.model.text;
  return Tokenizer.build([...dataset.train.texts, ...dataset.extraTrainTexts.map((e) => e.text)], {
    kind: t.tokenizer,
    vocabSize: t.vocab_size,
    maxLen: t.max_len,
    addCls: t.pooling === 'cls',
  });
}

/**
 * The joint phase's tokenizer, verified. Its build is deterministic from the (verified) training
 * texts, so a damaged file is rebuilt to the very tokenizer the joint checkpoints were trained with.
 */
function jointTokenizer(config: Experiment, dataset: DatasetLike, file: string, warn: (message: string) => void): Tokenizer {
  try {
    const saved = loadTokenizer(file);
    if (saved) return saved;
  } catch (err) {
    if (!(err instanceof CorruptFileError)) throw err;
    warn(`warning: ${err.message}; rebuilding it from the training texts`);
  }
  const tokenizer = buildTokenizer(config, dataset);
  saveTokenizer(file, tokenizer);
  return tokenizer;
}

function newNetwork(config: Experiment, dataset: DatasetLike, tokenizer: Tokenizer, seed: number): Network {
  return new Network({
    model: config.model,
    imageShape: dataset.shape,
    numClasses: dataset.classNames.length,
    vocabSize: tokenizer.vocabSize,
    temperature: config.training.temperature,
    seed,
  });
}

export async function trainRun(opts: TrainingOptions): Promise<TrainingOutcome> {
  const started = performance.now();
  const config: Experiment = { ...opts.config, model: resolvePresets(opts.config.model) };
  const { dataset, store, hooks, seed } = opts;
  const { joint: jointCfg, retrain: retrainCfg } = config.training;
  if (!jointCfg.enabled) {
    throw new MmrunError(
      retrainCfg.enabled
        ? `run ${opts.runId}: training.retrain starts from the joint-phase checkpoint, but training.joint.enabled is false: there is no joint checkpoint to start from.`
        : `run ${opts.runId}: both training.joint and training.retrain are disabled: nothing to train.`,
    );
  }
  if (retrainCfg.enabled && retrainCfg.early_stopping) {
    hooks.log('warning: training.retrain.early_stopping is set: arms that stop early take fewer steps than the control arm');
  }
  const logEvery = opts.stepLogEvery ?? 10;
  // Keyed on the dataset's hash (which covers the source files' content) and the joint settings.
  const joint = new JointStore(opts.artifactsDir, jointKey(opts.config, seed, dataset.hash));

  // 1. The joint phase: trained once per joint key, by whoever takes the lock first.
  // A result that does not verify (or whose final checkpoint does not) is never reused.
  const warn = (message: string) => hooks.log(message);
  let result = joint.result(warn);
  let waiting = false;
  while (!result) {
    const lock = joint.tryLock();
    if (lock) {
      try {
        result = joint.result(warn) ?? (await trainJoint(opts, config, joint, logEvery));
      } finally {
        lock.release();
      }
      if (!result) return { state: 'killed' };
      break;
    }
    if (!waiting) {
      waiting = true;
      hooks.log(`joint phase ${joint.key} is being trained by ${joint.holder() ?? 'another worker'}; waiting to reuse it`);
    }
    hooks.progress({ phase: 'waiting', epoch: 0, step: 0, steps: 0 });
    if (hooks.shouldStop()) return { state: 'killed' };
    await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
    result = joint.result(warn);
  }
  // Every run using the joint phase shows its whole history, each line once, ahead of its own.
  adoptPhaseHistory(store.path('metrics'), 'joint', result.history);
  const tokenizer = jointTokenizer(config, dataset, joint.tokenizerFile, warn);
  saveTokenizer(store.path('tokenizer'), tokenizer);

  const phases: Record<string, PhaseSummary> = {
    joint: { steps: result.steps, epochs: result.epochs, metrics: phaseMetrics(result.evaluation, result.valMetrics, result) },
  };
  writeSummary(store, opts, started, phases, result.evaluation, { datasetHash: dataset.hash, jointKey: joint.key, jointReused: result.trainedBy !== opts.runId });
  if (!retrainCfg.enabled) {
    store.writeEmbeddings(result.evaluation.embeddings);
    if (result.evaluation.items) writeItemResults(store.dir, result.evaluation.items);
    return { state: 'finished' };
  }

  // 2. The retrain phase: same images, texts enriched, starting from the joint weights.
  const net = newNetwork(config, dataset, tokenizer, seed);
  try {
    loadCheckpoint(joint.checkpointDir, result.checkpoint, net.params, { withOptimizer: false });
    const extra: ExtraText[] = [...dataset.extraTrainTexts, ...(opts.retrainTexts ?? [])];
    const trainSet = new TrainSet(dataset.train, dataset.shape, extra, tokenizer, seed, { pairing: config.augmentation.pairing });
    if (trainSet.droppedTexts > 0) hooks.log(`retrain: ${trainSet.droppedTexts} augmented texts dropped (their class has no training image)`);
    const checkpointDir = join(store.dir, 'checkpoints');
    const phaseRun = await runPhase({
      name: 'retrain',
      cfg: retrainCfg,
      net,
      train: trainSet,
      val: dataset.val,
      valItems: config.evaluation.val_items,
      seed,
      checkpointDir,
      hooks: phaseHooks('retrain', retrainCfg, [(line) => store.appendMetrics(line)], hooks, logEvery, (step) => truncatePhase(store.path('metrics'), 'retrain', step)),
    });
    if (phaseRun.interrupted) return { state: 'killed' };
    const evaluation = await evaluate(net, { ...dataset, shape: dataset.shape }, tokenizer, config.evaluation);
    const valMetrics = lastValMetrics(store.readMetrics().lines, 'retrain');
    const counts = { steps: phaseRun.state.globalStep, trainImages: trainSet.numImages, trainTexts: trainSet.numTexts };
    store.appendMetrics(evalLine('retrain', phaseRun.state.globalStep, phaseRun.state.epoch, evaluation.metrics));
    phases.retrain = { steps: counts.steps, epochs: phaseRun.state.epoch, metrics: phaseMetrics(evaluation, valMetrics, counts) };
    writeSummary(store, opts, started, phases, evaluation, { datasetHash: dataset.hash, jointKey: joint.key, jointReused: result.trainedBy !== opts.runId });
    store.writeEmbeddings(evaluation.embeddings);
    if (evaluation.items) writeItemResults(store.dir, evaluation.items);
    return { state: 'finished' };
  } finally {
    net.dispose();
  }
}

async function trainJoint(opts: TrainingOptions, config: Experiment, joint: JointStore, logEvery: number): Promise<JointResult | undefined> {
  const started = performance.now();
  const { dataset, store, hooks, seed } = opts;
  const tokenizer = jointTokenizer(config, dataset, joint.tokenizerFile, (message) => hooks.log(message));
  const net = newNetwork(config, dataset, tokenizer, seed);
  try {
    const trainSet = new TrainSet(dataset.train, dataset.shape, dataset.extraTrainTexts, tokenizer, seed);
    hooks.log(
      `joint ${joint.key}: ${trainSet.numImages} images, ${trainSet.numTexts} texts, vocabulary ${tokenizer.vocabSize}, ${net.params.countParameters()} parameters`,
    );
    const sinks = [(line: MetricLine) => store.appendMetrics(line), (line: MetricLine) => appendFileSync(joint.metricsFile, JSON.stringify(line) + '\n')];
    const phaseRun = await runPhase({
      name: 'joint',
      cfg: config.training.joint,
      net,
      train: trainSet,
      val: dataset.val,
      valItems: config.evaluation.val_items,
      seed,
      checkpointDir: joint.checkpointDir,
      // Resuming (perhaps a killed sibling's work): the shared history is cut back to the
      // checkpoint, and this run's own joint lines become exactly that before the replay appends.
      hooks: phaseHooks('joint', config.training.joint, sinks, hooks, logEvery, (step) => {
        truncatePhase(joint.metricsFile, 'joint', step);
        adoptPhaseHistory(store.path('metrics'), 'joint', readHistory(joint.metricsFile).lines);
      }),
    });
    if (phaseRun.interrupted) return undefined;
    const evaluation = await evaluate(net, { ...dataset, shape: dataset.shape }, tokenizer, config.evaluation);
    const line = evalLine('joint', phaseRun.state.globalStep, phaseRun.state.epoch, evaluation.metrics);
    for (const sink of sinks) sink(line);
    const history = readHistory(joint.metricsFile).lines;
    const gaps = historyProblems(history, 'joint', phaseRun.state.epoch);
    if (gaps.length > 0) {
      throw new MmrunError(
        `joint phase ${joint.key}: its metric history ${joint.metricsFile} is incomplete (${gaps.join('; ')}).`,
        `Delete ${joint.dir} to train the joint phase again from scratch.`,
      );
    }
    const valMetrics = lastValMetrics(history, 'joint');
    const result: JointResult = {
      jointKey: joint.key,
      backend: opts.backend,
      steps: phaseRun.state.globalStep,
      epochs: phaseRun.state.epoch,
      checkpoint: latestCheckpoint(joint.checkpointDir)!.name,
      trainImages: trainSet.numImages,
      trainTexts: trainSet.numTexts,
      trainedBy: opts.runId,
      valMetrics,
      evaluation,
      history,
      durationS: (performance.now() - started) / 1000,
      finishedAt: new Date().toISOString(),
    };
    joint.writeResult(result);
    return result;
  } finally {
    net.dispose();
  }
}

function phaseHooks(phase: PhaseName, cfg: Phase, sinks: ((l: MetricLine) => void)[], hooks: TrainingHooks, logEvery: number, onStart: (step: number) => void) {
  const emit = (line: MetricLine) => sinks.forEach((s) => s(line));
  return {
    onStart,
    onStep(info: StepInfo) {
      hooks.progress({ phase, epoch: info.epoch, step: info.step, steps: info.steps, loss: info.losses.loss, samplesPerS: info.samplesPerS });
      const stepsPerEpoch = info.steps / cfg.epochs;
      if (info.step % logEvery === 0 || info.step % stepsPerEpoch === 0) {
        emit({ t: new Date().toISOString(), phase, kind: 'step', step: info.step, epoch: info.epoch, metrics: { ...info.losses, learning_rate: info.learningRate, samples_per_s: info.samplesPerS, rss_mb: Math.round(process.memoryUsage.rss() / 1048576) } });
      }
    },
    onEpoch(info: EpochInfo) {
      emit({ t: new Date().toISOString(), phase, kind: 'epoch', step: info.step, epoch: info.epoch, metrics: info.metrics });
      const m = info.metrics;
      const val = m.val_image_acc !== undefined ? ` val image ${pct(m.val_image_acc)} text ${pct(m.val_text_acc)}` : '';
      hooks.log(`${phase} epoch ${info.epoch}/${cfg.epochs}: loss ${m.loss?.toFixed(4)}${val}`);
    },
    onCheckpoint: (name: string) => hooks.log(`${phase}: checkpoint ${name}`),
    shouldStop: () => hooks.shouldStop(),
    log: (message: string) => hooks.log(message),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

function evalLine(phase: PhaseName, step: number, epoch: number, metrics: Record<string, number>): MetricLine {
  return { t: new Date().toISOString(), phase, kind: 'eval', step, epoch, metrics };
}

function lastValMetrics(lines: MetricLine[], phase: string): Record<string, number> {
  const epochs = lines.filter((l) => l.phase === phase && l.kind === 'epoch');
  const last = epochs[epochs.length - 1]?.metrics ?? {};
  const out: Record<string, number> = {};
  for (const k of ['val_image_acc', 'val_text_acc']) if (last[k] !== undefined) out[k] = last[k];
  return out;
}

function phaseMetrics(e: EvaluationResult, val: Record<string, number>, counts: { steps: number; trainImages: number; trainTexts: number }): Record<string, number> {
  return { ...e.metrics, ...val, train_steps: counts.steps, train_images: counts.trainImages, train_texts: counts.trainTexts };
}

function writeSummary(
  store: RunStore,
  opts: TrainingOptions,
  started: number,
  phases: Record<string, PhaseSummary>,
  last: EvaluationResult,
  extra: Record<string, unknown>,
): void {
  const order = ['joint', 'retrain'].filter((p) => phases[p]);
  const summary: RunSummary & Record<string, unknown> = {
    runId: opts.runId,
    backend: opts.backend,
    durationS: (performance.now() - started) / 1000,
    phases,
    final: phases[order[order.length - 1]].metrics,
    perClass: last.perClass,
    confusion: last.confusion,
    ...extra,
  };
  store.writeSummary(summary);
}

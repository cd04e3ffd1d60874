// The worker process of one run (`mmrun worker <run-dir>`): reads spec.json, starts the backend,
// loads the data, trains, and keeps status.json true to life (running with a heartbeat, then
// finished / failed / killed with the error). MMRUN_STOP_FILE, SIGTERM and SIGINT checkpoint and
// stop the run as killed; starting the worker again resumes from the checkpoint.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Experiment } from '../config/types.gen.ts';
import type { Dataset } from '../data/index.ts';
import { MmrunError } from '../errors.ts';
import { registerGradients } from '../model/gradients.ts';
import { startBackend } from '../model/runtime.ts';
import { createProgress, type Progress } from '../progress.ts';
import { RunStore, type FailureCause, type RunStatus } from '../track/run-store.ts';
import { startSystemSampler } from '../track/system-metrics.ts';
import type { DatasetLike, ExtraText } from './data.ts';
import { NonFiniteLossError } from './phase.ts';
import { trainRun, type TrainingHooks } from './training.ts';

export interface WorkerOptions {
  env?: NodeJS.ProcessEnv;
  /** Overrides how the dataset is obtained (tests); default: runner/data ensureDataset + loadDataset. */
  loadDataset?: (config: Experiment, artifactsDir: string) => Promise<DatasetLike>;
  /** Overrides the retrain phase's augmented texts (tests); default: runner/data/augment. */
  retrainTexts?: (config: Experiment, dataset: DatasetLike, artifactsDir: string, runSeed?: number) => Promise<ExtraText[]>;
  /** Where log lines go (default: stdout, which the launcher captures in log.txt). */
  log?: (line: string) => void;
  /** Show progress (default true): a bar on a terminal, a plain line every 30 s otherwise. */
  progressBar?: boolean;
  stepLogEvery?: number;
}

const HEARTBEAT_MS = 5000;
const PROGRESS_WRITE_MS = 250;

/** Runs the run in `runDir`; returns the process exit code (0 finished, 1 failed, 130/143 killed). */
export async function runWorker(runDir: string, opts: WorkerOptions = {}): Promise<number> {
  const env = opts.env ?? process.env;
  const store = RunStore.open(runDir);
  const spec = store.readSpec();
  // The run directory is <artifacts>/runs/<id>: its grandparent holds joint/, datasets/, ...
  const artifactsDir = resolve(dirname(dirname(store.dir)));
  const stamp = () => new Date().toISOString();
  const log = opts.log ?? ((line: string) => console.log(`[${stamp()}] ${line}`));
  const previous = store.readStatus();
  const startedAt = stamp();
  let stopSignal: NodeJS.Signals | undefined;
  let stopFileSeen = false;
  const stopFile = env.MMRUN_STOP_FILE;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopSignal) log(`${signal} received: checkpointing and stopping`);
    stopSignal = signal;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  let live: Partial<RunStatus> = { phase: 'setup', epoch: 0 };
  const write = (patch: Partial<RunStatus>) => {
    live = { ...live, ...patch };
    store.updateStatus({ ...live, heartbeatAt: stamp() });
  };
  write({
    state: 'running',
    runId: spec.id,
    attempt: previous?.attempt ?? 1,
    pid: process.pid,
    host: hostname(),
    startedAt,
    endedAt: null,
    error: undefined,
  });
  const heartbeat = setInterval(() => write({}), HEARTBEAT_MS);
  heartbeat.unref();
  const systemSampler = startSystemSampler(store.dir, { env, warn: log });

  let lastProgressWrite = 0;
  let bar: { phase: string; progress: Progress; last: number } | undefined;
  const showBar = opts.progressBar ?? true;
  const closeBar = () => {
    bar?.progress.done();
    bar = undefined;
  };
  const hooks: TrainingHooks = {
    log,
    progress: (p) => {
      live = { ...live, phase: p.phase, epoch: p.epoch, progress: { step: p.step, steps: p.steps, loss: p.loss, samplesPerS: p.samplesPerS } };
      // status.json follows the steps closely (at most every 250 ms), not only on the heartbeat.
      if (Date.now() - lastProgressWrite >= PROGRESS_WRITE_MS) {
        lastProgressWrite = Date.now();
        write({});
      }
      if (!showBar || p.phase === 'waiting') return;
      if (!bar || bar.phase !== p.phase) {
        closeBar();
        bar = { phase: p.phase, progress: createProgress({ label: p.phase, total: p.steps, unit: 'steps', intervalS: 30, write: (line) => log(line) }), last: p.step - 1 };
      }
      const extra = `epoch ${p.epoch} loss ${p.loss?.toFixed(4) ?? '?'} ${Math.round(p.samplesPerS ?? 0)} samples/s`;
      bar.progress.tick(p.step - bar.last, extra);
      bar.last = p.step;
    },
    shouldStop: () => {
      if (!stopFileSeen && stopFile && existsSync(stopFile)) {
        stopFileSeen = true;
        log(`stop file ${stopFile} found: checkpointing and stopping`);
      }
      return stopFileSeen || stopSignal !== undefined;
    },
  };

  const finish = (state: RunStatus['state'], error?: RunStatus['error']) => {
    clearInterval(heartbeat);
    systemSampler.stop();
    closeBar();
    write({ state, endedAt: stamp(), error });
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  };

  try {
    const config = spec.config;
    const threads = Number(env.MMRUN_THREADS);
    const backend = await startBackend(config.model.backend, Number.isInteger(threads) && threads > 0 ? threads : undefined);
    await registerGradients();
    write({ backend: backend.name });
    log(`run ${spec.id} (${spec.name}): backend ${backend.detail}`);
    const dataset = await (opts.loadDataset ?? defaultLoadDataset)(config, artifactsDir);
    log(`dataset ${dataset.hash}: ${dataset.train.labels.length} train / ${dataset.val.labels.length} val / ${dataset.test.labels.length} test images, ${dataset.classNames.length} classes`);
    const retrainTexts = config.training.retrain.enabled ? await (opts.retrainTexts ?? defaultRetrainTexts)(config, dataset, artifactsDir, spec.seed) : [];
    const outcome = await trainRun({
      config,
      seed: spec.seed,
      runId: spec.id,
      dataset,
      store,
      artifactsDir,
      backend: backend.name,
      retrainTexts,
      hooks,
      stepLogEvery: opts.stepLogEvery,
    });
    if (outcome.state === 'killed') {
      const reason = stopSignal ?? (stopFileSeen ? 'stop file' : 'stop request');
      finish('killed', { message: `stopped by ${reason} after checkpointing; start the worker again to resume`, signal: stopSignal ?? null, cause: 'killed' });
      log(`stopped (${reason}); tensors in memory: ${tf.memory().numTensors}`);
      return stopSignal === 'SIGINT' ? 130 : 143;
    }
    finish('finished');
    log(`run ${spec.id} finished`);
    return 0;
  } catch (err) {
    const cause: FailureCause = err instanceof NonFiniteLossError ? 'nan' : 'exception';
    const message = err instanceof Error ? err.message : String(err);
    finish('failed', { message, exitCode: 1, cause });
    if (err instanceof MmrunError) log(`run ${spec.id} failed: ${message}${err.hint ? `\n${err.hint}` : ''}`);
    else log(`run ${spec.id} failed with an internal error: ${err instanceof Error ? err.stack : message}`);
    return 1;
  }
}

async function defaultLoadDataset(config: Experiment, artifactsDir: string): Promise<DatasetLike> {
  const data = await import('../data/index.ts');
  const ref = await data.ensureDataset(config, { artifactsDir });
  return data.loadDataset(ref.dir);
}

/** The augmented-set builder reads files of the dataset's folder (attributes): it needs a built dataset. */
function builtDataset(d: DatasetLike): Dataset {
  if (typeof (d as Partial<Dataset>).dir !== 'string') throw new Error('augmentation needs a dataset built by runner/data (one with its folder); the dataset given to the worker has none');
  return d as Dataset;
}

async function defaultRetrainTexts(config: Experiment, dataset: DatasetLike, artifactsDir: string, runSeed?: number): Promise<ExtraText[]> {
  const aug = config.augmentation;
  if (aug.method === 'none' || aug.ratio <= 0) return [];
  const { ensureAugmentedSet } = await import('../data/augment/index.ts');
  const set = await ensureAugmentedSet(config, builtDataset(dataset), { artifactsDir, runSeed });
  const texts = set.textsFor(aug.ratio);
  // Class-conditional texts describe no particular image: pair them with images of their class.
  // (repair texts keep their source: they are re-paired with that image, never with their own.)
  return set.pairedWithSource === false ? texts.map(({ label, text }) => ({ label, text })) : texts;
}

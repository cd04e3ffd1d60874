// Checkpoints: verified on load, corrupt ones fallen back from (never trusted), and a phase
// stopped at any step and resumed ends bit for bit where an uninterrupted one ends.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolvePresets } from '../../runner/config/presets.ts';
import type { Model, Phase } from '../../runner/config/types.gen.ts';
import { CorruptFileError } from '../../runner/files/verified.ts';
import { registerGradients } from '../../runner/model/gradients.ts';
import { Network } from '../../runner/model/network.ts';
import { Tokenizer } from '../../runner/model/tokenizer.ts';
import { checkpointsOf, loadCheckpoint, saveCheckpoint } from '../../runner/train/checkpoint.ts';
import { TrainSet } from '../../runner/train/data.ts';
import { evaluate } from '../../runner/train/evaluate.ts';
import { createOptimizer, optimizerScalars, restoreOptimizer } from '../../runner/train/optimizer.ts';
import { runPhase } from '../../runner/train/phase.ts';
import { syntheticDataset } from '../helpers/synthetic-dataset.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerGradients();
});

const ds = syntheticDataset({ train: 96, val: 16, test: 16 });
const model = resolvePresets({
  backend: 'cpu',
  image: { preset: 'small', filters: [4], dense: 8, dropout: 0.1 },
  text: { preset: 'small', tokenizer: 'word', vocab_size: 100, pooling: 'mean', width: 8, heads: 2, mlp: 16, max_len: 10, dropout: 0.1 },
  projection: { dim: 8, layers: 1, normalize: true },
  head: 'shared',
} as Model);
const tok = Tokenizer.build(ds.train.texts, { kind: 'word', vocabSize: 100, maxLen: 10, addCls: false });
// 6 steps per epoch; Adam with warm-up and a cosine schedule; early stopping that never fires.
const cfg: Phase = {
  enabled: true,
  epochs: 2,
  batch_size: 16,
  optimizer: 'adam',
  learning_rate: 0.01,
  schedule: 'cosine',
  warmup_steps: 2,
  loss_weights: { image: 1, text: 1, align: 0.5 },
  freeze: [],
  early_stopping: { metric: 'loss', patience: 50, min_delta: 0 },
};
const newNet = () => new Network({ model, imageShape: ds.shape, numClasses: 4, vocabSize: tok.vocabSize, temperature: 0.07, seed: 5 });
const weightsOf = (net: Network) => net.params.params.map((p) => Array.from(p.variable.dataSync()));
const tmp = (label: string) => mkdtempSync(join(tmpdir(), `mmrun-ckpt-${label}-`));
const trainSet = () => new TrainSet(ds.train, ds.shape, [{ label: 1, text: 'an extra river text' }], tok, 5);

async function phase(dir: string, opts: { stopAt?: number; log?: string[]; onStart?: (step: number) => void } = {}) {
  const net = newNet();
  let steps = 0;
  const r = await runPhase({
    name: 'joint',
    cfg,
    net,
    train: trainSet(),
    val: ds.val,
    seed: 5,
    checkpointDir: dir,
    hooks: { onStep: () => steps++, shouldStop: () => steps === opts.stopAt, log: (m) => opts.log?.push(m), onStart: opts.onStart },
  });
  return { net, r };
}

type Mode = 'zero-fill' | 'truncate' | 'flip a byte';
function corrupt(file: string, mode: Mode): void {
  const size = statSync(file).size;
  if (mode === 'zero-fill') writeFileSync(file, Buffer.alloc(size));
  else if (mode === 'truncate') truncateSync(file, Math.floor(size / 2));
  else {
    const b = readFileSync(file);
    b[Math.floor(b.length / 2)] ^= 0x01;
    writeFileSync(file, b);
  }
}

let straight: number[][];
let straightEval: unknown;
let finished: string; // a checkpoint folder of a finished phase: joint-epoch1, joint-epoch2

beforeAll(async () => {
  finished = tmp('straight');
  const { net } = await phase(finished);
  straight = weightsOf(net);
  straightEval = (await evaluate(net, { ...ds, shape: ds.shape }, tok, { retrieval_pool: 16, retrieval_k: [1, 5], embeddings_sample: 4 } as never)).metrics;
  net.dispose();
}, 600_000);

describe('optimizer state', () => {
  it("restores Adam's running beta powers exactly (setWeights alone recomputes them and drifts)", async () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3]));
    const a = createOptimizer('adam', 0.1);
    for (let i = 0; i < 8; i++) a.minimize(() => tf.sum(tf.square(v)) as tf.Scalar, false, [v]);
    const saved = await a.getWeights();
    const scalars = optimizerScalars(a);
    expect(Object.keys(scalars).sort()).toEqual(['accBeta1', 'accBeta2']);
    const b = createOptimizer('adam', 0.1);
    await restoreOptimizer(b, saved, scalars);
    expect(optimizerScalars(b)).toEqual(scalars);
    // What tfjs's setWeights alone leaves: pow(beta1, 9) in float32, not the running product.
    const c = createOptimizer('adam', 0.1);
    await c.setWeights(saved);
    expect(optimizerScalars(c).accBeta1).not.toBe(scalars.accBeta1);
    tf.dispose([v, ...saved.map((w) => w.tensor)]);
    [a, b, c].forEach((o) => o.dispose());
  });
});

describe('exact resume', () => {
  // Stops where Adam's recomputed beta powers differ from the running ones (2, 5, 8, 11), at an
  // epoch boundary (6), and in both epochs.
  it.each([2, 5, 6, 8, 11])('stopped after step %i and resumed: the weights of an uninterrupted phase, bit for bit', async (stopAt) => {
    const dir = tmp(`stop${stopAt}`);
    const first = await phase(dir, { stopAt });
    expect(first.r.interrupted).toBe(true);
    first.net.dispose();
    const starts: number[] = [];
    const resumed = await phase(dir, { onStart: (s) => starts.push(s) });
    expect(resumed.r.resumedFrom).toMatch(stopAt === 6 ? /^joint-epoch1$/ : /^joint-epoch\d-step\d+$/);
    expect(starts).toEqual([stopAt]);
    expect(weightsOf(resumed.net)).toEqual(straight);
    resumed.net.dispose();
  }, 300_000);

  it('evaluates a network loaded from the final checkpoint exactly as the one that trained', async () => {
    const net = newNet();
    loadCheckpoint(finished, 'joint-epoch2', net.params, { withOptimizer: false });
    const again = (await evaluate(net, { ...ds, shape: ds.shape }, tok, { retrieval_pool: 16, retrieval_k: [1, 5], embeddings_sample: 4 } as never)).metrics;
    expect(again).toEqual(straightEval);
    net.dispose();
  }, 300_000);
});

describe('verified checkpoints', () => {
  it('writes checksums.json into each checkpoint and keeps the newest two', () => {
    expect(checkpointsOf(finished, 'joint')).toEqual(['joint-epoch2', 'joint-epoch1']);
    expect(readdirSync(join(finished, 'joint-epoch2')).sort()).toEqual(['checksums.json', 'manifest.json', 'weights.bin']);
    expect(JSON.parse(readFileSync(join(finished, 'latest.json'), 'utf8')).name).toBe('joint-epoch2');
  });

  it.each<[Mode, string]>([
    ['zero-fill', 'weights.bin'],
    ['truncate', 'weights.bin'],
    ['flip a byte', 'weights.bin'],
    ['flip a byte', 'manifest.json'],
  ])('a %s of the newest checkpoint\'s %s: a warning naming it, fall back to the older one, same final weights', async (mode, file) => {
    const dir = tmp('corrupt');
    const first = await phase(dir);
    first.net.dispose();
    corrupt(join(dir, 'joint-epoch2', file), mode);
    const log: string[] = [];
    const again = await phase(dir, { log });
    const warnings = log.filter((l) => l.startsWith('warning:'));
    expect(warnings, log.join('\n')).toHaveLength(1);
    expect(warnings[0]).toContain(join(dir, 'joint-epoch2', file));
    expect(again.r.resumedFrom).toBe('joint-epoch1');
    expect(weightsOf(again.net)).toEqual(straight);
    expect(existsSync(join(dir, '.corrupt-joint-epoch2'))).toBe(true); // kept aside for a look, never loaded
    // The rerun wrote a good joint-epoch2 again: a third run resumes from it without a warning.
    const log3: string[] = [];
    const third = await phase(dir, { log: log3 });
    expect(third.r.resumedFrom).toBe('joint-epoch2');
    expect(log3.filter((l) => l.startsWith('warning:'))).toEqual([]);
    [again.net, third.net].forEach((n) => n.dispose());
  }, 300_000);

  it('with no intact checkpoint left, restarts the phase from its start (an exact replay) and says so', async () => {
    const dir = tmp('none');
    const first = await phase(dir);
    first.net.dispose();
    corrupt(join(dir, 'joint-epoch2', 'weights.bin'), 'truncate');
    corrupt(join(dir, 'joint-epoch1', 'checksums.json'), 'zero-fill');
    const log: string[] = [];
    const starts: number[] = [];
    const again = await phase(dir, { log, onStart: (s) => starts.push(s) });
    expect(log.filter((l) => l.startsWith('warning:'))).toHaveLength(3);
    expect(log.join('\n')).toMatch(/no intact checkpoint left in .*; restarting the phase from its start/);
    expect(again.r.resumedFrom).toBeUndefined();
    expect(starts).toEqual([0]);
    expect(weightsOf(again.net)).toEqual(straight);
    again.net.dispose();
  }, 300_000);

  it('loadCheckpoint refuses a corrupt checkpoint naming the file, and leaves the weights untouched', async () => {
    const dir = tmp('load');
    const net = newNet();
    await saveCheckpoint(dir, 'joint-epoch1', 'joint', net.params, undefined, { any: 1 }, 6);
    corrupt(join(dir, 'joint-epoch1', 'weights.bin'), 'zero-fill');
    const other = newNet();
    tf.tidy(() => other.params.params[0].variable.assign(tf.zerosLike(other.params.params[0].variable)));
    const before = weightsOf(other);
    expect(() => loadCheckpoint(dir, 'joint-epoch1', other.params, { withOptimizer: false })).toThrow(CorruptFileError);
    expect(() => loadCheckpoint(dir, 'joint-epoch1', other.params, { withOptimizer: false })).toThrow(
      `${join(dir, 'joint-epoch1', 'weights.bin')} is corrupt: does not match its checksum`,
    );
    expect(weightsOf(other)).toEqual(before);
    [net, other].forEach((n) => n.dispose());
  });
});

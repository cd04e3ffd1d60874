// Checkpoints: `<dir>/<name>/` holding weights.bin (every model variable, then the optimizer's
// state, float32 little-endian) and manifest.json (names, shapes, offsets, loop position), plus
// `<dir>/latest.json` naming the newest complete one. A checkpoint is written to a temporary
// folder and renamed into place, so a kill never leaves a half-written one behind.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParamStore } from '../model/params.ts';
import { readJsonIfExists, writeJsonAtomic } from '../files/atomic.ts';

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number; // in 4-byte words
}

export interface CheckpointManifest<S> {
  format: 'mmrun-checkpoint-1';
  phase: string;
  createdAt: string;
  variables: TensorEntry[];
  optimizer: TensorEntry[];
  state: S;
}

export interface LatestPointer {
  name: string;
  phase: string;
  createdAt: string;
}

export interface LoadedCheckpoint<S> {
  name: string;
  state: S;
  /** The optimizer's saved state, to pass to optimizer.setWeights (the caller disposes them). */
  optimizerWeights: { name: string; tensor: tf.Tensor }[];
}

function pack(tensors: { name: string; tensor: tf.Tensor }[], entries: TensorEntry[], chunks: Buffer[], offset: number): number {
  for (const { name, tensor } of tensors) {
    const dtype = tensor.dtype === 'int32' ? 'int32' : 'float32';
    const data = tensor.dtype === 'int32' || tensor.dtype === 'float32' ? tensor.dataSync() : tf.tidy(() => tf.cast(tensor, 'float32')).dataSync();
    const words = dtype === 'int32' ? Int32Array.from(data) : Float32Array.from(data);
    chunks.push(Buffer.from(words.buffer, words.byteOffset, words.byteLength));
    entries.push({ name, shape: tensor.shape.slice(), dtype, offset });
    offset += words.length;
  }
  return offset;
}

export async function saveCheckpoint<S>(
  dir: string,
  name: string,
  phase: string,
  params: ParamStore,
  optimizer: tf.Optimizer | undefined,
  state: S,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const variables: TensorEntry[] = [];
  const optimizerEntries: TensorEntry[] = [];
  const chunks: Buffer[] = [];
  let offset = pack(params.params.map((p) => ({ name: p.name, tensor: p.variable })), variables, chunks, 0);
  const optWeights = optimizer ? await optimizer.getWeights() : [];
  pack(optWeights, optimizerEntries, chunks, offset);
  // getWeights returns the iteration counter as a fresh tensor; the rest are live variables.
  const iter = optWeights.find((w) => w.name === 'iter');
  iter?.tensor.dispose();

  const createdAt = new Date().toISOString();
  const manifest: CheckpointManifest<S> = { format: 'mmrun-checkpoint-1', phase, createdAt, variables, optimizer: optimizerEntries, state };
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  writeFileSync(join(tmp, 'weights.bin'), Buffer.concat(chunks));
  writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
  const final = join(dir, name);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  writeJsonAtomic(join(dir, 'latest.json'), { name, phase, createdAt } satisfies LatestPointer);
  pruneOlder(dir, name, phase);
}

/** Keeps the newest two checkpoints of a phase: the latest and one to fall back on. */
function pruneOlder(dir: string, keep: string, phase: string): void {
  const mine = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name.startsWith(`${phase}-`) && existsSync(join(dir, e.name, 'manifest.json')))
    .map((e) => ({ name: e.name, at: (JSON.parse(readFileSync(join(dir, e.name, 'manifest.json'), 'utf8')) as CheckpointManifest<unknown>).createdAt }))
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  for (const old of mine.slice(2)) if (old.name !== keep) rmSync(join(dir, old.name), { recursive: true, force: true });
}

export function latestCheckpoint(dir: string): LatestPointer | undefined {
  const latest = readJsonIfExists<LatestPointer>(join(dir, 'latest.json'));
  if (!latest || !existsSync(join(dir, latest.name, 'manifest.json'))) return undefined;
  return latest;
}

/** Loads weights into `params` (matched by name) and returns the loop state and optimizer state. */
export function loadCheckpoint<S>(dir: string, name: string, params: ParamStore, opts: { withOptimizer: boolean }): LoadedCheckpoint<S> {
  const folder = join(dir, name);
  const manifest = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as CheckpointManifest<S>;
  const bin = readFileSync(join(folder, 'weights.bin'));
  const words = (e: TensorEntry): Float32Array | Int32Array => {
    const size = e.shape.reduce((a, b) => a * b, 1);
    const bytes = bin.subarray(e.offset * 4, (e.offset + size) * 4);
    const copy = new Uint8Array(bytes); // aligned copy
    return e.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
  };
  const byName = new Map(manifest.variables.map((e) => [e.name, e]));
  for (const p of params.params) {
    const e = byName.get(p.name);
    if (!e) throw new Error(`checkpoint ${folder} has no variable '${p.name}' (was the model changed?)`);
    if (e.shape.join('x') !== p.variable.shape.join('x')) {
      throw new Error(`checkpoint ${folder}: '${p.name}' has shape [${e.shape}], the model expects [${p.variable.shape}]`);
    }
    tf.tidy(() => p.variable.assign(tf.tensor(words(e), e.shape, 'float32')));
  }
  const optimizerWeights = opts.withOptimizer ? manifest.optimizer.map((e) => ({ name: e.name, tensor: tf.tensor(words(e), e.shape, e.dtype) })) : [];
  return { name, state: manifest.state, optimizerWeights };
}

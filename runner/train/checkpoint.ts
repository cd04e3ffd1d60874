// Checkpoints: `<dir>/<name>/` holding weights.bin (every model variable, then the optimizer's
// state, float32/int32 little-endian), manifest.json (names, shapes, offsets, loop position,
// optimizer scalars) and checksums.json (size and SHA-256 of both, written last), plus
// `<dir>/latest.json` naming the newest complete one (written only once the checkpoint is in
// place). A checkpoint is written to a temporary folder and renamed into place, so a kill never
// leaves a half-written one behind. Loading checks the very bytes it uses against checksums.json;
// a checkpoint that does not verify is moved aside (`.corrupt-<name>`) and the next newest intact
// one is used instead.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MmrunError } from '../errors.ts';
import { writeFileAtomic, writeJsonAtomic, readJsonIfExists } from '../files/atomic.ts';
import { CHECKSUMS_FILE, CorruptFileError, readDirectoryChecksums, readVerifiedFile, verifyDirectory, writeDirectoryChecksums } from '../files/verified.ts';
import type { ParamStore } from '../model/params.ts';
import { optimizerScalars } from './optimizer.ts';
import { mkdirLevels } from '../files/mkdir.ts';

const FORMAT = 'mmrun-checkpoint-2';
const WEIGHTS = 'weights.bin';
const MANIFEST = 'manifest.json';

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number; // in 4-byte words
}

export interface CheckpointManifest<S> {
  format: typeof FORMAT;
  phase: string;
  step: number; // global step of the phase when it was taken
  createdAt: string;
  variables: TensorEntry[];
  optimizer: TensorEntry[];
  /** Optimizer state outside getWeights() (Adam's running beta powers), see optimizer.ts. */
  optimizerScalars: Record<string, number>;
  state: S;
}

export interface LatestPointer {
  name: string;
  phase: string;
  createdAt: string;
}

export interface LoadedCheckpoint<S> {
  name: string;
  step: number;
  state: S;
  /** The optimizer's saved state, to pass to optimizer.setWeights (the caller disposes them). */
  optimizerWeights: { name: string; tensor: tf.Tensor }[];
  optimizerScalars: Record<string, number>;
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
  step: number,
): Promise<void> {
  mkdirLevels(dir);
  const variables: TensorEntry[] = [];
  const optimizerEntries: TensorEntry[] = [];
  const chunks: Buffer[] = [];
  const offset = pack(params.params.map((p) => ({ name: p.name, tensor: p.variable })), variables, chunks, 0);
  const optWeights = optimizer ? await optimizer.getWeights() : [];
  pack(optWeights, optimizerEntries, chunks, offset);
  // getWeights returns the iteration counter as a fresh tensor; the rest are live variables.
  optWeights.find((w) => w.name === 'iter')?.tensor.dispose();

  const createdAt = new Date().toISOString();
  const manifest: CheckpointManifest<S> = {
    format: FORMAT,
    phase,
    step,
    createdAt,
    variables,
    optimizer: optimizerEntries,
    optimizerScalars: optimizer ? optimizerScalars(optimizer) : {},
    state,
  };
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  writeFileAtomic(join(tmp, WEIGHTS), Buffer.concat(chunks));
  writeFileAtomic(join(tmp, MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
  writeDirectoryChecksums(tmp, [WEIGHTS, MANIFEST]); // last: a folder with it is complete
  const final = join(dir, name);
  // Replacing a checkpoint of the same name (a phase redone after a fallback): move the old one
  // aside first, so that a kill at any point leaves either the old or the new one in place.
  const old = join(dir, `.${name}.${process.pid}.old`);
  if (existsSync(final)) renameSync(final, old);
  renameSync(tmp, final);
  rmSync(old, { recursive: true, force: true });
  writeJsonAtomic(join(dir, 'latest.json'), { name, phase, createdAt } satisfies LatestPointer);
  pruneOlder(dir, name, phase);
}

/** Checkpoint folders of a phase, newest first (by loop position, read from the name). */
export function checkpointsOf(dir: string, phase: string): string[] {
  if (!existsSync(dir)) return [];
  const pattern = new RegExp(`^${phase}-epoch(\\d+)(?:-step(\\d+))?$`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => ({ name: e.name, m: pattern.exec(e.name) }))
    .filter((c): c is { name: string; m: RegExpExecArray } => c.m !== null)
    .map(({ name, m }) => ({ name, epoch: Number(m[1]), step: m[2] === undefined ? -1 : Number(m[2]) }))
    .sort((a, b) => b.epoch - a.epoch || b.step - a.step)
    .map((c) => c.name);
}

/**
 * Keeps the newest two complete checkpoints of a phase (the latest and one to fall back on), and
 * removes what killed writers left behind (temporary folders).
 */
function pruneOlder(dir: string, keep: string, phase: string): void {
  const complete = checkpointsOf(dir, phase).filter((n) => existsSync(join(dir, n, CHECKSUMS_FILE)));
  for (const old of complete.slice(2)) if (old !== keep) rmSync(join(dir, old), { recursive: true, force: true });
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory() && /^\..*\.\d+\.(tmp|old)$/.test(e.name) && !e.name.includes(`.${process.pid}.`)) rmSync(join(dir, e.name), { recursive: true, force: true });
  }
}

/** The newest complete checkpoint as latest.json names it (a hint: loading verifies it). */
export function latestCheckpoint(dir: string): LatestPointer | undefined {
  let latest: LatestPointer | undefined;
  try {
    latest = readJsonIfExists<LatestPointer>(join(dir, 'latest.json'));
  } catch {
    return undefined; // unreadable pointer: callers scan the folders themselves
  }
  if (!latest || typeof latest.name !== 'string' || !existsSync(join(dir, latest.name, MANIFEST))) return undefined;
  return latest;
}

/** Problems found when checking a checkpoint's files against its checksums (empty: intact). */
export function verifyCheckpoint(dir: string, name: string): string[] {
  return verifyDirectory(join(dir, name));
}

/**
 * Loads weights into `params` (matched by name) and returns the loop state and optimizer state.
 * Every byte used is verified first (CorruptFileError naming the file), and every variable is
 * checked before any is assigned: a checkpoint that cannot be used leaves `params` untouched.
 */
export function loadCheckpoint<S>(dir: string, name: string, params: ParamStore, opts: { withOptimizer: boolean }): LoadedCheckpoint<S> {
  const folder = join(dir, name);
  const list = readDirectoryChecksums(folder);
  if ('problem' in list) throw new CorruptFileError(folder, list.problem);
  const manifestFile = join(folder, MANIFEST);
  let manifest: CheckpointManifest<S>;
  try {
    manifest = JSON.parse(readVerifiedFile(folder, MANIFEST, list).toString('utf8')) as CheckpointManifest<S>;
  } catch (err) {
    if (err instanceof CorruptFileError) throw err;
    throw new CorruptFileError(manifestFile, `not valid JSON (${(err as Error).message})`);
  }
  if (manifest.format !== FORMAT) throw new CorruptFileError(manifestFile, `format '${String(manifest.format)}', expected '${FORMAT}'`);
  const bin = readVerifiedFile(folder, WEIGHTS, list);
  const words = (e: TensorEntry): Float32Array | Int32Array => {
    const size = e.shape.reduce((a, b) => a * b, 1);
    if ((e.offset + size) * 4 > bin.length) throw new CorruptFileError(join(folder, WEIGHTS), `'${e.name}' lies beyond the end of the file`);
    const copy = new Uint8Array(bin.subarray(e.offset * 4, (e.offset + size) * 4)); // aligned copy
    return e.dtype === 'int32' ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
  };
  const byName = new Map(manifest.variables.map((e) => [e.name, e]));
  const values = params.params.map((p) => {
    const e = byName.get(p.name);
    if (!e) throw new MmrunError(`checkpoint ${folder} has no variable '${p.name}' (was the model changed?)`);
    if (e.shape.join('x') !== p.variable.shape.join('x')) {
      throw new MmrunError(`checkpoint ${folder}: '${p.name}' has shape [${e.shape}], the model expects [${p.variable.shape}] (was the model changed?)`);
    }
    return { p, e, data: words(e) };
  });
  const optimizerData = opts.withOptimizer ? manifest.optimizer.map((e) => ({ e, data: words(e) })) : [];
  for (const { p, e, data } of values) tf.tidy(() => p.variable.assign(tf.tensor(data, e.shape, 'float32')));
  const optimizerWeights = optimizerData.map(({ e, data }) => ({ name: e.name, tensor: tf.tensor(data, e.shape, e.dtype) }));
  return { name, step: manifest.step, state: manifest.state, optimizerWeights, optimizerScalars: manifest.optimizerScalars ?? {} };
}

/**
 * Loads the newest checkpoint of `phase` that verifies. Each one that does not is moved aside
 * with a one-line warning naming the bad file; undefined when none is left (`skipped` says how
 * many were found corrupt, so the caller can say it restarts the phase).
 */
export function loadNewestIntact<S>(
  dir: string,
  phase: string,
  params: ParamStore,
  opts: { withOptimizer: boolean; warn(message: string): void },
): { loaded?: LoadedCheckpoint<S>; skipped: string[] } {
  const skipped: string[] = [];
  for (const name of checkpointsOf(dir, phase)) {
    try {
      return { loaded: loadCheckpoint<S>(dir, name, params, opts), skipped };
    } catch (err) {
      if (!(err instanceof CorruptFileError)) throw err;
      const aside = join(dir, `.corrupt-${name}`);
      rmSync(aside, { recursive: true, force: true });
      renameSync(join(dir, name), aside);
      skipped.push(name);
      opts.warn(`warning: checkpoint ${name} is not usable: ${err.message}; moved to ${aside}, falling back to an older one`);
    }
  }
  return { skipped };
}

/**
 * Stable identities. A run id is a hash of what shapes the run's results, and nothing else
 * (docs/contracts.md "Identity" states the rules; tests/unit/identity.test.ts has one test per
 * rule). Pure: hashing is computation, and the source data's content hash is computed by
 * runner/data and passed in.
 */
import { createHash } from 'node:crypto';
import type { Experiment } from '../config/types.gen.ts';
import { currentDefaults } from '../config/defaults.ts';
import { MmrunError } from '../errors.ts';
import { INTRODUCED_DEFAULTS } from './identity-defaults.ts';

/** Bumped only when the rules below change on purpose (then old run dirs need a lookup, see legacy). */
export const IDENTITY_VERSION = 2;

/** JSON with keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function shortHash(value: unknown, length = 12): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, length);
}

/**
 * Content hashes of source data, by absolute `dataset.path` (runner/data/sources/fingerprint.ts
 * computes them). A run whose dataset has a path is identified by its data, not by where it lives.
 */
export type SourceHashes = Readonly<Record<string, string>>;

export interface IdentityOptions {
  sources?: SourceHashes;
  /** Flattened schema defaults (path → value) for fields missing from INTRODUCED_DEFAULTS; tests pass another schema's. */
  defaults?: Readonly<Record<string, unknown>>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const omit = (o: unknown, ...keys: string[]): Obj => Object.fromEntries(Object.entries(isObj(o) ? o : {}).filter(([k]) => !keys.includes(k)));

/** Settings of an LLM endpoint that shape answers (concurrency, retries, timeouts and prices do not). */
const endpointShape = (e: unknown): Obj => omit(e, 'concurrency', 'max_retries', 'timeout_s', 'price_per_million_input', 'price_per_million_output');

function sourceHashOf(dataset: Experiment['dataset'], sources: SourceHashes | undefined): string | undefined {
  if (!dataset.path) return undefined;
  const hash = sources?.[dataset.path];
  // An internal error: every caller plans through runner/plan-experiment.ts, which fingerprints the sources.
  if (!hash) throw new MmrunError(`internal: no content hash for the source data at ${dataset.path}; plan with planExperiment() (runner/plan-experiment.ts)`);
  return hash;
}

/** The dataset as it shapes data: its path replaced by its content hash, the unused describer's settings left out. */
function datasetShape(dataset: Experiment['dataset'], sources: SourceHashes | undefined): Obj {
  const { path: _path, descriptions, ...rest } = dataset;
  const source_hash = sourceHashOf(dataset, sources);
  const d = (descriptions ?? {}) as unknown as Obj;
  const desc = d.describer === 'openai' ? { ...omit(d, 'openai', 'style'), openai: endpointShape(d.openai) } : omit(d, 'openai');
  return { ...rest, ...(source_hash ? { source_hash } : {}), descriptions: desc };
}

function augmentationShape(a: Experiment['augmentation']): Obj {
  if (a.method === 'none') return { method: 'none', ratio: a.ratio };
  const base = omit(a, 'eda', 'llm');
  if (a.method === 'eda') return { ...base, eda: a.eda };
  if (a.method === 'llm') return { ...base, llm: { ...omit(a.llm, 'endpoint'), endpoint: endpointShape(a.llm.endpoint) } };
  return base;
}

/**
 * What shapes a run's results, before defaults are left out: the sections that define data, model
 * and training (never naming, sweep structure, launcher, tracking, report or output folders),
 * without execution details (model.backend) and without settings of alternatives not in use.
 */
export function identityProjection(config: Experiment, seed: number, sources?: SourceHashes): Obj {
  const training = config.training.retrain.enabled ? config.training : { ...config.training, retrain: { enabled: false } };
  return {
    dataset: datasetShape(config.dataset, sources),
    model: omit(config.model, 'backend'),
    augmentation: augmentationShape(config.augmentation),
    training,
    evaluation: config.evaluation,
    seed,
  };
}

const sameValue = (a: unknown, b: unknown) => (typeof a !== 'object' || a === null ? a === b : canonicalJson(a) === canonicalJson(b));

/** Leaves equal to the default their field was introduced with are dropped; so are maps left empty. */
function withoutDefaults(value: unknown, path: string, defaults: Readonly<Record<string, unknown>>): unknown {
  if (!isObj(value)) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    const p = path ? `${path}.${k}` : k;
    const reference = p in INTRODUCED_DEFAULTS ? INTRODUCED_DEFAULTS[p] : p in defaults ? defaults[p] : NO_DEFAULT;
    if (reference !== NO_DEFAULT && sameValue(v, reference)) continue;
    const kept = withoutDefaults(v, p, defaults);
    if (isObj(kept) && Object.keys(kept).length === 0 && isObj(v) && Object.keys(v).length > 0) continue;
    out[k] = kept;
  }
  return out;
}
const NO_DEFAULT = Symbol('no default');

/** The value a run id hashes (exported for tests and for `mmrun plan --json` debugging). */
export function runIdentity(config: Experiment, seed: number, opts: IdentityOptions = {}): Obj {
  const projected = identityProjection(config, seed, opts.sources);
  return { v: IDENTITY_VERSION, ...(withoutDefaults(projected, '', opts.defaults ?? currentDefaults()) as Obj) };
}

export const runId = (config: Experiment, seed: number, opts: IdentityOptions = {}): string => shortHash(runIdentity(config, seed, opts));

/**
 * The run id of identity v1 (before issue 16): every field of the five sections as resolved,
 * absolute paths and execution details included. Kept to find run directories written by it.
 */
export function legacyRunId(config: Experiment, seed: number): string {
  const { dataset, model, augmentation, training, evaluation } = config;
  return shortHash({ dataset, model, augmentation, training, evaluation, seed });
}

/**
 * The dataset a run trains on. `sourceHash` (the content hash of the files at dataset.path, or of
 * the embedded package) replaces the path; without it the key only groups runs within one process.
 */
export function datasetKey(config: Experiment, sourceHash?: string): string {
  const shape = withoutDefaults({ dataset: datasetShape({ ...config.dataset, path: undefined }, undefined) }, '', currentDefaults()) as Obj;
  const where = sourceHash ?? config.dataset.path ?? null;
  return shortHash({ v: IDENTITY_VERSION, ...shape, source: where });
}

/**
 * Runs with equal joint keys train identical joint phases, so the phase is trained once and shared.
 * `datasetHash` (the built dataset's hash, which covers the source data) replaces the dataset settings.
 */
export function jointKey(config: Experiment, seed: number, datasetHash?: string): string {
  const dataset = datasetHash ?? datasetShape({ ...config.dataset, path: undefined }, undefined);
  const shape = withoutDefaults({ model: omit(config.model, 'backend'), training: { joint: config.training.joint, temperature: config.training.temperature }, evaluation: config.evaluation }, '', currentDefaults());
  return shortHash({ v: IDENTITY_VERSION, dataset, path: datasetHash ? undefined : config.dataset.path, ...(shape as Obj), seed });
}

/**
 * The config with `augmentation.seed: run` replaced by the run's seed: the set's identity (and
 * its texts) then follow the run seed. Any other config is returned as is.
 */
export function withAugmentationSeed(config: Experiment, runSeed: number | undefined): Experiment {
  if (config.augmentation.seed !== 'run') return config;
  if (runSeed === undefined || !Number.isInteger(runSeed) || runSeed < 0) {
    throw new MmrunError("augmentation.seed is 'run' but no run seed was given to the augmentation (internal: pass opts.runSeed)");
  }
  return { ...config, augmentation: { ...config.augmentation, seed: runSeed } };
}

/** An augmented text set: the ratio only selects how much of it a run uses. */
export const augmentationKey = (config: Experiment, datasetHash: string): string => {
  const { ratio: _ratio, ...rest } = config.augmentation;
  // Only what shapes the generated texts: concurrency, retries, timeouts and prices do not.
  const { model, base_url, prompt, max_tokens } = rest.llm.endpoint;
  const params = rest.method === 'eda' ? { eda: rest.eda } : rest.method === 'llm' ? { mode: rest.llm.mode, model, base_url, prompt, max_tokens } : {};
  return shortHash({ method: rest.method, params, seed: rest.seed, datasetHash });
};

/**
 * Stable identities: a run id is a hash of the canonical resolved config, so YAML key order,
 * comments and settings that do not shape a run (names, launcher, tracking, output folder) never
 * change it. Pure (hashing is computation, not I/O).
 */
import { createHash } from 'node:crypto';
import type { Experiment } from '../config/types.gen.ts';

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

/** What shapes a run's results: everything but naming, sweep structure, launching and tracking. */
export function runIdentity(config: Experiment, seed: number): Record<string, unknown> {
  const { dataset, model, augmentation, training, evaluation } = config;
  return { dataset, model, augmentation, training, evaluation, seed };
}

export const runId = (config: Experiment, seed: number): string => shortHash(runIdentity(config, seed));

/** The dataset a run trains on: every dataset field shapes it. */
export const datasetKey = (config: Experiment): string => shortHash(config.dataset);

/** Runs with equal joint keys train identical joint phases, so the phase is trained once and shared. */
export const jointKey = (config: Experiment, seed: number): string =>
  shortHash({
    dataset: config.dataset,
    model: config.model,
    joint: config.training.joint,
    temperature: config.training.temperature,
    evaluation: config.evaluation,
    seed,
  });

/** An augmented text set: the ratio only selects how much of it a run uses. */
export const augmentationKey = (config: Experiment, datasetHash: string): string => {
  const { ratio: _ratio, ...rest } = config.augmentation;
  // Only what shapes the generated texts: concurrency, retries, timeouts and prices do not.
  const { model, base_url, prompt, max_tokens } = rest.llm.endpoint;
  const params = rest.method === 'eda' ? { eda: rest.eda } : rest.method === 'llm' ? { mode: rest.llm.mode, model, base_url, prompt, max_tokens } : {};
  return shortHash({ method: rest.method, params, seed: rest.seed, datasetHash });
};

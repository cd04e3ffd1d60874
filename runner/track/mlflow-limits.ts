// MLflow server limits (mlflow/utils/validation.py), applied before sending so that the
// server never answers 400 for a value mmrun produced. Pure functions.
import { createHash } from 'node:crypto';

export const LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  entitiesPerBatch: 1000,
  // The server refuses bodies over 1 MB; stay below with room for the JSON envelope.
  bytesPerBatch: 900_000,
  paramValue: 6000,
  tagValue: 8000,
  key: 250,
} as const;

export interface Metric {
  key: string;
  value: number;
  timestamp: number; // ms since epoch
  step: number;
}
export interface KeyValue {
  key: string;
  value: string;
}
export interface Batch {
  metrics: Metric[];
  params: KeyValue[];
  tags: KeyValue[];
}

/** A value that did not fit: what was sent, and the full original for an artifact. */
export interface Truncation {
  kind: 'param' | 'tag';
  key: string; // the original key
  sentKey: string;
  value: string; // the original value
}

export const TRUNCATION_MARKER = ' …[truncated by mmrun; full value in artifact mmrun/truncated-values.json]';

/** Shortens a key to the limit, keeping it unique with a hash of the full key. */
export function fitKey(key: string): string {
  if (key.length <= LIMITS.key) return key;
  const suffix = `__${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
  return key.slice(0, LIMITS.key - suffix.length) + suffix;
}

export function fitValue(value: string, max: number): string {
  if (value.length <= max) return value;
  return value.slice(0, max - TRUNCATION_MARKER.length) + TRUNCATION_MARKER;
}

/** Applies key/value limits to params and tags; reports what had to be shortened. */
export function fitEntries(batch: Batch): { batch: Batch; truncations: Truncation[] } {
  const truncations: Truncation[] = [];
  const fit = (kind: 'param' | 'tag', max: number) => (kv: KeyValue): KeyValue => {
    const sent = { key: fitKey(kv.key), value: fitValue(kv.value, max) };
    if (sent.key !== kv.key || sent.value !== kv.value) truncations.push({ kind, key: kv.key, sentKey: sent.key, value: kv.value });
    return sent;
  };
  return {
    batch: {
      metrics: batch.metrics.map((m) => ({ ...m, key: fitKey(m.key) })),
      params: batch.params.map(fit('param', LIMITS.paramValue)),
      tags: batch.tags.map(fit('tag', LIMITS.tagValue)),
    },
    truncations,
  };
}

function entitySize(e: Metric | KeyValue): number {
  return Buffer.byteLength(JSON.stringify(e)) + 1;
}

/** Splits a batch into requests that each respect every per-request limit. */
export function splitBatch(batch: Batch): Batch[] {
  const out: Batch[] = [];
  let cur: Batch = { metrics: [], params: [], tags: [] };
  let bytes = 0;
  const count = () => cur.metrics.length + cur.params.length + cur.tags.length;
  const flush = () => {
    if (count() > 0) out.push(cur);
    cur = { metrics: [], params: [], tags: [] };
    bytes = 0;
  };
  const add = <K extends keyof Batch>(field: K, e: Batch[K][number], max: number) => {
    const size = entitySize(e);
    if (cur[field].length >= max || count() >= LIMITS.entitiesPerBatch || bytes + size > LIMITS.bytesPerBatch) flush();
    (cur[field] as Batch[K][number][]).push(e);
    bytes += size;
  };
  for (const p of batch.params) add('params', p, LIMITS.paramsPerBatch);
  for (const t of batch.tags) add('tags', t, LIMITS.tagsPerBatch);
  for (const m of batch.metrics) add('metrics', m, LIMITS.metricsPerBatch);
  flush();
  return out;
}

import { describe, expect, it } from 'vitest';
import { fitEntries, fitKey, LIMITS, splitBatch, TRUNCATION_MARKER, type Batch } from '../../runner/track/mlflow-limits.ts';
import { proxyPathOf, normalizeTrackingUri } from '../../runner/track/mlflow-client.ts';

const params = (n: number, size = 10) => Array.from({ length: n }, (_, i) => ({ key: `p.${i}`, value: 'v'.repeat(size) }));
const metrics = (n: number) => Array.from({ length: n }, (_, i) => ({ key: 'joint/loss', value: i, timestamp: i, step: i }));

function checkLimits(parts: Batch[]): void {
  for (const b of parts) {
    expect(b.params.length).toBeLessThanOrEqual(LIMITS.paramsPerBatch);
    expect(b.tags.length).toBeLessThanOrEqual(LIMITS.tagsPerBatch);
    expect(b.metrics.length).toBeLessThanOrEqual(LIMITS.metricsPerBatch);
    expect(b.params.length + b.tags.length + b.metrics.length).toBeLessThanOrEqual(LIMITS.entitiesPerBatch);
    expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThan(1_000_000);
  }
}

describe('splitBatch', () => {
  it('splits 300 params into requests of at most 100', () => {
    const parts = splitBatch({ metrics: [], params: params(300), tags: [] });
    expect(parts.map((p) => p.params.length)).toEqual([100, 100, 100]);
    checkLimits(parts);
  });

  it('keeps every entity exactly once across requests, under every limit', () => {
    const batch: Batch = { metrics: metrics(2500), params: params(150), tags: params(120).map((t) => ({ ...t, key: `t.${t.key}` })) };
    const parts = splitBatch(batch);
    checkLimits(parts);
    expect(parts.flatMap((p) => p.metrics)).toEqual(batch.metrics);
    expect(parts.flatMap((p) => p.params)).toEqual(batch.params);
    expect(parts.flatMap((p) => p.tags)).toEqual(batch.tags);
  });

  it('splits by size when values are large', () => {
    const parts = splitBatch({ metrics: [], params: params(100, 6000), tags: params(100, 8000) });
    checkLimits(parts);
    expect(parts.length).toBeGreaterThan(1);
  });

  it('returns no request for an empty batch', () => {
    expect(splitBatch({ metrics: [], params: [], tags: [] })).toEqual([]);
  });
});

describe('fitEntries', () => {
  it('truncates a 10,000-character param with a marker and reports the full value', () => {
    const long = 'x'.repeat(10_000);
    const { batch, truncations } = fitEntries({ metrics: [], params: [{ key: 'a', value: long }, { key: 'b', value: 'short' }], tags: [{ key: 't', value: long }] });
    expect(batch.params[0].value).toHaveLength(LIMITS.paramValue);
    expect(batch.params[0].value.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(batch.params[1].value).toBe('short');
    expect(batch.tags[0].value).toHaveLength(LIMITS.tagValue);
    expect(truncations).toEqual([
      { kind: 'param', key: 'a', sentKey: 'a', value: long },
      { kind: 'tag', key: 't', sentKey: 't', value: long },
    ]);
  });

  it('shortens long keys to 250 characters, keeping them distinct', () => {
    const a = 'k'.repeat(300) + 'a';
    const b = 'k'.repeat(300) + 'b';
    expect(fitKey(a)).toHaveLength(LIMITS.key);
    expect(fitKey(a)).not.toBe(fitKey(b));
    expect(fitKey('short.key')).toBe('short.key');
  });
});

describe('artifact proxy paths', () => {
  it('derives the proxy path from mlflow-artifacts URIs', () => {
    expect(proxyPathOf('mlflow-artifacts:/1/abc/artifacts', 'http://h')).toBe('1/abc/artifacts');
    expect(proxyPathOf('mlflow-artifacts://host:5000/1/abc/artifacts/', 'http://h')).toBe('1/abc/artifacts');
  });

  it('explains what to do when the server stores artifacts elsewhere', () => {
    expect(() => proxyPathOf('/var/mlruns/1/abc/artifacts', 'http://h')).toThrow(/does not proxy artifacts/);
    expect(() => proxyPathOf('s3://bucket/1/abc', 'http://h')).toThrow(/mlflow-artifacts/);
  });

  it('accepts only http(s) tracking URIs', () => {
    expect(normalizeTrackingUri('http://127.0.0.1:5000/')).toBe('http://127.0.0.1:5000');
    expect(() => normalizeTrackingUri('file:///tmp/mlruns')).toThrow(/not an http\(s\) URL/);
  });
});

import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheKey, createLimiter, estimateCost, openJsonlCache, retryAfterMs } from '../../runner/data/llm/index.ts';
import { recordCheck } from '../../runner/data/llm/cache.ts';
import { renderPrompt } from '../../runner/data/describe/openai.ts';
import { tempDir } from '../helpers/data-config.ts';
import { CORRUPTIONS, corrupt } from '../helpers/corrupt.ts';

/** A cache line as mmrun writes it: with its check. */
const checked = (k: string, v: unknown) => JSON.stringify({ k, v, h: recordCheck(k, { v }) });

describe('JSONL cache', () => {
  it('persists entries across opens; later lines win; failures are kept apart', () => {
    const file = join(tempDir(), 'c', 'cache.jsonl');
    const a = openJsonlCache<string>(file);
    a.put('k1', 'one');
    a.fail('k2', '500 after retries');
    a.close();
    const b = openJsonlCache<string>(file);
    expect(b.get('k1')).toBe('one');
    expect(b.has('k2')).toBe(false);
    expect(b.failed().get('k2')).toBe('500 after retries');
    b.put('k2', 'two');
    b.close();
    const c = openJsonlCache<string>(file);
    expect(c.get('k2')).toBe('two');
    expect(c.failed().size).toBe(0);
    c.close();
  });

  it('warns about and ignores malformed lines, and repairs a torn last line before appending', () => {
    const file = join(tempDir(), 'cache.jsonl');
    writeFileSync(file, `${checked('a', 'A')}\nnot json\n{"k":1,"v":"x"}\n${checked('b', 'B')}\n{"k":"c","v":"tor`);
    const warnings: string[] = [];
    const cache = openJsonlCache<string>(file, { warn: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cache\.jsonl: ignored 3 malformed line\(s\) \(line 2, 3, 5\)/);
    expect([cache.get('a'), cache.get('b'), cache.has('c')]).toEqual(['A', 'B', false]);
    cache.put('c', 'C');
    cache.close();
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[lines.length - 2]).toMatch(/^\{"k":"c","v":"C","h":"[0-9a-f]{16}"\}$/);
    const again = openJsonlCache<string>(file, { warn: () => {} });
    expect(again.get('c')).toBe('C');
    again.close();
  });

  it('notices a torn line appended by another process since it was opened', () => {
    const file = join(tempDir(), 'cache.jsonl');
    writeFileSync(file, checked('a', 'A') + '\n');
    const cache = openJsonlCache<string>(file, { warn: () => { throw new Error('no warning expected'); } });
    appendFileSync(file, '{"k":"x","v":"hal');
    cache.put('b', 'B');
    cache.close();
    const again = openJsonlCache<string>(file, { warn: () => {} });
    expect(again.get('a')).toBe('A');
    expect(again.get('b')).toBe('B');
    again.close();
  });

  it('keys are unambiguous', () => {
    expect(cacheKey('ab', 'c')).not.toBe(cacheKey('a', 'bc'));
    expect(cacheKey('x', 'y')).toBe(cacheKey('x', 'y'));
  });
});

describe('LLM plumbing', () => {
  it('reads retry-after in seconds, as an HTTP date, and retry-after-ms', () => {
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2000);
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '150' }))).toBe(150);
    const at = retryAfterMs(new Headers({ 'retry-after': new Date(Date.now() + 5000).toUTCString() }))!;
    expect(at).toBeGreaterThan(3000);
    expect(at).toBeLessThanOrEqual(5000);
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });

  it('the limiter never runs more than its bound at once', async () => {
    const limit = createLimiter(3);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        limit(async () => {
          peak = Math.max(peak, ++active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
  });

  it('estimates cost from requests, tokens and prices', () => {
    const e = estimateCost({ model: 'm', requests: 1000, cached: 5, inputTokensPerRequest: 100, maxOutputTokens: 50, prices: { perMillionInput: 1, perMillionOutput: 2 } });
    expect(e).toMatchObject({ inputTokens: 100000, outputTokens: 50000, costUsd: 0.2, cached: 5 });
  });

  it('checks prompt placeholders against mention_class', () => {
    const openai = { model: 'm', base_url: null, concurrency: 1, max_retries: 0, timeout_s: 1, max_tokens: 10, price_per_million_input: 0, price_per_million_output: 0 };
    expect(renderPrompt({ describer: 'openai', style: 'digits', mention_class: true, openai: { ...openai, prompt: 'Describe this {class_name}.' } }, 'cat')).toBe('Describe this cat.');
    expect(() => renderPrompt({ describer: 'openai', style: 'digits', mention_class: false, openai: { ...openai, prompt: 'A {class_name}' } }, 'cat')).toThrow(/uses \{class_name\}, but dataset\.descriptions\.mention_class is false/);
    expect(() => renderPrompt({ describer: 'openai', style: 'digits', mention_class: false, openai: { ...openai, prompt: 'Say {n} things' } }, 'cat')).toThrow(/\{n\}/);
  });
});

describe('JSONL cache at rest: damaged lines are skipped with a warning, never trusted', () => {
  const fill = (file: string) => {
    const c = openJsonlCache<{ text: string }>(file, { warn: () => {} });
    // Lines of different lengths: cutting the file in half lands inside a line.
    for (let i = 0; i < 6; i++) c.put(`key-${i}`, { text: `a description number ${i} of a thin loop${' and more'.repeat(i)}` });
    c.close();
  };
  it('a flipped byte that still parses fails its check: that entry is dropped (asked again), the others kept', () => {
    const file = join(tempDir(), 'cache.jsonl');
    fill(file);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('description number 3', 'description number 8'));
    const warnings: string[] = [];
    const c = openJsonlCache<{ text: string }>(file, { warn: (w) => warnings.push(w) });
    expect(warnings).toEqual([`warning: ${file}: ignored 1 line(s) failing their checksum (line 4); those entries will be redone`]);
    expect(c.has('key-3')).toBe(false);
    expect(c.get('key-2')).toEqual({ text: 'a description number 2 of a thin loop and more and more' });
    expect(c.size).toBe(5);
    c.close();
  });
  for (const how of CORRUPTIONS) {
    it(`${how}: no damaged entry is served; the loss is warned about`, () => {
      const file = join(tempDir(), 'cache.jsonl');
      fill(file);
      corrupt(file, how);
      const warnings: string[] = [];
      const c = openJsonlCache<{ text: string }>(file, { warn: (w) => warnings.push(w) });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(file);
      for (let i = 0; i < 6; i++) {
        const v = c.get(`key-${i}`);
        if (v !== undefined) expect(v).toEqual({ text: `a description number ${i} of a thin loop${' and more'.repeat(i)}` });
      }
      expect(c.size).toBeLessThan(6);
      c.close();
    });
  }
  it('a line without its check ("h") is not trusted: skipped, counted, reported, and asked again', () => {
    const file = join(tempDir(), 'cache.jsonl');
    writeFileSync(file, JSON.stringify({ k: 'old', v: { text: 'an old answer' } }) + '\n' + checked('new', { text: 'a checked answer' }) + '\n');
    const warnings: string[] = [];
    const c = openJsonlCache<{ text: string }>(file, { warn: (w) => warnings.push(w) });
    expect(warnings).toEqual([`warning: ${file}: ignored 1 line(s) without a checksum (line 1); those entries will be redone`]);
    expect(c.has('old')).toBe(false);
    expect(c.get('new')).toEqual({ text: 'a checked answer' });
    // Asked again and stored with its check: trusted from then on, no warning left for it.
    c.put('old', { text: 'asked again' });
    c.close();
    const again: string[] = [];
    const d = openJsonlCache<{ text: string }>(file, { warn: (w) => again.push(w) });
    expect(d.get('old')).toEqual({ text: 'asked again' });
    expect(again).toEqual([`warning: ${file}: ignored 1 line(s) without a checksum (line 1); those entries will be redone`]);
    d.close();
  });

  it('a hand edit that changes an answer and drops its check does not pass as an old-format line', () => {
    const file = join(tempDir(), 'cache.jsonl');
    fill(file);
    const lines = readFileSync(file, 'utf8').split('\n');
    lines[2] = JSON.stringify({ k: 'key-2', v: { text: 'an answer nobody gave' } });
    writeFileSync(file, lines.join('\n'));
    const warnings: string[] = [];
    const c = openJsonlCache<{ text: string }>(file, { warn: (w) => warnings.push(w) });
    expect(c.has('key-2')).toBe(false);
    expect(c.size).toBe(5);
    expect(warnings).toEqual([`warning: ${file}: ignored 1 line(s) without a checksum (line 3); those entries will be redone`]);
    c.close();
  });

  it('a failure record without its check is skipped too; mixed reasons are counted apart', () => {
    const file = join(tempDir(), 'cache.jsonl');
    writeFileSync(file, [JSON.stringify({ k: 'f', failed: '500' }), 'not json', JSON.stringify({ k: 'x', v: 'X', h: '0000000000000000' }), checked('ok', 'OK')].join('\n') + '\n');
    const warnings: string[] = [];
    const c = openJsonlCache<string>(file, { warn: (w) => warnings.push(w) });
    expect(c.failed().size).toBe(0);
    expect(c.has('x')).toBe(false);
    expect(c.get('ok')).toBe('OK');
    expect(warnings).toEqual([`warning: ${file}: ignored 3 line(s): 1 malformed, 1 failing their checksum, 1 without a checksum (line 1, 2, 3); those entries will be redone`]);
    c.close();
  });
});

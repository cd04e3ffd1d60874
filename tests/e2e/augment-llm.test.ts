// llm augmentation through the real `openai` SDK against a loopback OpenAI-compatible stand-in.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validateAndFill } from '../../runner/config/schema.ts';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { ensureAugmentedSet, planAugmentedSet } from '../../runner/data/augment/index.ts';
import type { Dataset } from '../../runner/data/types.ts';
import { MmrunError } from '../../runner/errors.ts';
import { startOpenaiStandin, type Standin } from '../helpers/openai-standin.ts';
import { tempFiles } from '../helpers/tmp.ts';

const CLASSES = ['ring', 'bar', 'cross'];
const N = 6;

function dataset(): Dataset {
  const texts = Array.from({ length: N }, (_, i) => `A thin curved stroke, sample ${i}.`);
  const labels = Int32Array.from({ length: N }, (_, i) => i % 3);
  const empty = { images: new Uint8Array(0), labels: new Int32Array(0), texts: [] };
  return { dir: '/nowhere', hash: 'llm-ds', classNames: CLASSES, shape: [8, 8, 1], train: { images: new Uint8Array(0), labels, texts }, val: empty, test: empty, extraTrainTexts: [] };
}

function config(baseURL: string, llm: Record<string, unknown>, ratio = 2): Experiment {
  const data: Record<string, unknown> = {
    name: 'aug-llm',
    augmentation: { method: 'llm', ratio, llm: { mode: 'paraphrase', ...llm, endpoint: { base_url: baseURL, concurrency: 3, max_retries: 2, model: 'stand-in', ...((llm.endpoint as object) ?? {}) } } },
    training: { retrain: { enabled: true } },
  };
  const errors = validateAndFill(data);
  if (errors.length > 0) throw new Error(JSON.stringify(errors));
  return data as unknown as Experiment;
}

const PARAPHRASE = 'Rewrite this description in {n} different ways, one per line: {text}';
const sampleOf = (prompt: string) => Number(/sample (\d+)/.exec(prompt)?.[1]);
const countOf = (prompt: string) => Number(/in (\d+) different ways/.exec(prompt)?.[1]);

/** What the stand-in answers: a text, or an error status. */
type Reply = string | { status: number; body?: unknown };
let standin: Standin;
let script: (prompt: string, index: number) => Reply;
const savedKey = process.env.OPENAI_API_KEY;
const logs: string[] = [];
const opts = (artifactsDir: string) => ({ artifactsDir, onProgress: () => {}, log: (l: string) => logs.push(l) });

beforeAll(async () => {
  standin = await startOpenaiStandin((req) => {
    const r = script(req.prompt, req.n);
    return typeof r === 'string' ? { text: r } : r;
  });
});
afterAll(async () => {
  await standin.close();
});
beforeEach(() => {
  process.env.OPENAI_API_KEY = 'test-key';
  standin.requests.length = 0;
  standin.maxInFlight = 0;
  logs.length = 0;
});
afterEach(() => {
  if (savedKey === undefined) delete process.env.OPENAI_API_KEY;
  else process.env.OPENAI_API_KEY = savedKey;
});

/** Fresh paraphrases, never seen before in this file. */
let freshCount = 0;
const fresh = (prompt: string, _index: number, n = countOf(prompt)) =>
  Array.from({ length: n }, () => `Paraphrase ${freshCount++} of stroke ${sampleOf(prompt)}.`);

describe('llm augmentation (paraphrase) through the openai SDK', { timeout: 300_000 }, () => {
  it('filters empty, duplicate and off-class outputs, counts them, retries 5xx, and caches every answer', async () => {
    const seen = new Map<number, number>();
    script = (prompt, index) => {
      const s = sampleOf(prompt);
      const times = (seen.get(s) ?? 0) + 1;
      seen.set(s, times);
      if (s === 0) return ['3.', ...fresh(prompt, index)].join('\n'); // an empty numbered line
      if (s === 1) return [`A thin curved stroke, sample 1.`, 'A slim curved line.', 'A slim curved line.', 'A narrow arc.'].join('\n'); // duplicate of the training text, then of itself
      if (s === 2) return ['1. A bar-like straight shape.', '2. A cross seen from above.', '3. A pale arc.', '4. A faint hook.'].join('\n'); // sample 2 is a 'cross'
      if (s === 3 && times === 1) return ''; // an empty answer: dropped, asked again next round
      if (s === 4 && times === 1) return { status: 503 }; // retried by the client
      return fresh(prompt, index).join('\n');
    };
    const { dir } = tempFiles();
    const plan = planAugmentedSet(config(standin.url, { endpoint: { prompt: PARAPHRASE } }), dataset(), { artifactsDir: dir });
    expect(plan).toMatchObject({ action: 'build', texts: 12, llm: { requests: N, cached: 0, outputTokens: N * 120, model: 'stand-in' } });
    expect(plan.llm!.costUsd).toBeGreaterThan(0);
    expect(standin.requests).toHaveLength(0);
    const set = await ensureAugmentedSet(config(standin.url, { endpoint: { prompt: PARAPHRASE } }), dataset(), opts(dir));
    expect(set.status).toBe('built');
    const texts = set.textsFor(2);
    expect(texts).toHaveLength(12);
    for (const t of texts) expect(t.label).toBe(t.source % 3);
    const bySource = (s: number) => texts.filter((t) => t.source === s).map((t) => t.text);
    expect(bySource(1)).toEqual(['A slim curved line.', 'A narrow arc.']);
    expect(bySource(2)).toEqual(['A pale arc.', 'A faint hook.']);
    expect(set.filtered).toEqual({ empty: 2, refusal: 0, duplicate: 2, off_class: 1, names_class: 1, failed: 0 });
    expect(logs.some((l) => /dropped outputs: empty 2, refusal 0, duplicate 2, off_class 1, names_class 1/.test(l))).toBe(true);
    expect(logs.some((l) => /request\(s\) to send/.test(l))).toBe(true); // the cost estimate came first
    // 6 first-round requests + one 503 retried + sample 3 asked again
    expect(standin.requests).toHaveLength(8);
    expect(standin.requests[0].authorization).toBe('Bearer test-key');
    expect(standin.maxInFlight).toBeLessThanOrEqual(3); // endpoint.concurrency
    expect(standin.requests.every((r) => r.model === 'stand-in')).toBe(true);
    expect(standin.requests.find((r) => sampleOf(r.prompt) === 0)!.prompt).toBe(PARAPHRASE.replace('{n}', '2').replace('{text}', 'A thin curved stroke, sample 0.'));

    // Found: nothing sent.
    standin.requests.length = 0;
    const again = await ensureAugmentedSet(config(standin.url, { endpoint: { prompt: PARAPHRASE } }), dataset(), opts(dir));
    expect(again.status).toBe('found');
    expect(standin.requests).toHaveLength(0);
    expect(again.textsFor(2)).toEqual(texts);

    // Set lost but cache kept: rebuilt from the cache, nothing sent, same texts.
    rmSync(join(dir, 'augmented', set.key!), { recursive: true });
    expect(planAugmentedSet(config(standin.url, { endpoint: { prompt: PARAPHRASE } }), dataset(), { artifactsDir: dir }).llm).toMatchObject({ requests: 0, cached: N });
    const rebuilt = await ensureAugmentedSet(config(standin.url, { endpoint: { prompt: PARAPHRASE } }), dataset(), opts(dir));
    expect(rebuilt.status).toBe('built');
    expect(standin.requests).toHaveLength(0);
    expect(rebuilt.textsFor(2)).toEqual(texts);

    // A larger ratio asks only for the missing variant of each text.
    script = (prompt, index) => fresh(prompt, index).join('\n');
    const larger = await ensureAugmentedSet(config(standin.url, { endpoint: { prompt: PARAPHRASE } }, 3), dataset(), opts(dir));
    expect(standin.requests).toHaveLength(N);
    expect(standin.requests.every((r) => countOf(r.prompt) === 1)).toBe(true);
    expect(larger.textsFor(2)).toEqual(texts);
    expect(larger.textsFor(3)).toHaveLength(18);
  });

  it('a prompt without {n} asks once per variant and takes the whole answer as one text', async () => {
    script = (prompt, index) => `Variant from request ${index} of stroke ${sampleOf(prompt)}.\nStill the same text.`;
    const set = await ensureAugmentedSet(config(standin.url, { endpoint: { prompt: 'Paraphrase: {text}' } }, 2), dataset(), opts(tempFiles().dir));
    expect(standin.requests).toHaveLength(N * 2);
    expect(set.textsFor(2)).toHaveLength(12);
    expect(set.textsFor(2)[0].text).toMatch(/^Variant from request \d+ of stroke 0\. Still the same text\.$/);
  });

  it('generate mode writes class-conditional texts and drops those naming a class', async () => {
    let k = 0;
    script = (prompt) => {
      const cls = CLASSES.find((c) => prompt.includes(`a ${c},`))!;
      const n = Number(/Write (\d+)/.exec(prompt)?.[1]);
      return [`A ${cls} drawn in ink.`, ...Array.from({ length: n }, () => `Shape number ${k++} with soft edges.`)].join('\n');
    };
    const prompt = 'Write {n} short descriptions of a {class_name}, one per line, without naming it.';
    const set = await ensureAugmentedSet(config(standin.url, { mode: 'generate', endpoint: { prompt } }, 1), dataset(), opts(tempFiles().dir));
    expect(set.textsFor(1)).toHaveLength(N);
    expect(set.filtered.names_class).toBe(N);
    for (const r of standin.requests) expect(CLASSES.some((c) => r.prompt.includes(`a ${c},`))).toBe(true);
  });

  it('fails with a clear error, before any request, without a key or with a bad endpoint or prompt', async () => {
    script = (prompt, index) => fresh(prompt, index).join('\n');
    const { dir } = tempFiles();
    delete process.env.OPENAI_API_KEY;
    const noKey = await ensureAugmentedSet(config(standin.url, { endpoint: { prompt: PARAPHRASE } }), dataset(), opts(dir)).catch((e: unknown) => e);
    expect(noKey).toBeInstanceOf(MmrunError);
    expect((noKey as Error).message).toMatch(/OPENAI_API_KEY is not set/);
    process.env.OPENAI_API_KEY = 'test-key';

    const cases: [Record<string, unknown>, RegExp][] = [
      [{ endpoint: { prompt: PARAPHRASE, base_url: 'not a url' } }, /augmentation\.llm\.endpoint\.base_url is not a URL/],
      [{ endpoint: {} }, /augmentation\.llm\.endpoint\.prompt is missing/],
      [{ endpoint: { prompt: 'Rewrite {n} times.' } }, /must contain \{text\} in paraphrase mode/],
      [{ mode: 'generate', endpoint: { prompt: 'Write {n} descriptions.' } }, /must contain \{class_name\} in generate mode/],
      [{ endpoint: { prompt: 'Rewrite {txt}' } }, /unknown placeholder \{txt\}/],
    ];
    for (const [llm, message] of cases) {
      const cfg = config(standin.url, llm);
      if ((llm.endpoint as { base_url?: string }).base_url) cfg.augmentation.llm.endpoint.base_url = (llm.endpoint as { base_url: string }).base_url;
      const err = await ensureAugmentedSet(cfg, dataset(), opts(dir)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MmrunError);
      expect((err as Error).message).toMatch(message);
    }
    expect(standin.requests).toHaveLength(0);
    expect(existsSync(join(dir, 'augmented'))).toBe(false);
  });

  it('stops at once on a rejected key (401) and says so', async () => {
    script = () => ({ status: 401, body: { error: { message: 'invalid key' } } });
    const err = await ensureAugmentedSet(config(standin.url, { endpoint: { prompt: PARAPHRASE } }), dataset(), opts(tempFiles().dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MmrunError);
    expect((err as Error).message).toMatch(/401/);
    expect(standin.requests.length).toBeLessThanOrEqual(3); // at most the requests already in flight
  });

  it('an endpoint that only repeats itself ends in a clear error naming the counts', async () => {
    script = () => 'The same text every time.';
    const err = await ensureAugmentedSet(config(standin.url, { endpoint: { prompt: PARAPHRASE } }, 1), dataset(), opts(tempFiles().dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MmrunError);
    expect((err as Error).message).toMatch(/5 of 6 text\(s\) got fewer than 1 usable output.*duplicate/);
  });
});

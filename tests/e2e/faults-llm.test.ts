/**
 * Malformed and hostile answers from an OpenAI-compatible endpoint, through the real `openai` SDK
 * against the loopback stand-in: retried where it makes sense, counted truthfully in the usage
 * line, filtered (the describer shares llm augmentation's filter), and ending in a clear MmrunError
 * — never a stack trace, never garbage in a dataset.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateAndFill } from '../../runner/config/schema.ts';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { ensureAugmentedSet } from '../../runner/data/augment/index.ts';
import { ensureDataset, loadDataset } from '../../runner/data/index.ts';
import type { Dataset } from '../../runner/data/types.ts';
import { MmrunError } from '../../runner/errors.ts';
import { experiment, tempDir } from '../helpers/data-config.ts';
import { startOpenaiStandin, type Standin } from '../helpers/openai-standin.ts';
import { tempFiles } from '../helpers/tmp.ts';

// ~60 MNIST images: 1‰ of each training class plus 10 test images.
const mnist = (url: string, descriptions: Record<string, unknown> = {}) => ({
  source: 'mnist',
  image_fraction: 0.001,
  val_fraction: 0,
  max_test: 10,
  descriptions: { describer: 'openai', mention_class: false, openai: { base_url: url, model: 'standin-vision', concurrency: 3, max_retries: 2, timeout_s: 10 }, ...descriptions },
});

let standin: Standin;
let savedKey: string | undefined;
beforeEach(async () => {
  standin = await startOpenaiStandin();
  savedKey = process.env.OPENAI_API_KEY;
  process.env.OPENAI_API_KEY = 'test-key';
});
afterEach(async () => {
  await standin.close();
  if (savedKey === undefined) delete process.env.OPENAI_API_KEY;
  else process.env.OPENAI_API_KEY = savedKey;
});

async function failure(p: Promise<unknown>): Promise<MmrunError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(MmrunError);
    return err as MmrunError;
  }
  throw new Error('expected the build to fail');
}

describe('openai describer against a malformed or hostile endpoint', { timeout: 300_000 }, () => {
  it('invalid JSON and bodies without choices are retried; the usage line counts the retries', async () => {
    const bad = new Map<string, number>();
    standin.reply = (req) => {
      const seen = bad.get(req.key) ?? 0;
      if (bad.size < 3 || seen > 0) {
        bad.set(req.key, seen + 1);
        if (seen === 0) return bad.size % 2 ? { raw: '{"choices": [ {"message": ' } : { body: { id: 'x', object: 'chat.completion' } };
      }
      return {};
    };
    const lines: string[] = [];
    const ref = await ensureDataset(experiment(tempDir(), mnist(standin.url)), { log: (l) => lines.push(l), warn: () => {}, llmBackoffBaseMs: 5 });
    expect(ref.status).toBe('built');
    expect(ref.manifest!.descriptions.usage).toMatchObject({ failures: 0, retries: 3 });
    expect(lines.find((l) => l.startsWith('usage: '))).toMatch(/ 0 failed, 3 retried/);
  });

  it('an image whose answer is always malformed: counted as failed (not "0 failed"), the build fails clearly', async () => {
    let doomed: string | undefined;
    standin.reply = (req) => {
      doomed ??= req.key;
      return req.key === doomed ? { raw: 'Internal hiccup <html>' } : {};
    };
    const lines: string[] = [];
    const config = experiment(tempDir(), mnist(standin.url));
    const err = await failure(ensureDataset(config, { log: (l) => lines.push(l), warn: () => {}, llmBackoffBaseMs: 5 }));
    expect(err.message).toMatch(/^1 of \d+ description\(s\) failed; the dataset was not written:\n {2}item \d+: gave up after 3 attempt\(s\): malformed response/);
    expect(lines.find((l) => l.startsWith('usage: '))).toMatch(/request\(s\) succeeded, 1 failed, 2 retried/);
    expect(standin.requests.filter((r) => r.key === doomed)).toHaveLength(3);
  });

  it('a refusal for every image: the build stops after the first answers with the drop counts', async () => {
    standin.reply = () => ({ text: "I'm sorry, but I can't help with identifying this image." });
    const config = experiment(tempDir(), mnist(standin.url));
    const err = await failure(ensureDataset(config, { log: () => {}, warn: () => {}, llmBackoffBaseMs: 5 }));
    expect(err.message).toMatch(/^describer openai: (\d+) of \1 description\(s\) were unusable \(dropped: refusal \1\), more than 20%; the dataset was not written/);
    const distinct = new Set(standin.requests.map((r) => r.key)).size;
    expect(standin.requests).toHaveLength(distinct); // nothing re-asked: more of the same would only cost
  });

  it('mention_class: false: an answer naming the digit is dropped and asked again; the dataset holds the new one', async () => {
    let first = true;
    standin.reply = () => {
      if (!first) return {};
      first = false;
      return { text: 'This is a handwritten digit 7 (seven), drawn with a thick stroke.' };
    };
    const lines: string[] = [];
    const ref = await ensureDataset(experiment(tempDir(), mnist(standin.url)), { log: (l) => lines.push(l), warn: () => {}, llmBackoffBaseMs: 5 });
    expect(ref.status).toBe('built');
    const dropped = ref.manifest!.descriptions.filtered!;
    expect(dropped.names_class + dropped.off_class).toBe(1);
    expect(lines.join('\n')).toMatch(/descriptions: dropped (names_class|off_class) 1/);
    const ds = loadDataset(ref.dir);
    const all = [...ds.train.texts, ...ds.test.texts];
    expect(all.filter((t) => /digit 7/.test(t))).toEqual([]);
    expect(new Set(all.filter((t) => !t.startsWith('A test description'))).size).toBe(0);
    expect(standin.requests).toHaveLength(new Set(standin.requests.map((r) => r.key)).size + 1);
  });
});

describe('llm augmentation against a malformed endpoint', { timeout: 300_000 }, () => {
  const N = 6;
  const texts = Array.from({ length: N }, (_, i) => `A thin curved stroke, sample ${i}.`);
  const empty = { images: new Uint8Array(0), labels: new Int32Array(0), texts: [] };
  const dataset: Dataset = { dir: '/nowhere', hash: 'faults-ds', classNames: ['ring', 'bar', 'cross'], shape: [8, 8, 1], train: { images: new Uint8Array(0), labels: Int32Array.from({ length: N }, (_, i) => i % 3), texts }, val: empty, test: empty, extraTrainTexts: [] };
  const config = (url: string): Experiment => {
    const data: Record<string, unknown> = {
      name: 'faults-llm',
      augmentation: { method: 'llm', ratio: 1, llm: { mode: 'paraphrase', endpoint: { base_url: url, concurrency: 2, max_retries: 1, model: 'stand-in', prompt: 'Rewrite this description in {n} different ways, one per line: {text}' } } },
      training: { retrain: { enabled: true } },
    };
    const errors = validateAndFill(data);
    if (errors.length > 0) throw new Error(JSON.stringify(errors));
    return data as unknown as Experiment;
  };
  const sample = (prompt: string) => Number(/sample (\d+)/.exec(prompt)?.[1]);

  it('invalid JSON is retried, then the set is built; a set that cannot be completed fails with an MmrunError', async () => {
    const once = new Set<number>();
    standin.reply = (req) => {
      const k = sample(req.prompt);
      if (!once.has(k)) {
        once.add(k);
        return { raw: '{"id": "x", "choices": [' };
      }
      return { text: `A fine curved line drawn thinly, variant of ${k}.` };
    };
    const lines: string[] = [];
    const set = await ensureAugmentedSet(config(standin.url), dataset, { artifactsDir: tempFiles().dir, onProgress: () => {}, log: (l: string) => lines.push(l), llmBackoffBaseMs: 5 } as never);
    expect(set.textsFor(1)).toHaveLength(N);
    expect(lines.join('\n')).toMatch(/llm augmentation: 6 request\(s\) sent/);

    standin.reply = () => ({ raw: 'not json at all' });
    const err = await failure(ensureAugmentedSet(config(standin.url), { ...dataset, hash: 'faults-ds-2' }, { artifactsDir: tempFiles().dir, onProgress: () => {}, log: () => {} }));
    expect(err.message).toMatch(/llm augmentation: 6 of 6 text\(s\) got fewer than 1 usable output\(s\) after 5 rounds \(dropped: .*failed 30/);
  });
});

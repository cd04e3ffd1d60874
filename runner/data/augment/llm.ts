/**
 * llm: new texts from an OpenAI-compatible chat model, through runner/data/llm (bounded
 * concurrency, counted retries, cost accounting, JSONL cache). `paraphrase` rewrites each
 * training text; `generate` writes new descriptions of the text's class.
 *
 * Each original asks for the variants it lacks in rounds: all requests of a round run
 * concurrently, then their outputs are filtered in original order (so the result does not
 * depend on which answer came first), and originals still short go to the next round. Every
 * answer is cached under (mode, model, prompt, original, layer, round): a killed build resumes
 * and a rebuild sends nothing. Dropped outputs are counted by runner/data/llm/filter.ts (shared
 * with the openai describer): empty, refusal, duplicate (of a training text or another output),
 * off_class (names another class) and names_class (names its own class while the dataset's texts
 * never do).
 */
import type { Experiment } from '../../config/types.gen.ts';
import { MmrunError } from '../../errors.ts';
import { cacheKey, openJsonlCache } from '../llm/cache.ts';
import { clientOptionsFrom, createLlmClient, LlmFatalError, LlmRequestError } from '../llm/client.ts';
import { formatCounts, OutputFilter } from '../llm/filter.ts';
import { estimateCost, estimateTextTokens, type CostEstimate } from '../llm/usage.ts';
import type { Dataset } from '../types.ts';
import type { GenerationResult, Original, VariantGenerator } from './types.ts';

export const MAX_ROUNDS = 5;
// The filter is shared with the openai describer (runner/data/llm/filter.ts).
export { FILTER_REASONS, nameMatcher, OutputFilter, formatCounts, type FilterReason } from '../llm/filter.ts';

type Answer = { k: number; answer: string | null };

interface CachedAnswer {
  text: string;
  inputTokens: number;
  outputTokens: number;
}

export interface LlmGeneratorOptions {
  apiKey: string;
  baseURL: string | undefined;
  cacheFile: string;
  log?: (line: string) => void;
  /** First retry delay in ms (tests make it short). */
  backoffBaseMs?: number;
}

/** The prompt for one original; {n} is how many outputs this request asks for. */
export function renderAugmentPrompt(template: string, original: Original, className: string, n: number): string {
  return template.replaceAll('{class_name}', className).replaceAll('{text}', original.text).replaceAll('{n}', String(n));
}

/** The outputs in one answer: one per line when the prompt asks for {n}, else the whole answer. */
export function splitAnswer(answer: string, many: boolean): string[] {
  const clean = (s: string) =>
    s
      .trim()
      .replace(/^(?:\d+[.)]|[-*•])(?:\s+|$)/, '')
      .replace(/^["“](.*)["”]$/s, '$1')
      .replace(/\s+/g, ' ')
      .trim();
  if (!many) return [clean(answer)];
  return answer
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map(clean);
}

function requestKey(config: Experiment, prompt: string, original: Original, from: number, round: number): string {
  const { mode, endpoint } = config.augmentation.llm;
  return cacheKey('augment', mode, endpoint.model, String(endpoint.max_tokens), prompt, String(original.index), `${from}`, `${round}`);
}

/** Upper bound of the cost of a build's first round (later rounds only refill what was filtered). */
export function estimateLlmCost(config: Experiment, dataset: Dataset, originals: Original[], from: number, to: number, cacheFile: string): CostEstimate {
  const e = config.augmentation.llm.endpoint;
  const many = e.prompt!.includes('{n}');
  const cache = openJsonlCache<CachedAnswer>(cacheFile, { warn: () => {} });
  let requests = 0;
  let cached = 0;
  let inputTokens = 0;
  try {
    for (const o of originals) {
      const perRequest = many ? to - from : 1;
      for (let r = 0; r < (many ? 1 : to - from); r++) {
        const prompt = renderAugmentPrompt(e.prompt!, o, dataset.classNames[o.label], perRequest);
        if (cache.has(requestKey(config, prompt, o, from, r))) cached++;
        else {
          requests++;
          inputTokens += estimateTextTokens(prompt) + 8;
        }
      }
    }
  } finally {
    cache.close();
  }
  const estimate = estimateCost({
    model: e.model,
    requests,
    cached,
    inputTokensPerRequest: requests > 0 ? Math.ceil(inputTokens / requests) : 0,
    maxOutputTokens: e.max_tokens,
    prices: { perMillionInput: e.price_per_million_input, perMillionOutput: e.price_per_million_output },
  });
  return estimate;
}

export function llmGenerator(config: Experiment, dataset: Dataset, opts: LlmGeneratorOptions): VariantGenerator {
  const e = config.augmentation.llm.endpoint;
  const template = e.prompt!;
  // Without {n} an answer is one text, so an original asks once per variant (rounds do it).
  const many = template.includes('{n}');
  return {
    async generate(originals, from, to, onVariants, stored): Promise<GenerationResult> {
      const need = to - from;
      const existing = [...dataset.train.texts, ...(dataset.extraTrainTexts ?? []).map((t) => t.text), ...(stored ?? []).flat()];
      const filter = new OutputFilter(dataset.classNames, config.dataset.descriptions.mention_class, existing);
      const cache = openJsonlCache<CachedAnswer>(opts.cacheFile, { warn: opts.log });
      const client = createLlmClient({ ...clientOptionsFrom(e, opts.apiKey), baseURL: opts.baseURL, backoffBaseMs: opts.backoffBaseMs });
      const accepted: string[][] = originals.map(() => []);
      let cacheHits = 0;
      try {
        // Rounds: without {n}, one text per request, so up to `need` requests per original each round.
        let pending = originals.map((_, k) => k);
        for (let round = 0; round < MAX_ROUNDS * (many ? 1 : need) && pending.length > 0; round++) {
          const answers = await Promise.all(
            pending.map(async (k): Promise<Answer> => {
              const o = originals[k];
              const n = many ? need - accepted[k].length : 1;
              const prompt = renderAugmentPrompt(template, o, dataset.classNames[o.label], n);
              const key = requestKey(config, prompt, o, from, round);
              const hit = cache.get(key);
              if (hit) {
                cacheHits++;
                return { k, answer: hit.text };
              }
              try {
                const res = await client.chat([{ role: 'user', content: prompt }], { temperature: 1 });
                cache.put(key, { text: res.text, inputTokens: res.inputTokens, outputTokens: res.outputTokens });
                return { k, answer: res.text };
              } catch (err) {
                if (err instanceof LlmFatalError || !(err instanceof LlmRequestError)) throw err;
                if (/no text content/.test(err.message)) {
                  // An empty answer is an answer: cached, so a rebuild drops it again rather than asking anew.
                  cache.put(key, { text: '', inputTokens: 0, outputTokens: 0 });
                  return { k, answer: '' };
                }
                cache.fail(key, err.message); // failed for good this time; asked again next build
                return { k, answer: null };
              }
            }),
          );
          for (const { k, answer } of answers.sort((a, b) => a.k - b.k)) {
            if (answer === null) {
              filter.drop('failed');
              continue;
            }
            if (answer.trim() === '') {
              filter.drop('empty');
              continue;
            }
            const before = accepted[k].length;
            for (const text of splitAnswer(answer, many)) {
              if (accepted[k].length >= need) break;
              if (filter.accept(text, originals[k].label)) accepted[k].push(text);
            }
            if (accepted[k].length > before) onVariants?.(accepted[k].length - before);
          }
          pending = pending.filter((k) => accepted[k].length < need);
        }
        const short = originals.filter((_, k) => accepted[k].length < need);
        if (short.length > 0) {
          throw new MmrunError(
            `llm augmentation: ${short.length} of ${originals.length} text(s) got fewer than ${need} usable output(s) after ${MAX_ROUNDS} rounds ` +
              `(dropped: ${formatCounts(filter.counts)}; first: text ${short[0].index} "${short[0].text.slice(0, 60)}")`,
            'answers so far are cached, so rerunning resumes; ask for more varied outputs in augmentation.llm.endpoint.prompt, ' +
              (many ? 'raise augmentation.llm.endpoint.max_tokens if answers are cut short, ' : '') +
              (config.dataset.descriptions.mention_class ? '' : "tell the model not to name the class (the dataset's texts never do), ") +
              'or lower augmentation.ratio',
          );
        }
        opts.log?.(`llm augmentation: ${client.usage.requests} request(s) sent, ${cacheHits} answered from cache; dropped ${formatCounts(filter.counts)}`);
        const { requests, retries, failures, inputTokens, outputTokens, costUsd } = client.usage;
        return { variants: accepted, counts: { ...filter.counts }, usage: { requests, retries, failures, inputTokens, outputTokens, costUsd, cacheHits } };
      } finally {
        cache.close();
      }
    },
  };
}

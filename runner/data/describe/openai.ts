/**
 * The `openai` describer: each image (PNG, upscaled for the model) with a prompt to an
 * OpenAI-compatible vision model. Every answer is appended to the JSONL cache at once, keyed by
 * (image content hash, describer, model, prompt), so a killed build resumes and a rebuild sends
 * nothing. Failed items are recorded, the rest goes on, and the caller lists the failures.
 *
 * Every answer passes the filter shared with `llm` augmentation (runner/data/llm/filter.ts: empty,
 * refusal, duplicate, off_class, names_class). A dropped answer is asked again (a new request,
 * cached under its round) up to DESCRIBE_ROUNDS rounds in all; an image still without a usable
 * description is a failure. When more than MAX_DROPPED_FRACTION of the first answers are dropped
 * (a refusal flood, a prompt that makes the model name the class), nothing is re-asked: the build
 * stops at once with the counts, since asking again would only pay for more of the same.
 */
import { createHash } from 'node:crypto';
import type { Descriptions } from '../../config/types.gen.ts';
import { MmrunError } from '../../errors.ts';
import { cacheKey, openJsonlCache } from '../llm/cache.ts';
import { emptyCounts, formatCounts, OutputFilter, type FilterCounts, type FilterReason } from '../llm/filter.ts';
import { clientOptionsFrom, createLimiter, createLlmClient, LlmFatalError, type LlmClient } from '../llm/client.ts';
import { estimateCost, estimateTextTokens, imageTokens, type CostEstimate, type UsageTotals } from '../llm/usage.ts';

export const DEFAULT_PROMPT =
  'Describe the visual appearance of this image in two or three short sentences: shape, stroke or edge style, size, position, orientation, colours and anything distinctive. Do not guess what it represents.';
export const DEFAULT_PROMPT_WITH_CLASS =
  'This image shows {class_name}. Describe its visual appearance in two or three short sentences (shape, stroke or edge style, size, position, orientation, colours, anything distinctive), naming it as {class_name}.';

export interface DescribeItem {
  pixels: Uint8Array;
  label: number;
}

export interface CachedDescription {
  text: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
}

/** Rounds of asking for one image's description (the first, then re-asks of dropped answers). */
export const DESCRIBE_ROUNDS = 3;
/** Above this share of first answers dropped by the filter (and more than 2), the build stops at once. */
export const MAX_DROPPED_FRACTION = 0.2;

export interface OpenaiDescribeResult {
  texts: (string | undefined)[]; // undefined = failed
  failures: { index: number; reason: string }[];
  /** Answers the filter dropped, by reason (each re-ask counts again). */
  dropped: FilterCounts;
  usage: UsageTotals;
  estimate: CostEstimate;
  cacheHits: number;
}

/** The prompt for one class; checks placeholders. */
export function renderPrompt(cfg: Descriptions, className: string): string {
  const template = cfg.openai.prompt ?? (cfg.mention_class ? DEFAULT_PROMPT_WITH_CLASS : DEFAULT_PROMPT);
  if (!cfg.mention_class && template.includes('{class_name}')) {
    throw new MmrunError(
      'dataset.descriptions.openai.prompt uses {class_name}, but dataset.descriptions.mention_class is false: expected no class name in the prompt',
      'Set mention_class: true, or remove {class_name} from the prompt.',
    );
  }
  const unknown = template.match(/\{(text|n)\}/);
  if (unknown) throw new MmrunError(`dataset.descriptions.openai.prompt uses ${unknown[0]}, which only text augmentation prompts can use: expected {class_name} at most`);
  return template.replaceAll('{class_name}', className);
}

const nonZero = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).filter(([, v]) => v > 0));

export function imageHash(pixels: Uint8Array, shape: [number, number, number]): string {
  return createHash('sha256').update(shape.join('x')).update(pixels).digest('hex');
}

async function toDataUrl(pixels: Uint8Array, shape: [number, number, number]): Promise<string> {
  const { default: sharp } = await import('sharp'); // loaded here, not at start-up: commands such as validate never decode an image
  const [h, w, c] = shape;
  const scale = Math.max(1, Math.ceil(224 / Math.max(h, w)));
  const png = await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width: w, height: h, channels: c as 1 | 3 | 4 } })
    .resize(w * scale, h * scale, { kernel: 'lanczos3' })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString('base64')}`;
}

export async function describeWithOpenai(
  items: DescribeItem[],
  shape: [number, number, number],
  cfg: Descriptions,
  classNames: string[],
  opts: {
    cacheFile: string;
    apiKey: string | undefined; // undefined only for a dry run
    dryRun?: boolean;
    onProgress?: (done: number, total: number, extra?: string) => void;
    /** Called with the estimate before any request is sent. */
    onEstimate?: (estimate: CostEstimate) => void;
    warn?: (message: string) => void;
    backoffBaseMs?: number;
  },
): Promise<OpenaiDescribeResult> {
  const o = cfg.openai;
  const prompts = classNames.map((name) => renderPrompt(cfg, name));
  const keys = items.map((it) => cacheKey(imageHash(it.pixels, shape), 'openai', o.model, prompts[it.label]));
  const cache = openJsonlCache<CachedDescription>(opts.cacheFile, { warn: opts.warn });
  try {
    // Identical images with the same prompt share one request.
    const pending = new Map<string, number>(); // key -> first item index
    let cacheHits = 0;
    keys.forEach((k, i) => {
      if (cache.has(k)) cacheHits++;
      else if (!pending.has(k)) pending.set(k, i);
    });
    const promptTokens = Math.max(...prompts.map(estimateTextTokens));
    const estimate = estimateCost({
      model: o.model,
      requests: pending.size,
      cached: items.length - [...keys].filter((k) => pending.has(k)).length,
      inputTokensPerRequest: promptTokens + imageTokens(o.model) + 10,
      maxOutputTokens: o.max_tokens,
      prices: { perMillionInput: o.price_per_million_input, perMillionOutput: o.price_per_million_output },
    });
    if (!opts.dryRun) opts.onEstimate?.(estimate);
    const previouslyFailed = [...pending.keys()].filter((k) => cache.failed().has(k)).length;
    if (previouslyFailed && !opts.dryRun) opts.warn?.(`retrying ${previouslyFailed} description(s) that failed in an earlier build`);
    const failures: { index: number; reason: string }[] = [];
    const failedKeys = new Set<string>();
    let client: LlmClient | undefined;
    /** Sends the requests of `todo` (cache key -> item index), caching every answer. */
    const ask = async (todo: Map<string, number>) => {
      if (opts.dryRun || todo.size === 0) return;
      if (!opts.apiKey) throw new MmrunError('describer openai: OPENAI_API_KEY is not set');
      client ??= createLlmClient({ ...clientOptionsFrom(o, opts.apiKey), backoffBaseMs: opts.backoffBaseMs });
      const c = client;
      let done = 0;
      let fatal: LlmFatalError | undefined;
      const total = todo.size;
      opts.onProgress?.(0, total);
      // Bound the whole item (encoding included), not just the request: 70k images encoded up
      // front would hold hundreds of MB of base64.
      const limit = createLimiter(o.concurrency);
      await Promise.all(
        [...todo].map(([key, i]) => limit(async () => {
          if (fatal) return;
          try {
            const url = await toDataUrl(items[i].pixels, shape);
            const res = await c.chat([
              {
                role: 'user',
                content: [
                  { type: 'text', text: prompts[items[i].label] },
                  { type: 'image_url', image_url: { url, detail: 'low' } },
                ],
              },
            ]);
            cache.put(key, { text: res.text, model: o.model, inputTokens: res.inputTokens, outputTokens: res.outputTokens });
          } catch (err) {
            if (err instanceof LlmFatalError) {
              fatal ??= err;
              return;
            }
            const reason = (err as Error).message;
            cache.fail(key, reason);
            failedKeys.add(key);
            failures.push({ index: i, reason });
          } finally {
            done++;
            opts.onProgress?.(done, total, c.usage.retries ? `${c.usage.retries} retries` : undefined);
          }
        })),
      );
      if (fatal) throw fatal;
    };
    await ask(pending);

    // The filter, over distinct images in item order (identical images share one answer).
    const first = new Map<string, number>();
    keys.forEach((k, i) => {
      if (!first.has(k)) first.set(k, i);
    });
    const roundKey = (k: string, round: number) => (round === 0 ? k : cacheKey(k, 'round', String(round)));
    const chosen = new Map<string, string>();
    const lastReason = new Map<string, FilterReason>();
    const filter = new OutputFilter(classNames, cfg.mention_class, []);
    if (!opts.dryRun) {
      let judge = [...first.keys()].filter((k) => !failedKeys.has(k));
      for (let round = 0; round < DESCRIBE_ROUNDS && judge.length > 0; round++) {
        const dropped: string[] = [];
        for (const k of judge) {
          const rk = roundKey(k, round);
          const text = failedKeys.has(rk) ? undefined : cache.get(rk)?.text;
          if (text === undefined) continue; // failed: listed with the failures
          const label = items[first.get(k)!].label;
          const reason = filter.verdict(text, label);
          if (reason === null && filter.accept(text, label)) chosen.set(k, text);
          else {
            filter.drop(reason!);
            lastReason.set(k, reason!);
            dropped.push(k);
          }
        }
        if (round === 0 && dropped.length > Math.max(2, MAX_DROPPED_FRACTION * judge.length)) {
          const example = cache.get(dropped[0])?.text ?? '';
          throw new MmrunError(
            `describer openai: ${dropped.length} of ${judge.length} description(s) were unusable (dropped: ${formatCounts(nonZero(filter.counts))}), more than ${MAX_DROPPED_FRACTION * 100}%; the dataset was not written. First: "${example.slice(0, 100)}"`,
            cfg.mention_class
              ? 'Check dataset.descriptions.openai.model and prompt: the answers are refusals, empty, repeated or name another class.'
              : 'Check dataset.descriptions.openai.model and prompt: with mention_class: false the descriptions must not name the class (nor its number word), and must not be refusals or repeats.',
          );
        }
        if (round + 1 >= DESCRIBE_ROUNDS || dropped.length === 0) {
          judge = dropped;
          break;
        }
        const todo = new Map<string, number>();
        for (const k of dropped) if (!cache.has(roundKey(k, round + 1))) todo.set(roundKey(k, round + 1), first.get(k)!);
        await ask(todo);
        for (const k of dropped) if (failedKeys.has(roundKey(k, round + 1))) lastReason.delete(k);
        judge = dropped;
      }
      for (const k of judge) {
        const reason = lastReason.get(k);
        if (reason && !chosen.has(k)) failures.push({ index: first.get(k)!, reason: `no usable description after ${DESCRIBE_ROUNDS} answers (last one dropped: ${reason})` });
      }
    }
    const failedItem = new Set(failures.map((f) => f.index));
    const texts = keys.map((k, i) => (opts.dryRun ? cache.get(k)?.text : failedItem.has(i) ? undefined : chosen.get(k)));
    // Items sharing a failed key are failures too.
    texts.forEach((t, i) => {
      if (t === undefined && !opts.dryRun && !failedItem.has(i)) failures.push({ index: i, reason: 'same image as a failed item' });
    });
    return {
      texts,
      failures: failures.sort((a, b) => a.index - b.index),
      dropped: opts.dryRun ? emptyCounts() : { ...filter.counts },
      usage: client?.usage ?? { requests: 0, retries: 0, failures: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
      estimate,
      cacheHits,
    };
  } finally {
    cache.close();
  }
}

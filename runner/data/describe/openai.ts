/**
 * The `openai` describer: each image (PNG, upscaled for the model) with a prompt to an
 * OpenAI-compatible vision model. Every answer is appended to the JSONL cache at once, keyed by
 * (image content hash, describer, model, prompt), so a killed build resumes and a rebuild sends
 * nothing. Failed items are recorded, the rest goes on, and the caller lists the failures.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { Descriptions } from '../../config/types.gen.ts';
import { MmrunError } from '../../errors.ts';
import { cacheKey, openJsonlCache } from '../llm/cache.ts';
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

export interface OpenaiDescribeResult {
  texts: (string | undefined)[]; // undefined = failed
  failures: { index: number; reason: string }[];
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

export function imageHash(pixels: Uint8Array, shape: [number, number, number]): string {
  return createHash('sha256').update(shape.join('x')).update(pixels).digest('hex');
}

async function toDataUrl(pixels: Uint8Array, shape: [number, number, number]): Promise<string> {
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
    let client: LlmClient | undefined;
    if (!opts.dryRun && pending.size > 0) {
      if (!opts.apiKey) throw new MmrunError('describer openai: OPENAI_API_KEY is not set');
      client = createLlmClient({ ...clientOptionsFrom(o, opts.apiKey), backoffBaseMs: opts.backoffBaseMs });
      let done = 0;
      let fatal: LlmFatalError | undefined;
      const total = pending.size;
      opts.onProgress?.(0, total);
      // Bound the whole item (encoding included), not just the request: 70k images encoded up
      // front would hold hundreds of MB of base64.
      const limit = createLimiter(o.concurrency);
      await Promise.all(
        [...pending].map(([key, i]) => limit(async () => {
          if (fatal) return;
          try {
            const url = await toDataUrl(items[i].pixels, shape);
            const res = await client!.chat([
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
            failures.push({ index: i, reason });
          } finally {
            done++;
            opts.onProgress?.(done, total, client!.usage.retries ? `${client!.usage.retries} retries` : undefined);
          }
        })),
      );
      if (fatal) throw fatal;
    }
    const failedKeys = new Set(failures.map((f) => keys[f.index]));
    const texts = keys.map((k) => (failedKeys.has(k) ? undefined : cache.get(k)?.text));
    // Items sharing a failed key are failures too.
    texts.forEach((t, i) => {
      if (t === undefined && !opts.dryRun && !failures.some((f) => f.index === i)) failures.push({ index: i, reason: 'same image as a failed item' });
    });
    return {
      texts,
      failures: failures.sort((a, b) => a.index - b.index),
      usage: client?.usage ?? { requests: 0, retries: 0, failures: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
      estimate,
      cacheHits,
    };
  } finally {
    cache.close();
  }
}

/**
 * An OpenAI-compatible chat client for batch work, on the official SDK: at most `concurrency`
 * requests in flight, our own retries (so they are counted and bounded) with exponential backoff
 * that honours retry-after / retry-after-ms on 429 and retries 5xx, timeouts and network errors.
 * 401/403/404 stop everything (every later call fails fast with the same error): one bad key or
 * model name must not turn into thousands of failed requests. A malformed answer (not JSON, no
 * `choices`, content that is not text, an answer far longer than max_tokens allows) is retried
 * like a 5xx and, when retries run out, is a counted failure — never a crash. An empty answer is
 * an answer (text ''): the caller's filter drops it.
 */
import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { MmrunError } from '../../errors.ts';
import type { OpenaiOptions } from '../../config/types.gen.ts';
import { costUsd, emptyUsage, type UsageTotals } from './usage.ts';

export type ChatMessage = ChatCompletionMessageParam;

export interface LlmClientOptions {
  model: string;
  baseURL?: string | null;
  apiKey: string;
  concurrency: number;
  maxRetries: number;
  timeoutS: number;
  maxTokens: number;
  prices: { perMillionInput: number; perMillionOutput: number };
  /** First backoff delay (doubles per retry, with jitter; default 500 ms). */
  backoffBaseMs?: number;
  /** Longest wait honoured from a retry-after header (default 300 s). */
  maxRetryAfterMs?: number;
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

export interface ChatResult {
  text: string;
  inputTokens: number;
  outputTokens: number;
}

export interface LlmClient {
  chat(messages: ChatMessage[], opts?: { maxTokens?: number; temperature?: number }): Promise<ChatResult>;
  readonly usage: UsageTotals;
  /** Aborts requests in flight and makes later calls fail. */
  stop(reason: Error): void;
  readonly endpoint: string;
}

/** A request that failed for good (after retries, or one that retrying cannot fix, e.g. 400). */
export class LlmRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'LlmRequestError';
  }
}

/** A 200 response that is not a usable chat completion: retried, then a failure. */
class MalformedResponse extends Error {}

/** Tokens reported by the endpoint, or 0 when the field is missing or nonsense (negative, not a number). */
const tokenCount = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.round(n) : 0);

/** The endpoint refuses us (bad key, no access, unknown model or path): stop the whole batch. */
export class LlmFatalError extends MmrunError {
  constructor(message: string, hint?: string) {
    super(message, hint);
    this.name = 'LlmFatalError';
  }
}

/** OPENAI_API_KEY, or a clear error before any work starts. */
export function requireApiKey(what: string): string {
  const key = process.env.OPENAI_API_KEY;
  if (!key) {
    throw new MmrunError(
      `${what} needs an API key: the environment variable OPENAI_API_KEY is not set.`,
      'Export OPENAI_API_KEY (any non-empty value for a local server that does not check keys); mmrun never reads keys from experiment files.',
    );
  }
  return key;
}

/** LlmClientOptions from an experiment's `openaiOptions` section. */
export function clientOptionsFrom(o: OpenaiOptions, apiKey: string): LlmClientOptions {
  return {
    model: o.model,
    baseURL: o.base_url,
    apiKey,
    concurrency: o.concurrency,
    maxRetries: o.max_retries,
    timeoutS: o.timeout_s,
    maxTokens: o.max_tokens,
    prices: { perMillionInput: o.price_per_million_input, perMillionOutput: o.price_per_million_output },
  };
}

export function createLimiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** Milliseconds asked for by retry-after-ms / retry-after (seconds or an HTTP date). */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = headers?.get('retry-after');
  if (!ra) return undefined;
  if (Number.isFinite(Number(ra))) return Math.max(0, Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

export function createLlmClient(opts: LlmClientOptions): LlmClient {
  const sdk = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL ?? undefined, maxRetries: 0, timeout: opts.timeoutS * 1000 });
  const endpoint = sdk.baseURL;
  const limit = createLimiter(opts.concurrency);
  const usage = emptyUsage();
  const controller = new AbortController();
  let stopped: Error | undefined;
  const backoffBase = opts.backoffBaseMs ?? 500;
  const maxRetryAfter = opts.maxRetryAfterMs ?? 300_000;

  const fatal = (err: APIError): LlmFatalError | undefined => {
    const s = err.status;
    if (s === 401) return new LlmFatalError(`${endpoint}: 401 Unauthorized: the API key in OPENAI_API_KEY was rejected (${err.message}). Stopped; descriptions received so far are cached.`, 'Check OPENAI_API_KEY (and descriptions.openai.base_url if you use a local server).');
    if (s === 403) return new LlmFatalError(`${endpoint}: 403 Forbidden: this key may not use model '${opts.model}' (${err.message}). Stopped.`);
    if (s === 404) return new LlmFatalError(`${endpoint}: 404 Not Found for model '${opts.model}' (${err.message}). Stopped.`, 'Check the model name and base_url (it usually ends in /v1).');
    return undefined;
  };

  const attempt = async (messages: ChatMessage[], o: { maxTokens?: number; temperature?: number }): Promise<ChatResult> => {
    // A signal per request: the SDK never removes the listener it adds to the signal it is given.
    const own = new AbortController();
    const forward = () => own.abort(controller.signal.reason);
    controller.signal.addEventListener('abort', forward, { once: true });
    const maxTokens = o.maxTokens ?? opts.maxTokens;
    let res: unknown;
    try {
      res = await sdk.chat.completions.create(
        { model: opts.model, messages, max_tokens: maxTokens, ...(o.temperature !== undefined ? { temperature: o.temperature } : {}) },
        { signal: own.signal },
      );
    } catch (err) {
      // The SDK's own errors (HTTP status, connection, abort) are handled by the caller; anything
      // else it threw is about the body it could not read (e.g. invalid JSON).
      if (err instanceof APIError || err instanceof APIUserAbortError) throw err;
      throw new MalformedResponse(`malformed response (${err instanceof Error ? err.message : String(err)})`);
    } finally {
      controller.signal.removeEventListener('abort', forward);
    }
    const r = res as { choices?: { message?: { content?: unknown } }[]; usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } } | null;
    if (typeof r !== 'object' || r === null || !Array.isArray(r.choices) || r.choices.length === 0 || typeof r.choices[0] !== 'object' || r.choices[0] === null) {
      throw new MalformedResponse('malformed response (no choices)');
    }
    const content = r.choices[0].message?.content;
    if (content !== null && content !== undefined && typeof content !== 'string') throw new MalformedResponse(`malformed response (content is ${typeof content}, expected text)`);
    const text = typeof content === 'string' ? content : '';
    // About 4 characters a token; 16 leaves room for any tokenizer. Longer is not an answer to our prompt.
    if (text.length > Math.max(4096, maxTokens * 16)) throw new MalformedResponse(`malformed response (${text.length} characters, far more than max_tokens ${maxTokens} allows)`);
    const inputTokens = tokenCount(r.usage?.prompt_tokens);
    const outputTokens = tokenCount(r.usage?.completion_tokens);
    usage.requests++;
    usage.inputTokens += inputTokens;
    usage.outputTokens += outputTokens;
    usage.costUsd = costUsd(usage.inputTokens, usage.outputTokens, opts.prices);
    return { text: text.trim(), inputTokens, outputTokens };
  };

  const chat = (messages: ChatMessage[], o: { maxTokens?: number; temperature?: number } = {}) =>
    limit(() => withRetries(messages, o)).catch((err: unknown) => {
      if (err instanceof LlmRequestError) usage.failures++;
      throw err;
    });

  const withRetries = async (messages: ChatMessage[], o: { maxTokens?: number; temperature?: number }): Promise<ChatResult> => {
      for (let retry = 0; ; retry++) {
        if (stopped) throw stopped;
        try {
          return await attempt(messages, o);
        } catch (err) {
          if (stopped) throw stopped;
          if (err instanceof APIUserAbortError) throw stopped ?? err;
          let delay: number;
          let reason: string;
          if (err instanceof APIConnectionError) {
            reason = err.constructor.name === 'APIConnectionTimeoutError' ? `timeout after ${opts.timeoutS}s` : `connection error (${err.message})`;
            delay = backoffBase * 2 ** retry;
          } else if (err instanceof MalformedResponse) {
            reason = err.message;
            delay = backoffBase * 2 ** retry;
          } else if (err instanceof APIError) {
            const f = fatal(err);
            if (f) {
              stop(f);
              throw f;
            }
            const s = err.status ?? 0;
            if (s !== 429 && s !== 408 && s < 500) throw new LlmRequestError(`${s} ${err.message}`, s);
            reason = `${s}`;
            const asked = s === 429 ? retryAfterMs(err.headers) : undefined;
            delay = asked !== undefined ? Math.min(asked, maxRetryAfter) : backoffBase * 2 ** retry;
          } else if (err instanceof LlmRequestError) {
            throw err;
          } else {
            throw err;
          }
          if (retry >= opts.maxRetries) {
            throw new LlmRequestError(`gave up after ${retry + 1} attempt(s): ${reason}`, err instanceof APIError ? err.status : undefined);
          }
          delay = delay * (1 + 0.1 * Math.random());
          usage.retries++;
          opts.onRetry?.({ attempt: retry + 1, delayMs: delay, reason });
          await sleep(delay, controller.signal).catch(() => {
            throw stopped ?? new Error('stopped');
          });
        }
      }
  };

  const stop = (reason: Error) => {
    if (stopped) return;
    stopped = reason;
    controller.abort(reason);
  };

  return { chat, usage, stop, endpoint };
}

/** Token accounting: estimates before a batch of requests, actual usage after. Pure. */

export interface Prices {
  perMillionInput: number;
  perMillionOutput: number;
}

export interface CostEstimate {
  requests: number; // requests that would be sent
  cached: number; // items already in the cache (no request)
  inputTokens: number;
  outputTokens: number; // upper bound: requests × max_tokens
  costUsd: number; // upper bound
  model: string;
}

export interface UsageTotals {
  requests: number; // successful requests
  retries: number;
  failures: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export const emptyUsage = (): UsageTotals => ({ requests: 0, retries: 0, failures: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });

/** About 4 characters per token for English text (good enough for an estimate). */
export const estimateTextTokens = (text: string): number => Math.ceil(text.length / 4);

/**
 * Input tokens one low-detail image costs. gpt-4o-mini bills images at ~33× the gpt-4o rate
 * (2833 vs 85 tokens); other models are estimated at the gpt-4o rate.
 */
export function imageTokens(model: string): number {
  return /gpt-4o-mini/i.test(model) ? 2833 : 85;
}

export function costUsd(inputTokens: number, outputTokens: number, prices: Prices): number {
  return (inputTokens * prices.perMillionInput + outputTokens * prices.perMillionOutput) / 1e6;
}

export function estimateCost(args: { model: string; requests: number; cached: number; inputTokensPerRequest: number; maxOutputTokens: number; prices: Prices }): CostEstimate {
  const inputTokens = args.requests * args.inputTokensPerRequest;
  const outputTokens = args.requests * args.maxOutputTokens;
  return { requests: args.requests, cached: args.cached, inputTokens, outputTokens, costUsd: costUsd(inputTokens, outputTokens, args.prices), model: args.model };
}

const usd = (x: number) => (x < 0.01 && x > 0 ? `$${x.toFixed(4)}` : `$${x.toFixed(2)}`);

export function formatEstimate(e: CostEstimate): string {
  return `${e.model}: ${e.requests} request(s) to send (${e.cached} already cached), ~${e.inputTokens.toLocaleString('en')} input tokens, at most ${e.outputTokens.toLocaleString('en')} output tokens, at most ~${usd(e.costUsd)}`;
}

export function formatUsage(u: UsageTotals): string {
  return `${u.requests} request(s) succeeded, ${u.failures} failed, ${u.retries} retried; ${u.inputTokens.toLocaleString('en')} input + ${u.outputTokens.toLocaleString('en')} output tokens, ${usd(u.costUsd)}`;
}

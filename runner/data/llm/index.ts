/**
 * Reusable LLM plumbing (descriptions by vision model here; text augmentation in
 * runner/data/augment reuses it): a bounded, retrying client, token/cost accounting and an
 * append-only JSONL cache.
 */
export { createLlmClient, clientOptionsFrom, requireApiKey, createLimiter, retryAfterMs, LlmRequestError, LlmFatalError } from './client.ts';
export type { LlmClient, LlmClientOptions, ChatMessage, ChatResult } from './client.ts';
export { openJsonlCache, cacheKey } from './cache.ts';
export type { JsonlCache } from './cache.ts';
export { estimateCost, estimateTextTokens, imageTokens, costUsd, emptyUsage, formatEstimate, formatUsage } from './usage.ts';
export type { CostEstimate, UsageTotals, Prices } from './usage.ts';

/**
 * Checks of the augmentation settings, run before any work. The schema already bounds most
 * fields; these also guard configs built in code and the checks the schema cannot express.
 */
import type { Augmentation } from '../../config/types.gen.ts';
import { MmrunError } from '../../errors.ts';
import { checkRatio } from './selection.ts';

const METHODS = ['none', 'eda', 'attribute-resample', 'llm', 'repair'];
const PAIRINGS = ['image', 'class'];
const PLACEHOLDERS = ['class_name', 'text', 'n'];

export function checkAugmentation(aug: Augmentation, ratio: number): void {
  if (!METHODS.includes(aug.method)) {
    throw new MmrunError(`augmentation.method must be one of ${METHODS.join(', ')}, got '${String(aug.method)}'`);
  }
  checkRatio(ratio);
  if (ratio > 0 && aug.method === 'none') {
    throw new MmrunError(`augmentation.ratio ${ratio} needs an augmentation.method (eda, attribute-resample, llm or repair), not 'none'`);
  }
  if (aug.seed !== 'run' && (!Number.isInteger(aug.seed) || aug.seed < 0)) {
    throw new MmrunError(`augmentation.seed must be a non-negative integer or 'run' (use the run's seed), got ${String(aug.seed)}`);
  }
  if (aug.pairing !== undefined && !PAIRINGS.includes(aug.pairing)) {
    throw new MmrunError(`augmentation.pairing must be 'image' (augmented texts can be an image's InfoNCE positive) or 'class' (text loss only), got '${String(aug.pairing)}'`);
  }
  if (aug.method === 'eda') checkEda(aug.eda);
  if (aug.method === 'llm') checkLlm(aug.llm);
}

function checkEda(eda: Augmentation['eda']): void {
  for (const op of ['synonym', 'insert', 'swap', 'delete'] as const) {
    const rate = eda[op];
    if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new MmrunError(`augmentation.eda.${op} must be a rate from 0 to 1 (fraction of words touched), got ${String(rate)}`);
    }
  }
  if (eda.synonym + eda.insert + eda.swap + eda.delete === 0) {
    throw new MmrunError('augmentation.eda: every rate is 0, so EDA would only copy texts; give at least one of synonym, insert, swap, delete a rate above 0');
  }
  if (eda.delete === 1 && eda.synonym + eda.insert + eda.swap === 0) {
    throw new MmrunError('augmentation.eda.delete 1 alone deletes every word but one; use a rate below 1');
  }
}

function checkLlm(llm: Augmentation['llm']): void {
  const where = 'augmentation.llm.endpoint';
  const e = llm.endpoint;
  if (llm.mode !== 'generate' && llm.mode !== 'paraphrase') {
    throw new MmrunError(`augmentation.llm.mode must be 'generate' or 'paraphrase', got '${String(llm.mode)}'`);
  }
  if (!e.prompt || !e.prompt.trim()) {
    const example =
      llm.mode === 'paraphrase'
        ? 'Rewrite this description of an image in {n} different ways, one per line: {text}'
        : 'Write {n} different one-sentence descriptions of how a {class_name} looks, one per line.';
    throw new MmrunError(`${where}.prompt is missing: llm augmentation needs a prompt template`, `for example: prompt: "${example}"`);
  }
  for (const m of e.prompt.matchAll(/\{([^{}]*)\}/g)) {
    if (!PLACEHOLDERS.includes(m[1])) {
      throw new MmrunError(`${where}.prompt uses the unknown placeholder {${m[1]}}; known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`);
    }
  }
  if (llm.mode === 'paraphrase' && !e.prompt.includes('{text}')) {
    throw new MmrunError(`${where}.prompt must contain {text} in paraphrase mode (the description to rewrite)`);
  }
  if (llm.mode === 'generate' && !e.prompt.includes('{class_name}')) {
    throw new MmrunError(`${where}.prompt must contain {class_name} in generate mode: descriptions are generated per class`);
  }
  if (!e.model) throw new MmrunError(`${where}.model is empty`);
  const ints: [string, number, number][] = [
    ['concurrency', e.concurrency, 1],
    ['max_retries', e.max_retries, 0],
    ['max_tokens', e.max_tokens, 1],
  ];
  for (const [field, value, min] of ints) {
    if (!Number.isInteger(value) || value < min) throw new MmrunError(`${where}.${field} must be an integer ≥ ${min}, got ${String(value)}`);
  }
  if (!(e.timeout_s > 0)) throw new MmrunError(`${where}.timeout_s must be above 0, got ${String(e.timeout_s)}`);
  if (e.base_url !== null && e.base_url !== undefined) checkUrl(e.base_url, `${where}.base_url`);
}

export function checkUrl(value: string, where: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new MmrunError(`${where} is not a URL: '${value}' (expected e.g. http://127.0.0.1:8000/v1)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MmrunError(`${where} must be an http(s) URL, got '${value}'`);
  }
}

/**
 * The key and endpoint an llm augmentation would use, checked before any request: the key
 * only comes from OPENAI_API_KEY, the endpoint from base_url, else OPENAI_BASE_URL.
 */
export function llmEnvironment(llm: Augmentation['llm'], env: NodeJS.ProcessEnv = process.env): { apiKey: string; baseURL: string | undefined } {
  const apiKey = env.OPENAI_API_KEY?.trim();
  if (!apiKey) {
    throw new MmrunError(
      'augmentation.method llm needs an API key: OPENAI_API_KEY is not set',
      'export OPENAI_API_KEY=... (any non-empty value for a local server that ignores keys)',
    );
  }
  const baseURL = llm.endpoint.base_url ?? (env.OPENAI_BASE_URL?.trim() || undefined);
  if (baseURL) checkUrl(baseURL, llm.endpoint.base_url ? 'augmentation.llm.endpoint.base_url' : 'OPENAI_BASE_URL');
  return { apiKey, baseURL };
}

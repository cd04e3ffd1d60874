/**
 * The augmentation rules the schema cannot express (EDA rates that do nothing, LLM prompt
 * placeholders, endpoint URLs), as located messages. Pure; config imports nothing from data.
 */
import type { Augmentation } from './types.gen.ts';
import type { Located } from './validate.ts';

const PLACEHOLDERS = ['class_name', 'text', 'n'];

function edaProblems(eda: Augmentation['eda']): Located[] {
  const { synonym, insert, swap, delete: del } = eda;
  if (synonym + insert + swap + del === 0) {
    return [{ path: ['augmentation', 'eda'], at: 'value', message: 'every EDA rate is 0, so EDA would only copy texts; give at least one of synonym, insert, swap, delete a rate above 0' }];
  }
  if (del === 1 && synonym + insert + swap === 0) {
    return [{ path: ['augmentation', 'eda', 'delete'], at: 'value', message: 'delete 1 alone deletes every word but one; use a rate below 1' }];
  }
  return [];
}

function llmProblems(llm: Augmentation['llm']): Located[] {
  const at = (field: string, message: string): Located => ({ path: ['augmentation', 'llm', 'endpoint', field], at: 'value', message });
  const out: Located[] = [];
  const prompt = llm.endpoint.prompt;
  if (!prompt || !prompt.trim()) {
    const example =
      llm.mode === 'paraphrase'
        ? 'Rewrite this description of an image in {n} different ways, one per line: {text}'
        : 'Write {n} different one-sentence descriptions of how a {class_name} looks, one per line.';
    out.push(at('prompt', `llm augmentation needs augmentation.llm.endpoint.prompt, a prompt template; for example: prompt: "${example}"`));
  } else {
    // One message per prompt: an unknown placeholder is usually a misspelt required one.
    const unknown = [...prompt.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]).find((name) => !PLACEHOLDERS.includes(name));
    if (unknown !== undefined) out.push(at('prompt', `the prompt uses the unknown placeholder {${unknown}}; known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`));
    else if (llm.mode === 'paraphrase' && !prompt.includes('{text}')) out.push(at('prompt', 'the prompt must contain {text} in paraphrase mode (the description to rewrite)'));
    else if (llm.mode === 'generate' && !prompt.includes('{class_name}')) out.push(at('prompt', 'the prompt must contain {class_name} in generate mode: descriptions are generated per class'));
  }
  const url = llm.endpoint.base_url;
  if (url !== null && url !== undefined) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      out.push(at('base_url', `'${url}' is not a URL (expected e.g. http://127.0.0.1:8000/v1)`));
    }
    if (parsed && parsed.protocol !== 'http:' && parsed.protocol !== 'https:') out.push(at('base_url', `must be an http(s) URL, got '${url}'`));
  }
  return out;
}

export function augmentationProblems(aug: Augmentation): Located[] {
  if (aug.method === 'eda') return edaProblems(aug.eda);
  if (aug.method === 'llm') return llmProblems(aug.llm);
  return [];
}

/**
 * Model presets: `preset: small|medium` fills every size the user did not set, so the resolved
 * config (and so the run id and the MLflow params) shows the real architecture. Pure.
 */
import type { ImageBranch, Model, TextBranch } from './types.gen.ts';

type ImageSizes = Omit<ImageBranch, 'preset'>;
type TextSizes = Omit<TextBranch, 'preset' | 'tokenizer' | 'vocab_size' | 'pooling'>;

export const IMAGE_PRESETS: Record<ImageBranch['preset'], ImageSizes> = {
  small: { filters: [16, 32], kernel_size: 3, batch_norm: false, dense: 128, dropout: 0 },
  medium: { filters: [32, 64, 128], kernel_size: 3, batch_norm: true, dense: 256, dropout: 0.1 },
};

export const TEXT_PRESETS: Record<TextBranch['preset'], TextSizes> = {
  small: { max_len: 32, width: 64, heads: 2, mlp: 128, layers: 1, dropout: 0 },
  medium: { max_len: 64, width: 128, heads: 4, mlp: 256, layers: 2, dropout: 0.1 },
};

function fill<T extends object>(given: Partial<T>, preset: T): T {
  const out = { ...preset } as T;
  for (const [k, v] of Object.entries(given)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** Accepts a model whose branch sizes may be missing (as in the file) and returns the complete one. */
export function resolvePresets(model: Model): Model {
  const image = model.image as Partial<ImageBranch> & Pick<ImageBranch, 'preset'>;
  const text = model.text as Partial<TextBranch> & Pick<TextBranch, 'preset' | 'tokenizer' | 'vocab_size' | 'pooling'>;
  return {
    ...model,
    image: fill(image, { preset: image.preset, ...IMAGE_PRESETS[image.preset] }),
    text: fill(text, { preset: text.preset, tokenizer: text.tokenizer, vocab_size: text.vocab_size, pooling: text.pooling, ...TEXT_PRESETS[text.preset] }),
  };
}

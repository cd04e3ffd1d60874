/**
 * attribute-resample: new descriptions of images that do not exist. The `attributes` describer
 * records the discrete visual attributes behind every training text; a new description of
 * class c draws each attribute from its distribution among class-c texts (independently, so
 * combinations no image had appear) and is rendered by the describer's own renderDescription,
 * so it reads like the training texts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Experiment } from '../../config/types.gen.ts';
import { MmrunError } from '../../errors.ts';
import { extractAttributes, renderDescription, type ImageAttributes } from '../describe/attributes.ts';
import { createRng, seedFrom, type Rng } from '../../random.ts';
import { loadAttributes } from '../store.ts';
import type { Dataset } from '../types.ts';
import { yieldToEventLoop, type Original, type VariantGenerator } from './types.ts';

/** Per class, the observed attribute sets (the empirical class-conditional distribution). */
export type ClassAttributes = ImageAttributes[][];

/** The noun the describer used for this dataset's figures (as runner/data/build.ts names them). */
const SUBJECT: Record<Experiment['dataset']['source'], string> = { mnist: 'digit', idx: 'figure', cifar10: 'picture', 'image-folder': 'picture' };

export function checkAttributeResample(config: Experiment): void {
  if (config.dataset.descriptions.describer !== 'attributes') {
    throw new MmrunError(
      `augmentation.method 'attribute-resample' composes texts from the visual attributes the offline describer records, but dataset.descriptions.describer is '${config.dataset.descriptions.describer}'`,
      "use dataset.descriptions.describer: attributes, or augmentation.method 'eda' or 'llm' with these descriptions",
    );
  }
}

/**
 * The attributes behind every original, grouped by class: those the dataset recorded when it
 * has them (training texts and keep_all_texts extras), else measured again on the training
 * images (the describer is deterministic, so they are the same).
 */
export function trainingAttributes(config: Experiment, dataset: Dataset, originals: Original[]): ClassAttributes {
  const byClass: ClassAttributes = dataset.classNames.map(() => []);
  if (dataset.dir && existsSync(join(dataset.dir, 'train.attributes.jsonl'))) {
    const stored = loadAttributes(dataset.dir);
    const all = [...stored.train, ...stored.extraTrain];
    for (const o of originals) if (all[o.index]) byClass[o.label].push(all[o.index]);
    return byClass;
  }
  const [h, w, c] = dataset.shape;
  const size = h * w * c;
  const { images, labels } = dataset.train;
  for (let i = 0; i < labels.length; i++) {
    byClass[labels[i]].push(extractAttributes(images.subarray(i * size, (i + 1) * size), h, w, c, SUBJECT[config.dataset.source], config.dataset.descriptions.style));
  }
  return byClass;
}

/** One attribute set drawn from a class's observed ones, each attribute on its own. */
export function sampleAttributes(observed: ImageAttributes[], rng: Rng): ImageAttributes {
  const base = observed[Math.floor(rng.next() * observed.length)];
  const out: Record<string, unknown> = { ...base };
  for (const key of Object.keys(base)) {
    if (key === 'kind' || key === 'subject') continue;
    const donor = observed[Math.floor(rng.next() * observed.length)] as unknown as Record<string, unknown>;
    out[key] = donor[key];
  }
  return out as unknown as ImageAttributes;
}

/** Variant j of original i depends only on (seed, i, j) and the class's observed attributes. */
export function attributeResampleGenerator(config: Experiment, dataset: Dataset, originals: Original[], seed: number): VariantGenerator {
  const mentionClass = config.dataset.descriptions.mention_class;
  return {
    async generate(list, from, to, onVariants) {
      const byClass = trainingAttributes(config, dataset, originals);
      const variants: string[][] = [];
      for (const original of list) {
        const observed = byClass[original.label];
        if (!observed || observed.length === 0) {
          throw new MmrunError(`attribute-resample: class '${dataset.classNames[original.label]}' has no recorded attributes to draw from`, 'raise dataset.image_fraction or dataset.max_per_class so every class keeps at least one training image');
        }
        const row: string[] = [];
        for (let j = from; j < to; j++) {
          const rng = createRng(seedFrom('attribute-resample', seed, original.index, j));
          row.push(renderDescription(sampleAttributes(observed, rng), rng, { mentionClass, className: dataset.classNames[original.label] }));
        }
        variants.push(row);
        onVariants?.(to - from);
        if (variants.length % 2000 === 0) await yieldToEventLoop();
      }
      return { variants, counts: {} };
    },
  };
}

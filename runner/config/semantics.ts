/** Checks the schema cannot express, on a resolved config. Pure: returns located messages. */
import { checkAugmentation } from '../data/augment/validate.ts';
import type { Experiment } from './types.gen.ts';
import type { Located } from './validate.ts';

export function checkSemantics(c: Experiment): Located[] {
  const out: Located[] = [];
  const { width, heads } = c.model.text;
  if (width % heads !== 0) {
    out.push({ path: ['model', 'text', 'heads'], at: 'value', message: `heads (${heads}) must divide the text width (${width})` });
  }
  if (c.dataset.source !== 'mnist' && !c.dataset.path) {
    out.push({ path: ['dataset', 'source'], at: 'value', message: `source '${c.dataset.source}' needs dataset.path (the folder holding its files)` });
  }
  if (c.augmentation.ratio > 0 && c.augmentation.method === 'none') {
    out.push({ path: ['augmentation', 'ratio'], at: 'value', message: `ratio ${c.augmentation.ratio} needs an augmentation.method (eda, attribute-resample or llm), not 'none'` });
  }
  if (c.augmentation.ratio > 0 && !c.training.retrain.enabled) {
    out.push({ path: ['augmentation', 'ratio'], at: 'value', message: 'augmented texts are used by the retrain phase: set training.retrain.enabled: true' });
  }
  if (!c.training.joint.enabled && !c.training.retrain.enabled) {
    out.push({ path: ['training'], at: 'value', message: 'no phase is enabled: enable training.joint and/or training.retrain' });
  }
  if (c.training.retrain.enabled && !c.training.joint.enabled) {
    out.push({ path: ['training', 'retrain', 'enabled'], at: 'value', message: 'retrain starts from the joint checkpoint: training.joint must be enabled too' });
  }
  if (c.augmentation.method !== 'none') {
    // The augmentation's own rules (prompt placeholders, EDA rates that do nothing, URLs).
    try {
      checkAugmentation(c.augmentation, c.augmentation.ratio);
    } catch (err) {
      const message = (err as Error).message;
      const field = /augmentation\.[a-z_.]+[a-z_]/.exec(message)?.[0] ?? 'augmentation.method';
      out.push({ path: field.split('.'), at: 'value', message });
    }
  }
  const classes = c.dataset.class_names?.length;
  if (classes !== undefined && c.dataset.source === 'mnist' && classes !== 10) {
    out.push({ path: ['dataset', 'class_names'], at: 'value', message: `MNIST has 10 classes, class_names lists ${classes}` });
  }
  return out;
}

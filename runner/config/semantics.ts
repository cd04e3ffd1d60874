/** Checks the schema cannot express, on a resolved config. Pure: returns located messages. */
import { trackingUriProblem } from './tracking-uri.ts';
import { augmentationProblems } from './augmentation.ts';
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
  out.push(...augmentationProblems(c.augmentation));
  const classes = c.dataset.class_names?.length;
  if (classes !== undefined && c.dataset.source === 'mnist' && classes !== 10) {
    out.push({ path: ['dataset', 'class_names'], at: 'value', message: `MNIST has 10 classes, class_names lists ${classes}` });
  }
  const uriProblem = c.tracking?.uri ? trackingUriProblem(c.tracking.uri) : undefined;
  if (uriProblem) out.push({ path: ['tracking', 'uri'], at: 'value', message: uriProblem });
  return out;
}

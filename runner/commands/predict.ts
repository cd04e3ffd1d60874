// `mmrun predict <run-dir | run-id | model-folder> <image...>`: loads a finished run's final model
// (runner/model's Network and runner/train's verified checkpoint loader) and classifies images.
import { existsSync } from 'node:fs';
import { MmrunError } from '../errors.ts';
import type { Command } from './types.ts';

export const command: Command = {
  name: 'predict',
  summary: "Classify images with a finished run's model (a run dir, a run id, or a model/ folder downloaded from MLflow)",
  usage: 'mmrun predict <run-dir | run-id | model-folder> <image.png...> [--top 3] [--json]',
  options: {
    'artifacts-dir': { type: 'string', description: 'Where run ids are looked up (default ./artifacts)', default: 'artifacts' },
    top: { type: 'string', description: 'How many classes to show per image', default: '3', integer: { min: 1 } },
    json: { type: 'boolean', description: 'Print JSON: one object per image with the class probabilities' },
  },
  async run({ positionals, values }) {
    if (positionals.length < 2) throw new MmrunError('mmrun predict: name a run (directory, id or downloaded model folder) and at least one image.');
    const [target, ...images] = positionals;
    for (const f of images) if (!existsSync(f)) throw new MmrunError(`mmrun predict: image ${f} does not exist.`);
    const { locateModel } = await import('../track/model-folder.ts');
    const where = locateModel(target, String(values['artifacts-dir'] ?? 'artifacts'));
    // Loaded here: TensorFlow and sharp are not needed by `mmrun --help`.
    const { loadClassifier, readImageForModel } = await import('./predict-model.ts');
    const classifier = await loadClassifier(where);
    const top = Number(values.top ?? 3);
    const results = [];
    for (const file of images) {
      const pixels = await readImageForModel(file, where.shape);
      const probs = classifier.classify(pixels);
      const ranked = [...probs].map((p, i) => ({ label: where.classNames[i] ?? String(i), index: i, p })).sort((a, b) => b.p - a.p);
      results.push({ image: file, prediction: ranked[0].label, probabilities: Object.fromEntries(ranked.map((r) => [r.label, Number(r.p.toFixed(6))])) });
      if (!values.json) console.log(`${file}: ${ranked[0].label} (${(ranked[0].p * 100).toFixed(1)}%)   ${ranked.slice(1, top).map((r) => `${r.label} ${(r.p * 100).toFixed(1)}%`).join('   ')}`);
    }
    classifier.dispose();
    if (values.json) console.log(JSON.stringify({ model: where.describe, results }, null, 2));
    else console.error(`(model: ${where.describe}, backend ${classifier.backend})`);
    return 0;
  },
};

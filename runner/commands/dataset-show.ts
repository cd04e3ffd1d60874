import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { formatCard } from '../data/card.ts';
import { loadExperiment } from '../config/index.ts';
import { MmrunError } from '../errors.ts';
import type { Command } from './types.ts';

export const command: Command = {
  name: 'dataset show',
  summary: 'Print a dataset card and sample pairs; write a PNG contact sheet',
  usage: 'mmrun dataset show <dataset-dir | experiment.yaml>',
  options: {
    pairs: { type: 'string', description: 'Sample pairs to print', default: '5', integer: { min: 0 } },
    out: { type: 'string', description: 'Contact sheet file (default: <dataset-dir>/contact-sheet.png)' },
    samples: { type: 'string', description: 'Images on the contact sheet', default: '12', integer: { min: 1 } },
  },
  async run({ positionals, values }) {
    // Loaded here, not at the top: `mmrun --help` lists every command and must not load sharp and the dataset builders.
    const { datasetLocation, loadDataset, readManifest } = await import('../data/index.ts');
    const { writeContactSheet } = await import('../data/contact-sheet.ts');
    if (positionals.length !== 1) throw new MmrunError('mmrun dataset show: name one dataset folder, e.g. mmrun dataset show artifacts/datasets/mnist-0123456789ab');
    let dir = positionals[0];
    if (/\.ya?ml$/.test(dir) && existsSync(dir)) {
      const found = datasetLocation(loadExperiment(dir).config);
      if (!existsSync(join(found.dir, 'manifest.json'))) throw new MmrunError(`${dir}: its dataset is not built yet (expected ${found.dir}); run \`mmrun dataset build ${dir}\` first`);
      dir = found.dir;
    }
    if (!existsSync(dir)) throw new MmrunError(`${dir}: folder not found (expected a dataset folder under artifacts/datasets/)`);
    const manifest = readManifest(dir);
    const ds = loadDataset(dir);
    console.log(formatCard(manifest, ds, Number(values.pairs ?? 5)));
    const out = (values.out as string | undefined) ?? join(dir, 'contact-sheet.png');
    const n = await writeContactSheet(ds, out, { count: Number(values.samples ?? 12), title: `${manifest.name}-${manifest.hash} (test split)` });
    console.log(`\nContact sheet (${n} test images with their descriptions): ${relative(process.cwd(), out) || out}`);
    return 0;
  },
};

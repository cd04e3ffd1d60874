// The shipped quickstart study, shrunk for end-to-end tests: same model, phases, grid and
// ablations, on far fewer images and epochs. Written next to the test's temp files.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const QUICKSTART = resolve(import.meta.dirname, '../../experiments/quickstart.yaml');

export interface Shrink {
  name: string;
  imageFraction: number;
  maxTest: number;
  retrievalPool: number;
  embeddingsSample: number;
  /** Extra top-level YAML (e.g. `seeds: 1`, a launcher block). */
  extra?: string;
}

/** Writes `<dir>/tiny.yaml` extending the quickstart and returns its path. */
export function writeShrunkQuickstart(dir: string, s: Shrink): string {
  const file = join(dir, 'tiny.yaml');
  writeFileSync(
    file,
    `extends: ${QUICKSTART}
name: ${s.name}
dataset: { image_fraction: ${s.imageFraction}, max_test: ${s.maxTest} }
training:
  joint: { epochs: 2 }
  retrain: { epochs: 1 }
evaluation: { retrieval_pool: ${s.retrievalPool}, embeddings_sample: ${s.embeddingsSample} }
${s.extra ?? ''}`,
  );
  return file;
}

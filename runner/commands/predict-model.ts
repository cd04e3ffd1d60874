// The model side of `mmrun predict`: builds the run's network from its resolved config, loads
// the final checkpoint (verified against its checksums) and turns one image into class
// probabilities. Images are decoded like the image-folder source does (sharp, cover-resized to
// the dataset's shape, grey or RGB by its channel count).
import { resolvePresets } from '../config/presets.ts';
import { MmrunError } from '../errors.ts';
import { Network } from '../model/network.ts';
import { readTidy } from '../model/read.ts';
import { startBackend } from '../model/runtime.ts';
import { loadTokenizer } from '../model/tokenizer.ts';
import type { ModelLocation } from '../track/model-folder.ts';
import { loadCheckpoint } from '../train/checkpoint.ts';
import { imageTensor } from '../train/data.ts';

export interface Classifier {
  backend: string;
  classify(pixels: Uint8Array): Float32Array;
  dispose(): void;
}

const inference = { training: false, nextSeed: () => 0 };

export async function loadClassifier(where: ModelLocation): Promise<Classifier> {
  const backend = await startBackend(where.config.model.backend);
  const tokenizer = loadTokenizer(where.tokenizerFile);
  if (!tokenizer) throw new MmrunError(`mmrun predict: ${where.tokenizerFile} is missing: the network's text branch cannot be sized without it.`);
  const net = new Network({
    model: resolvePresets(where.config.model),
    imageShape: where.shape,
    numClasses: where.classNames.length,
    vocabSize: tokenizer.vocabSize,
    temperature: where.config.training.temperature,
    seed: 0,
  });
  loadCheckpoint(where.checkpointDir, where.checkpointName, net.params, { withOptimizer: false });
  return {
    backend: backend.name,
    classify(pixels) {
      const logits = readTidy(() => net.imageLogits(net.embedImages(imageTensor(pixels, where.shape, [0]), inference)));
      const max = Math.max(...logits);
      const exp = Array.from(logits, (x) => Math.exp(x - max));
      const sum = exp.reduce((a, b) => a + b, 0);
      return Float32Array.from(exp, (e) => e / sum);
    },
    dispose: () => net.dispose(),
  };
}

export async function readImageForModel(file: string, shape: [number, number, number]): Promise<Uint8Array> {
  const { default: sharp } = await import('sharp'); // loaded here, not at start-up: commands such as validate never decode an image
  const [h, w, c] = shape;
  let img = sharp(file, { failOn: 'error' }).rotate().resize(w, h, { fit: 'cover' }).removeAlpha();
  img = c === 1 ? img.greyscale().toColourspace('b-w') : img.toColourspace('srgb');
  let raw: Buffer;
  try {
    raw = await img.raw().toBuffer();
  } catch (err) {
    throw new MmrunError(`mmrun predict: cannot read image ${file}: ${(err as Error).message}`);
  }
  if (raw.length !== h * w * c) throw new MmrunError(`mmrun predict: ${file} decoded to ${raw.length} bytes, expected ${h}×${w}×${c}`);
  return new Uint8Array(raw);
}

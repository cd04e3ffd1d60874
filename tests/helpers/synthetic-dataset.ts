// A tiny image/text dataset shaped like runner/data's Dataset (docs/contracts.md), for training
// tests: class c is a bright horizontal bar at row 2c of an 8×8 image (plus noise) and a text
// naming a class-specific cue word among filler words. Learnable in seconds by both branches.
import { Rng } from '../../runner/random.ts';
import type { DatasetLike, SplitLike } from '../../runner/train/data.ts';

const CUES = ['north', 'river', 'candle', 'orbit'];
const FILLER = ['a', 'small', 'drawing', 'with', 'thin', 'lines', 'of', 'some', 'shape', 'near', 'the', 'edge', 'bold', 'faint'];

function split(n: number, rng: Rng, classes: number): SplitLike {
  const H = 8;
  const images = new Uint8Array(n * H * H);
  const labels = new Int32Array(n);
  const texts: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let p = 0; p < H * H; p++) images[i * H * H + p] = Math.floor(rng.next() * 60);
    const row = 2 * c;
    for (let x = 0; x < H; x++) images[i * H * H + row * H + x] = 180 + Math.floor(rng.next() * 75);
    const words = Array.from({ length: 4 + rng.int(4) }, () => FILLER[rng.int(FILLER.length)]);
    words.splice(rng.int(words.length + 1), 0, CUES[c]);
    texts.push(words.join(' '));
  }
  return { images, labels, texts };
}

export function syntheticDataset(opts: { train?: number; val?: number; test?: number; seed?: number } = {}): DatasetLike {
  const rng = new Rng(opts.seed ?? 7);
  const classes = CUES.length;
  return {
    hash: 'synthetic',
    classNames: CUES.slice(),
    shape: [8, 8, 1],
    train: split(opts.train ?? 240, rng, classes),
    val: split(opts.val ?? 40, rng, classes),
    test: split(opts.test ?? 80, rng, classes),
    extraTrainTexts: [],
  };
}

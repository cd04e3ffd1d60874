// Builds a small Fashion-MNIST image/text set from the real Debian files
// (apt-get install -y dataset-fashion-mnist), read gzipped and streamed, described by the
// generic attributes describer, then a repair augmented set on top of it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ensureAugmentedSet } from '../../runner/data/augment/index.ts';
import { ensureDataset, loadAttributes, loadDataset } from '../../runner/data/index.ts';
import { experiment, tempDir } from '../helpers/data-config.ts';

const DIR = '/usr/share/datasets/fashion-mnist';
const CLASSES = ['t-shirt/top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot'];
const present = existsSync(join(DIR, 'train-images-idx3-ubyte.gz'));
const allowMissing = process.env.MMRUN_ALLOW_MISSING_SERVICES === '1';

describe.skipIf(!present && allowMissing)('Fashion-MNIST from the Debian package', () => {
  it('is installed', () => {
    expect(present, `${DIR} not found: install it with \`apt-get install -y dataset-fashion-mnist\` (or run scripts/setup-test-env.sh)`).toBe(true);
  });

  it('builds an image/text set from the gzipped IDX files, with informative class-free descriptions', async () => {
    const dir = tempDir('mmrun-fashion-');
    const config = experiment(dir, {
      source: 'idx',
      path: DIR,
      class_names: CLASSES,
      val_fraction: 0.002,
      image_fraction: 0.01,
      max_test: 500,
      descriptions: { describer: 'attributes', style: 'generic', mention_class: false },
    }, { augmentation: { method: 'repair', ratio: 2, seed: 'run' }, training: { retrain: { enabled: true } } });
    const ref = await ensureDataset(config, { artifactsDir: join(dir, 'artifacts'), log: () => {}, warn: () => {} });
    expect(ref.status).toBe('built');
    const ds = loadDataset(ref.dir);
    expect(ds.classNames).toEqual(CLASSES);
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(ds.test.labels.length).toBe(500);
    expect(ds.train.labels.length).toBeGreaterThanOrEqual(590);
    expect(new Set(ds.train.labels).size).toBe(10);

    // The test images are the first test images of the Debian file, byte for byte (read here independently).
    const testImages = gunzipSync(readFileSync(join(DIR, 't10k-images-idx3-ubyte.gz'))).subarray(16);
    const testLabels = gunzipSync(readFileSync(join(DIR, 't10k-labels-idx1-ubyte.gz'))).subarray(8);
    const labelSet = new Set(Array.from(ds.test.labels));
    expect(labelSet.size).toBe(10);
    let matched = 0;
    const first = Buffer.from(ds.test.images.subarray(0, 784));
    for (let i = 0; i < 10000 && matched === 0; i++) if (first.equals(testImages.subarray(i * 784, (i + 1) * 784))) matched = testLabels[i] === ds.test.labels[0] ? 1 : -1;
    expect(matched).toBe(1);

    // Descriptions: generic attributes, never a class word.
    const attrs = loadAttributes(ref.dir);
    expect(attrs.train[0].kind).toBe('shape');
    const classWords = /\b(t-shirt|shirt|trouser|pullover|dress|coat|sandal|sneaker|bag|boot)s?\b/i;
    for (const t of [...ds.train.texts, ...ds.test.texts]) expect(t).not.toMatch(classWords);
    const inf = ref.manifest!.descriptions.informativeness!;
    expect(inf.attributes!.accuracy).toBeGreaterThan(0.4); // well above the 10% of chance
    expect(inf.text.accuracy).toBeGreaterThan(0.4);
    expect(inf.text.test).toBe(500);

    // The re-pairing control on real data: texts are other same-class training descriptions.
    const set = await ensureAugmentedSet(config, ds, { artifactsDir: join(dir, 'artifacts'), runSeed: 3, onProgress: () => {} });
    const index = new Map(ds.train.texts.map((t, i) => [t, i]));
    for (const t of set.textsFor(2)) {
      const donor = index.get(t.text);
      expect(donor).toBeDefined();
      expect(ds.train.labels[donor!]).toBe(t.label);
      expect(ds.train.texts[t.source] === t.text && donor === t.source).toBe(false);
    }
  }, 300_000);
});

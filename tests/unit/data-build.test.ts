import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { datasetLocation, ensureDataset, loadAttributes, loadDataset } from '../../runner/data/index.ts';
import { tryLockFile } from '../../runner/lock-file.ts';
import { experiment, makeImageFolder, tempDir } from '../helpers/data-config.ts';

const quiet = { log: () => {}, warn: () => {} };
const small = { source: 'mnist', image_fraction: 0.01, val_fraction: 0.05, max_test: 50 };

describe('ensureDataset / loadDataset on MNIST', () => {
  it('builds once, then finds it; loadDataset returns aligned splits as in the contract', async () => {
    const dir = tempDir();
    const config = experiment(dir, small);
    const built = await ensureDataset(config, quiet);
    expect(built.status).toBe('built');
    expect(built.dir).toBe(join(dir, 'artifacts', 'datasets', `mnist-${built.hash}`));
    const again = await ensureDataset(config, quiet);
    expect(again.status).toBe('found');
    expect(again.manifest!.contentHash).toBe(built.manifest!.contentHash);

    const ds = loadDataset(built.dir);
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(ds.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(ds.hash).toBe(built.hash);
    const m = built.manifest!;
    for (const split of ['train', 'val', 'test'] as const) {
      const s = ds[split];
      expect(s.labels.length).toBe(m.splits[split].count);
      expect(s.images.length).toBe(s.labels.length * 784);
      expect(s.texts.length).toBe(s.labels.length);
    }
    expect(ds.test.labels.length).toBe(50);
    expect(m.splits.train.perClass.every((n) => n >= 50 && n <= 65)).toBe(true); // 1% of 5,400–6,400 per class
    expect(ds.extraTrainTexts).toEqual([]);
    expect(new Set(ds.train.texts).size).toBe(ds.train.texts.length);
    const attrs = loadAttributes(built.dir);
    expect(attrs.train.length).toBe(ds.train.labels.length);
    expect(attrs.train[0].kind).toBe('stroke');
    expect(m.descriptions.stats.vocabulary).toBeGreaterThan(50);
  });

  it('keep_all_texts keeps the texts of dropped training images', async () => {
    const dir = tempDir();
    await makeImageFolder(join(dir, 'pets'), 5); // 4 train + 1 test per class
    const ref = await ensureDataset(experiment(dir, { source: 'image-folder', path: 'pets', image_size: 8, val_fraction: 0, image_fraction: 0.5, keep_all_texts: true }), quiet);
    const ds = loadDataset(ref.dir);
    expect(ds.train.labels.length).toBe(6);
    expect(ds.extraTrainTexts.length).toBe(6);
    expect(ref.manifest!.splits.extraTrainTexts.perClass).toEqual([2, 2, 2]);
    expect(ds.extraTrainTexts[0]).toEqual({ label: 0, text: expect.stringMatching(/red/) });
    expect(loadAttributes(ref.dir).extraTrain.length).toBe(6);
    const without = loadDataset((await ensureDataset(experiment(dir, { source: 'image-folder', path: 'pets', image_size: 8, val_fraction: 0, image_fraction: 0.5 }), quiet)).dir);
    expect(without.extraTrainTexts).toEqual([]);
    expect(without.train.texts).toEqual(ds.train.texts);
  });

  it('two builders racing for one dataset: one builds, the other waits and finds it', async () => {
    const dir = tempDir();
    const config = experiment(dir, small);
    const [a, b] = await Promise.all([ensureDataset(config, quiet), ensureDataset(config, quiet)]);
    expect([a.status, b.status].sort()).toEqual(['built', 'found']);
    expect(a.dir).toBe(b.dir);
    expect(readdirSync(join(dir, 'artifacts', 'datasets')).filter((e) => !e.startsWith('.'))).toHaveLength(1);
  });

  it('a live lock: the builder says who holds it, waits, and builds once the lock is released', async () => {
    const dir = tempDir();
    const config = experiment(dir, small);
    const { root, name, hash } = datasetLocation(config);
    const held = tryLockFile(join(root, '.locks', `${name}-${hash}.lock`), { staleMs: 60_000 })!;
    const lines: string[] = [];
    const building = ensureDataset(config, { ...quiet, log: (l) => lines.push(l) });
    for (let i = 0; i < 200 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(lines).toEqual([`waiting: pid ${process.pid} on ${hostname()} is building dataset ${name}-${hash}`]);
    held.release();
    expect((await building).status).toBe('built');
    expect(existsSync(held.file)).toBe(false);
  });

  it('recovers from a killed build: stale lock and temp folder are cleaned up', async () => {
    const dir = tempDir();
    const config = experiment(dir, small);
    const { root, name, hash } = datasetLocation(config);
    mkdirSync(join(root, '.locks'), { recursive: true });
    writeFileSync(join(root, '.locks', `${name}-${hash}.lock`), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
    const stale = join(root, `.tmp-${name}-${hash}-${hostname()}-99999`);
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, 'train.images.u8'), 'half');
    const ref = await ensureDataset(config, quiet);
    expect(ref.status).toBe('built');
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(join(root, '.locks', `${name}-${hash}.lock`))).toBe(false);
  });

  it('a dry run writes nothing', async () => {
    const dir = tempDir();
    const ref = await ensureDataset(experiment(dir, small), { ...quiet, dryRun: true });
    expect(ref.status).toBe('planned');
    expect(ref.plan!.counts.test).toBe(50);
    expect(existsSync(ref.dir)).toBe(false);
  });
});

describe('dataset identity', () => {
  it('the hash changes with every dataset field and only with them', () => {
    const dir = tempDir();
    const hash = (d: Record<string, unknown>, extra: Record<string, unknown> = {}) => datasetLocation(experiment(dir, d, extra)).hash;
    const base = hash(small);
    expect(hash(small, { seeds: 3, description: 'other' })).toBe(base);
    const variants = [
      { ...small, split_seed: 1 },
      { ...small, image_fraction: 0.02 },
      { ...small, max_test: 60 },
      { ...small, keep_all_texts: true },
      { ...small, descriptions: { mention_class: true } },
      { ...small, descriptions: { describer: 'openai', openai: { model: 'other-model' } } },
    ];
    const hashes = variants.map((v) => hash(v));
    expect(new Set([base, ...hashes]).size).toBe(variants.length + 1);
  });
});

describe('ensureDataset on an image folder', () => {
  it('builds colour descriptions and records skipped files in the manifest', async () => {
    const dir = tempDir();
    await makeImageFolder(join(dir, 'pets'), 5);
    writeFileSync(join(dir, 'pets', 'cat', 'broken.png'), 'nope');
    const config = experiment(dir, { source: 'image-folder', path: 'pets', image_size: 16, skip_unreadable: true, val_fraction: 0 });
    const ref = await ensureDataset(config, quiet);
    expect(ref.name).toBe('image-folder-pets');
    const ds = loadDataset(ref.dir);
    expect(ds.shape).toEqual([16, 16, 3]);
    expect(ds.classNames).toEqual(['cat', 'dog', 'fox']);
    expect(ds.train.labels.length + ds.test.labels.length).toBe(15);
    expect(ref.manifest!.source.skipped).toEqual([{ file: 'cat/broken.png', reason: expect.any(String) }]);
    const catText = ds.train.texts[ds.train.labels.indexOf(0)];
    expect(catText).toMatch(/red/);
  });
});

describe('describer openai without a key', () => {
  it('fails with a clear error before any work', async () => {
    const dir = tempDir();
    const saved = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      await expect(ensureDataset(experiment(dir, { ...small, descriptions: { describer: 'openai' } }), quiet)).rejects.toThrow(/OPENAI_API_KEY is not set/);
      expect(existsSync(join(dir, 'artifacts'))).toBe(false);
    } finally {
      if (saved !== undefined) process.env.OPENAI_API_KEY = saved;
    }
  });
});

describe('ensureDataset on cifar10 and gzipped idx files', () => {
  it('reads CIFAR-10 binary batches (channels-last, CIFAR class names)', async () => {
    const dir = tempDir();
    const batches = join(dir, 'cifar', 'cifar-10-batches-bin');
    mkdirSync(batches, { recursive: true });
    const batch = (n: number, seed: number) => {
      const buf = new Uint8Array(n * 3073);
      for (let r = 0; r < n; r++) {
        buf[r * 3073] = r % 10;
        buf.fill((seed * 37 + r * 11) % 256, r * 3073 + 1, r * 3073 + 1 + 1024); // red plane
      }
      return buf;
    };
    for (let i = 1; i <= 5; i++) writeFileSync(join(batches, `data_batch_${i}.bin`), batch(10, i));
    writeFileSync(join(batches, 'test_batch.bin'), batch(20, 9));
    const ref = await ensureDataset(experiment(dir, { source: 'cifar10', path: 'cifar', val_fraction: 0.2 }), quiet);
    const ds = loadDataset(ref.dir);
    expect(ds.shape).toEqual([32, 32, 3]);
    expect(ds.classNames[0]).toBe('airplane');
    expect([ds.train.labels.length, ds.val.labels.length, ds.test.labels.length]).toEqual([40, 10, 20]);
    expect(ds.train.images[1]).toBe(0); // green of pixel 0 stays 0: planes were not mixed up
    expect(ref.name).toBe('cifar10-cifar');
  });

  it('reads gzipped IDX files by path, with custom class names', async () => {
    const dir = tempDir();
    const { gzipSync } = await import('node:zlib');
    const idxFile = (dims: number[], data: Uint8Array) => {
      const head = Buffer.alloc(4 + 4 * dims.length);
      head.set([0, 0, 8, dims.length]);
      dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
      return gzipSync(Buffer.concat([head, data]));
    };
    mkdirSync(join(dir, 'tiny'));
    const images = (n: number) => Uint8Array.from({ length: n * 64 }, (_, i) => ((i % 64) % 8 === 3 || (i % 64) % 8 === 4 ? 255 : 0));
    const labels = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 2);
    writeFileSync(join(dir, 'tiny', 'train-images-idx3-ubyte.gz'), idxFile([20, 8, 8], images(20)));
    writeFileSync(join(dir, 'tiny', 'train-labels-idx1-ubyte.gz'), idxFile([20], labels(20)));
    writeFileSync(join(dir, 'tiny', 't10k-images-idx3-ubyte.gz'), idxFile([6, 8, 8], images(6)));
    writeFileSync(join(dir, 'tiny', 't10k-labels-idx1-ubyte.gz'), idxFile([6], labels(6)));
    const ref = await ensureDataset(experiment(dir, { source: 'idx', path: 'tiny', class_names: ['bar', 'post'], val_fraction: 0 }), quiet);
    const ds = loadDataset(ref.dir);
    expect(ds.shape).toEqual([8, 8, 1]);
    expect(ds.classNames).toEqual(['bar', 'post']);
    expect([ds.train.labels.length, ds.test.labels.length]).toEqual([20, 6]);
    await expect(ensureDataset(experiment(dir, { source: 'idx', path: 'tiny', class_names: ['only', 'two'], max_test: 10 }), quiet)).resolves.toBeTruthy();
    writeFileSync(join(dir, 'tiny', 't10k-labels-idx1-ubyte.gz'), idxFile([6], Uint8Array.from([0, 1, 2, 0, 1, 0])));
    await expect(ensureDataset(experiment(dir, { source: 'idx', path: 'tiny', class_names: ['bar', 'post'], split_seed: 3 }), quiet)).rejects.toThrow(/label 2 found, but there are 2 class names \(bar, post\): expected labels 0\.\.1/);
  });
});

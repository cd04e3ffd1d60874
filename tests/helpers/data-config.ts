/** Experiments for data tests: a YAML snippet through the real loader (defaults filled). */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { stringify } from 'yaml';
import { loadExperiment } from '../../runner/config/index.ts';
import type { Experiment } from '../../runner/config/types.gen.ts';

const created: string[] = [];
afterAll(() => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp folder, removed after the test file. */
export function tempDir(prefix = 'mmrun-data-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Writes an experiment file with the given dataset section into `dir` and loads it. */
export function experimentFile(dir: string, dataset: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const file = join(dir, `exp-${Math.random().toString(36).slice(2, 8)}.yaml`);
  writeFileSync(file, stringify({ name: 'data-test', artifacts_dir: join(dir, 'artifacts'), dataset, ...extra }));
  return file;
}

export function experiment(dir: string, dataset: Record<string, unknown>, extra: Record<string, unknown> = {}): Experiment {
  return loadExperiment(experimentFile(dir, dataset, extra)).config;
}

const COLOURS: Record<string, [number, number, number]> = { cat: [220, 40, 40], dog: [40, 60, 220], fox: [240, 150, 20] };
const FORMATS = { cat: 'png', dog: 'jpeg', fox: 'webp' } as const;

async function makeImage(file: string, rgb: [number, number, number], w: number, h: number, format: 'png' | 'jpeg' | 'webp') {
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .toFormat(format)
    .toFile(file);
}

/** root/<class>/<n>.<ext>: 5 images per class, of varied sizes, in PNG, JPEG and WebP. */
export async function makeImageFolder(root: string, perClass = 5): Promise<void> {
  for (const [cls, rgb] of Object.entries(COLOURS)) {
    mkdirSync(join(root, cls), { recursive: true });
    const ext = FORMATS[cls as keyof typeof FORMATS];
    for (let i = 0; i < perClass; i++) await makeImage(join(root, cls, `${i}.${ext === 'jpeg' ? 'jpg' : ext}`), rgb, 30 + 7 * i, 24 + 5 * i, ext);
  }
}


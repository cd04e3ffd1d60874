// tfjs-core's Node build (dist/tf-core.node.js) ships without gradient definitions, and its ESM
// build cannot be imported by Node directly (extensionless imports). So the first training
// process bundles dist/register_all_gradients.js with esbuild (already installed with tsx) into
// a cache file and imports it. The bundle carries its own copy of the ops, but registries,
// engine and tensors are global in tfjs, so the gradients land in the engine we train with.
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

let registered: Promise<void> | undefined;

export function registerGradients(): Promise<void> {
  registered ??= load();
  return registered;
}

async function load(): Promise<void> {
  if (tf.getGradient('AddN')) return;
  const require = createRequire(import.meta.url);
  const corePkg = require.resolve('@tensorflow/tfjs-core/package.json');
  const version = (require(corePkg) as { version: string }).version;
  const entry = join(dirname(corePkg), 'dist', 'register_all_gradients.js');
  const cacheDir = join(tmpdir(), 'mmrun-cache');
  const file = join(cacheDir, `tfjs-core-${version}-gradients.mjs`);
  if (!existsSync(file)) {
    const { buildSync } = (await import('esbuild')) as typeof import('esbuild');
    const out = buildSync({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent' });
    mkdirSync(cacheDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, out.outputFiles[0].text);
    renameSync(tmp, file);
  }
  await import(pathToFileURL(file).href);
  if (!tf.getGradient('AddN')) throw new Error('tfjs gradients could not be registered');
}

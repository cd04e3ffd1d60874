// tfjs-core's Node build (dist/tf-core.node.js) ships without gradient definitions, and its ESM
// build cannot be imported by Node directly (extensionless imports). So mmrun bundles
// dist/register_all_gradients.js with esbuild (a dependency) into one self-contained module and
// imports it. The bundle carries its own copy of the ops, but registries, engine and tensors are
// global in tfjs, so the gradients land in the engine we train with.
//
// The bundle is cached in the user's own code cache (code-cache.ts: 0700, owned, never a shared
// /tmp folder), and the bytes are checked against their recorded SHA-256 and imported from memory
// (a data: URL), so what runs is exactly what was verified. Without a usable cache folder it is
// bundled in memory on every start (about 1 s), never skipped.
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { codeCacheDir, readVerified, writeVerified } from './backend/code-cache.ts';

let registered: Promise<void> | undefined;

export function registerGradients(): Promise<void> {
  registered ??= load();
  return registered;
}

/** Bundles tfjs-core's gradient registrations into one ESM module without imports. */
async function bundle(entry: string): Promise<string> {
  const { buildSync } = (await import('esbuild')) as typeof import('esbuild');
  const out = buildSync({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent' });
  return out.outputFiles[0].text;
}

/** The bundle's source: from the verified cache, else freshly bundled (and cached when possible). */
export async function gradientsModuleSource(): Promise<{ code: string; from: 'cache' | 'bundled' }> {
  const require = createRequire(import.meta.url);
  const corePkg = require.resolve('@tensorflow/tfjs-core/package.json');
  const version = (require(corePkg) as { version: string }).version;
  const entry = join(dirname(corePkg), 'dist', 'register_all_gradients.js');
  const cache = codeCacheDir('generated');
  const file = cache.ok ? join(cache.dir, `tfjs-core-${version}-gradients.mjs`) : undefined;
  const cached = file ? readVerified(file) : undefined;
  if (cached) return { code: cached.toString('utf8'), from: 'cache' };
  const code = await bundle(entry);
  if (file) {
    try {
      writeVerified(file, code);
    } catch {
      /* a cache that cannot be written costs a bundle next time, nothing else */
    }
  }
  return { code, from: 'bundled' };
}

async function load(): Promise<void> {
  if (tf.getGradient('AddN')) return;
  const { code } = await gradientsModuleSource();
  await import(`data:text/javascript;base64,${Buffer.from(code, 'utf8').toString('base64')}`);
  if (!tf.getGradient('AddN')) throw new Error('tfjs gradients could not be registered');
}

#!/usr/bin/env node
// Entry point. Runs the compiled dist/ (built by `npm ci`/`npm run build`) when it matches the
// sources, so commands start without compiling TypeScript; otherwise (no build, or sources edited
// since) runs the TypeScript sources through tsx: slower to start, same behaviour.
// MMRUN_SHOW_ENTRY=1 prints which one runs and why; MMRUN_NO_DIST=1 forces tsx.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chooseEntry } from './entry.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = chooseEntry(root);
if (process.env.MMRUN_SHOW_ENTRY === '1') process.stderr.write(`mmrun: running ${entry.use === 'dist' ? 'dist/ (compiled)' : `the TypeScript sources through tsx: ${entry.reason}`}\n`);
if (entry.use === 'dist') {
  await import('../dist/cli.js');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../runner/cli.ts');
}

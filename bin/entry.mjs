// Which code bin/mmrun.js runs: the compiled dist/ (fast start) while it matches runner/ exactly,
// else the TypeScript sources through tsx. dist/.build.json records the modification time and
// size of every source file the build read; any edited, added or removed file makes dist stale.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const STAMP = '.build.json';

/** Files under `dir` (relative paths, sorted), skipping dot-files such as editor swap files. */
export function listSources(dir, prefix = '') {
  const out = [];
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listSources(dir, rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out.sort();
}

/** `{ use: 'dist' }` when dist/ was built from the current sources, else `{ use: 'tsx', reason }`. */
export function chooseEntry(root, env = process.env) {
  if (env.MMRUN_NO_DIST === '1') return { use: 'tsx', reason: 'MMRUN_NO_DIST=1' };
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(path.join(root, 'dist', STAMP), 'utf8'));
  } catch {
    return { use: 'tsx', reason: 'dist/ is not built (npm run build)' };
  }
  const recorded = stamp?.sources ?? {};
  const runner = path.join(root, 'runner');
  let current;
  try {
    current = listSources(runner);
  } catch {
    return { use: 'tsx', reason: 'runner/ cannot be read' };
  }
  if (current.length !== Object.keys(recorded).length) return { use: 'tsx', reason: 'dist/ is stale (files added or removed since the build)' };
  for (const rel of current) {
    const seen = recorded[rel];
    if (!seen) return { use: 'tsx', reason: `dist/ is stale (${rel} is new)` };
    const { mtimeMs, size } = statSync(path.join(runner, rel));
    if (mtimeMs !== seen[0] || size !== seen[1]) return { use: 'tsx', reason: `dist/ is stale (${rel} changed since the build)` };
  }
  return { use: 'dist' };
}

// The run store written by mmrun before identity v2 (tests/fixtures/config/legacy-store:
// 3 finished runs, 1 failed), copied so a test can migrate it.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempFiles } from './tmp.ts';

const FIXTURE = 'tests/fixtures/config/legacy-store';

/** The v1 run ids of the fixture, in plan order. */
export const LEGACY_IDS = ['b71df0078d6b', '7a1774733d7b', '467efdf9288e', '3777824e9f78'];

/** A copy of the legacy store whose experiment file points at the copy's artifacts. */
export function legacyCopy(): { dir: string; file: string } {
  const t = tempFiles();
  cpSync(FIXTURE, t.dir, { recursive: true });
  const file = join(t.dir, 'legacy.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('artifacts_dir: /old-machine/artifacts', `artifacts_dir: ${t.dir}`));
  return { dir: t.dir, file };
}

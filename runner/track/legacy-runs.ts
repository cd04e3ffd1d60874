/**
 * One-time migration of run directories named by an older run-id scheme (identity v1, before
 * issue 16): the directory is renamed to the run's current id and its id fields rewritten, the old
 * id kept as `legacyId` in spec.json. Which directory maps to which id is decided by the caller
 * (runner/plan-experiment.ts), which knows the identity rules; this module only moves files.
 */
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../files/atomic.ts';
import { RUN_FILES, RunStore, runDirOf, type RunSpecFile } from './run-store.ts';

/** Run directories under `<artifactsDir>/runs/` whose name is not in `known`, with their spec (unreadable ones skipped). */
export function otherRunDirs(artifactsDir: string, known: ReadonlySet<string>): { id: string; spec: RunSpecFile; state?: string }[] {
  const root = join(artifactsDir, 'runs');
  if (!existsSync(root)) return [];
  const out: { id: string; spec: RunSpecFile; state?: string }[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory() || known.has(e.name) || !existsSync(join(root, e.name, RUN_FILES.spec))) continue;
    try {
      const store = new RunStore(join(root, e.name));
      out.push({ id: e.name, spec: store.readSpec(), state: store.readStatus()?.state });
    } catch {
      // an unreadable run directory is reported by the readers, not migrated
    }
  }
  return out;
}

/** Renames `runs/<from>` to `runs/<to>` and rewrites the ids it records; a no-op when another process did it first. */
export function migrateRunDir(artifactsDir: string, from: string, to: string): void {
  const target = runDirOf(artifactsDir, to);
  if (existsSync(target)) return;
  try {
    renameSync(runDirOf(artifactsDir, from), target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTEMPTY' || code === 'EEXIST') return; // another mmrun moved it first
    throw err;
  }
  const store = new RunStore(target);
  const spec = store.readSpec();
  writeJsonAtomic(store.path('spec'), { ...spec, id: to, legacyId: from });
  const status = store.readStatus();
  if (status) store.writeStatus({ ...status, runId: to });
  const summary = store.readSummary();
  if (summary) store.writeSummary({ ...summary, runId: to });
}

/**
 * One-time migration of run directories named by an older run-id scheme (identity v1, before
 * issue 16): the directory is renamed to the run's current id and its id fields rewritten, the old
 * id kept as `legacyId` in spec.json. Which directory maps to which id is decided by the caller
 * (runner/plan-experiment.ts), which knows the identity rules; this module only moves files.
 */
import { existsSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { RUN_FILES, RunStore, runDirOf, type RunSpecFile } from './run-store.ts';

/** Run directories under `<artifactsDir>/runs/` whose name is not in `known`, with their spec (unreadable ones skipped). */
export function otherRunDirs(artifactsDir: string, known: ReadonlySet<string>): { id: string; spec: RunSpecFile; state?: string; endedAt?: string }[] {
  const root = join(artifactsDir, 'runs');
  if (!existsSync(root)) return [];
  const out: { id: string; spec: RunSpecFile; state?: string; endedAt?: string }[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory() || known.has(e.name) || !existsSync(join(root, e.name, RUN_FILES.spec))) continue;
    try {
      const store = new RunStore(join(root, e.name));
      const status = store.readStatus();
      out.push({ id: e.name, spec: store.readSpec(), state: status?.state, endedAt: status?.endedAt ?? undefined });
    } catch {
      // an unreadable run directory is reported by the readers, not migrated
    }
  }
  return out;
}

/**
 * Rewrites the ids `runs/<from>` records, then renames it to `runs/<to>`. The ids are rewritten
 * first so that a kill at any point leaves either an unmoved directory (moved again next time:
 * the rewrite is idempotent) or a moved one with its ids right, never a `runs/<to>` that records
 * `<from>`. A no-op (false) when `runs/<to>` holds anything or another process moved the directory first.
 */
export function migrateRunDir(artifactsDir: string, from: string, to: string): boolean {
  const target = runDirOf(artifactsDir, to);
  // An empty folder there (left by a launcher killed before it wrote spec.json) is replaced by the rename.
  if (existsSync(target) && readdirSync(target).length > 0) return false;
  const store = new RunStore(runDirOf(artifactsDir, from));
  try {
    // An older run's unverified files stay unverified: no checksum is made up for them.
    const spec = store.readSpecChecked();
    store.writeSpec({ ...spec.value, id: to, legacyId: spec.value.legacyId ?? from }, { verified: spec.verified });
    const status = store.readStatus();
    if (status) store.writeStatus({ ...status, runId: to });
    const summary = store.readSummaryChecked();
    if (summary) store.writeSummary({ ...summary.value, runId: to }, { verified: summary.verified });
    renameSync(store.dir, target); // never onto a non-empty folder (ENOTEMPTY)
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // another mmrun moved it first (or a run directory appeared at the target): leave both as they are
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || !existsSync(store.dir)) return false;
    throw err;
  }
}

/**
 * The one planning path every command takes: load the file, refuse a sweep too large before
 * expanding it, fingerprint the source data a run id depends on (runner/data, the I/O half), then
 * plan (runner/sweep, pure). A missing or unreadable dataset.path is a located problem here.
 */
import { ConfigError, MmrunError, type Problem } from './errors.ts';
import { loadExperiment, type LoadedExperiment } from './config/index.ts';
import type { ConfigPath } from './config/locate.ts';
import { sourceFingerprint } from './data/sources/fingerprint.ts';
import { checkPlanSize, legacyRunId, planSweep, runId, type Plan, type SourceHashes } from './sweep/index.ts';
import { migrateRunDir, otherRunDirs } from './track/legacy-runs.ts';
import { existsSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdirLevels } from './files/mkdir.ts';
import { errnoMeaning, isFsError } from './files/fs-errors.ts';
import { basename, dirname, join, resolve } from 'node:path';

export interface PlanExperimentOptions {
  maxRuns?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Commands that look runs up (run, status, compare, sync): rename run directories written by
   * the previous id scheme to their current id, once. The artifacts folder to use (true: the config's).
   */
  adoptLegacyRunsIn?: string | true;
  /** `mmrun run`: the artifacts folder must be a writable folder (checked at once, before anything else). */
  writableArtifacts?: boolean;
}

/** Every dataset.path a run of the sweep can use, with where it was written. */
function datasetPaths(loaded: LoadedExperiment): { path: string; source: string; where: ConfigPath }[] {
  const u = loaded.unresolved;
  const out: { path: string; source: string; where: ConfigPath }[] = [];
  if (u.dataset.path) out.push({ path: u.dataset.path, source: u.dataset.source, where: ['dataset', 'path'] });
  (u.grid['dataset.path'] ?? []).forEach((p, i) => typeof p === 'string' && out.push({ path: p, source: u.dataset.source, where: ['grid', 'dataset.path', i] }));
  for (const [name, overrides] of Object.entries(u.ablations)) {
    const o = overrides as Record<string, unknown> | null;
    const p = o?.['dataset.path'];
    if (typeof p === 'string') out.push({ path: p, source: u.dataset.source, where: ['ablations', name, 'dataset.path'] });
  }
  return out;
}

/** Content hashes of the sweep's source folders; a folder that cannot be read is a located problem. */
export function sourceHashesOf(loaded: LoadedExperiment, env: NodeJS.ProcessEnv = process.env): SourceHashes {
  const hashes: Record<string, string> = {};
  const problems: Problem[] = [];
  for (const { path, source, where } of datasetPaths(loaded)) {
    if (path in hashes) continue;
    try {
      hashes[path] = sourceFingerprint({ source: source as 'idx', path }, { env });
    } catch (err) {
      if (isFsError(err)) problems.push(loaded.locate(where, `dataset.path ${path}: cannot read ${err.path ?? 'its files'}: ${errnoMeaning(err)}`));
      else if (err instanceof MmrunError) problems.push(loaded.locate(where, err.message));
      else throw err;
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return hashes;
}

/**
 * Finds run directories of the previous id scheme that belong to this plan and renames them to
 * their current id. A directory belongs when its name is the v1 id of its own recorded config
 * (so it was written by v1) and the current rules give that config one of the plan's ids.
 * Only runs that ended (finished, failed, killed) are moved: a live worker keeps its directory.
 */
export function adoptLegacyRuns(plan: Plan, artifactsDir: string, env: NodeJS.ProcessEnv = process.env): { from: string; to: string }[] {
  const planned = new Set(plan.runs.map((r) => r.id));
  const missing = plan.runs.filter((r) => !existsSync(join(artifactsDir, 'runs', r.id, 'spec.json')));
  if (missing.length === 0) return [];
  const wanted = new Set(missing.map((r) => r.id));
  // Several old directories can map to one current id (the old ids hashed the backend and the
  // absolute data path): the finished one wins over a failed or killed one, then the newest.
  const candidates = new Map<string, { id: string; finished: boolean; endedAt: string }[]>();
  for (const { id, spec, state, endedAt } of otherRunDirs(artifactsDir, planned)) {
    if (!spec.config || typeof spec.seed !== 'number' || (state !== 'finished' && state !== 'failed' && state !== 'killed')) continue;
    let current: string;
    try {
      if (legacyRunId(spec.config, spec.seed) !== id) continue;
      const path = spec.config.dataset?.path;
      const sources = path ? { [path]: sourceFingerprint({ source: spec.config.dataset.source, path }, { env }) } : {};
      current = runId(spec.config, spec.seed, { sources });
    } catch {
      continue; // its source data is gone or its config predates fields we need: leave it as it is
    }
    if (!wanted.has(current)) continue;
    const list = candidates.get(current) ?? [];
    list.push({ id, finished: state === 'finished', endedAt: endedAt ?? '' });
    candidates.set(current, list);
  }
  const moved: { from: string; to: string }[] = [];
  for (const [current, list] of candidates) {
    list.sort((a, b) => Number(b.finished) - Number(a.finished) || b.endedAt.localeCompare(a.endedAt));
    for (const { id } of list) {
      try {
        if (!migrateRunDir(artifactsDir, id, current)) continue;
      } catch {
        continue; // a read-only store (an archive read by status or report): leave it; `run` checks it is writable first
      }
      moved.push({ from: id, to: current });
      break;
    }
  }
  return moved;
}

/** The path with symbolic links of its existing part resolved (a link into /proc is under /proc). */
function realLocation(abs: string): string {
  let p = abs;
  const rest: string[] = [];
  while (!existsSync(p) && dirname(p) !== p) {
    rest.unshift(basename(p));
    p = dirname(p);
  }
  try {
    return join(realpathSync(p), ...rest);
  } catch {
    return abs;
  }
}

/** A clear error at once when the artifacts folder cannot hold run directories. */
export function assertWritableArtifactsDir(dir: string): void {
  const abs = resolve(dir);
  const fail = (why: string) => {
    throw new MmrunError(`artifacts_dir ${abs}: ${why}`, 'Set artifacts_dir in the experiment file to a folder you can write to.');
  };
  if (/^\/(proc|sys|dev)(\/|$)/.test(realLocation(abs))) fail('is under a kernel file system (/proc, /sys or /dev), not a place for files');
  if (existsSync(abs) && !statSync(abs).isDirectory()) fail('is a file, not a folder');
  const probe = join(abs, `.mmrun-write-test-${process.pid}`);
  try {
    mkdirLevels(abs);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why: Record<string, string> = { EACCES: 'permission denied', EPERM: 'permission denied', EROFS: 'read-only file system', ENOSPC: 'the disk is full', ENOTDIR: 'a part of the path is a file, not a folder' };
    fail(`cannot be written (${why[e.code ?? ''] ?? e.message})`);
  }
}

export function planExperiment(file: string, opts: PlanExperimentOptions = {}): { loaded: LoadedExperiment; plan: Plan; adopted: { from: string; to: string }[] } {
  const loaded = loadExperiment(file, { checkSize: (partial) => checkPlanSize(partial, opts.maxRuns) });
  if (opts.writableArtifacts) assertWritableArtifactsDir(loaded.config.artifacts_dir);
  const plan = planSweep(loaded, { maxRuns: opts.maxRuns, sources: sourceHashesOf(loaded, opts.env) });
  const where = opts.adoptLegacyRunsIn === true ? loaded.config.artifacts_dir : opts.adoptLegacyRunsIn;
  const adopted = where !== undefined ? adoptLegacyRuns(plan, resolve(where), opts.env) : [];
  return { loaded, plan, adopted };
}

/** Planning a sweep: expansion, the size guard and the checks that need every run. Pure. */
import { ConfigError, MmrunError, type Problem } from '../errors.ts';
import type { LoadedExperiment } from '../config/index.ts';
import { checkSemantics } from '../config/semantics.ts';
import type { ConfigPath } from '../config/locate.ts';
import { BASELINE, expandRuns, seedCount, type RunSpec } from './expand.ts';
import { shortHash, type SourceHashes } from './identity.ts';

export type { RunSpec } from './expand.ts';
export { BASELINE, expandRuns, gridCells, seedList, seedCount, applyOverrides } from './expand.ts';
export { canonicalJson, shortHash, runId, legacyRunId, runIdentity, datasetKey, jointKey, augmentationKey, IDENTITY_VERSION, type SourceHashes } from './identity.ts';

export interface Plan {
  experiment: string;
  sweepId: string;
  file: string;
  contentHash: string;
  runs: RunSpec[];
  factors: { grid: Record<string, number>; ablations: number; seeds: number };
}

export const DEFAULT_MAX_RUNS = 10_000;

function factorsOf(loaded: Pick<LoadedExperiment, 'unresolved'>): Plan['factors'] {
  const { grid, ablations, seeds } = loaded.unresolved;
  return {
    grid: Object.fromEntries(Object.entries(grid).map(([k, v]) => [k, v?.length ?? 0])),
    ablations: Object.keys(ablations).length,
    seeds: seedCount(seeds),
  };
}

export function planSize(f: Plan['factors']): number {
  return Object.values(f.grid).reduce((a, b) => a * b, 1) * (f.ablations + 1) * f.seeds;
}

/** Where a per-run problem at `path` should point: the override that set it, if any. */
function overrideLocation(run: RunSpec, overrides: Record<string, unknown>, path: readonly (string | number)[], inBase: boolean): ConfigPath {
  const dotted = path.join('.');
  // The override that wrote this field, or a whole map holding it (grid over `training.joint`), or a field inside it.
  const covers = (key: string) => key === dotted || dotted.startsWith(key + '.') || key.startsWith(dotted + '.');
  const coord = Object.keys(run.coords).find(covers);
  if (coord) return ['grid', coord];
  const key = run.ablation !== BASELINE ? Object.keys(overrides).find(covers) : undefined;
  if (key) return ['ablations', run.ablation, key];
  if (inBase) return path;
  // A problem the base config does not have comes from this run's overrides, even about another field.
  const first = Object.keys(run.coords)[0];
  if (first !== undefined) return ['grid', first];
  if (run.ablation !== BASELINE) return ['ablations', run.ablation];
  return path;
}

export interface PlanOptions {
  /** Largest sweep accepted (default DEFAULT_MAX_RUNS); the size is counted before anything is expanded. */
  maxRuns?: number;
  /** Content hashes of the source data by absolute dataset.path (runner/plan-experiment.ts computes them). */
  sources?: SourceHashes;
}

/** Refuses a sweep above `maxRuns` before expanding it, so that no command can hang on a huge sweep. */
export function checkPlanSize(loaded: Pick<LoadedExperiment, 'file' | 'unresolved'>, maxRuns = DEFAULT_MAX_RUNS): Plan['factors'] {
  const factors = factorsOf(loaded);
  const size = planSize(factors);
  if (size > maxRuns) {
    const parts = [...Object.entries(factors.grid).map(([k, n]) => `${n} (${k})`), `${factors.ablations + 1} (baseline + ablations)`, `${factors.seeds} (seeds)`];
    throw new MmrunError(`${loaded.file}: the sweep expands to ${size.toLocaleString('en')} runs = ${parts.join(' × ')}, above the maximum of ${maxRuns.toLocaleString('en')}.`, 'Shrink the grid, or raise the limit with --max-runs.');
  }
  return factors;
}

export function planSweep(loaded: LoadedExperiment, opts: PlanOptions = {}): Plan {
  const factors = checkPlanSize(loaded, opts.maxRuns);
  const runs = expandRuns(loaded.unresolved, { sources: opts.sources });
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const report = (path: ConfigPath, message: string, at: 'key' | 'value' = 'value') => {
    const p = loaded.locate(path, message, at);
    const key = `${p.file}:${p.line}:${p.col}:${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(p);
    }
  };
  const inBase = new Set(checkSemantics(loaded.config).map((l) => `${l.path.join('.')}|${l.message}`));
  for (const run of runs) {
    for (const l of checkSemantics(run.config)) {
      const where = overrideLocation(run, (loaded.unresolved.ablations[run.ablation] ?? {}) as Record<string, unknown>, l.path, inBase.has(`${l.path.join('.')}|${l.message}`));
      report(where, where === l.path ? l.message : `in run "${run.name}": ${l.message}`, where === l.path ? l.at : 'key');
    }
  }
  const byId = new Map<string, RunSpec>();
  for (const run of runs) {
    const twin = byId.get(run.id);
    if (!twin) {
      byId.set(run.id, run);
      continue;
    }
    const where: ConfigPath = run.ablation !== BASELINE ? ['ablations', run.ablation] : ['grid'];
    report(where, `runs "${twin.name}" and "${run.name}" expand to the same resolved config (id ${run.id}): this override changes nothing`, 'key');
  }
  if (problems.length) throw new ConfigError(problems);
  const ids = runs.map((r) => r.id).sort();
  return {
    experiment: loaded.config.name,
    sweepId: `${loaded.config.name}-${shortHash(ids, 8)}`,
    file: loaded.file,
    contentHash: loaded.contentHash,
    runs,
    factors,
  };
}

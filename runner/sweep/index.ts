/** Planning a sweep: expansion, the size guard and the checks that need every run. Pure. */
import { ConfigError, MmrunError, type Problem } from '../errors.ts';
import type { LoadedExperiment } from '../config/index.ts';
import { checkSemantics } from '../config/semantics.ts';
import type { ConfigPath } from '../config/locate.ts';
import { BASELINE, expandRuns, seedList, type RunSpec } from './expand.ts';
import { shortHash } from './identity.ts';

export type { RunSpec } from './expand.ts';
export { BASELINE, expandRuns, gridCells, seedList, applyOverrides } from './expand.ts';
export { canonicalJson, shortHash, runId, datasetKey, jointKey, augmentationKey } from './identity.ts';

export interface Plan {
  experiment: string;
  sweepId: string;
  file: string;
  contentHash: string;
  runs: RunSpec[];
  factors: { grid: Record<string, number>; ablations: number; seeds: number };
}

export const DEFAULT_MAX_RUNS = 10_000;

function factorsOf(loaded: LoadedExperiment): Plan['factors'] {
  const { grid, ablations, seeds } = loaded.unresolved;
  return {
    grid: Object.fromEntries(Object.entries(grid).map(([k, v]) => [k, v?.length ?? 0])),
    ablations: Object.keys(ablations).length,
    seeds: seedList(seeds).length,
  };
}

export function planSize(f: Plan['factors']): number {
  return Object.values(f.grid).reduce((a, b) => a * b, 1) * (f.ablations + 1) * f.seeds;
}

/** Where a per-run problem at `path` should point: the override that set it, if any. */
function overrideLocation(run: RunSpec, path: readonly (string | number)[]): ConfigPath {
  const dotted = path.join('.');
  if (dotted in run.coords) return ['grid', dotted];
  if (run.ablation !== BASELINE) return ['ablations', run.ablation, dotted];
  return path;
}

export function planSweep(loaded: LoadedExperiment, opts: { maxRuns?: number } = {}): Plan {
  const factors = factorsOf(loaded);
  const size = planSize(factors);
  const maxRuns = opts.maxRuns ?? DEFAULT_MAX_RUNS;
  if (size > maxRuns) {
    const parts = [...Object.entries(factors.grid).map(([k, n]) => `${n} (${k})`), `${factors.ablations + 1} (baseline + ablations)`, `${factors.seeds} (seeds)`];
    throw new MmrunError(`${loaded.file}: the sweep expands to ${size.toLocaleString('en')} runs = ${parts.join(' × ')}, above the maximum of ${maxRuns.toLocaleString('en')}.`, 'Shrink the grid, or raise the limit with --max-runs.');
  }
  const runs = expandRuns(loaded.unresolved);
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
  for (const run of runs) {
    for (const l of checkSemantics(run.config)) {
      const where = overrideLocation(run, l.path);
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

/** Sweep expansion: grid (cartesian product) × (baseline + ablations) × seeds → RunSpecs. Pure. */
import type { Experiment } from '../config/types.gen.ts';
import { resolvePresets } from '../config/presets.ts';
import { overrideValue } from '../config/merge.ts';
import { getPath, setPath, splitPath } from '../config/paths.ts';
import { validateAndFill } from '../config/schema.ts';
import { runId, type SourceHashes } from './identity.ts';

export interface RunSpec {
  /** Hash of the canonical resolved config, seed included. */
  id: string;
  /** Readable: "ratio=4 image_fraction=0.1 no_align seed=2". */
  name: string;
  /** Grid path → value of this run ({} without a grid). */
  coords: Record<string, unknown>;
  /** "baseline" or the ablation's name. */
  ablation: string;
  seed: number;
  /** Fully resolved: this run's grid values and ablation applied; grid/ablations emptied, seeds = [seed]. */
  config: Experiment;
}

export const BASELINE = 'baseline';

/** How many seeds, without listing them (a sweep is counted before it is expanded). */
export const seedCount = (seeds: Experiment['seeds']): number => (typeof seeds === 'number' ? seeds : seeds.length);

export function seedList(seeds: Experiment['seeds']): number[] {
  return typeof seeds === 'number' ? Array.from({ length: seeds }, (_, i) => i) : [...seeds];
}

export function gridCells(grid: Experiment['grid']): Record<string, unknown>[] {
  let cells: Record<string, unknown>[] = [{}];
  for (const [path, values] of Object.entries(grid)) {
    cells = cells.flatMap((cell) => (values ?? []).map((v) => ({ ...cell, [path]: v })));
  }
  return cells;
}

const lastSegment = (path: string) => path.split('.').pop()!;

function runName(coords: Record<string, unknown>, ablation: string, seed: number): string {
  const parts = Object.entries(coords).map(([p, v]) => `${lastSegment(p)}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  if (ablation !== BASELINE) parts.push(ablation);
  parts.push(`seed=${seed}`);
  return parts.join(' ');
}

/**
 * Applies a run's overrides to the config as written (before presets): a map is deep-merged onto
 * the base value exactly as `extends` merges maps, then schema defaults fill what a new map lacks
 * (e.g. a partial early_stopping) and the presets fill the model sizes.
 */
export function applyOverrides(unresolved: Experiment, overrides: Record<string, unknown>): Experiment {
  let config = unresolved;
  for (const [dotted, value] of Object.entries(overrides)) {
    const path = splitPath(dotted);
    config = setPath(config, path, overrideValue(getPath(config, path), value));
  }
  if (Object.keys(overrides).length > 0) validateAndFill(config); // problems were reported when the file was loaded
  return { ...config, model: resolvePresets(config.model) };
}

/**
 * Every run of the sweep, in a stable order: grid cells, then ablations (baseline first), then seeds.
 * `unresolved` has schema defaults but not presets, so an override of `model.*.preset` fills its own sizes.
 */
export function expandRuns(unresolved: Experiment, opts: { sources?: SourceHashes } = {}): RunSpec[] {
  const runs: RunSpec[] = [];
  const ablations = [[BASELINE, {}], ...Object.entries(unresolved.ablations)] as [string, Record<string, unknown>][];
  for (const coords of gridCells(unresolved.grid)) {
    for (const [ablation, overrides] of ablations) {
      const resolved = applyOverrides(unresolved, { ...coords, ...overrides });
      for (const seed of seedList(unresolved.seeds)) {
        const config: Experiment = { ...structuredClone(resolved), grid: {}, ablations: {}, seeds: [seed] };
        runs.push({ id: runId(config, seed, opts), name: runName(coords, ablation, seed), coords, ablation, seed, config });
      }
    }
  }
  return runs;
}

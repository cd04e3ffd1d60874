/**
 * Loading an experiment file: YAML with positions → `extends` merged → schema defaults →
 * presets → checks the schema cannot express (grid and ablation paths and values). Every problem
 * is collected and thrown together as one ConfigError.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, type Problem } from '../errors.ts';
import { problemAtPath, type ConfigPath } from './locate.ts';
import { deepMerge, isPlainObject, overrideValue, type Json } from './merge.ts';
import { getPath, setPath, splitPath } from './paths.ts';
import { resolvePresets } from './presets.ts';
import { schemaAt, validateAndFill } from './schema.ts';
import { mergeOntoDefaultMaps, settingsOfDisabledMaps } from './default-maps.ts';
import { checkSemantics } from './semantics.ts';
import { FORBIDDEN_KEYS, readSource, type SourceFile } from './source.ts';
import { closest } from './suggest.ts';
import type { Experiment } from './types.gen.ts';
import { describeErrors, locateAll, type Located } from './validate.ts';
import { checkLanguage } from './language.ts';

export type { Experiment } from './types.gen.ts';
export { checkSemantics } from './semantics.ts';
export { resolvePresets } from './presets.ts';

export interface LoadedExperiment {
  file: string;
  /** Resolved base config: defaults and presets filled; grid, ablations and seeds as written. */
  config: Experiment;
  /** The same before presets are filled (what sweep expansion applies overrides to). */
  unresolved: Experiment;
  /** The file and the parents it extends, in merge order (parents first). */
  sources: SourceFile[];
  /** sha256 of the texts of all sources, in merge order. */
  contentHash: string;
  /** A problem located where `path` was written (for checks done after loading, e.g. in the sweep). */
  locate(path: ConfigPath, message: string, at?: 'key' | 'value'): Problem;
}

/** Keys that do not shape a run, so sweeping them is meaningless. */
const NOT_SWEEPABLE = new Set(['name', 'description', 'extends', 'grid', 'ablations', 'seeds', 'launcher', 'tracking', 'artifacts_dir', 'report']);

function fileKind(abs: string): 'file' | 'directory' | 'missing' | 'loop' {
  try {
    return statSync(abs).isDirectory() ? 'directory' : 'file';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ELOOP' ? 'loop' : 'missing';
  }
}

/** The folder of the last file (in merge order) that wrote `path`: relative paths are relative to it. */
function writerDir(sources: SourceFile[], path: string[], fallback: string): string {
  for (let i = sources.length - 1; i >= 0; i--) if (getPath(sources[i].data, path) !== undefined) return dirname(sources[i].file);
  return dirname(fallback);
}

/** Makes every dataset.path (base, grid values, ablations) absolute, relative to the file that wrote it. */
function resolveDatasetPaths(config: Experiment, sources: SourceFile[], file: string): void {
  const abs = (p: unknown, path: string[]) => (typeof p === 'string' && p !== '' && !isAbsolute(p) ? resolve(writerDir(sources, path, file), p) : p);
  if (config.dataset.path) config.dataset.path = abs(config.dataset.path, ['dataset', 'path']) as string;
  const grid = config.grid as Record<string, unknown[] | undefined>;
  if (Array.isArray(grid['dataset.path'])) grid['dataset.path'] = grid['dataset.path'].map((p) => abs(p, ['grid', 'dataset.path']));
  for (const [name, overrides] of Object.entries(config.ablations)) {
    const o = overrides as Record<string, unknown> | null;
    if (o && 'dataset.path' in o) o['dataset.path'] = abs(o['dataset.path'], ['ablations', name, 'dataset.path']);
  }
}

function loadChain(file: string, stack: string[], problems: Problem[]): SourceFile[] {
  const { source, problems: own } = readSource(file);
  problems.push(...own);
  if (!source) return [];
  const ext = isPlainObject(source.data) ? source.data.extends : undefined;
  const parents = typeof ext === 'string' ? [ext] : Array.isArray(ext) ? ext.filter((p): p is string => typeof p === 'string') : [];
  const chain: SourceFile[] = [];
  parents.forEach((parent, i) => {
    const at: ConfigPath = typeof ext === 'string' ? ['extends'] : ['extends', i];
    const abs = resolve(dirname(file), parent);
    const kind = parent.trim() === '' ? 'empty' : fileKind(abs);
    if (kind === 'empty') {
      problems.push(problemAtPath([source], at, 'extends is empty: name a parent YAML file, relative to this file'));
    } else if ([...stack, resolve(file)].includes(abs)) {
      const cycle = [...stack, resolve(file), abs].map((f) => f.split('/').pop()).join(' → ');
      problems.push(problemAtPath([source], at, `extends cycle: ${cycle}`));
    } else if (kind === 'loop') {
      problems.push(problemAtPath([source], at, `parent '${parent}' is a symbolic link loop (a link that leads back to itself; looked at ${abs})`));
    } else if (kind === 'directory') {
      problems.push(problemAtPath([source], at, `parent '${parent}' is a directory (${abs}); extends names a YAML file`));
    } else if (kind === 'missing') {
      problems.push(problemAtPath([source], at, `parent file '${parent}' not found (looked for ${abs})`));
    } else {
      chain.push(...loadChain(abs, [...stack, resolve(file)], problems));
    }
  });
  return [...chain, source];
}

function mergeSources(sources: SourceFile[]): Record<string, Json> {
  let merged: Json = {};
  for (const s of sources) {
    const data = isPlainObject(s.data) ? { ...s.data } : {};
    delete data.extends;
    merged = deepMerge(merged, data);
  }
  return merged as Record<string, Json>;
}

/** Errors of a config with one override applied, keeping only those about the overridden path. */
function overrideProblems(filled: Record<string, Json>, path: string[], value: unknown): Located[] {
  // The value a run gets: a map is merged onto the base value, as in the sweep expansion.
  const candidate = setPath(filled, path, overrideValue(getPath(filled, path), value));
  const errors = validateAndFill(candidate);
  const pointer = '/' + path.join('/');
  return describeErrors(
    errors.filter((e) => e.instancePath === pointer || e.instancePath.startsWith(pointer + '/')),
    candidate,
  );
}

function checkOverridePath(dotted: string, where: ConfigPath): Located | undefined {
  const path = splitPath(dotted);
  const forbidden = path.find((k) => FORBIDDEN_KEYS.has(k));
  if (forbidden) {
    return { path: where, at: 'key', message: `path '${dotted}' uses '${forbidden}': mmrun rejects __proto__, constructor and prototype anywhere in a file (no config field has these names)` };
  }
  if (NOT_SWEEPABLE.has(path[0])) {
    return { path: where, at: 'key', message: `'${path[0]}' does not shape a run and cannot be overridden per run` };
  }
  const found = schemaAt(path);
  if (found.ok) return undefined;
  const guess = closest(path[found.depth], found.allowed);
  const known = path.slice(0, found.depth).join('.') || '(top level)';
  const suggestion = guess ? ` (did you mean '${[...path.slice(0, found.depth), guess].join('.')}'?)` : '';
  return { path: where, at: 'key', message: `path '${dotted}' does not exist: '${path[found.depth]}' is not a key of ${known}${suggestion}` };
}

function checkOverrides(config: Experiment, filled: Record<string, Json>): Located[] {
  const out: Located[] = [];
  for (const [dotted, values] of Object.entries(config.grid)) {
    const bad = checkOverridePath(dotted, ['grid', dotted]);
    if (bad) {
      out.push(bad);
      continue;
    }
    (values ?? []).forEach((value, i) => {
      for (const l of overrideProblems(filled, splitPath(dotted), value)) {
        out.push({ path: ['grid', dotted, i], at: 'value', message: `grid value ${JSON.stringify(value)} for ${dotted}: ${l.message}` });
      }
    });
  }
  for (const [name, overrides] of Object.entries(config.ablations)) {
    for (const [dotted, value] of Object.entries((overrides ?? {}) as Record<string, unknown>)) {
      const bad = checkOverridePath(dotted, ['ablations', name, dotted]);
      if (bad) {
        out.push(bad);
        continue;
      }
      for (const l of overrideProblems(filled, splitPath(dotted), value)) {
        out.push({ path: ['ablations', name, dotted], at: 'value', message: `ablation '${name}' sets ${dotted}: ${l.message}` });
      }
    }
  }
  return out;
}

export interface LoadOptions {
  /**
   * Called with the filled config before the per-value grid and ablation checks, which validate
   * the whole config once per value: a sweep size guard here keeps a huge grid from taking minutes.
   */
  checkSize?: (partial: Pick<LoadedExperiment, 'file' | 'unresolved'>) => void;
}

export function loadExperiment(file: string, opts: LoadOptions = {}): LoadedExperiment {
  const problems: Problem[] = [];
  const sources = loadChain(file, [], problems);
  if (problems.length) throw new ConfigError(problems);

  const merged = mergeSources(sources);
  const filled = mergeOntoDefaultMaps(structuredClone(merged));
  const language = [...checkLanguage(merged), ...settingsOfDisabledMaps(merged)];
  const schemaErrors = validateAndFill(filled);
  const locate = (path: ConfigPath, message: string, at: 'key' | 'value' = 'value') => problemAtPath(sources, path, message, at);
  if (schemaErrors.length || language.length) {
    // A field the language check explained is not explained a second time by the schema.
    const explained = (l: Located) => language.some((x) => x.path[0] === l.path[0] && (x.path.length === 1 || l.path.length === 1 || x.path[1] === l.path[1]));
    throw new ConfigError(locateAll(sources, [...language, ...describeErrors(schemaErrors, filled).filter((l) => !explained(l))]));
  }

  const unresolved = filled as unknown as Experiment;
  opts.checkSize?.({ file, unresolved });
  resolveDatasetPaths(unresolved, sources, file);
  const config: Experiment = { ...structuredClone(unresolved), model: resolvePresets(unresolved.model) };

  const later = [...checkOverrides(config, filled), ...(Object.keys(config.grid).length === 0 ? checkSemantics(config) : [])];
  if (later.length) throw new ConfigError(locateAll(sources, later));

  const contentHash = createHash('sha256')
    .update(sources.map((s) => s.text).join('\u0000'))
    .digest('hex');
  return { file, config, unresolved, sources, contentHash, locate };
}

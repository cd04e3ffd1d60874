/** Turns schema violations into located, human problems. Pure apart from the schema it reads. */
import type { ErrorObject } from 'ajv';
import type { Problem } from '../errors.ts';
import { problemAtPath, type ConfigPath } from './locate.ts';
import { getPath } from './paths.ts';
import { closest } from './suggest.ts';
import { propertiesOf, schemaAt, type SchemaNode } from './schema.ts';
import type { SourceFile } from './source.ts';

export interface Located {
  path: ConfigPath;
  at: 'key' | 'value';
  message: string;
}

const COMPARISONS: Record<string, string> = { '>=': '≥', '<=': '≤', '>': '>', '<': '<' };

/** A value as the user wrote it; never JSON's "null" for a missing or non-finite value. */
const show = (v: unknown): string => {
  if (typeof v === 'string') return `"${v}"`;
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return JSON.stringify(v);
};

function pathOf(instancePath: string): string[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function describeBranches(e: ErrorObject): string {
  const branches = (e.parentSchema?.oneOf ?? e.parentSchema?.anyOf ?? []) as SchemaNode[];
  const kinds = branches.map((b) => {
    if ('const' in b) return show(b.const);
    if (b.type === 'array') return 'a list';
    if (b.type === 'integer') return `an integer${b.minimum !== undefined ? ` ≥ ${b.minimum}` : ''}`;
    if (b.type === 'null') return 'null';
    return `a ${b.type ?? 'value'}`;
  });
  return kinds.length ? kinds.join(' or ') : 'one of the allowed forms';
}

function describe(e: ErrorObject, data: unknown): Located {
  const path = pathOf(e.instancePath);
  const value = getPath(data, path);
  const p = e.params as Record<string, unknown>;
  const got = () => `, got ${show(value)}`; // only where a message shows it: an unknown key in a big map must not print the map
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = p.additionalProperty as string;
      const allowed = Object.keys(propertiesOf(schemaAt(path).ok ? (schemaAt(path) as { node: SchemaNode }).node : {}) ?? {});
      const guess = closest(key, allowed);
      const hint = guess ? ` (did you mean '${guess}'?)` : '';
      return { path: [...path, key], at: 'key', message: `unknown key '${key}'${hint}; allowed here: ${allowed.join(', ')}` };
    }
    case 'required':
      return { path, at: 'key', message: `missing required key '${p.missingProperty}'` };
    case 'type':
      return { path, at: 'value', message: `expected ${String(p.type).replace(',', ' or ')}${got()}` };
    case 'enum': {
      const allowed = p.allowedValues as unknown[];
      const guess = typeof value === 'string' ? closest(value, allowed.map(String)) : undefined;
      return { path, at: 'value', message: `expected one of ${allowed.map(show).join(', ')}${got()}${guess ? ` (did you mean ${show(guess)}?)` : ''}` };
    }
    case 'const':
      return { path, at: 'value', message: `expected ${show(p.allowedValue)}${got()}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, at: 'value', message: `must be ${COMPARISONS[p.comparison as string] ?? p.comparison} ${p.limit}${got()}` };
    case 'minItems':
      return { path, at: 'value', message: `must list at least ${p.limit} value${p.limit === 1 ? '' : 's'}${Array.isArray(value) && value.length === 0 ? ' (the list is empty)' : ''}` };
    case 'maxItems':
      return { path, at: 'value', message: `must list at most ${p.limit} values` };
    case 'minLength':
      return { path, at: 'value', message: p.limit === 1 ? 'must not be empty' : `must be at least ${p.limit} characters` };
    case 'minProperties':
      return { path, at: 'value', message: `must set at least ${p.limit} key${p.limit === 1 ? '' : 's'}` };
    case 'pattern':
      return { path, at: 'value', message: `must match ${p.pattern}${got()}` };
    case 'uniqueItems':
      return { path, at: 'value', message: `must not repeat values (items ${p.j} and ${p.i} are equal)` };
    case 'propertyNames': {
      const name = p.propertyName as string;
      const why = name === 'baseline' ? "'baseline' is reserved for the run without overrides" : 'must be a dotted path like augmentation.ratio (lower case, at least two parts)';
      return { path: [...path, name], at: 'key', message: `invalid key '${name}': ${why}` };
    }
    case 'oneOf':
    case 'anyOf':
      return { path, at: 'value', message: `expected ${describeBranches(e)}${got()}` };
    default:
      return { path, at: 'value', message: e.message ?? 'is not valid' };
  }
}

/** Schema errors → located messages, without the noise ajv emits inside oneOf branches. */
export function describeErrors(errors: ErrorObject[], data: unknown): Located[] {
  const unionPaths = errors.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf').map((e) => e.schemaPath.replace(/\/(oneOf|anyOf)$/, ''));
  const kept = errors.filter((e) => {
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf') return true;
    if (e.propertyName !== undefined) return false; // reported once by its propertyNames error
    return !unionPaths.some((u) => e.schemaPath.startsWith(u + '/oneOf/') || e.schemaPath.startsWith(u + '/anyOf/'));
  });
  const seen = new Set<string>();
  const out: Located[] = [];
  for (const e of kept) {
    const d = describe(e, data);
    const key = `${d.path.join('\u0000')}|${d.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(d);
    }
  }
  return out;
}

/** More problems than this are summed up in one line: locating each costs a walk of its map, and nobody reads 10,000. */
export const MAX_PROBLEMS = 100;

export function locateAll(sources: SourceFile[], all: Located[], prefix: ConfigPath = []): Problem[] {
  const order = sources.map((s) => s.file);
  const problems = all
    .slice(0, MAX_PROBLEMS)
    .map((l) => problemAtPath(sources, [...prefix, ...l.path], l.message, l.at))
    .sort((a, b) => order.indexOf(a.file) - order.indexOf(b.file) || a.line - b.line || a.col - b.col);
  if (all.length > MAX_PROBLEMS) problems.push(problemAtPath(sources, prefix, `and ${all.length - MAX_PROBLEMS} more problems (only the first ${MAX_PROBLEMS} are shown)`, 'key'));
  return problems;
}

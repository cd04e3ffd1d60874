/** The schema's defaults as flat `dotted.path → value` leaves (presets applied). Pure after the schema is read. */
import { resolvePresets } from './presets.ts';
import { validateAndFill } from './schema.ts';
import type { Experiment } from './types.gen.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Leaves of `value` (arrays and empty maps are leaves) keyed by dotted path. */
export function flattenLeaves(value: unknown, prefix = '', out: Obj = {}): Obj {
  if (isObj(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flattenLeaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = value;
  }
  return out;
}

/** Defaults of a config with nothing written, given a function that fills them (the schema's validator). */
export function defaultsFrom(fill: (data: Obj) => unknown): Readonly<Obj> {
  const data: Obj = { name: 'defaults' };
  fill(data);
  const config = data as unknown as Experiment;
  return flattenLeaves({ ...config, model: resolvePresets(config.model) });
}

let current: Readonly<Obj> | undefined;
export function currentDefaults(): Readonly<Obj> {
  current ??= defaultsFrom(validateAndFill);
  return current;
}

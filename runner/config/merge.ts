/**
 * Deep merge used by `extends`, and by grid and ablation values (a map written for a map field is
 * merged onto the base value, so a partial object keeps the other fields): maps merge key by key,
 * lists and scalars replace. Pure.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function isPlainObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(base: Json, override: Json): Json {
  if (!isPlainObject(base) || !isPlainObject(override)) return structuredClone(override);
  const out: Record<string, Json> = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    out[key] = key in out ? deepMerge(out[key], value) : structuredClone(value);
  }
  return out;
}

/** The value a grid or ablation override gives a field whose base value is `base`. */
export function overrideValue(base: unknown, value: unknown): unknown {
  return isPlainObject(base) && isPlainObject(value) ? deepMerge(base, value) : value;
}

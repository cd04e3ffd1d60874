// A map the user writes is merged onto its field's default map, the way `extends` and grid
// overrides merge maps. Without this, `training: { joint: { learning_rate: 0.01 } }` would take
// the generic phase defaults (1 epoch) instead of the joint phase's own (3 epochs): writing one
// setting would silently change another.
import { deepMerge, isPlainObject, type Json } from './merge.ts';
import { propertiesOf, schema, type SchemaNode } from './schema.ts';
import type { Located } from './validate.ts';

/** `data` with every written map that has an object default filled from that default (written values win). */
export function mergeOntoDefaultMaps(data: Record<string, Json>, node: SchemaNode = schema): Record<string, Json> {
  const props = propertiesOf(node);
  if (!props) return data;
  const out: Record<string, Json> = { ...data };
  for (const [key, value] of Object.entries(data)) {
    if (!Object.hasOwn(props, key) || !isPlainObject(value)) continue;
    const fieldDefault = props[key].default;
    const merged = isPlainObject(fieldDefault) ? (deepMerge(structuredClone(fieldDefault as Json), value) as Record<string, Json>) : value;
    out[key] = mergeOntoDefaultMaps(merged, props[key]);
  }
  return out;
}

/**
 * A written map whose field is off by default (`enabled: false` in its default map) and that sets
 * other keys but not `enabled`: its settings would silently do nothing, so it is an error.
 */
export function settingsOfDisabledMaps(data: Record<string, Json>, node: SchemaNode = schema, path: string[] = []): Located[] {
  const props = propertiesOf(node);
  if (!props) return [];
  const out: Located[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (!Object.hasOwn(props, key) || !isPlainObject(value)) continue;
    const fieldDefault = props[key].default;
    const written = Object.keys(value);
    if (isPlainObject(fieldDefault) && fieldDefault.enabled === false && !written.includes('enabled') && written.length > 0) {
      const dotted = [...path, key].join('.');
      out.push({
        path: [...path, key],
        at: 'key',
        message: `${dotted} sets ${written.join(', ')} but not 'enabled', and ${dotted} is off by default: write 'enabled: true' to use these settings (or 'enabled: false' to keep them unused)`,
      });
    }
    out.push(...settingsOfDisabledMaps(value, props[key], [...path, key]));
  }
  return out;
}

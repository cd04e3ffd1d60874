/** The experiment JSON Schema, its compiled validator and walks over its structure. */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

export type SchemaNode = Record<string, unknown>;

export const SCHEMA_PATH = new URL('../../schemas/experiment.schema.json', import.meta.url);
export const schema: SchemaNode = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'));

let compiled: ValidateFunction | undefined;

/** Validates and fills schema defaults in place. */
export function validateAndFill(data: unknown): ErrorObject[] {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: false, verbose: true });
    compiled = ajv.compile(schema);
  }
  return compiled(data) ? [] : [...(compiled.errors ?? [])];
}

function deref(node: SchemaNode): SchemaNode {
  let cur = node;
  while (typeof cur.$ref === 'string') {
    const name = (cur.$ref as string).replace('#/$defs/', '');
    cur = (schema.$defs as Record<string, SchemaNode>)[name];
  }
  return cur;
}

/** The object properties a schema node allows (following $ref, allOf and the object branch of oneOf). */
export function propertiesOf(node: SchemaNode): Record<string, SchemaNode> | undefined {
  const n = deref(node);
  if (n.properties) return n.properties as Record<string, SchemaNode>;
  for (const key of ['allOf', 'oneOf', 'anyOf']) {
    for (const branch of (n[key] as SchemaNode[] | undefined) ?? []) {
      const props = propertiesOf(branch);
      if (props) return props;
    }
  }
  return undefined;
}

export type SchemaLookup = { ok: true; node: SchemaNode } | { ok: false; depth: number; allowed: string[] };

/** Walks a dotted config path through the schema: where it stops, and what was allowed there. */
export function schemaAt(path: readonly string[]): SchemaLookup {
  let node: SchemaNode = schema;
  for (let i = 0; i < path.length; i++) {
    const props = propertiesOf(node);
    if (!props || !Object.hasOwn(props, path[i])) return { ok: false, depth: i, allowed: props ? Object.keys(props) : [] };
    node = props[path[i]];
  }
  return { ok: true, node: deref(node) };
}

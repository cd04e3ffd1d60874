/** The experiment JSON Schema, its compiled validator and walks over its structure. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ErrorObject, Options, ValidateFunction } from 'ajv/dist/2020.js';
import { sha256Bytes } from '../files/checksum.ts';

export type SchemaNode = Record<string, unknown>;

export const SCHEMA_PATH = new URL('../../schemas/experiment.schema.json', import.meta.url);
const schemaText = readFileSync(SCHEMA_PATH, 'utf8');
export const schema: SchemaNode = JSON.parse(schemaText);

export const AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: false, verbose: true } as const satisfies Options;

// Compiling the schema with ajv is a third of `mmrun validate`'s start-up, so the build
// (bin/build-dist.mjs) writes ajv's standalone code for it beside the compiled dist/config/schema.js,
// with a manifest naming what it was generated from and the code's SHA-256. It is run only when
// that key matches the current schema, ajv version and options and the bytes match the hash;
// otherwise (running from runner/ through tsx, schema edited, ajv upgraded) ajv compiles as before.
export const PRECOMPILED_CODE = 'experiment-validator.cjs';
export const PRECOMPILED_MANIFEST = 'experiment-validator.json';

export interface PrecompiledManifest {
  key: string;
  sha256: string;
}

const requireHere = createRequire(import.meta.url);

/** What a generated validator depends on: the schema's bytes, the ajv version and the options. */
export function validatorKey(): string {
  const ajvVersion = (requireHere('ajv/package.json') as { version: string }).version;
  return sha256Bytes(JSON.stringify({ schema: sha256Bytes(schemaText), ajv: ajvVersion, options: AJV_OPTIONS }));
}

function newAjv(extra: Options = {}) {
  const { Ajv2020 } = requireHere('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  return new Ajv2020({ ...AJV_OPTIONS, ...extra });
}

/** ajv compiling the schema now: the reference every precompiled validator must agree with. */
export function compileValidator(): ValidateFunction {
  return newAjv().compile(schema);
}

/** ajv's standalone (CommonJS) code for the schema and its manifest, as the build writes them. */
export function generateStandaloneValidator(): { code: string; manifest: PrecompiledManifest } {
  const standalone = (requireHere('ajv/dist/standalone/index.js') as typeof import('ajv/dist/standalone/index.js')).default;
  const ajv = newAjv({ code: { source: true } });
  const code = standalone(ajv, ajv.compile(schema));
  return { code, manifest: { key: validatorKey(), sha256: sha256Bytes(code) } };
}

/**
 * Runs verified standalone code and returns its validator, or why it was refused: generated from
 * something else, or bytes that do not match the manifest (then nothing is run). The bytes checked
 * are the bytes run: they are evaluated from memory, never re-read.
 */
export function loadStandaloneValidator(code: Buffer | string, manifest: PrecompiledManifest): { ok: true; validate: ValidateFunction } | { ok: false; reason: string } {
  if (manifest?.key !== validatorKey()) return { ok: false, reason: 'generated from another schema, ajv version or options' };
  if (manifest?.sha256 !== sha256Bytes(code)) return { ok: false, reason: 'code does not match its recorded SHA-256' };
  const module = { exports: {} as unknown };
  new Function('require', 'module', 'exports', code.toString())(requireHere, module, module.exports);
  const validate = module.exports as ValidateFunction;
  return typeof validate === 'function' ? { ok: true, validate } : { ok: false, reason: 'code does not export a function' };
}

function precompiledValidator(): ValidateFunction | undefined {
  let code: Buffer;
  let manifest: PrecompiledManifest;
  try {
    manifest = JSON.parse(readFileSync(new URL(PRECOMPILED_MANIFEST, import.meta.url), 'utf8'));
    code = readFileSync(new URL(PRECOMPILED_CODE, import.meta.url));
  } catch {
    return undefined; // not built (running the sources) or unreadable
  }
  const loaded = loadStandaloneValidator(code, manifest);
  return loaded.ok ? loaded.validate : undefined;
}

let compiled: ValidateFunction | undefined;

/** Validates and fills schema defaults in place. */
export function validateAndFill(data: unknown): ErrorObject[] {
  compiled ??= precompiledValidator() ?? compileValidator();
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

// Review of issue 16 (identity rule 4): defaults inside a map whose own default is null
// (early_stopping) are pinned too, so adding a field there leaves the ids of runs that use it.
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../runner/config/index.ts';
import { schema, type SchemaNode } from '../../runner/config/schema.ts';
import type { Experiment } from '../../runner/config/types.gen.ts';
import { INTRODUCED_DEFAULTS } from '../../runner/sweep/identity-defaults.ts';
import { runId } from '../../runner/sweep/identity.ts';
import { tempFiles } from '../helpers/tmp.ts';

const SECTIONS = ['dataset', 'model', 'augmentation', 'training', 'evaluation'];

/** Every property with a scalar or list default, at any depth of the schema (through $ref, allOf, oneOf). */
function schemaDefaults(node: SchemaNode, prefix: string, out: Set<string>): Set<string> {
  const defs = schema.$defs as Record<string, SchemaNode>;
  const n = typeof node.$ref === 'string' ? defs[(node.$ref as string).replace('#/$defs/', '')] : node;
  for (const key of ['allOf', 'oneOf', 'anyOf']) for (const b of (n[key] as SchemaNode[] | undefined) ?? []) schemaDefaults(b, prefix, out);
  for (const [k, child] of Object.entries((n.properties as Record<string, SchemaNode> | undefined) ?? {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    const d = child.default;
    if (d !== undefined && (typeof d !== 'object' || d === null || Array.isArray(d))) out.add(path);
    schemaDefaults(child, path, out);
  }
  return out;
}

const configOf = (yaml: string): Experiment => loadExperiment(tempFiles({ 'e.yaml': yaml }).path('e.yaml')).config;

describe('defaults at every depth are pinned', () => {
  it('every scalar default of the sections a run id covers, nested ones included, is in INTRODUCED_DEFAULTS', () => {
    const all = [...schemaDefaults(schema, '', new Set())].filter((p) => SECTIONS.includes(p.split('.')[0]) && p !== 'model.backend');
    expect(all.filter((p) => !(p in INTRODUCED_DEFAULTS))).toEqual([]);
  });

  it('early_stopping without its defaulted fields (a config from before they existed) has the id of one with them', () => {
    const config = configOf('name: x\ntraining: {joint: {early_stopping: {metric: loss}}}\n');
    const older = structuredClone(config);
    const es = older.training.joint.early_stopping as unknown as Record<string, unknown>;
    delete es.patience;
    delete es.min_delta;
    expect(runId(older, 0)).toBe(runId(config, 0));
    expect(runId(configOf('name: x\ntraining: {joint: {early_stopping: {metric: loss, patience: 3}}}\n'), 0)).not.toBe(runId(config, 0));
    expect(runId(config, 0)).not.toBe(runId(configOf('name: x\n'), 0)); // early stopping on is another run
  });
});

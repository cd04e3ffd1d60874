// The build ships ajv's standalone code for the experiment schema (runner/config/schema.ts); it must
// report exactly the errors ajv's own compile reports and fill exactly the same defaults, and it
// must never run when it does not match its manifest.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  compileValidator,
  generateStandaloneValidator,
  loadStandaloneValidator,
} from '../../runner/config/schema.ts';

const root = path.join(import.meta.dirname, '..', '..');
const parseYaml = (text: string): unknown => {
  try {
    return YAML.parse(text);
  } catch {
    return undefined;
  }
};

/** The experiment files in experiments/ (all valid). */
function goodDocuments(): { label: string; doc: unknown }[] {
  const dir = path.join(root, 'experiments');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => ({ label: `experiments/${f}`, doc: parseYaml(readFileSync(path.join(dir, f), 'utf8')) }));
}

/** The YAML documents written inline in the config tests (good and bad ones). */
function documentsFromConfigTests(): { label: string; doc: unknown }[] {
  const dir = path.join(root, 'tests', 'unit');
  const out: { label: string; doc: unknown }[] = [];
  for (const f of readdirSync(dir).filter((n) => /^config-.*\.test\.ts$/.test(n))) {
    const src = readFileSync(path.join(dir, f), 'utf8');
    for (const m of src.matchAll(/'((?:[^'\\\n]|\\.)*name:(?:[^'\\\n]|\\.)*)'/g)) {
      const text = m[1].replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t' })[c] ?? c);
      const doc = parseYaml(text);
      if (doc && typeof doc === 'object') out.push({ label: `${f}: ${JSON.stringify(text).slice(0, 60)}`, doc });
    }
  }
  return out;
}

const WRONG_VALUES: unknown[] = ['wrong', -1, 1.5, 0, [], {}, null, true, 'a'.repeat(300)];

/** Every value in `doc` replaced, one at a time, by each wrong value; every object given an unknown key or losing a key. */
function mutations(label: string, doc: unknown): { label: string; doc: unknown }[] {
  const out: { label: string; doc: unknown }[] = [];
  const walk = (node: unknown, at: (string | number)[]) => {
    if (node === null || typeof node !== 'object') return;
    const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    for (const k of keys) {
      for (const v of WRONG_VALUES) out.push({ label: `${label} ${[...at, k].join('.')}=${JSON.stringify(v).slice(0, 20)}`, doc: setAt(doc, [...at, k], v) });
      if (!Array.isArray(node)) out.push({ label: `${label} without ${[...at, k].join('.')}`, doc: setAt(doc, [...at, k], undefined) });
      walk((node as Record<string | number, unknown>)[k], [...at, k]);
    }
    if (!Array.isArray(node)) out.push({ label: `${label} ${at.join('.')}.zzz`, doc: setAt(doc, [...at, 'zzz'], 1) });
  };
  walk(doc, []);
  return out;
}

function setAt(doc: unknown, at: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let node = copy;
  for (const k of at.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = at[at.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

describe('the precompiled (standalone) experiment validator', () => {
  const generated = generateStandaloneValidator();

  it('reports the same errors and fills the same defaults as ajv compiling the schema', async () => {
    const loaded = loadStandaloneValidator(generated.code, generated.manifest);
    if (!loaded.ok) throw new Error(`standalone validator refused: ${loaded.reason}`);
    const reference = compileValidator();
    const good = goodDocuments();
    const corpus = [
      ...good,
      ...documentsFromConfigTests(),
      ...good.flatMap(({ label, doc }) => mutations(label, doc)),
      ...[{}, null, 42, 'name: x', [], { name: 'x' }, { name: 'x', seeds: 3 }].map((doc) => ({ label: JSON.stringify(doc), doc })),
    ];
    const keywords = new Set<string>();
    let failing = 0;
    let filled = 0;
    for (const [i, { label, doc }] of corpus.entries()) {
      if (i % 100 === 0) await yieldToEventLoop(); // keep vitest's worker answering on a loaded machine
      const a = structuredClone(doc);
      const b = structuredClone(doc);
      const okA = reference(a);
      const errorsA = reference.errors ?? null;
      const okB = loaded.validate(b);
      const errorsB = loaded.validate.errors ?? null;
      // Full comparison (schema, parentSchema and data of verbose errors included); expect() only for the diff.
      if (okB !== okA || !isDeepStrictEqual(errorsB, errorsA) || !isDeepStrictEqual(b, a)) {
        expect(okB, label).toBe(okA);
        expect(errorsB, label).toStrictEqual(errorsA);
        expect(b, label).toStrictEqual(a);
        throw new Error(`${label}: the two validators differ`);
      }
      if (!okA) failing++;
      if (JSON.stringify(a) !== JSON.stringify(doc)) filled++;
      for (const e of errorsA ?? []) keywords.add(e.keyword);
    }
    // The corpus must exercise what matters: many bad documents, many kinds of error, defaults.
    expect(corpus.length).toBeGreaterThan(1000);
    expect(failing).toBeGreaterThan(1000);
    expect(filled).toBeGreaterThan(1000);
    for (const k of ['type', 'enum', 'const', 'required', 'additionalProperties', 'pattern', 'minimum', 'oneOf', 'uniqueItems']) expect([...keywords]).toContain(k);
  });

  it('refuses code generated from another schema, ajv version or options', () => {
    const r = loadStandaloneValidator(generated.code, { ...generated.manifest, key: '0'.repeat(64) });
    expect(r).toEqual({ ok: false, reason: 'generated from another schema, ajv version or options' });
  });

  it('never runs code whose bytes do not match the recorded SHA-256', () => {
    const g = globalThis as { __mmrunTamperedValidatorRan?: boolean };
    const tampered = `globalThis.__mmrunTamperedValidatorRan = true;\n${generated.code}`;
    expect(loadStandaloneValidator(tampered, generated.manifest)).toEqual({ ok: false, reason: 'code does not match its recorded SHA-256' });
    expect(loadStandaloneValidator(Buffer.from(generated.code.slice(0, -10)), generated.manifest).ok).toBe(false);
    expect(g.__mmrunTamperedValidatorRan).toBeUndefined();
  });
});

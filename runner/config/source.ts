/**
 * Reads one YAML file into a document that remembers source positions, turning every way a file
 * can be unreadable into located problems (missing, directory, symlink loop, huge, not UTF-8, YAML
 * errors, duplicate keys, tabs, alias bombs), and rejecting what JSON cannot hold or what would
 * touch object prototypes (non-finite numbers; __proto__, constructor, prototype keys).
 * YAML 1.1 merge keys (`<<: *base`) are supported: the anchored map's keys are merged in, keys
 * written beside `<<` win.
 */
import { readFileSync, statSync } from 'node:fs';
import { Document, LineCounter, parseDocument, isAlias, isMap, isScalar, isSeq, visit, type Node } from 'yaml';
import type { Problem } from '../errors.ts';
import type { Json } from './merge.ts';
import { redactCredentialsInLine } from './tracking-uri.ts';

export const MAX_FILE_BYTES = 1024 * 1024;
const MAX_ALIAS_COUNT = 1000;

export interface SourceFile {
  file: string;
  text: string;
  doc: Document;
  lines: LineCounter;
  data: Json;
}

/** The line under a problem; `lineStarts` (a LineCounter's) avoids splitting the whole text per problem. */
export function excerpt(text: string, line: number, col: number, lineStarts?: readonly number[]): string {
  const start = lineStarts?.[line - 1];
  const src = start === undefined ? (text.split(/\r?\n/)[line - 1] ?? '') : text.slice(start, lineStarts![line] ?? text.length).replace(/\r?\n$/, '');
  const gutter = `${line} | `;
  const masked = redactCredentialsInLine(src, col); // a code frame never shows a password (tracking.uri)
  const shown = masked.line.replace(/\t/g, '→');
  return `${gutter}${shown}\n${' '.repeat(gutter.length + Math.max(0, masked.col - 1))}^`;
}

export function problemAt(file: string, text: string, lines: LineCounter, offset: number, message: string): Problem {
  const { line, col } = lines.linePos(offset);
  return { file, line, col, message, excerpt: excerpt(text, line, col, lines.lineStarts) };
}

function firstInvalidUtf8(bytes: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < bytes.length; i++) {
    try {
      decoder.decode(bytes.subarray(i, i + 1), { stream: true });
    } catch {
      // The decoder fails on the byte that breaks a sequence; report where that sequence began.
      for (let k = 1; k <= 3 && i - k >= 0; k++) {
        const b = bytes[i - k];
        if (b >= 0xc0) return i - k;
        if (b < 0x80) break;
      }
      return i;
    }
  }
  return bytes.length;
}

function readText(file: string): { text?: string; problem?: Problem } {
  let stat;
  try {
    stat = statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { problem: { file, line: 0, col: 0, message: 'a symbolic link loop (a link that leads back to itself), not a YAML file' } };
    if (code === 'EACCES') return { problem: { file, line: 0, col: 0, message: 'permission denied: the file cannot be read' } };
    return { problem: { file, line: 0, col: 0, message: 'file not found (expected a YAML experiment file)' } };
  }
  if (stat.isDirectory()) return { problem: { file, line: 0, col: 0, message: 'is a directory, expected a YAML experiment file' } };
  if (stat.size > MAX_FILE_BYTES) {
    const mb = (stat.size / 1024 / 1024).toFixed(1);
    return { problem: { file, line: 0, col: 0, message: `file is ${mb} MiB; experiment files are limited to 1 MiB` } };
  }
  const bytes = readFileSync(file);
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const before = bytes.subarray(0, offset).toString('utf8');
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    return { problem: { file, line, col, message: `not valid UTF-8 (byte 0x${bytes[offset]?.toString(16)} at offset ${offset}); save the file as UTF-8` } };
  }
}

/** Keys that would reach an object's prototype in JavaScript: never a config field. */
export const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** What `<<` may merge: a map, an alias of a map, or a list of those. */
function isMergeSource(doc: Document, value: Node | null): boolean {
  const isMapLike = (n: unknown) => isMap(n) || (isAlias(n) && isMap(n.resolve(doc)));
  return isMapLike(value) || (isSeq(value) && value.items.every(isMapLike));
}

/** Values and keys the language cannot honour, located where they are written. */
function unsafeContent(file: string, text: string, doc: Document, lines: LineCounter): Problem[] {
  const problems: Problem[] = [];
  visit(doc, {
    Map(_, map) {
      // yaml's own uniqueKeys check compares every pair of keys (a 1 MiB file of keys never finished): one pass with a set.
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key) || typeof pair.key.value === 'symbol') continue; // `<<` may repeat
        const key = String(pair.key.value);
        if (seen.has(key)) problems.push(problemAt(file, text, lines, pair.key.range?.[0] ?? 0, `duplicate key '${key}': each key may appear once in a map`));
        seen.add(key);
      }
    },
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.source === '<<' && typeof pair.key.value === 'symbol' && !isMergeSource(doc, pair.value as Node | null)) {
        const at = (pair.value as Node | null)?.range?.[0] ?? pair.key.range?.[0] ?? 0;
        problems.push(problemAt(file, text, lines, at, "'<<' (a YAML merge key) takes a map, an alias of a map (<<: *base) or a list of them"));
      }
      if (isScalar(pair.key) && FORBIDDEN_KEYS.has(String(pair.key.value))) {
        const key = String(pair.key.value);
        problems.push(problemAt(file, text, lines, pair.key.range?.[0] ?? 0, `'${key}' cannot be used as a key: mmrun rejects __proto__, constructor and prototype anywhere in a file (no config field has these names)`));
      }
    },
    Alias(_, node, path) {
      // `a: &a [*a]` names a value that contains itself: it has no end, and no config field can hold it.
      if (path.includes(node.resolve(doc) as never)) {
        problems.push(problemAt(file, text, lines, node.range?.[0] ?? 0, `alias *${node.source} is used inside the value it names (&${node.source}): a value cannot contain itself`));
      }
    },
    Scalar(_, node) {
      if (typeof node.value === 'number' && !Number.isFinite(node.value)) {
        const written = node.source ?? String(node.value);
        problems.push(problemAt(file, text, lines, node.range?.[0] ?? 0, `'${written}' is not a finite number: settings must be finite (JSON records and MLflow cannot hold infinity or NaN)`));
      }
    },
  });
  return problems;
}

const YAML_MESSAGES: Record<string, string> = {
  DUPLICATE_KEY: 'duplicate key: each key may appear once in a map',
  TAB_AS_INDENT: 'tab used for indentation: YAML indents with spaces only',
};

export function readSource(file: string): { source?: SourceFile; problems: Problem[] } {
  const { text, problem } = readText(file);
  if (problem) return { problems: [problem] };
  const lines = new LineCounter();
  const doc = parseDocument(text!, { lineCounter: lines, uniqueKeys: false, merge: true, prettyErrors: false, keepSourceTokens: false });
  const problems: Problem[] = doc.errors.map((e) => {
    const base = YAML_MESSAGES[e.code];
    const detail = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    let message = base ?? `YAML syntax error: ${detail.charAt(0).toLowerCase()}${detail.slice(1)}`;
    if (/call stack/i.test(detail)) message = 'the file nests lists or maps too deeply to be read (thousands of levels); an experiment file needs a few';
    if (e.code === 'DUPLICATE_KEY') {
      const key = /^\s*["']?([^"':\n]+)/.exec(text!.slice(e.pos[0]))?.[1]?.trim();
      if (key) message = `duplicate key '${key}': each key may appear once in a map`;
    }
    return problemAt(file, text!, lines, e.pos[0], message);
  });
  problems.push(...unsafeContent(file, text!, doc, lines).sort((a, b) => a.line - b.line || a.col - b.col));
  if (problems.length) return { problems };
  let data: Json;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as Json;
  } catch (err) {
    let offset = 0;
    visit(doc, {
      Alias(_, node) {
        if (isAlias(node) && node.range) {
          offset = node.range[0];
          return visit.BREAK;
        }
      },
    });
    const why = err instanceof ReferenceError && /alias/i.test(err.message)
      ? `aliases expand to too much data (more than ${MAX_ALIAS_COUNT} alias expansions): refusing a possible alias bomb`
      : (err as Error).message;
    return { problems: [problemAt(file, text!, lines, offset, why)] };
  }
  if (data === null || data === undefined) data = {};
  return { source: { file, text: text!, doc, lines, data }, problems: [] };
}

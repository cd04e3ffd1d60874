/**
 * Reads one YAML file into a document that remembers source positions, turning every way a file
 * can be unreadable into located problems (missing, directory, huge, not UTF-8, YAML errors,
 * duplicate keys, tabs, alias bombs).
 */
import { readFileSync, statSync } from 'node:fs';
import { Document, LineCounter, parseDocument, isAlias, visit } from 'yaml';
import type { Problem } from '../errors.ts';
import type { Json } from './merge.ts';

export const MAX_FILE_BYTES = 1024 * 1024;
const MAX_ALIAS_COUNT = 1000;

export interface SourceFile {
  file: string;
  text: string;
  doc: Document;
  lines: LineCounter;
  data: Json;
}

export function excerpt(text: string, line: number, col: number): string {
  const src = text.split(/\r?\n/)[line - 1] ?? '';
  const gutter = `${line} | `;
  const shown = src.replace(/\t/g, '→');
  return `${gutter}${shown}\n${' '.repeat(gutter.length + Math.max(0, col - 1))}^`;
}

export function problemAt(file: string, text: string, lines: LineCounter, offset: number, message: string): Problem {
  const { line, col } = lines.linePos(offset);
  return { file, line, col, message, excerpt: excerpt(text, line, col) };
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
  } catch {
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

const YAML_MESSAGES: Record<string, string> = {
  DUPLICATE_KEY: 'duplicate key: each key may appear once in a map',
  TAB_AS_INDENT: 'tab used for indentation: YAML indents with spaces only',
};

export function readSource(file: string): { source?: SourceFile; problems: Problem[] } {
  const { text, problem } = readText(file);
  if (problem) return { problems: [problem] };
  const lines = new LineCounter();
  const doc = parseDocument(text!, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false });
  const problems: Problem[] = doc.errors.map((e) => {
    const base = YAML_MESSAGES[e.code];
    const detail = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    let message = base ?? `YAML syntax error: ${detail.charAt(0).toLowerCase()}${detail.slice(1)}`;
    if (e.code === 'DUPLICATE_KEY') {
      const key = /^\s*["']?([^"':\n]+)/.exec(text!.slice(e.pos[0]))?.[1]?.trim();
      if (key) message = `duplicate key '${key}': each key may appear once in a map`;
    }
    return problemAt(file, text!, lines, e.pos[0], message);
  });
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
    const why = /alias/i.test((err as Error).message)
      ? `aliases expand to too much data (more than ${MAX_ALIAS_COUNT} alias expansions): refusing a possible alias bomb`
      : (err as Error).message;
    return { problems: [problemAt(file, text!, lines, offset, why)] };
  }
  if (data === null || data === undefined) data = {};
  return { source: { file, text: text!, doc, lines, data }, problems: [] };
}

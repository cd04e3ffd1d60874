/** Finds where a config path was written, across a file and the parents it extends. */
import { isMap, isScalar, type Node } from 'yaml';
import type { Problem } from '../errors.ts';
import { problemAt, type SourceFile } from './source.ts';

export type ConfigPath = readonly (string | number)[];

function nodeAt(source: SourceFile, path: ConfigPath): Node | undefined {
  if (path.length === 0) return (source.doc.contents as Node | null) ?? undefined;
  const node = source.doc.getIn(path, true) as Node | undefined;
  return node && typeof node === 'object' && 'range' in node ? node : undefined;
}

function keyOffset(source: SourceFile, path: ConfigPath): number | undefined {
  if (path.length === 0) return undefined;
  const parent = nodeAt(source, path.slice(0, -1));
  if (!isMap(parent)) return undefined;
  const last = String(path[path.length - 1]);
  const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === last);
  return isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
}

/**
 * The problem located at `path` (or at its key, for unknown keys). Later sources win, as in the
 * merge; a path no file wrote (a default) is located at its nearest written ancestor.
 */
export function problemAtPath(sources: SourceFile[], path: ConfigPath, message: string, at: 'value' | 'key' = 'value'): Problem {
  for (let i = sources.length - 1; i >= 0; i--) {
    const source = sources[i];
    const node = nodeAt(source, path);
    if (!node) continue;
    const offset = (at === 'key' ? keyOffset(source, path) : undefined) ?? node.range?.[0] ?? 0;
    return problemAt(source.file, source.text, source.lines, offset, message);
  }
  for (let len = path.length - 1; len >= 0; len--) {
    for (let i = sources.length - 1; i >= 0; i--) {
      const prefix = path.slice(0, len);
      const node = nodeAt(sources[i], prefix);
      if (!node) continue;
      const offset = keyOffset(sources[i], prefix) ?? node.range?.[0] ?? 0;
      return problemAt(sources[i].file, sources[i].text, sources[i].lines, offset, message);
    }
  }
  const last = sources[sources.length - 1];
  return { file: last?.file ?? '<config>', line: 1, col: 1, message };
}

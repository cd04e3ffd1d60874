/** Dotted paths (`training.joint.epochs`) into plain config objects. Pure. */
import { isPlainObject, type Json } from './merge.ts';

export const splitPath = (dotted: string): string[] => dotted.split('.');

export function getPath(obj: unknown, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (!isPlainObject(cur) || !Object.hasOwn(cur, key)) return undefined; // never a prototype's member
    cur = cur[key];
  }
  return cur;
}

/** Sets a value, creating intermediate maps; returns a new object (the input is not changed). */
export function setPath<T>(obj: T, path: readonly string[], value: unknown): T {
  const out = structuredClone(obj) as Record<string, Json>;
  let cur = out;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(cur[key])) cur[key] = {};
    cur = cur[key] as Record<string, Json>;
  }
  cur[path[path.length - 1]] = structuredClone(value) as Json;
  return out as T;
}

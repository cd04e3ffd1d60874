/**
 * `items.json` in a run directory: the per-item correctness of the run's final test evaluation
 * (see items.ts), in the verified envelope of runner/files so a damaged file is named, never
 * silently misread. Written by the worker after the final evaluation, read by the report.
 */
import { join } from 'node:path';
import { CorruptFileError, readVerifiedJson, writeVerifiedJson } from '../files/verified.ts';
import { itemResultsProblem, type ItemResults } from './items.ts';

export const ITEMS_FILE = 'items.json';

export function itemFileOf(runDir: string): string {
  return join(runDir, ITEMS_FILE);
}

export function writeItemResults(runDir: string, items: ItemResults): void {
  writeVerifiedJson(itemFileOf(runDir), items);
}

/** The run's per-item results; undefined when the run has none (older runs); CorruptFileError when damaged. */
export function readItemResults(runDir: string): ItemResults | undefined {
  const file = itemFileOf(runDir);
  const value = readVerifiedJson<ItemResults>(file);
  if (value === undefined) return undefined;
  const problem = itemResultsProblem(value);
  if (problem) throw new CorruptFileError(file, problem);
  return value;
}

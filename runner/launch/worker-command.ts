/** The command a launcher starts for one run: `node bin/mmrun.js worker <run-dir>` unless overridden. */
import { resolve } from 'node:path';
import { MmrunError } from '../errors.ts';

const MMRUN_BIN = resolve(import.meta.dirname, '../../bin/mmrun.js');

/**
 * The command before the run directory. MMRUN_WORKER_COMMAND (a JSON array) replaces it: tests use
 * it to launch small fixture workers; a site can use it to wrap workers (e.g. in a container).
 */
export function workerCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env.MMRUN_WORKER_COMMAND;
  if (!raw) return [process.execPath, MMRUN_BIN, 'worker'];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new MmrunError(`MMRUN_WORKER_COMMAND must be a JSON array of strings, e.g. ["node","worker.mjs"]; got: ${raw}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((x) => typeof x === 'string')) {
    throw new MmrunError(`MMRUN_WORKER_COMMAND must be a non-empty JSON array of strings; got: ${raw}`);
  }
  return parsed as string[];
}

/** A shell-quoted word (for the Slurm batch script). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

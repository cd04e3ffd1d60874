// Files mmrun reads back are verified against a checksum written with them. Two forms:
// - a directory of artifacts (a dataset, an augmented set, a checkpoint): `checksums.json` lists
//   each file's size and SHA-256, written last and atomically; `verifyDirectory` checks them all;
// - a single JSON file: an envelope `{ "sha256": ..., "value": ... }` written atomically, so the
//   checksum and the content can never come from two different writes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MmrunError } from '../errors.ts';
import { readTextIfExists, writeJsonAtomic } from './atomic.ts';
import { sha256Bytes, sha256File } from './checksum.ts';

export const CHECKSUMS_FILE = 'checksums.json';

interface ChecksumsFile {
  algorithm: 'sha256';
  files: Record<string, { size: number; sha256: string }>;
  /** SHA-256 of JSON.stringify(files): a damaged list is told apart from a damaged file. Optional (older lists lack it). */
  self?: string;
}

/** The problem with a parsed checksum list itself, if any. */
function listProblem(list: ChecksumsFile, listFile: string): string | undefined {
  if (list?.algorithm !== 'sha256' || typeof list.files !== 'object' || list.files === null) return `${listFile} is not a checksum list`;
  if (list.self !== undefined && list.self !== sha256Bytes(JSON.stringify(list.files))) return `${listFile} does not match its own checksum`;
  return undefined;
}

/** A file read back that is not what was written: names the file and what was expected. */
export class CorruptFileError extends MmrunError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file} is corrupt: ${reason}`);
    this.name = 'CorruptFileError';
  }
}

/** Records the size and SHA-256 of `names` (relative to `dir`) in `dir/checksums.json`. */
export function writeDirectoryChecksums(dir: string, names: string[]): void {
  const files: ChecksumsFile['files'] = {};
  for (const name of [...names].sort()) files[name] = sha256File(join(dir, name));
  writeJsonAtomic(join(dir, CHECKSUMS_FILE), { algorithm: 'sha256', files, self: sha256Bytes(JSON.stringify(files)) } satisfies ChecksumsFile);
}

/**
 * Checks every file listed in `dir/checksums.json`. Returns the problems found (empty: intact).
 * A missing or unreadable checksums file is a problem too: nothing unverified is trusted.
 */
export function verifyDirectory(dir: string): string[] {
  const list = readDirectoryChecksums(dir);
  if ('problem' in list) return [list.problem];
  const problems: string[] = [];
  for (const [name, want] of Object.entries(list.files)) {
    const file = join(dir, name);
    if (!existsSync(file)) {
      problems.push(`${file} is missing`);
      continue;
    }
    const got = sha256File(file);
    if (got.size !== want.size) problems.push(`${file} has ${got.size} bytes, expected ${want.size}`);
    else if (got.sha256 !== want.sha256) problems.push(`${file} does not match its checksum`);
  }
  return problems;
}

/** Throws CorruptFileError naming the first bad file when `dir` does not verify. */
export function assertDirectoryIntact(dir: string): void {
  const problems = verifyDirectory(dir);
  if (problems.length > 0) throw new CorruptFileError(dir, problems.join('; '));
}

/** Writes `value` as a checksummed JSON envelope, atomically. */
export function writeVerifiedJson(file: string, value: unknown): void {
  const body = JSON.stringify(value);
  writeJsonAtomic(file, { sha256: sha256Bytes(body), value });
}

/**
 * Reads a file written by writeVerifiedJson. Undefined when it does not exist; CorruptFileError
 * when it is not valid JSON, not an envelope, or its content does not match its checksum.
 */
export function readVerifiedJson<T>(file: string): T | undefined {
  const text = readTextIfExists(file);
  if (text === undefined) return undefined;
  let envelope: { sha256?: unknown; value?: unknown };
  try {
    envelope = JSON.parse(text) as typeof envelope;
  } catch {
    throw new CorruptFileError(file, 'not valid JSON (truncated or overwritten?)');
  }
  if (typeof envelope !== 'object' || envelope === null || typeof envelope.sha256 !== 'string' || !('value' in envelope)) {
    throw new CorruptFileError(file, 'no checksum envelope ({ sha256, value })');
  }
  if (sha256Bytes(JSON.stringify(envelope.value)) !== envelope.sha256) {
    throw new CorruptFileError(file, 'content does not match its checksum');
  }
  return envelope.value as T;
}

/** The checksum list of `dir`, or a problem (missing, unreadable, not a list). */
export function readDirectoryChecksums(dir: string): { files: ChecksumsFile['files'] } | { problem: string } {
  const listFile = join(dir, CHECKSUMS_FILE);
  let list: ChecksumsFile;
  try {
    list = JSON.parse(readFileSync(listFile, 'utf8')) as ChecksumsFile;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? `${listFile} is missing` : `${listFile} is unreadable (${(err as Error).message})` };
  }
  const bad = listProblem(list, listFile);
  return bad ? { problem: bad } : { files: list.files };
}

/**
 * Reads `dir/name` and checks the bytes read against `dir/checksums.json`: what is returned is
 * exactly what was verified (no window between checking a file and reading it).
 * Throws CorruptFileError naming the file when it is not listed or does not match.
 */
export function readVerifiedFile(dir: string, name: string, list: { files: ChecksumsFile['files'] }): Buffer {
  const file = join(dir, name);
  const want = list.files[name];
  if (!want) throw new CorruptFileError(file, `not listed in ${join(dir, CHECKSUMS_FILE)}`);
  const bytes = readFileSync(file);
  if (bytes.length !== want.size) throw new CorruptFileError(file, `${bytes.length} bytes, expected ${want.size}`);
  if (sha256Bytes(bytes) !== want.sha256) throw new CorruptFileError(file, 'does not match its checksum');
  return bytes;
}

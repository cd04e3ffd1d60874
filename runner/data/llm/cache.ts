/**
 * An append-only JSONL cache: one `{"k": key, "v": value, "h": check}` (or `{"k": key, "failed":
 * reason, "h": check}`) per line, appended and flushed as soon as a result arrives, so a killed
 * process loses at most the requests in flight. `h` is the start of a SHA-256 over the record, so
 * a line damaged on disk (a flipped byte that still parses) is caught. A torn last line (kill
 * mid-write), a malformed line, a line failing its check and a line without a check are counted,
 * warned about (one line per file) and ignored: that entry is asked again. Later lines for a key
 * win. A line without `h` is never trusted: dropping the check is exactly what a hand edit or a
 * damaged line may do, so "written by an older mmrun" cannot be told from it line by line.
 * Caches written before checks existed (development builds before 2026-12-01) lose those entries
 * once: they are asked again and stored with their check. Should an older format ever need
 * reading, it is to be told by a file-level version marker, never per line.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface JsonlCache<T> {
  readonly file: string;
  get(key: string): T | undefined;
  has(key: string): boolean;
  put(key: string, value: T): void;
  /** Records a failure (informational: a failed key is retried next time). */
  fail(key: string, reason: string): void;
  /** Keys whose last record is a failure. */
  failed(): Map<string, string>;
  readonly size: number;
  close(): void;
}

/** The check stored with a record: 16 hex digits of SHA-256 over the key and the JSON of the rest. */
export function recordCheck(key: string, rest: unknown): string {
  return createHash('sha256').update(key).update('\0').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

/** sha256 over the parts, separated so that ("ab","c") and ("a","bc") differ. */
export function cacheKey(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(String(p.length)).update(':').update(p);
  return h.digest('hex');
}

type SkipReason = 'malformed' | 'mismatched' | 'unchecked';

/** Takes one line into `values`/`failures`; the reason it was skipped, if it was. */
function readRecord<T>(line: string, values: Map<string, T>, failures: Map<string, string>): SkipReason | undefined {
  let rec: { k?: unknown; v?: unknown; failed?: unknown; h?: unknown };
  try {
    rec = JSON.parse(line) as typeof rec;
  } catch {
    return 'malformed';
  }
  if (typeof rec !== 'object' || rec === null || typeof rec.k !== 'string' || (!('v' in rec) && typeof rec.failed !== 'string')) return 'malformed';
  if (rec.h === undefined) return 'unchecked';
  if (rec.h !== recordCheck(rec.k, 'v' in rec ? { v: rec.v } : { failed: rec.failed })) return 'mismatched';
  if ('v' in rec) {
    values.set(rec.k, rec.v as T);
    failures.delete(rec.k);
  } else if (!values.has(rec.k)) failures.set(rec.k, rec.failed as string);
  return undefined;
}

/** "malformed line(s)", "line(s) failing their checksum", ... or the mix, counted. */
function skippedWhat(skipped: Record<SkipReason, number>, bad: number): string {
  const names: Record<SkipReason, string> = { malformed: 'malformed', mismatched: 'failing their checksum', unchecked: 'without a checksum' };
  const only = (Object.keys(skipped) as SkipReason[]).find((r) => skipped[r] === bad);
  if (only === 'malformed') return 'malformed line(s)';
  if (only) return `line(s) ${names[only]}`;
  return `line(s): ${(Object.keys(skipped) as SkipReason[]).filter((r) => skipped[r] > 0).map((r) => `${skipped[r]} ${names[r]}`).join(', ')}`;
}

export function openJsonlCache<T>(file: string, opts: { warn?: (message: string) => void } = {}): JsonlCache<T> {
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const values = new Map<string, T>();
  const failures = new Map<string, string>();
  let needsNewline = false;
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    needsNewline = text.length > 0 && !text.endsWith('\n');
    const lines = text.split('\n');
    const skipped = { malformed: 0, mismatched: 0, unchecked: 0 };
    const examples: number[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      const why = readRecord(line, values, failures);
      if (!why) return;
      skipped[why]++;
      if (examples.length < 5) examples.push(i + 1);
    });
    const bad = skipped.malformed + skipped.mismatched + skipped.unchecked;
    if (bad) warn(`warning: ${file}: ignored ${bad} ${skippedWhat(skipped, bad)} (line ${examples.join(', ')}${bad > examples.length ? ', …' : ''}); those entries will be redone`);
  }
  let fd: number | undefined;
  const append = (record: unknown) => {
    if (fd === undefined) {
      mkdirSync(dirname(file), { recursive: true });
      fd = openSync(file, 'a');
      if (!needsNewline && fstatSync(fd).size > 0) {
        // Another process may have appended a torn line since we read the file.
        const last = Buffer.alloc(1);
        const rfd = openSync(file, 'r');
        readSync(rfd, last, 0, 1, fstatSync(rfd).size - 1);
        closeSync(rfd);
        needsNewline = last[0] !== 0x0a;
      }
    }
    // One write per record: appends of a few KB land whole, even with two processes appending.
    writeSync(fd, (needsNewline ? '\n' : '') + JSON.stringify(record) + '\n');
    needsNewline = false;
  };
  return {
    file,
    get: (key) => values.get(key),
    has: (key) => values.has(key),
    put(key, value) {
      values.set(key, value);
      failures.delete(key);
      append({ k: key, v: value, h: recordCheck(key, { v: value }) });
    },
    fail(key, reason) {
      if (values.has(key)) return;
      failures.set(key, reason);
      append({ k: key, failed: reason, h: recordCheck(key, { failed: reason }) });
    },
    failed: () => new Map(failures),
    get size() {
      return values.size;
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

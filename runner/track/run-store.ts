// The only code that reads and writes a run directory (docs/contracts.md, "Run directory").
// Writers: the launcher (spec, queued/failed-to-start status) and the worker (status,
// metrics, summary). Readers: launcher, sync, report. JSON files are replaced atomically;
// metrics.jsonl is append-only and read tolerantly because a killed worker can leave a
// half-written last line. spec.json, summary.json and embeddings.json carry their own checksum
// (a top-level "sha256" over the rest, so they stay plain JSON and one atomic write holds both)
// and are verified on every read (docs/contracts.md, "Run directory").
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MmrunError } from '../errors.ts';
import { readJsonIfExists, readTextIfExists, writeJsonAtomic } from '../files/atomic.ts';
import { sha256Bytes } from '../files/checksum.ts';
import { CorruptFileError } from '../files/verified.ts';
import type { RunSpec } from './plan-types.ts';
import { mkdirLevels } from '../files/mkdir.ts';

export type RunState = 'queued' | 'running' | 'finished' | 'failed' | 'killed';
export type FailureCause = 'oom' | 'segfault' | 'timeout' | 'nan' | 'exception' | 'killed';

/** status.json. Only state, runId and attempt are always present (a queued run has no pid yet). */
export interface RunStatus {
  state: RunState;
  runId: string;
  attempt: number;
  pid?: number;
  host?: string;
  launcher?: { type: 'local' | 'slurm'; pid?: number; slurmJobId?: string };
  startedAt?: string;
  endedAt?: string | null;
  heartbeatAt?: string;
  backend?: string;
  phase?: string;
  epoch?: number;
  progress?: { step: number; steps: number; loss?: number; samplesPerS?: number };
  error?: { message: string; exitCode?: number | null; signal?: string | null; cause?: FailureCause };
}

/** One line of metrics.jsonl. `step` is global within the phase. */
export interface MetricLine {
  t: string;
  phase: string;
  kind: 'step' | 'epoch' | 'eval';
  step: number;
  epoch: number;
  metrics: Record<string, number>;
}

export interface PhaseSummary {
  steps: number;
  epochs: number;
  metrics: Record<string, number>;
}

/** summary.json, rewritten at the end of each phase. */
export interface RunSummary {
  runId: string;
  backend: string;
  durationS: number;
  phases: Record<string, PhaseSummary>;
  final: Record<string, number>;
  perClass?: { image_acc: number[]; text_acc: number[] };
  confusion?: { image: number[][]; text: number[][] };
  /** The hash of the built dataset the run trained on (artifacts/datasets/<name>-<hash>/); absent in runs made before it was recorded. */
  datasetHash?: string;
  /** The joint phase's key (artifacts/joint/<key>/) and whether another run trained it. */
  jointKey?: string;
  jointReused?: boolean;
}

/**
 * spec.json: the RunSpec plus where it comes from. `runFormat` (RUN_FORMAT) marks a run directory
 * written by an mmrun that checksums its JSON files; without it (older runs) a file without a
 * checksum is read as unverified, with it a missing checksum is a corrupt file.
 */
export type RunSpecFile = RunSpec & { sweepId: string; experimentFile: string; runFormat?: number; legacyId?: string };

/** Run directory format: 2 = spec.json, summary.json and embeddings.json carry a "sha256" checksum. */
export const RUN_FORMAT = 2;
/** The top-level field holding a checked run file's checksum: SHA-256 of JSON.stringify of the other fields, in file order. */
export const CHECKSUM_FIELD = 'sha256';

/** A checked run file as read: `verified` false only for a file of an older run (no checksum, spec.json without runFormat). */
export interface CheckedRead<T> {
  value: T;
  verified: boolean;
  file: string;
}

/** Embeddings sample written by the worker for the report (docs/contracts.md). */
export interface EmbeddingsFile {
  classes: string[];
  image: { label: number; xy?: number[]; v: number[] }[];
  text: { label: number; xy?: number[]; v: number[] }[];
}

export interface MetricsRead {
  lines: MetricLine[]; // every valid line, in file order
  problems: string[]; // "metrics.jsonl:7: ..." for each line that was skipped
}

export const RUN_FILES = {
  spec: 'spec.json',
  status: 'status.json',
  metrics: 'metrics.jsonl',
  summary: 'summary.json',
  log: 'log.txt',
  checkpoints: 'checkpoints',
  embeddings: 'embeddings.json',
  tokenizer: 'tokenizer.json',
} as const;

export function runDirOf(artifactsDir: string, runId: string): string {
  return resolve(artifactsDir, 'runs', runId);
}

export function sweepDirOf(artifactsDir: string, sweepId: string): string {
  return resolve(artifactsDir, 'sweeps', sweepId);
}

/** Run directories (absolute paths, sorted) under `<artifactsDir>/runs/` that hold a spec.json. */
export function listRunDirs(artifactsDir: string): string[] {
  const runs = resolve(artifactsDir, 'runs');
  if (!existsSync(runs)) return [];
  return readdirSync(runs, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(runs, e.name, RUN_FILES.spec)))
    .map((e) => join(runs, e.name))
    .sort();
}

export class RunStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** Creates (or reuses) `<artifactsDir>/runs/<spec.id>/` and writes spec.json. */
  static create(artifactsDir: string, spec: RunSpec, origin: { sweepId: string; experimentFile: string }): RunStore {
    const store = new RunStore(runDirOf(artifactsDir, spec.id));
    mkdirLevels(store.dir);
    // An older run launched again keeps its format until its unchecked files are rewritten:
    // marking it now would turn its old summary into a "corrupt" one.
    const older = store.hasUncheckedFiles();
    store.writeSpec({ ...spec, sweepId: origin.sweepId, experimentFile: origin.experimentFile, ...(older ? {} : { runFormat: RUN_FORMAT }) });
    return store;
  }

  /** Opens an existing run directory; throws MmrunError when it has no spec.json. */
  static open(dir: string): RunStore {
    const store = new RunStore(dir);
    if (!existsSync(store.path('spec'))) {
      throw new MmrunError(`${store.dir} is not a run directory: ${RUN_FILES.spec} is missing.`);
    }
    return store;
  }

  path(file: keyof typeof RUN_FILES): string {
    return join(this.dir, RUN_FILES[file]);
  }

  /** spec.json, verified (CorruptFileError when damaged or edited). */
  readSpec(): RunSpecFile {
    return this.readSpecChecked().value;
  }

  readSpecChecked(): CheckedRead<RunSpecFile> {
    const read = this.readChecked<RunSpecFile>('spec', (spec) => spec.runFormat);
    if (!read) throw new MmrunError(`${this.path('spec')} is missing: not a run directory.`);
    return read;
  }

  /** `verified: false` rewrites an older run's unverified spec as it was (no checksum is made up for it). */
  writeSpec(spec: RunSpecFile, opts: { verified?: boolean } = {}): void {
    this.writeChecked('spec', spec, opts.verified !== false);
  }

  readStatus(): RunStatus | undefined {
    return this.readJson<RunStatus>('status');
  }

  writeStatus(status: RunStatus): void {
    writeJsonAtomic(this.path('status'), status);
  }

  /** Read-modify-write of status.json; fine because each phase of a run has one status writer. */
  updateStatus(patch: Partial<RunStatus>): RunStatus {
    const current = this.readStatus();
    const runId = current?.runId ?? patch.runId ?? this.readSpec().id;
    const next: RunStatus = { state: 'queued', attempt: 1, ...current, ...patch, runId };
    this.writeStatus(next);
    return next;
  }

  appendMetrics(...lines: MetricLine[]): void {
    if (lines.length === 0) return;
    const file = this.path('metrics');
    // A worker killed mid-write leaves a line without its newline; start on a fresh line so
    // the next valid line is not glued to the broken one.
    const prefix = endsWithoutNewline(file) ? '\n' : '';
    appendFileSync(file, prefix + lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  }

  readMetrics(): MetricsRead {
    const file = this.path('metrics');
    if (!existsSync(file)) return { lines: [], problems: [] };
    return parseMetricsJsonl(readFileSync(file, 'utf8'), RUN_FILES.metrics);
  }

  /**
   * summary.json, verified: undefined when absent; CorruptFileError (naming the file) when it is
   * not valid JSON, does not match its checksum, or lacks one in a run that always records one.
   * An older run's summary (no checksum, spec.json without runFormat) is returned as it is: use
   * readSummaryChecked() where the numbers are shown, to label them unverified.
   */
  readSummary(): RunSummary | undefined {
    return this.readSummaryChecked()?.value;
  }

  readSummaryChecked(): CheckedRead<RunSummary> | undefined {
    const read = this.readChecked<RunSummary>('summary', () => this.runFormat());
    if (read) {
      const problem = summaryShapeError(read.value);
      if (problem) throw new CorruptFileError(read.file, problem);
    }
    return read;
  }

  /** `verified: false` rewrites an older run's unverified summary as it was (no checksum is made up for it). */
  writeSummary(summary: RunSummary, opts: { verified?: boolean } = {}): void {
    this.writeChecked('summary', summary, opts.verified !== false);
  }

  /** embeddings.json, verified like summary.json. */
  readEmbeddingsChecked(): CheckedRead<EmbeddingsFile> | undefined {
    return this.readChecked<EmbeddingsFile>('embeddings', () => this.runFormat());
  }

  writeEmbeddings(embeddings: EmbeddingsFile): void {
    this.writeChecked('embeddings', embeddings, true);
  }

  /** spec.json's runFormat; undefined for an older run (when spec.json is missing or unreadable, no file is excused). */
  private runFormat(): number | undefined {
    try {
      const spec = readJsonIfExists<RunSpecFile>(this.path('spec'));
      return spec ? spec.runFormat : RUN_FORMAT;
    } catch {
      return RUN_FORMAT;
    }
  }

  /** Whether summary.json or embeddings.json exist without a checksum (written by an older mmrun). */
  private hasUncheckedFiles(): boolean {
    return (['summary', 'embeddings'] as const).some((name) => {
      try {
        const o = readJsonIfExists<Record<string, unknown>>(this.path(name));
        return o !== undefined && typeof o === 'object' && o !== null && !(CHECKSUM_FIELD in o);
      } catch {
        return false; // damaged: reported as corrupt when read
      }
    });
  }

  private writeChecked(name: 'spec' | 'summary' | 'embeddings', value: object, checked: boolean): void {
    const { [CHECKSUM_FIELD]: _old, ...body } = value as Record<string, unknown>;
    void _old;
    writeJsonAtomic(this.path(name), checked ? { ...body, [CHECKSUM_FIELD]: sha256Bytes(JSON.stringify(body)) } : body);
  }

  /**
   * Reads a file written by writeChecked. `formatOf` gives the run's format: from RUN_FORMAT on,
   * a file without its checksum is corrupt; before it (an older run), it is read unverified.
   */
  private readChecked<T>(name: 'spec' | 'summary' | 'embeddings', formatOf: (parsed: T) => number | undefined): CheckedRead<T> | undefined {
    const file = this.path(name);
    const text = readTextIfExists(file);
    if (text === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CorruptFileError(file, 'not valid JSON (truncated or overwritten?)');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CorruptFileError(file, 'expected a JSON object');
    const { [CHECKSUM_FIELD]: sum, ...body } = parsed as Record<string, unknown>;
    if (sum === undefined) {
      if ((formatOf(body as T) ?? 0) >= RUN_FORMAT) {
        throw new CorruptFileError(file, `no "${CHECKSUM_FIELD}" checksum, though this run was written by an mmrun that always records one (edited by hand?)`);
      }
      return { value: body as T, verified: false, file };
    }
    if (typeof sum !== 'string' || sha256Bytes(JSON.stringify(body)) !== sum) {
      throw new CorruptFileError(file, `content does not match its "${CHECKSUM_FIELD}" checksum (damaged or edited by hand?)`);
    }
    return { value: body as T, verified: true, file };
  }

  private readJson<T>(file: 'status'): T | undefined {
    try {
      return readJsonIfExists<T>(this.path(file));
    } catch (err) {
      throw new MmrunError(`${this.path(file)} is not valid JSON: ${(err as Error).message}`);
    }
  }
}

/** Parses metrics.jsonl text: keeps every well-formed line, reports the others. */
export function parseMetricsJsonl(text: string, label = RUN_FILES.metrics): MetricsRead {
  const lines: MetricLine[] = [];
  const problems: string[] = [];
  const raw = text.split('\n');
  const endsClean = text.endsWith('\n');
  raw.forEach((line, i) => {
    if (line.trim() === '') return;
    const isLast = i === raw.length - 1 && !endsClean;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push(`${label}:${i + 1}: ${isLast ? 'truncated last line' : 'not valid JSON'} (skipped)`);
      return;
    }
    const shapeError = metricLineError(value);
    if (shapeError) problems.push(`${label}:${i + 1}: ${shapeError} (skipped)`);
    else lines.push(value as MetricLine);
  });
  return { lines, problems };
}

/** What a summary must hold for its numbers to be used; undefined when it does. */
function summaryShapeError(s: RunSummary): string | undefined {
  const isMap = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (s.final !== undefined && (!isMap(s.final) || Object.values(s.final).some((v) => typeof v !== 'number' && v !== null))) return "'final' must map metric names to numbers";
  if (s.phases !== undefined && !isMap(s.phases)) return "'phases' must be an object";
  return undefined;
}

function metricLineError(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'expected a JSON object';
  const o = v as Record<string, unknown>;
  if (typeof o.phase !== 'string' || o.phase === '') return "'phase' must be a non-empty string";
  if (o.kind !== 'step' && o.kind !== 'epoch' && o.kind !== 'eval') return "'kind' must be step, epoch or eval";
  if (typeof o.step !== 'number' || !Number.isFinite(o.step)) return "'step' must be a number";
  if (typeof o.metrics !== 'object' || o.metrics === null || Array.isArray(o.metrics)) return "'metrics' must be an object";
  return undefined;
}

function endsWithoutNewline(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}

// The only code that reads and writes a run directory (docs/contracts.md, "Run directory").
// Writers: the launcher (spec, queued/failed-to-start status) and the worker (status,
// metrics, summary). Readers: launcher, sync, report. JSON files are replaced atomically;
// metrics.jsonl is append-only and read tolerantly because a killed worker can leave a
// half-written last line.
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MmrunError } from '../errors.ts';
import { readJsonIfExists, writeJsonAtomic } from '../files/atomic.ts';
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
  /** The joint phase's key (artifacts/joint/<key>/) and whether another run trained it. */
  jointKey?: string;
  jointReused?: boolean;
}

/** spec.json: the RunSpec plus where it comes from. */
export type RunSpecFile = RunSpec & { sweepId: string; experimentFile: string };

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
    const file: RunSpecFile = { ...spec, sweepId: origin.sweepId, experimentFile: origin.experimentFile };
    writeJsonAtomic(store.path('spec'), file);
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

  readSpec(): RunSpecFile {
    const spec = this.readJson<RunSpecFile>('spec');
    if (!spec) throw new MmrunError(`${this.path('spec')} is missing: not a run directory.`);
    return spec;
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

  readSummary(): RunSummary | undefined {
    return this.readJson<RunSummary>('summary');
  }

  writeSummary(summary: RunSummary): void {
    writeJsonAtomic(this.path('summary'), summary);
  }

  private readJson<T>(file: keyof typeof RUN_FILES): T | undefined {
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

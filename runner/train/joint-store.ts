// Runs whose joint phases are identical share one joint training in
// `<artifacts>/joint/<jointKey>/`: the first worker takes the lock and trains it (checkpoints
// there, so a killed trainer's successor resumes), the others wait and reuse the result.
// Complete iff result.json exists and verifies: it is a checksummed envelope
// (runner/files/verified.ts) holding the evaluation and the phase's whole metric history, and the
// checkpoint it names must verify too. Anything less is not trusted: the phase is resumed from
// its newest intact checkpoint (or redone), never reused.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CorruptFileError, readVerifiedJson, writeVerifiedJson } from '../files/verified.ts';
import { describeHolder, tryLockFile, type HeldLock } from '../lock-file.ts';
import type { MetricLine } from '../track/run-store.ts';
import { verifyCheckpoint } from './checkpoint.ts';
import type { EvaluationResult } from './evaluate.ts';

export interface JointResult {
  jointKey: string;
  backend: string;
  steps: number;
  epochs: number;
  checkpoint: string; // name of the final checkpoint in checkpoints/
  trainImages: number;
  trainTexts: number;
  trainedBy: string; // run id of the worker that trained it
  valMetrics: Record<string, number>; // validation metrics after the last epoch
  evaluation: EvaluationResult;
  /** Every metric line of the joint phase, in order: what each run using it shows. */
  history: MetricLine[];
  durationS: number;
  finishedAt: string;
}

/** A lock not refreshed for this long is taken over (its owner died on another host). */
const STALE_MS = 120_000;
const HEARTBEAT_MS = 20_000;

export class JointStore {
  readonly dir: string;
  private readonly warned = new Set<string>();

  constructor(artifactsDir: string, readonly key: string) {
    this.dir = resolve(artifactsDir, 'joint', key);
  }

  get checkpointDir(): string {
    return join(this.dir, 'checkpoints');
  }

  get tokenizerFile(): string {
    return join(this.dir, 'tokenizer.json');
  }

  /** The history being written while the phase trains (result.json holds the finished one). */
  get metricsFile(): string {
    return join(this.dir, 'metrics.jsonl');
  }

  get resultFile(): string {
    return join(this.dir, 'result.json');
  }

  private get lockFile(): string {
    return join(this.dir, 'lock');
  }

  /**
   * The finished joint phase, if its result and final checkpoint verify. A corrupt one gives a
   * one-line warning (once per store) naming the file, and undefined: the caller trains the phase
   * (resuming from the newest intact checkpoint) instead of trusting it.
   */
  result(warn?: (message: string) => void): JointResult | undefined {
    const say = (message: string) => {
      if (this.warned.has(message)) return;
      this.warned.add(message);
      warn?.(message);
    };
    let r: JointResult | undefined;
    try {
      r = readVerifiedJson<JointResult>(this.resultFile);
    } catch (err) {
      if (!(err instanceof CorruptFileError)) throw err;
      say(`warning: joint phase ${this.key}: ${err.message}; not reused, the phase is resumed from its newest intact checkpoint`);
      return undefined;
    }
    if (!r) return undefined;
    if (typeof r.checkpoint !== 'string' || !Array.isArray(r.history)) {
      say(`warning: joint phase ${this.key}: ${this.resultFile} is from an older mmrun (no metric history); the phase is resumed from its newest intact checkpoint`);
      return undefined;
    }
    const problems = verifyCheckpoint(this.checkpointDir, r.checkpoint);
    if (problems.length > 0) {
      say(`warning: joint phase ${this.key}: its final checkpoint is corrupt (${problems[0]}); not reused, the phase is resumed from its newest intact checkpoint`);
      return undefined;
    }
    return r;
  }

  writeResult(r: JointResult): void {
    writeVerifiedJson(this.resultFile, r);
  }

  /** Tries once to take the lock (runner/lock-file.ts); the held lock is kept fresh until released. */
  tryLock(): HeldLock | undefined {
    return tryLockFile(this.lockFile, { staleMs: STALE_MS, heartbeatMs: HEARTBEAT_MS });
  }

  /** "pid 123 on node7", or undefined when nobody holds the lock. */
  holder(): string | undefined {
    return describeHolder(this.lockFile);
  }

  exists(): boolean {
    return existsSync(this.dir);
  }
}

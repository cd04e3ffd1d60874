// Runs whose joint phases are identical share one joint training in
// `<artifacts>/joint/<jointKey>/`: the first worker takes the lock and trains it (checkpoints
// there, so a killed trainer's successor resumes), the others wait and reuse the result.
// Complete iff result.json exists.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { readJsonIfExists, writeJsonAtomic } from '../files/atomic.ts';
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
  durationS: number;
  finishedAt: string;
}

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

/** A lock whose file is not refreshed for this long is taken over (its owner died on another host). */
const STALE_MS = 120_000;

export class JointStore {
  readonly dir: string;

  constructor(artifactsDir: string, readonly key: string) {
    this.dir = resolve(artifactsDir, 'joint', key);
  }

  get checkpointDir(): string {
    return join(this.dir, 'checkpoints');
  }

  get tokenizerFile(): string {
    return join(this.dir, 'tokenizer.json');
  }

  get metricsFile(): string {
    return join(this.dir, 'metrics.jsonl');
  }

  private get lockFile(): string {
    return join(this.dir, 'lock');
  }

  result(): JointResult | undefined {
    return readJsonIfExists<JointResult>(join(this.dir, 'result.json'));
  }

  writeResult(r: JointResult): void {
    writeJsonAtomic(join(this.dir, 'result.json'), r);
  }

  /** Tries once to take the lock; true when this process holds it. */
  tryLock(): boolean {
    mkdirSync(this.dir, { recursive: true });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.lockFile, 'wx');
        const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
        writeSync(fd, JSON.stringify(owner));
        closeSync(fd);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!this.lockIsStale()) return false;
        rmSync(this.lockFile, { force: true });
      }
    }
    return false;
  }

  owner(): LockOwner | undefined {
    try {
      return JSON.parse(readFileSync(this.lockFile, 'utf8')) as LockOwner;
    } catch {
      return undefined;
    }
  }

  private lockIsStale(): boolean {
    const owner = this.owner();
    if (owner && owner.host === hostname()) {
      if (owner.pid === process.pid) return true;
      try {
        process.kill(owner.pid, 0);
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH';
      }
    }
    try {
      return Date.now() - statSync(this.lockFile).mtimeMs > STALE_MS;
    } catch {
      return true; // vanished meanwhile
    }
  }

  /** Touches the lock so waiters on other hosts know its owner is alive. */
  refreshLock(): void {
    const now = new Date();
    try {
      utimesSync(this.lockFile, now, now);
    } catch {
      // lost the lock file: the next tryLock of a waiter will sort it out
    }
  }

  unlock(): void {
    const owner = this.owner();
    if (owner && owner.pid === process.pid && owner.host === hostname()) rmSync(this.lockFile, { force: true });
  }

  exists(): boolean {
    return existsSync(this.dir);
  }
}

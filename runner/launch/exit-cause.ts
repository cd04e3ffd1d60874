/** What ended a worker process, in the words of status.json's `error.cause`. Pure. */
import type { FailureCause, RunStatus } from '../track/run-store.ts';

export interface WorkerExit {
  exitCode: number | null;
  signal: string | null;
  /** The launcher killed it because it ran past launcher.timeout_minutes. */
  timedOut?: boolean;
  /** The launcher asked it to stop (Ctrl-C, cancel, fail_fast). */
  stopRequested?: boolean;
  /**
   * What the kernel says about out-of-memory kills while the worker ran (runner/launch/oom-watch.ts):
   * `killed` the memory cgroup's oom_kill counter went up; `none` it did not; absent: unknown.
   */
  oom?: { verdict: 'killed' | 'none'; detail: string };
}

export type Outcome = { state: 'finished' } | { state: 'killed' | 'failed'; error: NonNullable<RunStatus['error']> };

const SIGNAL_NUMBERS: Record<number, string> = { 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM', 2: 'SIGINT', 7: 'SIGBUS' };

/**
 * Decides how a run ended from its exit and what the worker itself wrote (`status`). The worker's
 * own verdict wins when it wrote one (it knows about NaN losses and exceptions); otherwise the
 * exit code or signal tells: 139/SIGSEGV is a segfault; 137/SIGKILL is "oom" only when the kernel
 * recorded an OOM kill in the worker's memory cgroup while it ran (`exit.oom`), else "killed".
 */
export function classifyExit(exit: WorkerExit, status: RunStatus | undefined): Outcome {
  const { exitCode, signal } = exit;
  const code = exitCode ?? null;
  // A shell reports death by signal N as exit 128+N.
  const sig = signal ?? (code !== null && code > 128 && SIGNAL_NUMBERS[code - 128] ? SIGNAL_NUMBERS[code - 128] : null);
  const base = { exitCode: code, signal: sig };
  if (exit.timedOut) {
    return { state: 'failed', error: { ...base, cause: 'timeout', message: 'killed by the launcher: the run went past launcher.timeout_minutes' } };
  }
  if (code === 0 && !sig) {
    if (status?.state === 'finished') return { state: 'finished' };
    return {
      state: 'failed',
      error: { ...base, cause: 'exception', message: `the worker exited 0 but its status.json says ${status?.state ?? 'nothing'} (expected finished)` },
    };
  }
  if (status?.state === 'killed' || ((code === 130 || code === 143 || sig === 'SIGTERM' || sig === 'SIGINT') && exit.stopRequested)) {
    return { state: 'killed', error: status?.state === 'killed' && status.error ? { ...status.error, ...base } : { ...base, cause: 'killed', message: 'stopped on request' } };
  }
  if (status?.state === 'failed' && status.error && status.error.cause !== undefined && !sig) {
    return { state: 'failed', error: { ...status.error, exitCode: code } };
  }
  let cause: FailureCause = 'exception';
  let message = `the worker exited with code ${code}`;
  if (sig === 'SIGSEGV' || sig === 'SIGBUS') {
    cause = 'segfault';
    message = `the worker crashed (${sig}${code !== null ? `, exit ${code}` : ''}): a segmentation fault in native code`;
  } else if (sig === 'SIGKILL') {
    const how = `the worker was killed by SIGKILL${code !== null ? ` (exit ${code})` : ''}`;
    if (exit.stopRequested) {
      cause = 'killed';
      message = 'killed by the launcher';
    } else if (exit.oom?.verdict === 'killed') {
      cause = 'oom';
      message = `${how}: out of memory, the kernel's OOM killer (${exit.oom.detail})`;
    } else {
      cause = 'killed';
      message = exit.oom
        ? `${how} from outside mmrun; not out of memory (${exit.oom.detail})`
        : `${how} from outside mmrun (whether it ran out of memory is unknown: no memory cgroup counter to read)`;
    }
  } else if (sig) {
    cause = 'killed';
    message = `the worker was killed by ${sig}`;
  } else if (status?.error?.message) {
    message = `${status.error.message} (exit ${code})`;
  }
  if (cause === 'killed' && exit.stopRequested) return { state: 'killed', error: { ...base, cause, message } };
  return { state: 'failed', error: { ...base, cause, message } };
}

/** "oom (exit 137, SIGKILL)" */
export function describeError(error: RunStatus['error'] | undefined): string {
  if (!error) return '';
  const bits = [error.exitCode !== undefined && error.exitCode !== null ? `exit ${error.exitCode}` : '', error.signal ?? ''].filter(Boolean);
  return `${error.cause ?? 'error'}${bits.length ? ` (${bits.join(', ')})` : ''}: ${error.message}`;
}

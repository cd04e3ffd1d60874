/** What Slurm's commands print, parsed. Pure. */

export interface TaskState {
  jobId: string;
  taskId: number;
  state: string; // PENDING, RUNNING, COMPLETED, FAILED, OUT_OF_MEMORY, TIMEOUT, CANCELLED, PREEMPTED, ...
  reason: string;
}

export interface TaskDetail {
  jobId: string;
  taskId: number;
  state: string;
  exitCode: number | null;
  signal: number | null;
}

const ACTIVE = new Set(['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SUSPENDED', 'STAGE_OUT', 'SIGNALING', 'STOPPED']);
export const isActive = (state: string) => ACTIVE.has(state.replace(/\+$/, ''));

/** "12_3": how Slurm (and status.json's launcher.slurmJobId) names array task 3 of job 12. */
export const taskKey = (jobId: string, taskId: number) => `${jobId}_${taskId}`;

/** Parses `squeue -h -r -o '%F|%K|%T|%r'`. */
export function parseSqueue(text: string): TaskState[] {
  const out: TaskState[] = [];
  for (const line of text.split('\n')) {
    const [jobId, task, state, reason] = line.trim().split('|');
    if (!jobId || !/^\d+$/.test(task ?? '')) continue;
    out.push({ jobId, taskId: Number(task), state: state ?? '', reason: reason ?? '' });
  }
  return out;
}

/** `scontrol show job -o` records: exit code and signal of each ended task ("ExitCode=3:0"). */
export function parseScontrolJobs(text: string): TaskDetail[] {
  const out: TaskDetail[] = [];
  for (const line of text.split('\n')) {
    const f = Object.fromEntries(line.trim().split(/\s+/).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    if (!f.ArrayJobId || !/^\d+$/.test(f.ArrayTaskId ?? '')) continue;
    const [code, sig] = (f.ExitCode ?? '').split(':').map(Number);
    out.push({ jobId: f.ArrayJobId, taskId: Number(f.ArrayTaskId), state: f.JobState ?? '', exitCode: Number.isFinite(code) ? code : null, signal: Number.isFinite(sig) ? sig : null });
  }
  return out;
}

export function signalName(n: number): string {
  return ({ 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM', 6: 'SIGABRT', 2: 'SIGINT', 7: 'SIGBUS' } as Record<number, string>)[n] ?? `signal ${n}`;
}

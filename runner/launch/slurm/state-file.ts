/** `artifacts/sweeps/<id>/slurm.json`: the job arrays submitted for a sweep (array task k of job J runs runIds[k]). */
import { existsSync, readFileSync } from 'node:fs';
import { MmrunError } from '../../errors.ts';
import { writeJsonAtomic } from '../../files/atomic.ts';
import type { TaskState } from './parse.ts';

export interface SlurmJobRecord {
  jobId: string;
  /** runIds[k] is the run of array task k. */
  runIds: string[];
  tasksFile: string;
  script: string;
  submittedAt: string;
}

export interface SlurmState {
  jobs: SlurmJobRecord[];
}

export function readSlurmState(file: string): SlurmState {
  if (!existsSync(file)) return { jobs: [] };
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SlurmState;
  } catch (err) {
    throw new MmrunError(`${file} is not valid JSON (${(err as Error).message}); it records the Slurm jobs of this sweep.`);
  }
}

/** Atomic: readers see the old or the new list of jobs. */
export function writeSlurmState(file: string, state: SlurmState): void {
  writeJsonAtomic(file, state);
}

/** The run of a task Slurm knows, through the recorded jobs. */
export function runOfTask(state: SlurmState, t: Pick<TaskState, 'jobId' | 'taskId'>): string | undefined {
  return state.jobs.find((j) => j.jobId === t.jobId)?.runIds[t.taskId];
}

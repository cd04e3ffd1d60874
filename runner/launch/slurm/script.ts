/** The batch script of a sweep's job array. Pure. */
import { join } from 'node:path';
import type { Launcher } from '../../config/types.gen.ts';
import { shellQuote } from '../worker-command.ts';

export const jobNameOf = (sweepId: string) => `mmrun-${sweepId}`;

/** Written in a run directory by the batch script's watchdog when the run went past launcher.timeout_minutes. */
export const TIMED_OUT_MARKER = 'slurm-timed-out';
/**
 * Written by a task just before it requeues itself, removed when the next attempt starts (or the
 * requeue is refused): while Slurm swaps the attempts, squeue can show the task COMPLETED for a
 * moment, and the launcher must not take that for the end of the run.
 */
export const REQUEUE_MARKER = 'slurm-requeued';

export interface ScriptOptions {
  sweepId: string;
  tasksFile: string;
  count: number;
  launcher: Pick<Launcher, 'jobs' | 'slurm'> & Partial<Pick<Launcher, 'timeout_minutes'>>;
  workerCommand: string[];
  outputDir: string;
}

/**
 * launcher.timeout_minutes on Slurm: a watchdog beside the worker marks the run directory, sends
 * SIGTERM, then SIGKILL after MMRUN_KILL_GRACE_S (default 10 s); the launcher reads the mark and
 * records the run as failed by timeout (the task's own --time limit is a requeue, not a failure).
 */
function watchdog(minutes: number | null | undefined): string[] {
  if (!minutes) return [];
  const seconds = Math.max(1, Math.round(minutes * 60));
  return [
    `( sleep ${seconds}; echo "=== mmrun: past launcher.timeout_minutes (${minutes}) at $(date -u +%Y-%m-%dT%H:%M:%SZ): stopping the worker ===" >> "$RUN_DIR/log.txt"; touch "$RUN_DIR/${TIMED_OUT_MARKER}"; kill -TERM "$pid" 2>/dev/null; sleep "\${MMRUN_KILL_GRACE_S:-10}"; kill -KILL "$pid" 2>/dev/null ) &`,
    'watchdog=$!',
  ];
}

/** The batch script of one array job. Pure. */
export function slurmScript(o: ScriptOptions): string {
  const s = o.launcher.slurm;
  const throttle = o.launcher.jobs === 'auto' ? '' : `%${o.launcher.jobs}`;
  const directives = [
    `--job-name=${jobNameOf(o.sweepId)}`,
    `--array=0-${o.count - 1}${throttle}`,
    `--output=${join(o.outputDir, '%A_%a.out')}`,
    `--cpus-per-task=${s.cpus_per_task}`,
    `--time=${s.time}`,
    '--requeue',
    // USR1 to the batch shell 120 s before the time limit: the worker checkpoints, the task requeues itself.
    '--signal=B:USR1@120',
    ...(s.mem ? [`--mem=${s.mem}`] : []),
    ...(s.partition ? [`--partition=${s.partition}`] : []),
    ...(s.account ? [`--account=${s.account}`] : []),
    ...(s.gpus > 0 ? [`--gres=gpu:${s.gpus}`] : []),
    ...s.extra_args,
  ];
  const worker = o.workerCommand.map(shellQuote).join(' ');
  return [
    '#!/bin/bash',
    `# mmrun sweep ${o.sweepId}: array task k runs the run directory on line k+1 of ${o.tasksFile}`,
    ...directives.map((d) => `#SBATCH ${d}`),
    'set -u',
    `RUN_DIR=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" ${shellQuote(o.tasksFile)})`,
    'if [ -z "$RUN_DIR" ]; then echo "mmrun: no run for array task $SLURM_ARRAY_TASK_ID" >&2; exit 2; fi',
    '# A task requeued after its run finished has nothing left to do.',
    'if grep -qE \'"state": *"finished"\' "$RUN_DIR/status.json" 2>/dev/null; then exit 0; fi',
    `export MMRUN_THREADS=\${SLURM_CPUS_PER_TASK:-${s.cpus_per_task}}`,
    'export OMP_NUM_THREADS=$MMRUN_THREADS MMRUN_LAUNCHER=slurm',
    'echo "=== slurm task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (job ${SLURM_JOB_ID}) on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ) ===" >> "$RUN_DIR/log.txt"',
    '# Near the time limit (USR1, see --signal) or on preemption notice: stop the worker at its next',
    '# checkpoint and requeue this task, which then resumes from that checkpoint. SIGTERM (scancel)',
    '# stops it without requeueing.',
    'requeue=0',
    'trap \'requeue=1; kill -TERM "$pid" 2>/dev/null\' USR1',
    'trap \'kill -TERM "$pid" 2>/dev/null\' TERM',
    `rm -f "$RUN_DIR/${TIMED_OUT_MARKER}" "$RUN_DIR/${REQUEUE_MARKER}"`,
    `${worker} "$RUN_DIR" >> "$RUN_DIR/log.txt" 2>&1 &`,
    'pid=$!',
    ...watchdog(o.launcher.timeout_minutes),
    'wait "$pid"; code=$?',
    'while kill -0 "$pid" 2>/dev/null; do wait "$pid"; code=$?; done',
    ...(o.launcher.timeout_minutes ? ['kill "$watchdog" 2>/dev/null', `if [ -f "$RUN_DIR/${TIMED_OUT_MARKER}" ]; then exit 124; fi`] : []),
    'if [ "$requeue" = 1 ] && [ "$code" != 0 ]; then',
    '  echo "=== requeueing slurm task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} at $(date -u +%Y-%m-%dT%H:%M:%SZ) ===" >> "$RUN_DIR/log.txt"',
    `  touch "$RUN_DIR/${REQUEUE_MARKER}"`,
    `  scontrol requeue "\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}" || rm -f "$RUN_DIR/${REQUEUE_MARKER}"`,
    'fi',
    'exit "$code"',
    '',
  ].join('\n');
}

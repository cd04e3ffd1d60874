/**
 * The Slurm command adapter: the only place that runs sbatch, squeue, scontrol and scancel.
 * Every call passes the caller's environment (SLURM_CONF) and never waits for ever.
 */
import { execa } from 'execa';
import { MmrunError } from '../../errors.ts';
import { parseScontrolJobs, parseSqueue, type TaskDetail, type TaskState } from './parse.ts';
import { jobNameOf } from './script.ts';

export async function slurmCmd(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000) {
  return execa(cmd, args, { env, reject: false, timeout: timeoutMs, stdin: 'ignore' });
}

/** Throws a clear MmrunError when sbatch is missing or the controller does not answer. */
export async function checkSlurmAvailable(env: NodeJS.ProcessEnv): Promise<void> {
  const version = await slurmCmd('sbatch', ['--version'], env);
  if ((version as { code?: string }).code === 'ENOENT' || version.exitCode === undefined || version.exitCode === 127) {
    throw new MmrunError(
      'launcher.type is slurm but `sbatch` is not on PATH: nothing was submitted.',
      'Run `mmrun run` on a Slurm login node, install the Slurm client (Debian: slurm-client), or use `launcher: { type: local }`.',
    );
  }
  const ping = await slurmCmd('scontrol', ['ping'], env, 30_000);
  if (ping.exitCode !== 0 || !/is UP/.test(ping.stdout)) {
    const said = `${ping.stdout}\n${ping.stderr}`.trim().split('\n').filter(Boolean).slice(0, 3).join(' / ');
    throw new MmrunError(
      `the Slurm controller does not answer (\`scontrol ping\`: ${said || `exit ${ping.exitCode}`}): nothing was submitted.`,
      'Check that slurmctld is running (`scontrol ping`, `sinfo`) and SLURM_CONF points at its configuration, then run the same command again.',
    );
  }
}

/** Every array task of this sweep's jobs Slurm still knows about (pending, running, recently ended). */
export async function queryTasks(sweepId: string, env: NodeJS.ProcessEnv): Promise<TaskState[]> {
  const r = await slurmCmd('squeue', ['-h', '-r', '--states=all', `--name=${jobNameOf(sweepId)}`, '-o', '%F|%K|%T|%r'], env);
  if (r.exitCode !== 0) throw new MmrunError(`squeue failed (exit ${r.exitCode}): ${r.stderr.trim()}`, 'Is the Slurm controller up? `scontrol ping`');
  return parseSqueue(r.stdout);
}

/** Exit code and signal of each task of these jobs (`scontrol show job -o`). */
export async function taskDetails(jobIds: string[], env: NodeJS.ProcessEnv): Promise<TaskDetail[]> {
  const out: TaskDetail[] = [];
  for (const id of jobIds) out.push(...parseScontrolJobs((await slurmCmd('scontrol', ['show', 'job', '-o', id], env)).stdout));
  return out;
}

/** Submits a batch script held; returns the job id. */
export async function sbatchHeld(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  const r = await slurmCmd('sbatch', ['--parsable', '--hold', script], env);
  if (r.exitCode !== 0) {
    throw new MmrunError(`sbatch refused the job array (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`, `Nothing was submitted. The script is ${script}; check launcher.slurm in the experiment file.`);
  }
  const jobId = r.stdout.trim().split(';')[0];
  if (!/^\d+$/.test(jobId)) throw new MmrunError(`sbatch printed '${r.stdout.trim()}', not a job id`);
  return jobId;
}

/** `scontrol release`: undefined when released, else what scontrol said. */
export async function release(jobId: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const r = await slurmCmd('scontrol', ['release', jobId], env);
  return r.exitCode === 0 ? undefined : r.stderr.trim() || `exit ${r.exitCode}`;
}

/** `scancel`: undefined when done, else what scancel said. */
export async function scancel(jobIds: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (jobIds.length === 0) return undefined;
  const r = await slurmCmd('scancel', jobIds, env);
  return r.exitCode === 0 ? undefined : r.stderr.trim() || `exit ${r.exitCode}`;
}

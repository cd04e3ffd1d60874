/**
 * Is the process behind a run (or a lock) still there? On this host: its pid exists. Elsewhere
 * (a cluster node, another machine on shared storage): its heartbeat is recent.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { pidAlive } from '../lock-file.ts';
import type { RunStatus } from '../track/run-store.ts';

export { pidAlive };

/** A run whose heartbeat is older than this, with its owner gone, was left by a dead launcher. */
export const STALE_HEARTBEAT_MS = 30_000;

/** Whether process `pid`'s command line mentions `text` (undefined when it cannot be read). */
export function cmdlineMentions(pid: number, text: string): boolean | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
  } catch {
    return undefined;
  }
}

export interface LivenessProbe {
  host: string;
  now: number;
  pidAlive(pid: number | undefined): boolean;
  /** Is `pid` still the worker of run `runId` (and not a recycled pid)? Default: yes. */
  isWorkerOf?(pid: number, runId: string): boolean;
}

export function defaultProbe(): LivenessProbe {
  return { host: hostname(), now: Date.now(), pidAlive, isWorkerOf: (pid, runId) => cmdlineMentions(pid, runId) !== false };
}

/**
 * What to do with a run before launching, from its status.json:
 * - done: finished, skip it;
 * - live: a worker is on it right now (another launcher, an orphan of a killed launcher, a Slurm
 *   task): do not start a second one, wait for it;
 * - launch: never started, failed, killed, or left "running"/"queued" by a process that is gone.
 */
export type RunDisposition = 'done' | 'live' | 'launch';

export function dispositionOf(status: RunStatus | undefined, probe: LivenessProbe): RunDisposition {
  if (!status) return 'launch';
  if (status.state === 'finished') return 'done';
  if (status.state === 'failed' || status.state === 'killed') return 'launch';
  // running or queued: is anyone still on it?
  if (status.launcher?.type === 'slurm' && status.state === 'queued') {
    // A queued Slurm task: the Slurm side decides (see slurm.ts); here it counts as live while fresh.
    return 'live';
  }
  const beat = Date.parse(status.heartbeatAt ?? status.startedAt ?? '');
  const fresh = Number.isFinite(beat) && probe.now - beat < STALE_HEARTBEAT_MS;
  if (status.host === probe.host || (!status.host && status.launcher?.type === 'local')) {
    // A live pid with a stale heartbeat may be a recycled pid: then its command line does not
    // name the run (workers get the run directory as argument).
    if (probe.pidAlive(status.pid) && (fresh || !probe.isWorkerOf || probe.isWorkerOf(status.pid!, status.runId))) return 'live';
    // Queued by a launcher that is still there (another `mmrun run` about to start it).
    if (status.state === 'queued' && probe.pidAlive(status.launcher?.pid)) return 'live';
    return 'launch';
  }
  if (status.host) return fresh ? 'live' : 'launch';
  return 'launch';
}

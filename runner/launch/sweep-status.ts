/** What `mmrun status` shows: one row per run of the plan, from its run directory (and the launcher engine's view: Slurm's queue, live local workers). */
import { hostname } from 'node:os';
import type { Plan } from '../sweep/index.ts';
import { RunStore, runDirOf, type RunStatus, type RunSummary } from '../track/run-store.ts';
import { formatMetricValue } from '../report/units.ts';
import { formatDuration } from './display.ts';
import { defaultProbe, dispositionOf } from './liveness.ts';
import type { EngineRunState } from './launcher.ts';

export interface StatusRow {
  id: string;
  name: string;
  state: RunStatus['state'] | 'not started' | 'stale';
  attempt: number | null;
  durationS: number | null;
  metric: { name: string; value: number } | null;
  phase: string | null;
  task: string | null; // the engine's task and its state: "12_3 RUNNING", "pid 4242 RUNNING"
  error: string | null;
}

export const KEY_METRIC = 'image_acc';

export function statusRows(plan: Plan, artifactsDir: string, tasks: EngineRunState[] = [], now = Date.now()): StatusRow[] {
  const probe = { ...defaultProbe(), now };
  return plan.runs.map((spec) => {
    const store = new RunStore(runDirOf(artifactsDir, spec.id));
    let status: RunStatus | undefined;
    let summary: RunSummary | undefined;
    let summaryProblem: string | undefined;
    try {
      status = store.readStatus();
    } catch {
      /* an unreadable status shows as not started */
    }
    try {
      summary = store.readSummary();
    } catch (err) {
      summaryProblem = (err as Error).message; // a damaged summary.json: no metric shown, and why
    }
    const started = Date.parse(status?.startedAt ?? '');
    const ended = Date.parse(status?.endedAt ?? '');
    const durationS = Number.isFinite(started) ? ((Number.isFinite(ended) ? ended : now) - started) / 1000 : null;
    const value = summary?.final?.[KEY_METRIC];
    const key = status?.launcher?.slurmJobId;
    const mine = tasks.filter((t) => t.runId === spec.id);
    const task = mine.find((t) => t.task === key) ?? mine.find((t) => t.active);
    let state: StatusRow['state'] = status?.state ?? 'not started';
    // "running" (or queued locally) but nobody is on it any more: a launcher was killed.
    if (status && (status.state === 'running' || (status.state === 'queued' && status.launcher?.type === 'local')) && !task && dispositionOf(status, probe) === 'launch') state = 'stale';
    return {
      id: spec.id,
      name: spec.name,
      state,
      attempt: status?.attempt ?? null,
      durationS: state === 'queued' ? null : durationS,
      metric: typeof value === 'number' ? { name: KEY_METRIC, value } : null,
      phase: status?.state === 'running' ? `${status.phase ?? ''}${status.epoch !== undefined ? ` e${status.epoch}` : ''}` : null,
      task: task ? `${task.task} ${task.state}` : (key ?? null),
      error: status?.error && status.state !== 'finished' ? `${status.error.cause ?? 'error'}: ${status.error.message}` : (summaryProblem ?? null),
    };
  });
}

export function formatStatusTable(rows: StatusRow[], opts: { tasks?: boolean; width?: number } = {}): string {
  const header = ['id', 'name', 'state', 'attempt', 'duration', KEY_METRIC, ...(opts.tasks ? ['task'] : []), 'detail'];
  const body = rows.map((r) => [
    r.id,
    r.name,
    r.state,
    r.attempt === null ? '' : String(r.attempt),
    r.durationS === null ? '' : formatDuration(r.durationS),
    r.metric ? formatMetricValue(r.metric.name, r.metric.value) : '',
    ...(opts.tasks ? [r.task ?? ''] : []),
    r.error ?? r.phase ?? '',
  ]);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const width = opts.width ?? 160;
  return all
    .map((row) => {
      const line = row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
      return line.length > width ? line.slice(0, width - 1) + '…' : line;
    })
    .join('\n');
}

export function countStates(rows: StatusRow[]): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
}

export const thisHost = () => hostname();

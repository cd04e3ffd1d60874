/**
 * The sweep's live display: a header (done / running / queued / failed, rate, ETA) and one line
 * per running run (phase, epoch, loss, samples/s from its status.json), redrawn in place on a
 * terminal; on anything else (CI, Slurm output, tests) event lines plus a summary line now and then.
 */
import { RunStore, type RunStatus } from '../track/run-store.ts';

export interface DisplayRun {
  id: string;
  name: string;
  dir: string;
  startedAt: number;
  attempt: number;
}

export interface DisplayModel {
  label: string;
  startedAt: number;
  total: number;
  done: number; // finished (including those finished before this launcher started)
  doneHere: number; // finished by this launcher (the rate counts these)
  failed: number;
  killed: number;
  queued: number;
  running: DisplayRun[];
  note?: string; // e.g. "stopping: Ctrl-C again to kill now"
}

export interface Display {
  /** An event line (printed above the live block on a terminal). */
  log(line: string): void;
  /** Redraws now. */
  refresh(): void;
  stop(): void;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** "sweep q-1234: 3/8 done, 2 running, 3 queued, 0 failed | 1.5 runs/min | ETA 3m20s" */
export function headerLine(m: DisplayModel, now = Date.now()): string {
  const elapsedS = (now - m.startedAt) / 1000;
  const remaining = m.total - m.done - m.failed - m.killed;
  const perMin = m.doneHere > 0 ? (m.doneHere / Math.max(elapsedS, 1e-3)) * 60 : NaN;
  const eta = m.doneHere > 0 && remaining > 0 ? ` | ETA ${formatDuration((remaining / perMin) * 60)}` : '';
  const rate = Number.isFinite(perMin) ? `${perMin >= 10 ? perMin.toFixed(0) : perMin.toFixed(2)} runs/min` : '- runs/min';
  const killed = m.killed ? `, ${m.killed} killed` : '';
  return `${m.label}: ${m.done}/${m.total} done, ${m.running.length} running, ${m.queued} queued, ${m.failed} failed${killed} | ${rate} | ${formatDuration(elapsedS)}${eta}${m.note ? ` | ${m.note}` : ''}`;
}

/** "  ab12cd34ef56 ratio=4 seed=1  joint epoch 2 step 120/900  loss 0.3100  1400 samples/s  1m02s" */
export function runLine(r: DisplayRun, status: RunStatus | undefined, now = Date.now()): string {
  const parts = [`  ${r.id} ${r.name}`];
  if (!status || status.state === 'queued') parts.push('starting');
  else {
    const p = status.progress;
    parts.push(`${status.phase ?? '?'}${status.epoch !== undefined ? ` epoch ${status.epoch}` : ''}${p ? ` step ${p.step}/${p.steps}` : ''}`);
    if (p?.loss !== undefined) parts.push(`loss ${p.loss.toFixed(4)}`);
    if (p?.samplesPerS !== undefined) parts.push(`${Math.round(p.samplesPerS)} samples/s`);
  }
  if (r.attempt > 1) parts.push(`attempt ${r.attempt}`);
  parts.push(formatDuration((now - r.startedAt) / 1000));
  return parts.join('  ');
}

function readStatus(dir: string): RunStatus | undefined {
  try {
    return new RunStore(dir).readStatus();
  } catch {
    return undefined;
  }
}

export function startDisplay(model: () => DisplayModel, opts: { tty: boolean; write?: (s: string) => void; intervalMs?: number; plainSummaryS?: number }): Display {
  const write = opts.write ?? ((s: string) => process.stdout.write(s));
  if (!opts.tty) {
    let last = Date.now();
    const every = (opts.plainSummaryS ?? 30) * 1000;
    const timer = setInterval(() => {
      if (Date.now() - last < every) return;
      last = Date.now();
      const m = model();
      write(`${headerLine(m)}\n`);
      for (const r of m.running) write(`${runLine(r, readStatus(r.dir))}\n`);
    }, 1000);
    timer.unref();
    return {
      log: (line) => write(`${line}\n`),
      refresh: () => {},
      stop: () => clearInterval(timer),
    };
  }
  let drawn = 0;
  const columns = () => process.stdout.columns || 120;
  const clear = () => {
    if (drawn > 0) write(`\x1b[${drawn}F\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    const m = model();
    const width = columns() - 1;
    const lines = [headerLine(m), ...m.running.map((r) => runLine(r, readStatus(r.dir)))].map((l) => (l.length > width ? l.slice(0, width - 1) + '…' : l));
    clear();
    write(lines.join('\n') + '\n');
    drawn = lines.length;
  };
  const timer = setInterval(draw, opts.intervalMs ?? 1000);
  timer.unref();
  draw();
  return {
    log(line) {
      clear();
      write(`${line}\n`);
      draw();
    },
    refresh: draw,
    stop() {
      clearInterval(timer);
      draw();
    },
  };
}

/**
 * Progress for long work: a bar with rate and ETA on a terminal, plain periodic log lines
 * otherwise (CI logs, Slurm output files, tests), so logs stay readable.
 */
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  label: string;
  total: number;
  /** What is counted, e.g. "images", "requests", "steps". */
  unit?: string;
  /** Force the plain-line mode (default: plain when stdout is not a TTY). */
  plain?: boolean;
  /** Seconds between plain lines (default 5). */
  intervalS?: number;
  /** Where plain lines go (default console.log). */
  write?: (line: string) => void;
}

export interface Progress {
  /** Adds n (default 1) to the count; `extra` is a short status shown after the numbers. */
  tick(n?: number, extra?: string): void;
  /** Changes the total when it becomes known late. */
  setTotal(total: number): void;
  /** Stops the bar and prints the final line (count, elapsed time, rate). */
  done(extra?: string): void;
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

function formatRate(perS: number): string {
  if (!Number.isFinite(perS)) return '?';
  return perS >= 100 ? perS.toFixed(0) : perS >= 10 ? perS.toFixed(1) : perS.toFixed(2);
}

export function createProgress(opts: ProgressOptions): Progress {
  const unit = opts.unit ?? 'items';
  const write = opts.write ?? ((line: string) => console.log(line));
  const plain = opts.plain ?? !process.stdout.isTTY;
  const start = Date.now();
  let total = opts.total;
  let count = 0;
  let lastExtra = '';
  let finished = false;

  const rate = () => count / Math.max((Date.now() - start) / 1000, 1e-3);

  if (!plain) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${opts.label} [{bar}] {percentage}% | {value}/{total} ${unit} | {speed} ${unit}/s | ETA {eta_formatted} {extra}`,
        barCompleteChar: '█',
        barIncompleteChar: '░',
        hideCursor: true,
        etaBuffer: 50,
        fps: 8,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { speed: '0', extra: '' });
    return {
      tick(n = 1, extra) {
        count += n;
        if (extra !== undefined) lastExtra = extra;
        bar.update(count, { speed: formatRate(rate()), extra: lastExtra });
      },
      setTotal(t) {
        total = t;
        bar.setTotal(t);
      },
      done(extra) {
        if (finished) return;
        finished = true;
        bar.update(count, { speed: formatRate(rate()), extra: extra ?? lastExtra });
        bar.stop();
      },
    };
  }

  const intervalMs = (opts.intervalS ?? 5) * 1000;
  let lastLine = start;
  const line = (prefix: string, extra: string) => {
    const elapsed = (Date.now() - start) / 1000;
    const r = rate();
    const pct = total > 0 ? ` (${Math.floor((100 * count) / total)}%)` : '';
    const eta = count < total && r > 0 ? ` ETA ${formatDuration((total - count) / r)}` : '';
    write(`${prefix}${opts.label}: ${count}/${total} ${unit}${pct}, ${formatRate(r)} ${unit}/s, ${formatDuration(elapsed)}${eta}${extra ? ` ${extra}` : ''}`);
  };
  return {
    tick(n = 1, extra) {
      count += n;
      if (extra !== undefined) lastExtra = extra;
      const now = Date.now();
      if (now - lastLine >= intervalMs) {
        lastLine = now;
        line('', lastExtra);
      }
    },
    setTotal(t) {
      total = t;
    },
    done(extra) {
      if (finished) return;
      finished = true;
      line('', extra ?? lastExtra);
    },
  };
}

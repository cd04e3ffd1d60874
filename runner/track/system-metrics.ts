// System metrics of a running worker, under MLflow's own `system/` names so the UI's System
// metrics tab shows them: sampled every few seconds into <run-dir>/system.jsonl by the worker,
// sent by sync like metrics.jsonl. Machine-wide CPU and memory (what a shared node is doing),
// plus this process's resident memory and the disk holding the run.
import { appendFileSync, readFileSync, statfsSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Metric } from './mlflow-limits.ts';

export const SYSTEM_METRICS_FILE = 'system.jsonl';
/** MLflow's own default sampling interval. */
export const DEFAULT_SYSTEM_INTERVAL_S = 10;

export interface SystemSample {
  t: string;
  metrics: Record<string, number>;
}

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
  }
  return { idle, total };
}

const MB = 1024 * 1024;

/** One sample; `previous` CPU times give the utilisation since the last sample. */
export function sampleSystem(dir: string, previous: { idle: number; total: number }): { sample: SystemSample; cpu: { idle: number; total: number } } {
  const cpu = cpuTimes();
  const dTotal = cpu.total - previous.total;
  const metrics: Record<string, number> = {};
  if (dTotal > 0) metrics.cpu_utilization_percentage = round(100 * (1 - (cpu.idle - previous.idle) / dTotal));
  const used = totalmem() - freemem();
  metrics.system_memory_usage_megabytes = round(used / MB);
  metrics.system_memory_usage_percentage = round((100 * used) / totalmem());
  metrics.process_memory_rss_megabytes = round(process.memoryUsage.rss() / MB);
  try {
    const fs = statfsSync(dir);
    const total = fs.blocks * fs.bsize;
    const available = fs.bavail * fs.bsize;
    metrics.disk_usage_megabytes = round((total - fs.bfree * fs.bsize) / MB);
    metrics.disk_available_megabytes = round(available / MB);
    metrics.disk_usage_percentage = round((100 * (total - fs.bfree * fs.bsize)) / total);
  } catch {
    // a filesystem without statfs: no disk metrics
  }
  return { sample: { t: new Date().toISOString(), metrics }, cpu };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

export interface SystemSampler {
  /** Takes a last sample and stops. */
  stop(): void;
}

/**
 * Samples every `intervalS` seconds (MMRUN_SYSTEM_METRICS_INTERVAL_S, default 10) into
 * <runDir>/system.jsonl, once right away and once at stop. A failed write stops sampling with one
 * line to `warn`: system metrics are never a reason to fail a run.
 */
export function startSystemSampler(runDir: string, opts: { intervalS?: number; warn?: (message: string) => void; env?: NodeJS.ProcessEnv } = {}): SystemSampler {
  const fromEnv = Number((opts.env ?? process.env).MMRUN_SYSTEM_METRICS_INTERVAL_S);
  const intervalS = opts.intervalS ?? (Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_SYSTEM_INTERVAL_S);
  const file = join(runDir, SYSTEM_METRICS_FILE);
  let cpu = cpuTimes();
  let stopped = false;
  const take = () => {
    if (stopped) return;
    try {
      const r = sampleSystem(runDir, cpu);
      cpu = r.cpu;
      appendFileSync(file, JSON.stringify(r.sample) + '\n');
    } catch (err) {
      stopped = true;
      clearInterval(timer);
      opts.warn?.(`warning: system metrics stopped: cannot write ${file} (${(err as Error).message})`);
    }
  };
  const timer = setInterval(take, intervalS * 1000);
  timer.unref();
  // The first sample has no CPU interval yet; take it shortly after start.
  const first = setTimeout(take, Math.min(1000, intervalS * 1000));
  first.unref();
  return {
    stop() {
      clearTimeout(first);
      clearInterval(timer);
      take();
      stopped = true;
    },
  };
}

/** The valid samples of a run directory's system.jsonl (a torn last line is skipped). */
export function readSystemSamples(runDir: string): SystemSample[] {
  let text: string;
  try {
    text = readFileSync(join(runDir, SYSTEM_METRICS_FILE), 'utf8');
  } catch {
    return [];
  }
  const out: SystemSample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const s = JSON.parse(line) as SystemSample;
      if (s && typeof s.t === 'string' && s.metrics && typeof s.metrics === 'object') out.push(s);
    } catch {
      // torn line (a worker killed mid-write)
    }
  }
  return out;
}

/** MLflow metrics `system/<name>`, step = the sample's index (as MLflow's own monitor does). */
export function systemMetricsOf(samples: SystemSample[], firstIndex: number): Metric[] {
  const out: Metric[] = [];
  samples.forEach((s, i) => {
    const timestamp = Date.parse(s.t);
    for (const [name, value] of Object.entries(s.metrics)) {
      if (typeof value === 'number' && Number.isFinite(value)) out.push({ key: `system/${name}`, value, timestamp: Number.isFinite(timestamp) ? timestamp : 0, step: firstIndex + i });
    }
  });
  return out;
}

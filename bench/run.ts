// `npm run bench [-- --json] [--steps N] [--warmup N] [--reps N] [--threads N] [--models cnn,text,multimodal] [--presets small,medium] [--wasm-only] [--launcher] [--startup] [--efficiency]`
// Trains each workload for a fixed number of steps after warm-up, on mmrun's backend and on the
// PyTorch reference (bench/reference.py, same architecture and thread count), alternating them
// in the same run; reports the median over repetitions of training and forward throughput and
// the peak memory of each process.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpuInfo } from '../runner/model/backend/device.ts';
import { MODEL_NAMES, PRESET_NAMES } from './models.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    steps: { type: 'string', default: '100' },
    // V8 keeps optimising tfjs's JavaScript for the first ~100 steps of a process; a run trains
    // hundreds to thousands of steps, so the timed window starts after that (the warm-up's own
    // throughput is reported too).
    warmup: { type: 'string', default: '100' },
    reps: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    'reference-threads': { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    models: { type: 'string', default: MODEL_NAMES.join(',') },
    presets: { type: 'string', default: PRESET_NAMES.join(',') },
    startup: { type: 'boolean', default: false }, // also time command start-up (bench/startup.ts)
    efficiency: { type: 'boolean', default: false }, // also the run-efficiency row (bench/efficiency.ts)
    launcher: { type: 'boolean', default: false }, // also run bench/launcher.ts (issue 5)
    // mmrun's WebAssembly kernels only (what runs where no C compiler is available)
    'wasm-only': { type: 'boolean', default: false },
    // bench/setup.sh's venv: $MMRUN_BENCH_PYTHON, else .venv-bench in the checkout, else ~/.cache/mmrun/venv-bench
    python: {
      type: 'string',
      default:
        process.env.MMRUN_BENCH_PYTHON ??
        [path.join(root, '.venv-bench', 'bin', 'python'), path.join(os.homedir(), '.cache', 'mmrun', 'venv-bench', 'bin', 'python')].find((p) => existsSync(p)) ??
        path.join(os.homedir(), '.cache', 'mmrun', 'venv-bench', 'bin', 'python'),
    },
  },
});
const reps = Math.max(1, Number(values.reps));
const models = values.models!.split(',').filter(Boolean);
for (const m of models) if (!(MODEL_NAMES as readonly string[]).includes(m)) throw new Error(`--models: unknown model '${m}' (expected ${MODEL_NAMES.join(', ')})`);
const presets = values.presets!.split(',').filter(Boolean);
for (const p of presets) if (!(PRESET_NAMES as readonly string[]).includes(p)) throw new Error(`--presets: unknown preset '${p}' (expected ${PRESET_NAMES.join(', ')})`);
/** Row key and JSON `name`: the model alone for the small preset (as before presets existed), `<model>-medium` otherwise. */
const rowName = (model: string, preset: string) => (preset === 'small' ? model : `${model}-${preset}`);
const workloads = presets.flatMap((preset) => models.map((model) => ({ model, preset, name: rowName(model, preset) })));
const common = ['--steps', values.steps!, '--warmup', values.warmup!];
const refThreads = values['reference-threads'] ?? values.threads!;
const haveReference = existsSync(values.python!);

interface Measurement {
  backend: string;
  detail?: string;
  train_samples_per_s: number;
  forward_samples_per_s: number;
  train_samples_per_cpu_s: number;
  warmup_samples_per_s: number | null;
  warmup_samples_per_cpu_s: number | null;
  peak_rss_mb: number;
}

function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Measurement {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${(r.stderr ?? '').split('\n').filter((l) => l.length < 500).slice(-15).join('\n')}`);
  return JSON.parse(line) as Measurement;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const ours = new Map<string, Measurement[]>();
const theirs = new Map<string, Measurement[]>();
const log = (msg: string) => process.stderr.write(`${msg}\n`);
for (let rep = 1; rep <= reps; rep++) {
  for (const { model, preset, name } of workloads) {
    // Alternate which side goes first so slow drifts in machine load do not favour one side.
    const runOurs = () => {
      const env = { MMRUN_THREADS: values.threads!, ...(values['wasm-only'] ? { MMRUN_NATIVE_KERNELS: '0' } : {}) };
      const m = measure(process.execPath, ['--import', 'tsx', 'bench/worker.ts', '--model', model, '--preset', preset, '--backend', values.backend!, '--threads', values.threads!, ...common], env);
      ours.set(name, [...(ours.get(name) ?? []), m]);
      log(`rep ${rep}/${reps} ${name} mmrun/${m.backend}: ${m.train_samples_per_s.toFixed(0)} samples/s`);
    };
    const runRef = () => {
      if (!haveReference) return;
      const m = measure(values.python!, ['bench/reference.py', '--model', model, '--preset', preset, '--threads', refThreads, ...common], { OMP_NUM_THREADS: refThreads, MKL_NUM_THREADS: refThreads });
      theirs.set(name, [...(theirs.get(name) ?? []), m]);
      log(`rep ${rep}/${reps} ${name} pytorch: ${m.train_samples_per_s.toFixed(0)} samples/s`);
    };
    if (rep % 2) {
      runOurs();
      runRef();
    } else {
      runRef();
      runOurs();
    }
  }
}

/** Median wall-clock throughput over the warm-up steps (includes JIT compilation), or null without warm-up. */
const warmupOf = (ms: Measurement[]) => (ms[0].warmup_samples_per_s === null ? null : Math.round(median(ms.map((m) => m.warmup_samples_per_s!))));

const results = workloads.map(({ model, preset, name }) => {
  const o = ours.get(name)!;
  const t = theirs.get(name);
  const sps = median(o.map((m) => m.train_samples_per_s));
  const ref = t ? median(t.map((m) => m.train_samples_per_s)) : null;
  const fwd = median(o.map((m) => m.forward_samples_per_s));
  const refFwd = t ? median(t.map((m) => m.forward_samples_per_s)) : null;
  return {
    name,
    model,
    preset,
    backend: o[0].backend,
    samples_per_s: Math.round(sps),
    reference_samples_per_s: ref === null ? null : Math.round(ref),
    ratio: ref === null ? null : Number((sps / ref).toFixed(2)),
    forward_samples_per_s: Math.round(fwd),
    reference_forward_samples_per_s: refFwd === null ? null : Math.round(refFwd),
    forward_ratio: refFwd === null ? null : Number((fwd / refFwd).toFixed(2)),
    // Per second of CPU time (both sides are single-threaded by default): steadier than wall
    // time when other work shares the cores.
    cpu_samples_per_s: Math.round(median(o.map((m) => m.train_samples_per_cpu_s))),
    reference_cpu_samples_per_s: t ? Math.round(median(t.map((m) => m.train_samples_per_cpu_s))) : null,
    cpu_ratio: t ? Number((median(o.map((m) => m.train_samples_per_cpu_s)) / median(t.map((m) => m.train_samples_per_cpu_s))).toFixed(2)) : null,
    warmup_samples_per_s: warmupOf(o),
    reference_warmup_samples_per_s: t ? warmupOf(t) : null,
    warmup_ratio: t && warmupOf(o) !== null && warmupOf(t) !== null ? Number((warmupOf(o)! / warmupOf(t)!).toFixed(2)) : null,
    peak_rss_mb: Math.round(median(o.map((m) => m.peak_rss_mb))),
    reference_peak_rss_mb: t ? Math.round(median(t.map((m) => m.peak_rss_mb))) : null,
  };
});
const cpu = cpuInfo();
const machine = {
  cpu: cpu.model,
  // The vector instruction sets the native kernels are compiled for (-march=native).
  cpu_simd: cpu.simd,
  cpu_flags: cpu.flags,
  cores: os.cpus().length,
  node: process.version,
  threads: Number(values.threads),
  reference_threads: Number(refThreads),
  reference: haveReference ? theirs.values().next().value?.[0]?.backend ?? null : null,
  backend_detail: ours.values().next().value?.[0]?.detail ?? null,
  steps: Number(values.steps),
  warmup: Number(values.warmup),
  repetitions: reps,
  load_average: os.loadavg().map((x) => Number(x.toFixed(2))),
};

const launcher = values.launcher ? await (await import('./launcher.ts')).benchLauncher() : undefined;
const startup = values.startup ? (await import('./startup.ts')).benchStartup(reps).rows : undefined;
const efficiency = values.efficiency ? (await import('./efficiency.ts')).benchEfficiency() : undefined;

if (values.json) {
  console.log(JSON.stringify({ results, machine, ...(launcher ? { launcher } : {}), ...(startup ? { startup } : {}), ...(efficiency ? { efficiency } : {}) }, null, 2));
} else {
  const rows = [
    ['model', 'backend', 'train samples/s', 'PyTorch', 'ratio', 'per CPU-s', 'PyTorch', 'ratio', 'warm-up samples/s', 'PyTorch', 'ratio', 'forward samples/s', 'PyTorch', 'ratio', 'peak RSS MB', 'PyTorch'],
    ...results.map((r) =>
      [
        r.name, r.backend, r.samples_per_s, r.reference_samples_per_s ?? '-', r.ratio ?? '-', r.cpu_samples_per_s, r.reference_cpu_samples_per_s ?? '-', r.cpu_ratio ?? '-',
        r.warmup_samples_per_s ?? '-', r.reference_warmup_samples_per_s ?? '-', r.warmup_ratio ?? '-',
        r.forward_samples_per_s, r.reference_forward_samples_per_s ?? '-', r.forward_ratio ?? '-', r.peak_rss_mb, r.reference_peak_rss_mb ?? '-',
      ].map(String),
    ),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  for (const r of rows) console.log(r.map((c, i) => String(c).padStart(i < 2 ? 0 : widths[i]).padEnd(i < 2 ? widths[i] : 0)).join('  '));
  console.log(`\n${machine.cpu} (${machine.cpu_simd || 'SIMD level unknown'}; ${machine.cpu_flags.join(' ')}), ${machine.cores} cores, Node ${machine.node}; mmrun ${machine.threads} thread(s), reference ${machine.reference_threads} thread(s); ${machine.steps} steps after ${machine.warmup} warm-up, median of ${reps}; load ${machine.load_average.join(' ')}`);
  console.log(`mmrun backend: ${machine.backend_detail}`);
  console.log(haveReference ? `reference: ${machine.reference}` : `no PyTorch reference: run \`bash bench/setup.sh\` to install it (into ~/.cache/mmrun/venv-bench)`);
  if (efficiency) console.log(`\n${(await import('./efficiency.ts')).formatEfficiency(efficiency)}`);
  if (startup) console.log(`\ncommand start-up, median of ${reps}:\n${(await import('./startup.ts')).formatStartup(startup)}`);
  if (launcher) for (const l of launcher) console.log(`launcher: ${l.name} ${l.value} ${l.unit} (target ${l.target}) ${l.pass ? 'ok' : 'MISSED'}: ${l.detail}`);
}

/**
 * Command start-up times (issue 19): `npx tsx bench/startup.ts [--reps 3] [--json]`, or
 * `npm run bench -- --startup`. Measures `mmrun --help`, `validate`, `run` with nothing to do
 * and `report` from the compiled dist/ against the same commands through tsx (MMRUN_NO_DIST=1),
 * alternating the two, median of the repetitions.
 *
 * It works on a snapshot of the checkout in a temporary folder (runner/ and bin/ copied,
 * node_modules, schemas and package.json linked), built there: in a tree that other people
 * are editing, the checkout's own dist/ is stale most of the time.
 */
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURE = path.join(ROOT, 'tests/fixtures/workers/fixture-worker.mjs');

export interface StartupRow {
  command: string;
  /** Wall-clock seconds, median. */
  dist_s: number;
  tsx_s: number;
  speedup: number;
  /** CPU seconds (user + system) of the command, median: steadier than wall time on a busy machine. */
  dist_cpu_s: number;
  tsx_cpu_s: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The checkout copied into a temporary folder, dist/ not built yet; returns its root. */
function copyCheckout(): string {
  const snap = mkdtempSync(path.join(tmpdir(), 'mmrun-startup-'));
  for (const dir of ['runner', 'bin']) cpSync(path.join(ROOT, dir), path.join(snap, dir), { recursive: true });
  for (const name of ['node_modules', 'schemas', 'package.json', 'tests']) symlinkSync(path.join(ROOT, name), path.join(snap, name));
  return snap;
}

function checkBuilt(snap: string, status: number | null, stderr: string): string {
  if (status !== 0 || /not built/.test(stderr)) throw new Error(`building dist/ in ${snap} failed: ${stderr}`);
  return snap;
}

/** A copy of the checkout that runs from its own dist/; returns its root. */
export function snapshot(): string {
  const snap = copyCheckout();
  const r = spawnSync(process.execPath, [path.join(snap, 'bin/build-dist.mjs'), snap], { encoding: 'utf8' });
  return checkBuilt(snap, r.status, r.stderr);
}

/** snapshot() without blocking the event loop during the build (tests: vitest's worker must keep answering). */
export async function snapshotAsync(): Promise<string> {
  const snap = copyCheckout();
  const r = await new Promise<{ status: number | null; stderr: string }>((done) => {
    execFile(process.execPath, [path.join(snap, 'bin/build-dist.mjs'), snap], { encoding: 'utf8' }, (err, _stdout, stderr) => {
      const code = (err as { code?: unknown } | null)?.code;
      done({ status: err ? (typeof code === 'number' ? code : null) : 0, stderr });
    });
  });
  return checkBuilt(snap, r.status, r.stderr);
}

/** Wall and CPU seconds of one command (CPU from GNU time's report on the child). */
function seconds(snap: string, args: string[], env: Record<string, string>): { wall: number; cpu: number } {
  const timeFile = path.join(snap, 'time.txt');
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, process.execPath, path.join(snap, 'bin/mmrun.js'), ...args], {
    cwd: snap,
    encoding: 'utf8',
    env: { ...process.env, ...env, MMRUN_SHOW_ENTRY: '1' },
  });
  const wall = (performance.now() - t0) / 1000;
  if (r.error) throw new Error(`/usr/bin/time is needed to measure CPU time: ${r.error.message}`);
  const [user, sys] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  const used = /running dist\//.test(r.stderr) ? 'dist' : 'tsx';
  const wanted = env.MMRUN_NO_DIST === '1' ? 'tsx' : 'dist';
  if (used !== wanted) throw new Error(`mmrun ${args.join(' ')} ran ${used}, expected ${wanted}: ${r.stderr.split('\n')[0]}`);
  if (r.status === 2 || r.signal) throw new Error(`mmrun ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.slice(-500)}`);
  return { wall, cpu: user + sys };
}

export function benchStartup(reps = 3): { rows: StartupRow[]; snapshot: string } {
  const snap = snapshot();
  try {
    const file = path.join(snap, 'startup.yaml');
    writeFileSync(file, `name: startup\nartifacts_dir: ${path.join(snap, 'artifacts')}\nseeds: 2\n`);
    // A finished sweep (trivial stand-in workers), so `run` has nothing to do and `report` has runs.
    const fixture = { MMRUN_WORKER_COMMAND: JSON.stringify([process.execPath, FIXTURE]), MMRUN_SKIP_PREPARE: '1', FIXTURE_EPOCHS: '0' };
    seconds(snap, ['run', file, '--no-report'], fixture);
    const commands: [string, string[]][] = [
      ['--help', ['--help']],
      ['validate', ['validate', file]],
      ['run (nothing to do)', ['run', file]],
      ['report', ['report', file, '--no-png']],
    ];
    const rows = commands.map(([name, args]) => {
      const dist: { wall: number; cpu: number }[] = [];
      const tsx: { wall: number; cpu: number }[] = [];
      for (let i = 0; i < reps; i++) {
        const order = i % 2 ? ['tsx', 'dist'] : ['dist', 'tsx'];
        for (const side of order) {
          if (side === 'dist') dist.push(seconds(snap, args, fixture));
          else tsx.push(seconds(snap, args, { ...fixture, MMRUN_NO_DIST: '1' }));
        }
      }
      const d = median(dist.map((x) => x.wall));
      const t = median(tsx.map((x) => x.wall));
      const r2 = (x: number) => Number(x.toFixed(2));
      return {
        command: name,
        dist_s: r2(d),
        tsx_s: r2(t),
        speedup: r2(t / d),
        dist_cpu_s: r2(median(dist.map((x) => x.cpu))),
        tsx_cpu_s: r2(median(tsx.map((x) => x.cpu))),
      };
    });
    return { rows, snapshot: snap };
  } finally {
    rmSync(snap, { recursive: true, force: true });
  }
}

export function formatStartup(rows: StartupRow[]): string {
  const lines = ['| command | compiled dist/ (s) | through tsx (s) | speed-up | CPU s, dist/ | CPU s, tsx |', '| --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const r of rows) lines.push(`| \`mmrun ${r.command}\` | ${r.dist_s.toFixed(2)} | ${r.tsx_s.toFixed(2)} | ${r.speedup.toFixed(2)}× | ${r.dist_cpu_s.toFixed(2)} | ${r.tsx_cpu_s.toFixed(2)} |`);
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const reps = Number(process.argv[process.argv.indexOf('--reps') + 1]) || 3;
  const { rows } = benchStartup(reps);
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2));
  else console.log(formatStartup(rows));
}

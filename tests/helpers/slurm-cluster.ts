/**
 * A real single-node Slurm cluster for tests (see /work/shared/notes/slurm-single-node.md):
 * munged, slurmctld and slurmd in the foreground as this process's children, with config, state,
 * spool and logs in a temp dir and controller/daemon ports picked free, so nothing global is
 * touched but munge's socket. `SLURM_CONF` in `env` points the client commands at it.
 * Needs root and the Debian packages `slurmctld slurmd slurm-client munge` (scripts/setup-test-env.sh).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SlurmCluster {
  dir: string;
  node: string;
  conf: string;
  /** Environment for client commands (sbatch, squeue, ...) and for `mmrun`. */
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm client command against this cluster. */
  cmd(command: string, args: string[]): { status: number | null; stdout: string; stderr: string };
  stop(): Promise<void>;
  /** Stops only the controller (to test "Slurm down"); `stop()` still cleans up. */
  stopController(): Promise<void>;
}

const SETUP_HINT = 'Install the packages with `bash scripts/setup-test-env.sh` (as root; apt: slurmctld slurmd slurm-client munge).';

/** Why a Slurm cluster cannot be started here, or undefined when it can. */
export function slurmMissing(): string | undefined {
  for (const bin of ['/usr/sbin/munged', '/usr/sbin/slurmctld', '/usr/sbin/slurmd']) {
    if (!existsSync(bin)) return `${bin} is missing. ${SETUP_HINT}`;
  }
  if (spawnSync('sbatch', ['--version']).error) return `sbatch is not on PATH. ${SETUP_HINT}`;
  if (process.getuid?.() !== 0) return 'starting slurmd needs root';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await sleep(100);
  }
  throw new Error(`Slurm test cluster: ${what} did not happen within ${timeoutMs / 1000}s.\n${logs()}`);
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  // Generous grace: slurmctld saves its state on SIGTERM, slow on a loaded machine. After SIGKILL,
  // wait for the exit itself (bounded only in case the process is stuck in the kernel).
  const done = await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await Promise.race([exited, sleep(30_000)]);
  }
}

let munged: ChildProcess | undefined;
let mungedUsers = 0;

export async function startSlurmCluster(opts: { cpus?: number } = {}): Promise<SlurmCluster> {
  const missing = slurmMissing();
  if (missing) throw new Error(`Slurm test cluster: ${missing}`);
  const dir = mkdtempSync(join(tmpdir(), 'mmrun-slurm-'));
  const node = hostname().split('.')[0];
  const cpus = opts.cpus ?? availableParallelism();
  for (const d of ['state', 'spool', 'log']) mkdirSync(join(dir, d), { recursive: true });
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=mmrun-test',
      `SlurmctldHost=${node}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'SlurmUser=root',
      'AuthType=auth/munge',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'JobCompType=jobcomp/filetxt',
      `JobCompLoc=${join(dir, 'log', 'jobcomp.txt')}`,
      'SchedulerType=sched/backfill',
      'SchedulerParameters=batch_sched_delay=0',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'ReturnToService=2',
      'MpiDefault=none',
      'KillWait=5',
      'MinJobAge=600',
      `NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN`,
      'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf };
  const cmd = (command: string, args: string[]) => {
    const r = spawnSync(command, args, { env, encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const logs = () =>
    ['slurmctld.log', 'slurmd.log']
      .map((f) => {
        const p = join(dir, 'log', f);
        return existsSync(p) ? `--- ${f} (tail)\n${readFileSync(p, 'utf8').split('\n').slice(-15).join('\n')}` : `--- ${f}: none`;
      })
      .join('\n');

  // munged is shared (its socket is global); start it once per test process.
  const mungeWorks = () => spawnSync('munge', ['-n'], { stdio: 'ignore' }).status === 0;
  if (!mungeWorks()) {
    mkdirSync('/run/munge', { recursive: true });
    execFileSync('chown', ['munge:munge', '/run/munge']);
    munged = spawn('setsid', ['setpriv', '--reuid=munge', '--regid=munge', '--init-groups', '/usr/sbin/munged', '-F'], { stdio: 'ignore' });
    await until('munged answering (munge -n)', mungeWorks, 60_000, () => '');
  }
  mungedUsers++;

  const daemons: ChildProcess[] = [];
  const ctld = spawn('setsid', ['/usr/sbin/slurmctld', '-D', '-i', '-f', conf], { stdio: 'ignore', env });
  daemons.push(ctld);
  await until('slurmctld UP (scontrol ping)', () => /is UP/.test(cmd('scontrol', ['ping']).stdout), 120_000, logs);
  const slurmd = spawn('setsid', ['/usr/sbin/slurmd', '-D', '-f', conf], { stdio: 'ignore', env });
  daemons.push(slurmd);
  await until(`node ${node} idle (sinfo)`, () => /idle/.test(cmd('sinfo', ['-h', '-n', node, '-o', '%T']).stdout), 120_000, logs);

  let stopped = false;
  return {
    dir,
    node,
    conf,
    env,
    cmd,
    async stopController() {
      await stopChild(ctld);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      // Jobs first, so no slurmstepd outlives the cluster.
      cmd('scancel', ['--full', '-u', 'root']);
      await stopChild(slurmd);
      await stopChild(ctld);
      mungedUsers--;
      if (mungedUsers === 0 && munged) {
        await stopChild(munged);
        munged = undefined;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

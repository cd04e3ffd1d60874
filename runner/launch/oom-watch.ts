/**
 * Was a worker killed by the OOM killer? Only the kernel knows: every OOM kill (cgroup limit or
 * global) increments `oom_kill` of the victim's memory cgroup — `memory.events` on cgroup v2,
 * `memory.oom_control` on v1 (kernel ≥ 4.13). The launcher reads the counter of the worker's
 * cgroup when it starts it and again when it ends: a SIGKILL with the counter unchanged was not
 * an OOM kill. (dmesg is not used: containers usually cannot read it.)
 *
 * Workers share the launcher's cgroup, so a rise can come from another process OOM-killed at the
 * same time; together with the worker's own SIGKILL it is still the best evidence there is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The counter file for the memory cgroup described by /proc/<pid>/cgroup and /proc/mounts (pure). */
export function oomCounterFile(procCgroup: string, procMounts: string, exists: (file: string) => boolean = existsSync): string | undefined {
  const mounts = procMounts.split('\n').map((l) => l.split(' ')).filter((f) => f.length >= 4);
  const candidates: string[] = [];
  for (const line of procCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, , controllers, path] = m;
    if (controllers === '') {
      for (const f of mounts.filter((f) => f[2] === 'cgroup2')) candidates.push(join(f[1], path, 'memory.events'), join(f[1], 'memory.events'));
    } else if (controllers.split(',').includes('memory')) {
      for (const f of mounts.filter((f) => f[2] === 'cgroup' && f[3].split(',').includes('memory'))) {
        candidates.push(join(f[1], path, 'memory.oom_control'), join(f[1], 'memory.oom_control'));
      }
    }
  }
  // In a cgroup namespace the path may not exist under the mount: its root is then our cgroup.
  return candidates.find((file) => exists(file));
}

/** The oom_kill count in a memory.events / memory.oom_control file (pure). */
export function parseOomKills(text: string): number | undefined {
  const m = /^oom_kill\s+(\d+)\s*$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

export interface OomWatch {
  /** `killed` when the counter rose since the watch started, `none` when not; undefined: unknown. */
  check(): { verdict: 'killed' | 'none'; detail: string } | undefined;
}

/** Starts watching the memory cgroup of `pid` (undefined counter: the check says unknown). */
export function watchOom(pid: number, procRoot = '/proc'): OomWatch {
  let file: string | undefined;
  let before: number | undefined;
  try {
    file = oomCounterFile(readFileSync(join(procRoot, String(pid), 'cgroup'), 'utf8'), readFileSync(join(procRoot, 'mounts'), 'utf8'));
    before = file ? parseOomKills(readFileSync(file, 'utf8')) : undefined;
  } catch {
    file = undefined; // the process is already gone, or no cgroup file system: unknown
  }
  return {
    check() {
      if (!file || before === undefined) return undefined;
      let after: number | undefined;
      try {
        after = parseOomKills(readFileSync(file, 'utf8'));
      } catch {
        return undefined;
      }
      if (after === undefined) return undefined;
      return { verdict: after > before ? 'killed' : 'none', detail: `oom_kill in ${file} went from ${before} to ${after}` };
    },
  };
}

/**
 * Exit causes told truthfully: a SIGKILL is "killed (SIGKILL)"; "oom" only when the memory
 * cgroup's oom_kill counter rose while the worker ran.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyExit, describeError } from '../../runner/launch/exit-cause.ts';
import { oomCounterFile, parseOomKills, watchOom } from '../../runner/launch/oom-watch.ts';
import { tempFiles } from '../helpers/tmp.ts';

const running = { state: 'running' as const, runId: 'r', attempt: 1 };

describe('classifyExit and SIGKILL', () => {
  it('SIGKILL from outside with the OOM counter unchanged: killed (SIGKILL), not oom', () => {
    const r = classifyExit({ exitCode: null, signal: 'SIGKILL', oom: { verdict: 'none', detail: 'oom_kill in /x went from 3 to 3' } }, running);
    if (r.state === 'finished') throw new Error('expected a failure');
    expect(r.error.cause).toBe('killed');
    expect(describeError(r.error)).toMatch(/^killed \(SIGKILL\): the worker was killed by SIGKILL from outside mmrun; not out of memory \(oom_kill in \/x went from 3 to 3\)/);
    expect(describeError(r.error)).not.toMatch(/out of memory \(the kernel/);
  });

  it('SIGKILL with the counter up: oom, and the evidence is in the message', () => {
    const r = classifyExit({ exitCode: 137, signal: null, oom: { verdict: 'killed', detail: 'oom_kill in /x went from 0 to 1' } }, running);
    if (r.state === 'finished') throw new Error('expected a failure');
    expect(r.error).toMatchObject({ cause: 'oom', signal: 'SIGKILL', exitCode: 137 });
    expect(r.error.message).toMatch(/out of memory, the kernel's OOM killer \(oom_kill in \/x went from 0 to 1\)/);
  });

  it('SIGKILL with no counter to read: killed, saying that memory is unknown', () => {
    const r = classifyExit({ exitCode: null, signal: 'SIGKILL' }, running);
    if (r.state === 'finished') throw new Error('expected a failure');
    expect(r.error.cause).toBe('killed');
    expect(r.error.message).toMatch(/whether it ran out of memory is unknown/);
  });

  it('the OOM verdict never turns other exits into oom', () => {
    const oom = { verdict: 'killed' as const, detail: 'x' };
    const segv = classifyExit({ exitCode: null, signal: 'SIGSEGV', oom }, running);
    if (segv.state === 'finished') throw new Error('expected a failure');
    expect(segv.error.cause).toBe('segfault');
    const crash = classifyExit({ exitCode: 1, signal: null, oom }, running);
    if (crash.state === 'finished') throw new Error('expected a failure');
    expect(crash.error.cause).toBe('exception');
  });
});

describe('the memory cgroup counter', () => {
  it('finds memory.events on cgroup v2 and memory.oom_control on v1', () => {
    const exists = (files: string[]) => (f: string) => files.includes(f);
    const v2 = '0::/user.slice/session-1.scope\n';
    const v2mounts = 'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n';
    expect(oomCounterFile(v2, v2mounts, exists(['/sys/fs/cgroup/user.slice/session-1.scope/memory.events']))).toBe('/sys/fs/cgroup/user.slice/session-1.scope/memory.events');
    // In a cgroup namespace the path is not under the mount: the mount's root is our cgroup.
    expect(oomCounterFile(v2, v2mounts, exists(['/sys/fs/cgroup/memory.events']))).toBe('/sys/fs/cgroup/memory.events');
    const v1 = '4:memory:/jobs/abc\n0::/\n';
    const v1mounts = 'cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n';
    expect(oomCounterFile(v1, v1mounts, exists(['/sys/fs/cgroup/memory/jobs/abc/memory.oom_control']))).toBe('/sys/fs/cgroup/memory/jobs/abc/memory.oom_control');
    expect(oomCounterFile(v1, v1mounts, exists([]))).toBeUndefined();
  });

  it('reads oom_kill from both formats', () => {
    expect(parseOomKills('low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\noom_group_kill 0\n')).toBe(2);
    expect(parseOomKills('oom_kill_disable 0\nunder_oom 0\noom_kill 7\n')).toBe(7);
    expect(parseOomKills('oom_kill_disable 0\nunder_oom 0\n')).toBeUndefined();
  });

  it('on this machine: a worker killed with SIGKILL is not reported as an OOM kill', async () => {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise<void>((resolve) => child.once('spawn', () => resolve()));
    const watch = watchOom(child.pid!);
    const ended = new Promise<[number | null, string | null]>((resolve) => child.once('exit', (code, sig) => resolve([code, sig])));
    child.kill('SIGKILL');
    const [exitCode, signal] = await ended;
    const oom = watch.check();
    if (oom === undefined) {
      throw new Error('no memory cgroup oom_kill counter readable on this machine (expected cgroup v2 memory.events or v1 memory.oom_control under /sys/fs/cgroup)');
    }
    expect(oom.verdict).toBe('none');
    const r = classifyExit({ exitCode, signal, oom }, running);
    if (r.state === 'finished') throw new Error('expected a failure');
    expect(r.error).toMatchObject({ cause: 'killed', signal: 'SIGKILL' });
  });

  it('a counter that rises while the worker runs is an OOM kill (fake /proc and cgroup files)', () => {
    const { dir } = tempFiles();
    const proc = join(dir, 'proc');
    mkdirSync(join(proc, '4242'), { recursive: true });
    const cg = join(dir, 'cg');
    mkdirSync(join(cg, 'w'), { recursive: true });
    writeFileSync(join(proc, '4242', 'cgroup'), '0::/w\n');
    writeFileSync(join(proc, 'mounts'), `cgroup2 ${cg} cgroup2 rw 0 0\n`);
    writeFileSync(join(cg, 'w', 'memory.events'), 'oom 0\noom_kill 0\n');
    const watch = watchOom(4242, proc);
    writeFileSync(join(cg, 'w', 'memory.events'), 'oom 1\noom_kill 1\n');
    expect(watch.check()).toEqual({ verdict: 'killed', detail: `oom_kill in ${join(cg, 'w', 'memory.events')} went from 0 to 1` });
  });
});

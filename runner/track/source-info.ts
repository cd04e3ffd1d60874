// Where a sweep comes from, for run tags: the git commit of the experiment file's repository
// (read from .git directly: track/ does not spawn processes), the mmrun version, the user.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { version } from '../version.ts';
import type { SourceInfo } from './mlflow-mapping.ts';

export function sourceInfoFor(file: string): SourceInfo {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER;
  }
  return { gitCommit: gitCommitOf(file), version, user };
}

/** The commit HEAD points at in the repository containing `path`, or undefined. */
export function gitCommitOf(path: string): string | undefined {
  try {
    let dir = resolve(path);
    if (existsSync(dir) && !statSync(dir).isDirectory()) dir = dirname(dir);
    else if (!existsSync(dir)) dir = dirname(dir);
    for (;;) {
      const dotGit = join(dir, '.git');
      if (existsSync(dotGit)) return headOf(resolveGitDir(dotGit));
      const parent = dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  } catch {
    return undefined;
  }
}

function resolveGitDir(dotGit: string): string {
  if (statSync(dotGit).isDirectory()) return dotGit;
  // A worktree or submodule: ".git" is a file "gitdir: <path>".
  const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
  return m ? resolve(dirname(dotGit), m[1].trim()) : dotGit;
}

function headOf(gitDir: string): string | undefined {
  const head = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const ref = /^ref:\s*(.+)$/.exec(head)?.[1];
  if (!ref) return undefined;
  const commonDir = existsSync(join(gitDir, 'commondir')) ? resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim()) : gitDir;
  for (const base of [gitDir, commonDir]) {
    const loose = join(base, ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
  }
  const packed = join(commonDir, 'packed-refs');
  if (existsSync(packed)) {
    for (const line of readFileSync(packed, 'utf8').split('\n')) {
      const [sha, name] = line.split(' ');
      if (name === ref && /^[0-9a-f]{40}$/.test(sha)) return sha;
    }
  }
  return undefined; // a fresh repository without commits
}

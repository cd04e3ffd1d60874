// Compiles the C sources next to this file (*.c, *.h) into one shared library with the machine's
// own C compiler, once per (sources, compiler, CPU): the result is cached, keyed by all three,
// because -march=native code from one CPU may not run on another (nodes of a cluster sharing a
// home directory).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeCacheDir, readVerified, writeVerified } from '../code-cache.ts';

const DIR = fileURLToPath(new URL('.', import.meta.url));
/** The C sources (and headers) of the library: every .c and .h file next to this one. */
export const SOURCES = readdirSync(DIR).filter((f) => /\.[ch]$/.test(f)).sort().map((f) => path.join(DIR, f));
export const FLAGS = ['-O3', '-march=native', '-fPIC', '-shared', '-std=gnu11'];

export type BuildResult = { ok: true; library: string; compiler: string; cached: boolean } | { ok: false; reason: string };

function compilerCandidates(): string[] {
  return process.env.MMRUN_CC ? [process.env.MMRUN_CC] : ['cc', 'gcc', 'clang'];
}

/** First line of `<cc> --version`, or undefined if it does not run. */
function compilerVersion(cc: string): string | undefined {
  try {
    return execFileSync(cc, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }).split('\n')[0];
  } catch {
    return undefined;
  }
}

/** What identifies this CPU's instruction set (x86 flags or arm features). */
function cpuSignature(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
    if (line) return line;
  } catch {
    /* not Linux */
  }
  return `${os.arch()} ${os.cpus()[0]?.model ?? ''}`;
}

export function buildNativeLibrary(): BuildResult {
  const compilers = compilerCandidates();
  let cc: string | undefined;
  let version: string | undefined;
  for (const c of compilers) {
    version = compilerVersion(c);
    if (version) {
      cc = c;
      break;
    }
  }
  if (!cc || !version) return { ok: false, reason: `no C compiler found (tried ${compilers.join(', ')}; set MMRUN_CC)` };
  const hash = createHash('sha256');
  for (const f of SOURCES) hash.update(path.basename(f)).update(readFileSync(f));
  const key = hash.update(version).update(FLAGS.join(' ')).update(cpuSignature()).digest('hex').slice(0, 16);
  const name = `kernels-${key}.so`;
  // The user's own cache (0700, owned, not writable by others: code-cache.ts), never a shared folder.
  const cache = codeCacheDir('native', 'the native kernels');
  if (!cache.ok) return cache;
  const library = path.join(cache.dir, name);
  // A library is loaded only when its bytes match the hash recorded when it was built.
  if (readVerified(library)) return { ok: true, library, compiler: version, cached: true };
  const tmp = `${library}.${process.pid}.build`;
  try {
    execFileSync(cc, [...FLAGS, ...SOURCES.filter((f) => f.endsWith('.c')), '-o', tmp, '-lm'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    // Atomic (temp + rename), library then hash: concurrent workers never load a half-written file.
    writeVerified(library, readFileSync(tmp));
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    const msg = stderr || (err instanceof Error ? err.message : String(err));
    return { ok: false, reason: `compiling the native kernels (${DIR}) with ${cc} failed: ${msg.split('\n').slice(0, 3).join(' ')}` };
  } finally {
    rmSync(tmp, { force: true });
  }
  return { ok: true, library, compiler: version, cached: false };
}

// Compiles the C sources next to this file (*.c, *.h) into one shared library with the machine's
// own C compiler, once per (sources, compiler, CPU): the result is cached, keyed by all three,
// because -march=native code from one CPU may not run on another (nodes of a cluster sharing a
// home directory).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('.', import.meta.url));
/** The C sources (and headers) of the library: every .c and .h file next to this one. */
export const SOURCES = readdirSync(DIR).filter((f) => /\.[ch]$/.test(f)).sort().map((f) => path.join(DIR, f));
export const FLAGS = ['-O3', '-march=native', '-fPIC', '-shared', '-std=gnu11'];

export type BuildResult = { ok: true; library: string; compiler: string; cached: boolean } | { ok: false; reason: string };

/** Where the library may be cached, in order: the user cache, then a per-user temporary folder (read-only homes). */
function cacheDirs(): string[] {
  if (process.env.MMRUN_CACHE_DIR) return [path.join(process.env.MMRUN_CACHE_DIR, 'native')];
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return [path.join(base, 'mmrun', 'native'), path.join(os.tmpdir(), `mmrun-native-${os.userInfo().uid}`)];
}

function writableDir(dirs: string[]): string | undefined {
  for (const dir of dirs) {
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
      return dir;
    } catch {
      /* try the next one */
    }
  }
  return undefined;
}

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
  const dirs = cacheDirs();
  const found = dirs.map((d) => path.join(d, name)).find((f) => existsSync(f));
  if (found) return { ok: true, library: found, compiler: version, cached: true };
  const dir = writableDir(dirs);
  if (!dir) return { ok: false, reason: `no writable cache folder for the native kernels (tried ${dirs.join(', ')}; set MMRUN_CACHE_DIR)` };
  const library = path.join(dir, name);
  const tmp = `${library}.${process.pid}.tmp`;
  try {
    execFileSync(cc, [...FLAGS, ...SOURCES.filter((f) => f.endsWith('.c')), '-o', tmp, '-lm'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    renameSync(tmp, library); // atomic: concurrent workers never load a half-written file
  } catch (err) {
    rmSync(tmp, { force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    const msg = stderr || (err instanceof Error ? err.message : String(err));
    return { ok: false, reason: `compiling the native kernels (${DIR}) with ${cc} failed: ${msg.split('\n').slice(0, 3).join(' ')}` };
  }
  return { ok: true, library, compiler: version, cached: false };
}

import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A fresh temporary folder with the given files written in it (paths relative to it). */
export function tempFiles(files: Record<string, string | Buffer> = {}): { dir: string; path: (name: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'mmrun-test-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return { dir, path: (name: string) => join(dir, name) };
}

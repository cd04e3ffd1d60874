// The result folder's store id (runner/track/sync-store-id.ts): created once, kept, the same for
// every process that races to create it, and a damaged file is a clear error, never replaced.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MmrunError } from '../../runner/errors.ts';
import { STORE_ID_FILE, storeIdOf } from '../../runner/track/sync-store-id.ts';
import { tempFiles } from '../helpers/tmp.ts';

const MODULE = resolve(import.meta.dirname, '../../runner/track/sync-store-id.ts');

describe('store id of a result folder', () => {
  it('is created once (random hex), then read back unchanged', () => {
    const t = tempFiles();
    const artifacts = join(t.dir, 'artifacts'); // created on demand
    const id = storeIdOf(artifacts);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(readFileSync(join(artifacts, STORE_ID_FILE), 'utf8').trim()).toBe(id);
    expect(storeIdOf(artifacts)).toBe(id);
    expect(readdirSync(artifacts)).toEqual([STORE_ID_FILE]); // no temp file left behind
    expect(storeIdOf(tempFiles().dir)).not.toBe(id);
  });

  it('is the same for processes that create it at the same moment', async () => {
    const t = tempFiles();
    const script = `import { storeIdOf } from ${JSON.stringify(MODULE)}; process.stdout.write(storeIdOf(process.argv[1]));`;
    const ids = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<string>((done, fail) => {
            const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, t.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
            let out = '';
            let err = '';
            child.stdout.on('data', (d) => (out += d));
            child.stderr.on('data', (d) => (err += d));
            child.on('close', (code) => (code === 0 ? done(out) : fail(new Error(err))));
          }),
      ),
    );
    expect(new Set(ids).size).toBe(1);
    expect(readFileSync(join(t.dir, STORE_ID_FILE), 'utf8').trim()).toBe(ids[0]);
  }, 60_000);

  it('a damaged file is an error naming it, and is left as it is', () => {
    const t = tempFiles({ [STORE_ID_FILE]: 'not an id\n' });
    expect(() => storeIdOf(t.dir)).toThrow(MmrunError);
    expect(() => storeIdOf(t.dir)).toThrow(new RegExp(`${STORE_ID_FILE}.*16 to 64 lowercase hex`));
    expect(readFileSync(t.path(STORE_ID_FILE), 'utf8')).toBe('not an id\n');
    writeFileSync(t.path(STORE_ID_FILE), '');
    expect(() => storeIdOf(t.dir)).toThrow(MmrunError);
    expect(existsSync(t.path(STORE_ID_FILE))).toBe(true);
  });
  it('is created without hard links on filesystems that refuse them, and an existing id is kept', () => {
    const noLinks = () => {
      throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
    };
    const t = tempFiles();
    const id = storeIdOf(t.dir, noLinks);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(readFileSync(join(t.dir, STORE_ID_FILE), 'utf8')).toBe(id + '\n');
    expect(readdirSync(t.dir)).toEqual([STORE_ID_FILE]);
    expect(storeIdOf(t.dir, noLinks)).toBe(id);
    const other = () => {
      throw Object.assign(new Error('EIO: i/o error, link'), { code: 'EIO' });
    };
    expect(() => storeIdOf(tempFiles().dir, other)).toThrow(/EIO/);
  });
});

